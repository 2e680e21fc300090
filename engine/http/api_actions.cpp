// Units, actions and the progress report: GET /api/v1/units, /api/v1/actions,
// /api/v1/actions/{id} and /api/v1/reports/progress, and the commands of POST /api/v1/units,
// /api/v1/recommendations/{id}/actions and the events of both recommendations and actions.
#include <algorithm>

#include "engine/http/api.h"
#include "engine/http/api_util.h"
#include "engine/render.h"

namespace rectrack::http {

namespace {

// The actions of `query` that `who` may see: a body-scoped token sees its body's. Without their
// timelines: a list shows none.
std::vector<RecommendationView> Visible(const Engine& engine, const Principal& who,
                                        ActionQuery query) {
  query.detail = Detail::kHead;
  std::vector<RecommendationView> actions = engine.ListActions(query);
  std::erase_if(actions,
                [&](const RecommendationView& a) { return !engine.MaySee(who, a.def.owners); });
  return actions;
}

}  // namespace

std::vector<RecommendationView> VisibleActions(const Engine& engine, const Principal& who,
                                               const std::string& recommendation, Date as_of) {
  ActionQuery query;
  query.as_of = as_of;
  query.recommendation = recommendation;
  return Visible(engine, who, query);
}

std::optional<Response> ActionsGet(const Engine& engine, const Target& t,
                                   const std::vector<std::string>& parts, const Principal& who) {
  const std::string& resource = parts[0];
  auto param = [&](const char* name) {
    auto it = t.query.find(name);
    return it == t.query.end() ? std::string() : it->second;
  };
  if (parts.size() == 1 && resource == "units") {
    if (Status s = OnlyParams(t, {"body"}); !s.ok()) return Api::Problem(400, s.message());
    const std::string body = param("body");
    if (!body.empty() && !engine.HasBody(body)) return Api::Problem(404, "no body '" + body + "'");
    return Json(200, UnitsAsJson(engine.Units(body)));
  }
  if (parts.size() == 1 && resource == "actions") {
    if (Status s = OnlyParams(t, {"body", "unit", "recommendation", "open", "overdue", "as_of"});
        !s.ok()) {
      return Api::Problem(400, s.message());
    }
    auto as_of = DateParam(t, "as_of");
    auto open = BoolParam(t, "open");
    auto overdue = BoolParam(t, "overdue");
    for (const Status& s : {as_of.status(), open.status(), overdue.status()}) {
      if (!s.ok()) return Api::Problem(400, s.message());
    }
    ActionQuery q;
    q.as_of = *as_of;
    q.body = param("body");
    q.unit = param("unit");
    q.recommendation = param("recommendation");
    // Unknown names are 404s, as in the CLI, not empty lists that hide a typo.
    if (!q.body.empty() && !engine.HasBody(q.body)) {
      return Api::Problem(404, "no body '" + q.body + "'");
    }
    if (!q.unit.empty() && !engine.FindUnit(q.unit)) {
      return Api::Problem(404, "no unit '" + q.unit + "'");
    }
    if (!q.recommendation.empty() &&
        engine.KindOf(q.recommendation) != SubjectKind::kRecommendation) {
      return Api::Problem(404, "no recommendation '" + q.recommendation + "'");
    }
    q.open = *open;
    q.overdue_only = overdue->value_or(false);
    std::vector<RecommendationView> actions = Visible(engine, who, q);
    if (*overdue == std::optional<bool>(false)) {
      std::erase_if(actions, [](const RecommendationView& a) { return a.overdue; });
    }
    return Json(200, ActionsAsJson(actions));
  }
  if (parts.size() == 2 && resource == "actions") {
    if (Status s = OnlyParams(t, {"as_of"}); !s.ok()) return Api::Problem(400, s.message());
    auto as_of = DateParam(t, "as_of");
    if (!as_of.ok()) return Api::Problem(400, as_of.status().message());
    // Whether the caller may see it comes first, so a 404 says nothing about others' actions.
    auto today = engine.ShowAction(parts[1], std::nullopt);
    if (!today.ok() || !engine.MaySee(who, today->def.owners)) {
      return Api::Problem(404, "no action '" + parts[1] + "'");
    }
    auto view = engine.ShowAction(parts[1], *as_of);
    if (!view.ok()) return FromStatus(view.status());
    Response r = Json(200, ActionAsJson(*view));
    r.headers.emplace_back("ETag", RecommendationEtag(*view));
    return r;
  }
  if (parts.size() == 2 && resource == "reports" && parts[1] == "progress") {
    if (Status s = OnlyParams(t, {"body", "as_of", "format"}); !s.ok()) {
      return Api::Problem(400, s.message());
    }
    const std::string body = param("body");
    if (body.empty()) return Api::Problem(400, "body is required");
    if (!who.body.empty() && who.body != body) {
      return Api::Problem(403, "this token sees only " + who.body);
    }
    auto as_of = DateParam(t, "as_of");
    if (!as_of.ok()) return Api::Problem(400, as_of.status().message());
    const std::string format = t.query.count("format") ? t.query.at("format") : "json";
    if (format != "json" && format != "md" && format != "csv") {
      return Api::Problem(400, "format must be json, md or csv");
    }
    auto report = engine.Progress(body, *as_of);
    if (!report.ok()) return FromStatus(report.status());
    Response r;
    if (format == "json") {
      r.body = ProgressAsJson(*report);
    } else if (format == "md") {
      r.content_type = "text/markdown; charset=utf-8";
      r.body = ProgressAsMarkdown(*report);
    } else {
      r.content_type = "text/csv; charset=utf-8";
      r.body = ProgressAsCsv(*report);
    }
    return r;
  }
  return std::nullopt;
}

std::variant<Command, Response> UnitCommand(const Engine& engine, const Principal& who,
                                            const json::object& o) {
  if (!engine.MayDefine(who)) return Api::Problem(403, "role '" + who.role + "' may not do this");
  if (Status s = OnlyMembers(o, {"id", "body", "name", "kind"}); !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto id = StringMember(o, "id", true);
  auto body = StringMember(o, "body", true);
  auto name = StringMember(o, "name", true);
  auto kind = StringMember(o, "kind", false);
  for (const Status& s : {id.status(), body.status(), name.status(), kind.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  return Command(DefineUnit{Unit{*id, *body, *name, *kind}, ""});
}

std::variant<Command, Response> ActionCommand(const Engine& engine, const Principal& who,
                                              const std::string& recommendation,
                                              const json::object& o) {
  const Workflow* actions = engine.action_workflow();
  if (!actions) return Api::Problem(404, "actions are not enabled: no action workflow is loaded");
  auto rec = engine.Show(recommendation, std::nullopt, Detail::kHead);
  if (!rec.ok() || !engine.MaySee(who, rec->def.owners)) {
    return Api::Problem(404, "no recommendation '" + recommendation + "'");
  }
  if (Status s =
          OnlyMembers(o, {"id", "title", "unit", "body", "due", "milestone", "planned", "note"});
      !s.ok()) {
    return Api::Problem(400, s.message());
  }
  DefineAction c;
  auto id = StringMember(o, "id", true);
  auto title = StringMember(o, "title", true);
  auto unit = StringMember(o, "unit", false);
  auto body = StringMember(o, "body", false);
  auto milestone = StringMember(o, "milestone", false);
  auto note = StringMember(o, "note", false);
  for (const Status& s : {id.status(), title.status(), unit.status(), body.status(),
                          milestone.status(), note.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  c.id = *id;
  c.def = ActionDef{recommendation, *title, *body, *unit, std::nullopt, *milestone};
  c.note = *note;
  if (o.contains("due")) {
    auto due = DateMember(o, "due");
    if (!due.ok()) return Api::Problem(400, due.status().message());
    c.def.due = *due;
  }
  if (o.contains("planned")) {
    auto planned = DateMember(o, "planned");
    if (!planned.ok()) return Api::Problem(400, planned.status().message());
    c.planned = *planned;
  }
  // The role is the token's; a body-scoped role plans for its body (and unit, when it has one).
  c.role = who.role;
  const RoleSpec* spec = actions->FindRole(who.role);
  const bool acts = spec && spec->acts_for_owner;
  c.body = acts ? who.body : "";
  c.unit = acts ? who.unit : "";
  // Such a token can only plan for its own body, so that is the action's body by default (and
  // a unit-scoped one's unit its unit), even under a recommendation of several bodies.
  if (acts && c.def.body.empty()) c.def.body = who.body;
  if (acts && c.def.unit.empty() && !o.contains("unit")) c.def.unit = who.unit;
  return Command(std::move(c));
}

std::variant<Command, Response> EventCommand(const Engine& engine, const Principal& who,
                                             const Request& req, const json::object& o,
                                             const RecommendationView& current) {
  RecordEvent c;
  c.subject_id = current.id;
  c.kind = current.kind;  // so an action id on the recommendation route is not found
  // Checked by the engine inside the write transaction, so no other write can slip between.
  if (const std::string match = req.Header("if-match"); !match.empty() && match != "*") {
    auto versions = IfMatchVersions(match);
    if (!versions) return Api::Problem(400, "If-Match must list ETags this server gave");
    // Any listed version may match; the engine re-checks the one we pick inside the write.
    const bool current_listed = std::count(versions->begin(), versions->end(), current.version) > 0;
    c.expected_version = current_listed      ? current.version
                         : versions->empty() ? -1  // only weak tags: they never match
                                             : versions->front();
  }
  auto transition = StringMember(o, "do", true);
  auto note = StringMember(o, "note", false);
  for (const Status& s : {transition.status(), note.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  c.transition = *transition;
  c.note = *note;
  if (o.contains("effective")) {
    auto effective = DateMember(o, "effective");
    if (!effective.ok()) return Api::Problem(400, effective.status().message());
    c.effective = *effective;
  }
  for (const auto& member : o) {
    std::string key(member.key());
    if (key == "do" || key == "note" || key == "effective") continue;
    if (key == "role" || key == "by" || key == "unit") {
      return Api::Problem(400, "'" + key + "' comes from your token, not the request");
    }
    auto values = StringList(member.value(), key);
    if (!values.ok()) return Api::Problem(400, values.status().message());
    c.fields[key] = *values;
  }
  c.role = who.role;
  // A body-scoped role acts for its body (and its unit, when the token has one); other roles
  // act for none.
  const Workflow* wf =
      current.kind == SubjectKind::kAction ? engine.action_workflow() : &engine.workflow();
  const RoleSpec* spec = wf ? wf->FindRole(who.role) : nullptr;
  const bool acts = spec && spec->acts_for_owner;
  c.body = acts ? who.body : "";
  c.unit = acts ? who.unit : "";
  return Command(std::move(c));
}

}  // namespace rectrack::http
