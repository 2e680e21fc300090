// Turning domain Events into storage rows and back. The payload is a JSON object whose text is
// hashed byte for byte, so encoding is deterministic: definition keys in a fixed order, then the
// workflow fields in name order. Private to the engine library, which alone sees Boost.JSON
// (here, in the item heads and in the renderers).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "engine/model.h"
#include "engine/workflow.h"
#include "storage/event_store.h"

namespace boost::json {
class array;
}

namespace rectrack {

// `values` as a JSON array of strings: how the codec, the item heads and the renderers write
// lists of ids and field values.
boost::json::array JsonStrings(const std::vector<std::string>& values);

// REQUIRES: the event's fields are known to `workflow`, the workflow of the event's subject
// (list fields encode as JSON arrays).
storage::EventRow EncodeEvent(const Event& event, const Workflow& workflow);
// Corruption when the row's payload or dates do not decode.
Result<Event> DecodeEvent(const storage::EventRow& row);
Result<Event> DecodeEvent(const storage::EventRowView& row);

}  // namespace rectrack
