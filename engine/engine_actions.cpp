// Engine's queries about action plans: actions, units and the progress report.
#include <algorithm>
#include <map>
#include <tuple>

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

Result<std::vector<RecommendationView>> Engine::ListActions(const ActionQuery& q) const {
  const Date as_of = q.as_of.value_or(clock_->Today());
  std::vector<RecommendationView> out;
  auto consider = [&](const Item& item) -> Status {
    if (item.kind != SubjectKind::kAction || item.issued() > as_of) return Status();
    const ActionDef& a = item.action();
    if (!q.body.empty() && a.body != q.body) return Status();
    if (!q.unit.empty() && a.unit != q.unit) return Status();
    if (!q.recommendation.empty() && a.recommendation != q.recommendation) return Status();
    ASSIGN_OR_RETURN(RecommendationView view, ledger_->Project(item, as_of, q.detail));
    if (q.open && view.open != *q.open) return Status();
    if (q.overdue_only && !view.overdue) return Status();
    out.push_back(std::move(view));
    return Status();
  };
  if (!q.recommendation.empty()) {
    for (const auto& id : ledger_->ActionsOf(q.recommendation)) {
      if (const Item* item = ledger_->FindItem(id)) RETURN_IF_ERROR(consider(*item));
    }
  } else {
    for (const auto& [id, item] : ledger_->items()) RETURN_IF_ERROR(consider(item));
  }
  // By recommendation, then due date (undated actions after every dated one), then id.
  auto key = [](const RecommendationView& v) {
    const std::optional<Date> due =
        v.milestones.empty() ? std::nullopt : std::optional(v.milestones[0].due);
    return std::make_tuple(std::cref(v.action->recommendation), !due.has_value(),
                           due.value_or(Date()), std::cref(v.id));
  };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  return out;
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
    auto actions = ListActions(
        ActionQuery{report.as_of, body, "", rec.id, std::nullopt, false, Detail::kHead});
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
