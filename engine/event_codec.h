// Turning domain Events into storage rows and back. The payload is a JSON object whose text is
// hashed byte for byte, so encoding is deterministic: definition keys in a fixed order, then the
// workflow fields in name order. Private to the engine library; the only place besides the
// renderers that sees Boost.JSON.
#pragma once

#include "common/status.h"
#include "engine/model.h"
#include "engine/workflow.h"
#include "storage/event_store.h"

namespace rectrack {

// REQUIRES: the event's fields are known to `workflow`, the workflow of the event's subject
// (list fields encode as JSON arrays).
storage::EventRow EncodeEvent(const Event& event, const Workflow& workflow);
// Corruption when the row's payload or dates do not decode.
Result<Event> DecodeEvent(const storage::EventRow& row);

}  // namespace rectrack
