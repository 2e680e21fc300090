// The import file format (docs/import-format.md) read into engine Commands.
//
// The file is YAML with up to six top-level lists, applied in this order: bodies, units,
// inspections, recommendations, actions, events. Every command carries "file:line:col" of its
// entry, so an error found later by the engine (a disallowed transition, a missing reference) still
// names the line. Parsing checks shapes only (unknown keys, bad ids, bad dates, wrong types);
// meaning is checked by Engine::Apply, all or nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/commands.h"
#include "engine/workflow.h"

namespace rectrack {

// REQUIRES: `workflow` (and `action_workflow`, for actions) are the workflows the commands will
// be applied under (their field names decide how an event's extra keys are read). Without an
// action workflow, a file with actions is refused.
Result<std::vector<Command>> ParseImport(std::string_view yaml, const std::string& source,
                                         const Workflow& workflow,
                                         const Workflow* action_workflow = nullptr);
Result<std::vector<Command>> ParseImportFile(const std::string& path, const Workflow& workflow,
                                             const Workflow* action_workflow = nullptr);

}  // namespace rectrack
