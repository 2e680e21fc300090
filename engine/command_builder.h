// The write path's first step: turning a Command (commands.h) into the Event it asks for, checked
// against the world as staged so far. Private to the engine library.
#pragma once

#include <optional>

#include "common/status.h"
#include "engine/commands.h"
#include "engine/ledger.h"
#include "engine/workflow.h"

namespace rectrack {

// The event `command` asks for, or nullopt when it asks for nothing new (a definition already
// made identically, an event already recorded with the same content). Checks what the command
// names against `world` (ids, references, who acts for whom, dates up to `today`); the workflow
// itself is checked when the event is added to the Ledger. `workflow` is the recommendation
// workflow; actions use world.WorkflowOf(kAction). Texts beyond `limits` are refused.
Result<std::optional<Event>> BuildEvent(const Command& command, const Workflow& workflow,
                                        const Ledger& world, Date today, const TextLimits& limits);

}  // namespace rectrack
