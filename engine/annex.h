// Annex A of the inspectorate's annual report, derived from the log: for one body, the
// recommendations open at the as-of date, and those the body closed in the financial year that
// contains it, each with a note generated from its history. Private to the engine library.
#pragma once

#include <string>

#include "common/status.h"
#include "engine/ledger.h"
#include "engine/reports.h"
#include "engine/workflow.h"

namespace rectrack {

// NotFound for an unknown body.
Result<AnnexReport> BuildAnnex(const Ledger& ledger, const Workflow& workflow,
                               const std::string& body, Date as_of);

// The Annex A note for a recommendation's history as of view.as_of, or "" when there is nothing
// to say: closed and superseded by new recommendations; closed by a body then reopened after an
// assessment (or by the inspectorate).
std::string HistoryNote(const RecommendationView& view, const Ledger& ledger,
                        const Workflow& workflow);

}  // namespace rectrack
