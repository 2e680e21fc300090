#include "engine/access.h"

#include <algorithm>

#include "engine/engine.h"
#include "engine/workflow.h"
#include "storage/alert_store.h"

namespace rectrack {

bool MaySeeItem(const Engine& engine, const Principal& who, const RecommendationHead& item) {
  if (!engine.MaySee(who, item.def.owners)) return false;
  // A unit's lead follows its body's recommendations but sees only its own unit's actions.
  if (item.kind == SubjectKind::kAction && !who.unit.empty()) {
    return item.action && item.action->unit == who.unit;
  }
  return true;
}

bool HasOperatorsView(const Principal& who) { return !who.token_id.empty() && who.body.empty(); }

bool MaySeeWhereAlertsGo(const Engine& engine, const Principal& who) {
  return HasOperatorsView(who) && engine.MayDefine(who);
}

bool MaySeeAlert(const Engine& engine, const Principal& who, const storage::AlertRecord& alert) {
  const bool to_its_body =
      !who.body.empty() &&
      std::find(alert.audience.begin(), alert.audience.end(), who.body) != alert.audience.end();
  if (!engine.MaySee(who, alert.owners) && !to_its_body) return false;
  if (who.unit.empty() || engine.KindOf(alert.recommendation) != SubjectKind::kAction) return true;
  // A unit's lead: the action's alert only when the action is its unit's, as the action itself.
  auto action = engine.ShowAction(alert.recommendation, std::nullopt, Detail::kHead);
  return action.ok() && MaySeeItem(engine, who, *action);
}

Result<std::vector<storage::AlertRecord>> NewestVisibleAlerts(const Engine& engine,
                                                              const Principal& who,
                                                              storage::AlertFilter filter,
                                                              size_t limit) {
  filter.newest_first = true;
  filter.before_seq = 0;
  filter.limit = std::clamp<size_t>(limit, 100, 1000);  // a page
  std::vector<storage::AlertRecord> visible;
  while (visible.size() < limit) {
    ASSIGN_OR_RETURN(std::vector<storage::AlertRecord> page, engine.ListAlerts(filter));
    for (storage::AlertRecord& alert : page) {
      filter.before_seq = alert.seq;
      if (!MaySeeAlert(engine, who, alert)) continue;
      visible.push_back(std::move(alert));
      if (visible.size() == limit) break;
    }
    if (page.size() < filter.limit) break;
  }
  return visible;
}

Result<ProgressReport> ProgressVisible(const Engine& engine, const Principal& who,
                                       const std::string& body, std::optional<Date> as_of) {
  ASSIGN_OR_RETURN(ProgressReport report, engine.Progress(body, as_of));
  if (who.unit.empty()) return report;
  auto others = [&](const UnitProgress& u) { return u.unit != who.unit; };
  std::erase_if(report.units, others);
  for (RecommendationProgress& rec : report.recommendations) {
    std::erase_if(rec.units, others);
    const std::string name = rec.all.name;
    rec.all = rec.units.empty() ? UnitProgress{} : rec.units.front();
    rec.all.unit = "";
    rec.all.name = name;
  }
  return report;
}

Result<std::string> ScopeBody(const Principal& who, const std::string& asked) {
  if (who.body.empty()) return asked;
  if (!asked.empty() && asked != who.body) {
    return Status::PermissionDenied("you see only " + who.body);
  }
  return who.body;
}

Result<RecommendationView> ShowVisible(const Engine& engine, const Principal& who,
                                       const std::string& id, SubjectKind kind,
                                       std::optional<Date> as_of, Detail detail) {
  const bool action = kind == SubjectKind::kAction;
  auto not_found = [&] {
    return Status::NotFound(std::string(action ? "no action '" : "no recommendation '") + id + "'");
  };
  // Whether it may be seen comes first, and from today's view, so an as-of date before an
  // action's unit changed cannot show another unit's work.
  auto today = action ? engine.ShowAction(id, std::nullopt, Detail::kHead)
                      : engine.Show(id, std::nullopt, Detail::kHead);
  // An error other than NotFound (today's view of a superseded recommendation reads its
  // superseding one's history, which may not read back) is said, not passed off as NotFound.
  if (!today.ok() && today.status().code() != Code::kNotFound) return today.status();
  if (!today.ok() || !MaySeeItem(engine, who, *today)) return not_found();
  return action ? engine.ShowAction(id, as_of, detail) : engine.Show(id, as_of, detail);
}

Result<EvidenceDownload> EvidenceVisible(const Engine& engine, const Principal& who,
                                         const std::string& sha256) {
  const bool well_formed =
      sha256.size() == 64 && sha256.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!well_formed) {
    return Status::InvalidArgument("an evidence file is named by 64 lowercase hex digits");
  }
  // Only the items `who` may see are read: an error reading another's history would say that
  // the file exists, and name the item.
  ASSIGN_OR_RETURN(const std::vector<EvidenceUse> uses,
                   engine.EvidenceUses(sha256, [&](const std::string& item, SubjectKind kind) {
                     return ShowVisible(engine, who, item, kind, std::nullopt, Detail::kHead).ok();
                   }));
  if (uses.empty()) return Status::NotFound("no evidence file " + sha256);
  ASSIGN_OR_RETURN(std::string content, engine.EvidenceContent(sha256));
  return EvidenceDownload{uses.front().file, std::move(content)};
}

Result<std::vector<RecommendationView>> VisibleActions(const Engine& engine, const Principal& who,
                                                       const ActionQuery& query) {
  ASSIGN_OR_RETURN(std::vector<RecommendationView> actions, engine.ListActions(query));
  std::erase_if(actions, [&](const RecommendationView& a) { return !MaySeeItem(engine, who, a); });
  return actions;
}

Result<std::vector<RecommendationView>> VisibleActions(const Engine& engine, const Principal& who,
                                                       const std::string& recommendation,
                                                       Date as_of) {
  ActionQuery query;
  query.as_of = as_of;
  query.recommendation = recommendation;
  query.detail =
      Detail::kHead;  // a recommendation's page lists its actions without their timelines
  return VisibleActions(engine, who, query);
}

namespace {

bool ActsForOwner(const Workflow* workflow, const std::string& role) {
  const RoleSpec* spec = workflow ? workflow->FindRole(role) : nullptr;
  return spec && spec->acts_for_owner;
}

}  // namespace

void ActAs(const Principal& who, const Workflow* workflow, RecordEvent* event) {
  const bool acts = ActsForOwner(workflow, who.role);
  event->role = who.role;
  event->body = acts ? who.body : "";
  event->unit = acts ? who.unit : "";
}

void ActAs(const Principal& who, const Workflow* workflow, DefineAction* action) {
  const bool acts = ActsForOwner(workflow, who.role);
  action->role = who.role;
  action->body = acts ? who.body : "";
  action->unit = acts ? who.unit : "";
}

std::string ActorOf(const Principal& who) {
  if (!who.account.empty()) return "account:" + who.account;
  if (!who.token_id.empty()) return "token:" + who.token_id;
  return "public";
}

std::vector<std::string> OfferedTransitions(const Workflow& workflow, const Principal& who,
                                            const RecommendationHead& item) {
  if (ActsForOwner(&workflow, who.role)) {
    const auto& owners = item.def.owners;
    if (std::find(owners.begin(), owners.end(), who.body) == owners.end()) return {};
    // A lead scoped to a unit acts on that unit's actions only: not on a recommendation, nor on
    // another unit's action or the body's own (the engine's rule, Ledger's owner check).
    if (!who.unit.empty() &&
        !(item.kind == SubjectKind::kAction && item.action && item.action->unit == who.unit)) {
      return {};
    }
  }
  return workflow.Allowed(item.state, who.role);
}

}  // namespace rectrack
