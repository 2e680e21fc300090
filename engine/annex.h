// Annex A of the inspectorate's annual report, derived from the log: for one body, the
// recommendations open at the as-of date, and those the body closed in the financial year that
// contains it, each with a note generated from its history. Private to the engine library.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/ledger.h"
#include "engine/reports.h"
#include "engine/workflow.h"

namespace rectrack {

// Builds Annex A from views, one recommendation at a time, in any order.
class AnnexBuilder {
 public:
  // `lookups` answers for the bodies and the inspections the views name, and must outlive the
  // builder. NotFound for an unknown body.
  static Result<AnnexBuilder> For(const Ledger& lookups, const Workflow& workflow,
                                  const std::string& body, Date as_of);
  // `view`: a recommendation `body` owns, issued by the as-at date, projected as at it. Its
  // timeline need hold only its turns: the entries that move it between an open and a closed
  // state (what the notes and the closed-in-year table are made from).
  void Add(const RecommendationView& view);
  // The two tables, each ordered by publication, then id.
  AnnexReport Finish() &&;

 private:
  AnnexBuilder(const Ledger& lookups, const Workflow& workflow, AnnexReport report);
  const Ledger* lookups_;
  const Workflow* workflow_;
  AnnexReport report_;
  Date year_start_;
  std::vector<std::pair<Date, AnnexRow>> open_, closed_;  // keyed by publication for ordering
};

// Annex A from a ledger holding every recommendation of the body. NotFound for an unknown body.
Result<AnnexReport> BuildAnnex(const Ledger& ledger, const Workflow& workflow,
                               const std::string& body, Date as_of);

// Whether `entry` moves its item between an open and a closed state of `workflow`.
bool IsTurn(const TimelineEntry& entry, const Workflow& workflow);

// Whether an item head keeps `entry` of its history: a turn, or an entry whose transition names
// what supersedes the recommendation. With these, TakeBack makes a head what Annex A reads as
// at any earlier date.
bool KeptInHead(const TimelineEntry& entry, const Workflow& workflow);

// Takes `view`, a head whose timeline holds the entries KeptInHead keeps, back to `as_of` (any
// date from its issue on, before its last change or not), for AnnexBuilder::Add: whether it was
// open then, what superseded it by then, and its entries to then. Openness changes only at a turn,
// and each entry's `to_state` has the openness that held after it. What the entries cannot tell
// (its state then, its milestones) is left empty: the view is for Annex A only.
void TakeBack(RecommendationView& view, Date as_of, const Workflow& workflow);

// The ids of the inspections AnnexBuilder::Add may look up for `view`: its own, and the one each
// turn names in its field `in` (the follow-up that reopened it), whatever the field's type.
std::vector<std::string> InspectionsNamed(const RecommendationView& view);

// The Annex A note for a recommendation's history as of view.as_of, or "" when there is nothing
// to say: closed and superseded by new recommendations; closed by a body then reopened after an
// assessment (or by the inspectorate).
std::string HistoryNote(const RecommendationView& view, const Ledger& ledger,
                        const Workflow& workflow);

}  // namespace rectrack
