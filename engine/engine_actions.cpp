// Engine's queries about action plans: actions, units and the progress report.
#include <algorithm>
#include <map>

#include "engine/engine.h"
#include "engine/ledger.h"

namespace rectrack {

std::optional<SubjectKind> Engine::KindOf(const std::string& id) const {
  const Item* item = ledger_->FindItem(id);
  return item ? std::optional(item->kind) : std::nullopt;
}

Result<RecommendationView> Engine::ShowAction(const std::string& id, std::optional<Date> as_of,
                                              Detail detail) const {
  RETURN_IF_ERROR(ScopeCovers(id));
  const Item* item = ledger_->FindItem(id);
  if (!item || item->kind != SubjectKind::kAction)
    return Status::NotFound("no action '" + id + "'");
  return ledger_->Project(*item, as_of.value_or(clock_->Today()), detail);
}

ActionPlace PlaceOf(const RecommendationView& action) {
  const bool undated = action.milestones.empty();
  return {action.action->recommendation, undated, undated ? Date() : action.milestones[0].due,
          action.id};
}

Result<std::vector<RecommendationView>> Engine::ListActions(const ActionQuery& q) const {
  std::vector<RecommendationView> out;
  RETURN_IF_ERROR(VisitActions(q, [&](const RecommendationView& view) {
    out.push_back(view);
    return true;
  }));
  return out;
}

Status Engine::VisitActions(const ActionQuery& q,
                            const std::function<bool(const RecommendationView&)>& visit) const {
  const Date as_of = q.as_of.value_or(clock_->Today());
  // One recommendation's actions, those the query wants, in their order; false when the visit
  // stopped.
  auto visit_actions_of = [&](const std::set<std::string>& ids) -> Result<bool> {
    std::vector<std::pair<ActionPlace, RecommendationView>> views;
    for (const std::string& id : ids) {
      const Item* item = ledger_->FindItem(id);
      if (!item || item->kind != SubjectKind::kAction || item->issued() > as_of) continue;
      const ActionDef& a = item->action();
      if (!q.body.empty() && a.body != q.body) continue;
      if (!q.unit.empty() && a.unit != q.unit) continue;
      ASSIGN_OR_RETURN(RecommendationView view, ledger_->Project(*item, as_of, q.detail));
      if (q.open && view.open != *q.open) continue;
      if (q.overdue_only && !view.overdue) continue;
      ActionPlace place = PlaceOf(view);
      if (q.after && place <= *q.after) continue;
      views.emplace_back(std::move(place), std::move(view));
    }
    std::sort(views.begin(), views.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [place, view] : views) {
      if (!visit(view)) return false;
    }
    return true;
  };
  const auto& by_recommendation = ledger_->actions_by_recommendation();
  if (!q.recommendation.empty()) {
    auto it = by_recommendation.find(q.recommendation);
    if (it != by_recommendation.end()) RETURN_IF_ERROR(visit_actions_of(it->second).status());
    return Status();
  }
  auto it =
      q.after ? by_recommendation.lower_bound(q.after->recommendation) : by_recommendation.begin();
  for (; it != by_recommendation.end(); ++it) {
    ASSIGN_OR_RETURN(const bool go_on, visit_actions_of(it->second));
    if (!go_on) break;
  }
  return Status();
}

bool FurtherBehind(const UnitProgress& a, const UnitProgress& b) {
  if (a.overdue != b.overdue) return a.overdue > b.overdue;
  if (a.open != b.open) return a.open > b.open;
  // Smaller share closed first: a.closed / a.total < b.closed / b.total, without division.
  const long lhs = static_cast<long>(a.closed) * b.total();
  const long rhs = static_cast<long>(b.closed) * a.total();
  if (lhs != rhs) return lhs < rhs;
  return a.name < b.name;
}

Result<ProgressReport> Engine::Progress(const std::string& body, std::optional<Date> as_of) const {
  const Body* b = ledger_->FindBody(body);
  if (!b) return Status::NotFound("no body '" + body + "'");
  ProgressReport report;
  report.body = body;
  report.body_name = b->name;
  report.as_of = as_of.value_or(clock_->Today());
  std::map<std::string, UnitProgress> totals;
  auto name_of = [&](const std::string& unit) {
    const Unit* u = unit.empty() ? nullptr : ledger_->FindUnit(unit);
    return u ? u->name : b->name;
  };
  ListQuery recommendations;
  recommendations.as_of = report.as_of;
  recommendations.body = body;
  Status listed;  // the first error of ListActions, which ends the visit
  RETURN_IF_ERROR(VisitList(recommendations, [&](const RecommendationView& rec) {
    RecommendationProgress progress{rec.id, rec.def.text, rec.state, rec.open, {}, {}};
    progress.all.name = b->name;
    std::map<std::string, UnitProgress> units;
    ActionQuery of_recommendation;
    of_recommendation.as_of = report.as_of;
    of_recommendation.body = body;
    of_recommendation.recommendation = rec.id;
    of_recommendation.detail = Detail::kHead;
    auto actions = ListActions(of_recommendation);
    if (!actions.ok()) {
      listed = actions.status();
      return false;
    }
    for (const RecommendationView& action : *actions) {
      const std::string& unit = action.action->unit;
      for (UnitProgress* p : {&units[unit], &totals[unit], &progress.all}) {
        if (p != &progress.all) {
          p->unit = unit;
          p->name = name_of(unit);
        }
        (action.open ? p->open : p->closed) += 1;
        if (action.overdue) p->overdue += 1;
      }
    }
    for (auto& [unit, p] : units) progress.units.push_back(std::move(p));
    std::sort(progress.units.begin(), progress.units.end(), FurtherBehind);
    // A closed recommendation without actions has nothing to report; an open one has: no plan.
    if (progress.all.total() == 0 && !rec.open) return true;
    report.recommendations.push_back(std::move(progress));
    return true;
  }));
  RETURN_IF_ERROR(listed);
  for (auto& [unit, p] : totals) report.units.push_back(std::move(p));
  std::sort(report.units.begin(), report.units.end(), FurtherBehind);
  return report;
}

bool Engine::HasBody(const std::string& id) const { return ledger_->FindBody(id) != nullptr; }

std::optional<Unit> Engine::FindUnit(const std::string& id) const {
  const Unit* unit = ledger_->FindUnit(id);
  return unit ? std::optional(*unit) : std::nullopt;
}

std::vector<Unit> Engine::Units(const std::string& body) const {
  std::vector<Unit> out;
  for (const auto& [id, unit] : ledger_->units()) {
    if (body.empty() || unit.body == body) out.push_back(unit);
  }
  return out;
}

}  // namespace rectrack
