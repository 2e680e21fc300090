// Units, actions and the progress report: GET /api/v1/units, /api/v1/actions,
// /api/v1/actions/{id} and /api/v1/reports/progress, and the commands of POST /api/v1/units,
// /api/v1/recommendations/{id}/actions and the events of both recommendations and actions.
#include <algorithm>

#include "engine/access.h"
#include "engine/render.h"
#include "http/api.h"
#include "http/api_util.h"

namespace rectrack::http {

Response GetUnits(const Call& call) {
  if (Status s = OnlyParams(call.target, {"body"}); !s.ok()) return Api::Problem(400, s.message());
  // A body-scoped token sees its own body's units only, as it sees only its body's work.
  auto scoped = ScopedBody(call);
  if (auto* refusal = std::get_if<Response>(&scoped)) return std::move(*refusal);
  const std::string& body = std::get<std::string>(scoped);
  if (!body.empty() && !call.engine.HasBody(body)) {
    return Api::Problem(404, "no body '" + body + "'");
  }
  return Json(200, UnitsAsJson(call.engine.Units(body)));
}

namespace {

// A list of actions' cursor: the place its page ended, as "<action id>@<due date>" ("" for an
// undated action). The due date is in it, not worked out again from the action, so that a page
// follows on from where the last one ended even when that action was rescheduled since (its
// recommendation never changes).
std::string ActionCursor(const RecommendationView& action) {
  const ActionPlace place = PlaceOf(action);
  return place.id + "@" + (place.undated ? "" : place.due.ToString());
}

Result<ActionPlace> ActionCursorPlace(const Engine& engine, const Principal& who,
                                      const std::string& cursor) {
  const Status not_ours = Status::InvalidArgument(
      "cursor '" + cursor +
      "' is not a next_cursor of this list (an action id, '@' and its due date)");
  const size_t at = cursor.rfind('@');
  if (at == std::string::npos) return not_ours;
  const std::string id = cursor.substr(0, at), due = cursor.substr(at + 1);
  const std::optional<Date> due_date = Date::Parse(due);
  if (!due.empty() && !due_date) return not_ours;
  // Its recommendation, which never changes, from the action as it is today; one the caller
  // may not see is no place for it, as for a list of recommendations.
  auto action = engine.ShowAction(id, std::nullopt, Detail::kHead);
  if (!action.ok() || !MaySeeItem(engine, who, *action)) {
    return Status::InvalidArgument("cursor '" + cursor + "' names no action");
  }
  return ActionPlace{action->action->recommendation, !due_date, due_date.value_or(Date()), id};
}

}  // namespace

Response GetActions(const Call& call) {
  const Target& t = call.target;
  const Engine& engine = call.engine;
  if (Status s = OnlyParams(t, {"body", "unit", "recommendation", "open", "overdue", "as_of",
                                "limit", "cursor", "format", "bom"});
      !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto format = ListFormatParams(t);
  if (!format.ok()) return Api::Problem(400, format.status().message());
  auto as_of = DateParam(t, "as_of");
  auto open = BoolParam(t, "open");
  auto overdue = BoolParam(t, "overdue");
  auto limit = PageLimit(call);
  for (const Status& s : {as_of.status(), open.status(), overdue.status(), limit.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  ActionQuery q;
  q.as_of = *as_of;
  // Another body's, for a body's token, is 403, as for recommendations.
  auto scoped = ScopedBody(call);
  if (auto* refusal = std::get_if<Response>(&scoped)) return std::move(*refusal);
  q.body = std::get<std::string>(scoped);
  q.unit = call.Query("unit");
  q.recommendation = call.Query("recommendation");
  // Unknown names are 404s, as in the CLI, not empty lists that hide a typo; so are another
  // body's unit and recommendation, for a body's token, as if they were not there (as
  // GET /recommendations/{id} says of them): an empty list would say that they are.
  if (!q.body.empty() && !engine.HasBody(q.body)) {
    return Api::Problem(404, "no body '" + q.body + "'");
  }
  if (!q.unit.empty()) {
    const std::optional<Unit> unit = engine.FindUnit(q.unit);
    if (!unit || (!call.who.body.empty() && unit->body != call.who.body)) {
      return Api::Problem(404, "no unit '" + q.unit + "'");
    }
    if (!q.body.empty() && unit->body != q.body) {
      return Api::Problem(404, "no unit '" + q.unit + "' in " + q.body);
    }
  }
  if (!q.recommendation.empty()) {
    auto seen = engine.KindOf(q.recommendation) == SubjectKind::kRecommendation
                    ? engine.Show(q.recommendation, {}, Detail::kHead)
                    : Result<RecommendationView>(Status::NotFound(""));
    if (!seen.ok() && seen.status().code() != Code::kNotFound) return FromStatus(seen.status());
    if (!seen.ok() || !MaySeeItem(engine, call.who, *seen)) {
      return Api::Problem(404, "no recommendation '" + q.recommendation + "'");
    }
  }
  q.open = *open;
  q.overdue_only = overdue->value_or(false);
  q.detail = Detail::kHead;  // a list shows no timelines
  // A body's (or a unit's) token has its own actions only projected: others' are passed over
  // on their definitions, not read (an error reading one could name it).
  if (q.body.empty()) q.body = call.who.body;
  if (q.unit.empty()) q.unit = call.who.unit;
  const bool not_overdue = *overdue == std::optional<bool>(false);
  auto wanted = [&](const RecommendationView& a) {
    return MaySeeItem(engine, call.who, a) && !(not_overdue && a.overdue);
  };
  std::vector<RecommendationView> actions;
  if (format->csv) {
    Status listed = engine.VisitActions(q, [&](const RecommendationView& a) {
      if (wanted(a)) actions.push_back(a);
      return true;
    });
    if (!listed.ok()) return FromStatus(listed);
    const Date day = q.as_of.value_or(engine.clock().Today());
    return CsvFile(ActionsAsCsv(actions), "actions-" + day.ToString() + ".csv", format->bom);
  }
  if (t.query.count("cursor")) {
    auto after = ActionCursorPlace(engine, call.who, call.Query("cursor"));
    if (!after.ok()) return Api::Problem(400, after.status().message());
    q.after = std::move(*after);
  }
  // One more than the page, to know whether another follows.
  Status listed = engine.VisitActions(q, [&](const RecommendationView& a) {
    if (wanted(a)) actions.push_back(a);
    return actions.size() <= *limit;
  });
  if (!listed.ok()) return FromStatus(listed);
  const bool more = actions.size() > *limit;
  if (more) actions.pop_back();
  std::string next = more ? json::serialize(json::string(ActionCursor(actions.back()))) : "null";
  return Json(200, "{\"items\":" + ActionsAsJson(actions) + ",\"next_cursor\":" + next + "}");
}

Response GetAction(const Call& call) {
  const std::string& id = call.params[0];
  if (Status s = OnlyParams(call.target, {"as_of"}); !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto as_of = DateParam(call.target, "as_of");
  if (!as_of.ok()) return Api::Problem(400, as_of.status().message());
  auto view = ShowVisible(call.engine, call.who, id, SubjectKind::kAction, *as_of);
  if (!view.ok()) return FromStatus(view.status());
  Response r = Json(200, ActionAsJson(*view));
  r.headers.emplace_back("ETag", RecommendationEtag(*view));
  return r;
}

Response GetProgress(const Call& call) {
  if (Status s = OnlyParams(call.target, {"body", "as_of", "format"}); !s.ok()) {
    return Api::Problem(400, s.message());
  }
  const std::string body = call.Query("body");
  if (body.empty()) return Api::Problem(400, "body is required");
  if (!call.who.body.empty() && call.who.body != body) {
    return Api::Problem(403, "this token sees only " + call.who.body);
  }
  auto as_of = DateParam(call.target, "as_of");
  if (!as_of.ok()) return Api::Problem(400, as_of.status().message());
  const std::string format = call.target.query.count("format") ? call.Query("format") : "json";
  const auto document = DocumentFormatNamed(format);
  if (format != "json" && format != "md" && format != "csv" && format != "html" && !document) {
    return Api::Problem(400, "format must be json, md, csv, html, xlsx, docx, odt or pdf");
  }
  auto report = ProgressVisible(call.engine, call.who, body, *as_of);
  if (!report.ok()) return FromStatus(report.status());
  Response r;
  if (format == "json") {
    r.body = ProgressAsJson(*report);
  } else if (format == "md") {
    r.content_type = "text/markdown; charset=utf-8";
    r.body = ProgressAsMarkdown(*report);
  } else if (format == "html") {
    r.content_type = "text/html; charset=utf-8";
    r.body = ProgressAsHtml(*report);
  } else if (document) {
    const std::string name = "progress-" + report->body + "-" + report->as_of.ToString();
    return DocumentFile([documents = call.options.documents, report = std::move(*report),
                         document] { return documents->Progress(report, *document); },
                        *document, name);
  } else {
    r.content_type = "text/csv; charset=utf-8";
    r.body = ProgressAsCsv(*report);
  }
  return r;
}

std::variant<Response, Plan> PostUnit(const Call& call, PostBody& body) {
  const json::object& o = body.object;
  if (!call.engine.MayDefine(call.who)) {
    return Api::Problem(403, "role '" + call.who.role + "' may not do this");
  }
  if (Status s = OnlyMembers(o, {"id", "body", "name", "kind"}); !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto id = StringMember(o, "id", true);
  auto owner = StringMember(o, "body", true);
  auto name = StringMember(o, "name", true);
  auto kind = StringMember(o, "kind", false);
  for (const Status& s : {id.status(), owner.status(), name.status(), kind.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  const Unit unit{*id, *owner, *name, *kind};
  return Plan{
      {DefineUnit{unit, ""}}, [unit](const Result<ApplyReport>& report, const Engine&) {
        if (!report.ok()) return FromStatus(report.status());
        Response r = Json(
            report->appended ? 201 : 200,
            json::serialize(json::object{
                {"id", unit.id}, {"body", unit.body}, {"name", unit.name}, {"kind", unit.kind}}));
        r.headers.emplace_back("Location", std::string(kApi) + "units?body=" + unit.body);
        return r;
      }};
}

std::variant<Response, Plan> PostAction(const Call& call, PostBody& post) {
  const Engine& engine = call.engine;
  const Principal& who = call.who;
  const std::string& recommendation = call.params[0];
  const json::object& o = post.object;
  const Workflow* actions = engine.action_workflow();
  if (!actions) return Api::Problem(404, "actions are not enabled: no action workflow is loaded");
  auto rec = ShowVisible(engine, who, recommendation, SubjectKind::kRecommendation, std::nullopt,
                         Detail::kHead);
  if (!rec.ok()) return FromStatus(rec.status());
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
  ActAs(who, actions, &c);
  const bool acts = !c.body.empty();
  // Such a token can only plan for its own body, so that is the action's body by default (and
  // a unit-scoped one's unit its unit), even under a recommendation of several bodies.
  if (acts && c.def.body.empty()) c.def.body = who.body;
  if (acts && c.def.unit.empty() && !o.contains("unit")) c.def.unit = who.unit;
  const std::string subject = c.id;
  return Plan{{std::move(c)},
              [who, subject](const Result<ApplyReport>& report, const Engine& engine) {
                if (!report.ok()) return FromStatus(report.status());
                return ItemWritten(engine, who, subject, true, false, *report);
              }};
}

namespace {

// The event `o` asks to record on `current` (a recommendation or an action), or the refusal.
std::variant<Command, Response> EventCommand(const Engine& engine, const Principal& who,
                                             const Request& req, PostBody& body,
                                             const RecommendationView& current) {
  const json::object& o = body.object;
  RecordEvent c;
  c.files = std::move(body.files);
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
  // A body-scoped role acts for its body (and its unit, when the token has one); other roles
  // act for none.
  ActAs(who, current.kind == SubjectKind::kAction ? engine.action_workflow() : &engine.workflow(),
        &c);
  return Command(std::move(c));
}

std::variant<Response, Plan> PostEvent(const Call& call, PostBody& body, bool action) {
  const std::string& id = call.params[0];
  auto current = ShowVisible(call.engine, call.who, id,
                             action ? SubjectKind::kAction : SubjectKind::kRecommendation,
                             std::nullopt, Detail::kHead);
  if (!current.ok()) return FromStatus(current.status());
  auto made = EventCommand(call.engine, call.who, call.request, body, *current);
  if (auto* refusal = std::get_if<Response>(&made)) return std::move(*refusal);
  return Plan{
      {std::move(std::get<Command>(made))},
      [who = call.who, id, action](const Result<ApplyReport>& report, const Engine& engine) {
        if (!report.ok()) return FromStatus(report.status());
        return ItemWritten(engine, who, id, action, true, *report);
      }};
}

}  // namespace

std::variant<Response, Plan> PostRecommendationEvent(const Call& call, PostBody& body) {
  return PostEvent(call, body, false);
}

std::variant<Response, Plan> PostActionEvent(const Call& call, PostBody& body) {
  return PostEvent(call, body, true);
}

}  // namespace rectrack::http
