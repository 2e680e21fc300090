#include "engine/annex.h"

#include <algorithm>

#include "common/strings.h"

namespace rectrack {
namespace {

// A body's closure: the body's voice moving the recommendation from an open to a closed state.
bool IsBodyClosure(const TimelineEntry& e, const Workflow& wf) {
  return e.voice == "body" && !e.from_state.empty() && wf.IsOpen(e.from_state) &&
         !wf.IsOpen(e.to_state);
}

bool IsReopening(const TimelineEntry& e, const Workflow& wf) {
  return !e.from_state.empty() && !wf.IsOpen(e.from_state) && wf.IsOpen(e.to_state);
}

std::string BodyShortName(const Ledger& ledger, const std::string& id) {
  const Body* body = ledger.FindBody(id);
  return body ? body->short_name : id;
}

std::string FirstField(const TimelineEntry& e, const char* name) {
  auto it = e.fields.find(name);
  return it == e.fields.end() || it->second.empty() ? "" : it->second.front();
}

std::string JoinAnd(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string ReopenReason(const TimelineEntry& reopening, const Ledger& ledger) {
  const std::string outcome = Spoken(FirstField(reopening, "outcome"));
  const Inspection* in = ledger.FindInspection(FirstField(reopening, "in"));
  if (outcome.empty() || !in) {
    return "reopened by the inspectorate in " + reopening.effective.MonthYear();
  }
  const std::string report = in->short_title.empty() ? "the report '" + in->title + "'"
                                                     : "the " + in->short_title + " report";
  return "reopened following an assessment of '" + outcome + "' in " + report + " published in " +
         in->published.MonthYear();
}

AnnexRow RowFor(const RecommendationView& view, const Ledger& ledger, std::string note) {
  const Inspection* inspection = ledger.FindInspection(view.def.inspection);
  return AnnexRow{view.id,
                  inspection ? inspection->title : view.def.inspection,
                  inspection ? inspection->published.ShortMonthYear() : "",
                  view.def.text,
                  "",
                  std::move(note),
                  inspection ? std::optional<Date>(inspection->published) : std::nullopt};
}

}  // namespace

std::string HistoryNote(const RecommendationView& view, const Ledger& ledger, const Workflow& wf) {
  if (!view.open && !view.superseded_by.empty()) {
    return std::string("This remains closed but superseded by new recommendation") +
           (view.superseded_by.size() > 1 ? "s " : " ") + JoinAnd(view.superseded_by);
  }
  const auto& timeline = view.timeline;
  auto reopening = std::find_if(timeline.rbegin(), timeline.rend(),
                                [&](const TimelineEntry& e) { return IsReopening(e, wf); });
  if (reopening == timeline.rend()) return "";
  auto closure = std::find_if(reopening, timeline.rend(),
                              [&](const TimelineEntry& e) { return IsBodyClosure(e, wf); });
  if (closure == timeline.rend()) return "";
  const std::string closer = BodyShortName(ledger, closure->body);
  const std::string reason = ReopenReason(*reopening, ledger);
  if (view.open) return "This was closed by the " + closer + " but " + reason;
  return "This was closed by the " + closer + ", " + reason + ", and closed again";
}

std::vector<std::string> InspectionsNamed(const RecommendationView& view) {
  std::vector<std::string> ids = {view.def.inspection};
  for (const TimelineEntry& e : view.timeline) {
    if (std::string in = FirstField(e, "in"); !in.empty()) ids.push_back(std::move(in));
  }
  return ids;
}

bool IsTurn(const TimelineEntry& e, const Workflow& wf) {
  return !e.from_state.empty() && wf.IsOpen(e.from_state) != wf.IsOpen(e.to_state);
}

namespace {

// Whether `e` names what supersedes its item, as Ledger::Step grows superseded_by (never the
// creating entry, whose effects a replay does not apply).
bool Supersedes(const TimelineEntry& e, const Workflow& wf) {
  const Transition* t = wf.FindTransition(e.transition);
  return !e.from_state.empty() && t && !t->effects.supersede.empty() &&
         e.fields.count(t->effects.supersede) > 0;
}

}  // namespace

bool KeptInHead(const TimelineEntry& e, const Workflow& wf) {
  return IsTurn(e, wf) || Supersedes(e, wf);
}

void TakeBack(RecommendationView& view, Date as_of, const Workflow& wf) {
  std::vector<TimelineEntry>& entries = view.timeline;  // in effective order
  // No turn comes before the first entry kept: it starts from a state as open as the first.
  const bool open_at_issue =
      entries.empty() ? wf.IsOpen(view.state) : wf.IsOpen(entries.front().from_state);
  entries.erase(std::find_if(entries.begin(), entries.end(),
                             [&](const TimelineEntry& e) { return e.effective > as_of; }),
                entries.end());
  view.as_of = as_of;
  view.open = entries.empty() ? open_at_issue : wf.IsOpen(entries.back().to_state);
  view.overdue = false;
  view.state.clear();
  view.milestones.clear();
  // As a replay grows it (Ledger::Step): each superseding entry's names, in order, once each.
  view.superseded_by.clear();
  for (const TimelineEntry& e : entries) {
    if (!Supersedes(e, wf)) continue;
    const auto& names = e.fields.at(wf.FindTransition(e.transition)->effects.supersede);
    for (const std::string& name : names) {
      if (!std::count(view.superseded_by.begin(), view.superseded_by.end(), name)) {
        view.superseded_by.push_back(name);
      }
    }
  }
}

AnnexBuilder::AnnexBuilder(const Ledger& lookups, const Workflow& workflow, AnnexReport report)
    : lookups_(&lookups),
      workflow_(&workflow),
      report_(std::move(report)),
      year_start_(report_.as_of.FinancialYearStart()) {}

Result<AnnexBuilder> AnnexBuilder::For(const Ledger& lookups, const Workflow& workflow,
                                       const std::string& body, Date as_of) {
  const Body* owner = lookups.FindBody(body);
  if (!owner) return Status::NotFound("no body '" + body + "'");
  AnnexReport report;
  report.body = body;
  report.body_name = owner->name;
  report.as_of = as_of;
  report.financial_year = as_of.FinancialYearLabel();
  return AnnexBuilder(lookups, workflow, std::move(report));
}

void AnnexBuilder::Add(const RecommendationView& view) {
  const Ledger& ledger = *lookups_;
  const Workflow& wf = *workflow_;
  const Inspection* inspection = ledger.FindInspection(view.def.inspection);
  const Date published = inspection ? inspection->published : view.issued;
  const std::string note = HistoryNote(view, ledger, wf);
  if (view.open) open_.emplace_back(published, RowFor(view, ledger, note));

  auto last_closure = std::find_if(
      view.timeline.rbegin(), view.timeline.rend(),
      [&](const TimelineEntry& e) { return IsBodyClosure(e, wf) && e.effective >= year_start_; });
  if (last_closure == view.timeline.rend()) return;
  AnnexRow row = RowFor(view, ledger, note);
  row.quarter = last_closure->effective.QuarterLabel();
  if (last_closure->body != report_.body) {
    // A joint recommendation closed by a co-owner: say who, since the table is this body's.
    const std::string who = "Closed by the " + BodyShortName(ledger, last_closure->body);
    row.note = row.note.empty() ? who : who + ". " + row.note;
  }
  closed_.emplace_back(published, std::move(row));
}

AnnexReport AnnexBuilder::Finish() && {
  auto by_publication = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.id < b.second.id;
  };
  std::sort(open_.begin(), open_.end(), by_publication);
  std::sort(closed_.begin(), closed_.end(), by_publication);
  for (auto& [date, row] : open_) report_.open.push_back(std::move(row));
  for (auto& [date, row] : closed_) report_.closed.push_back(std::move(row));
  return std::move(report_);
}

Result<AnnexReport> BuildAnnex(const Ledger& ledger, const Workflow& wf, const std::string& body,
                               Date as_of) {
  ASSIGN_OR_RETURN(AnnexBuilder annex, AnnexBuilder::For(ledger, wf, body, as_of));
  for (const auto& [id, item] : ledger.items()) {
    if (item.kind != SubjectKind::kRecommendation || item.issued() > as_of) continue;
    const auto& owners = item.def().owners;
    if (std::find(owners.begin(), owners.end(), body) == owners.end()) continue;
    ASSIGN_OR_RETURN(const RecommendationView view, ledger.Project(item, as_of));
    annex.Add(view);
  }
  return std::move(annex).Finish();
}

}  // namespace rectrack
