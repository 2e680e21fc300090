// The route table, and the routes of bodies, inspections, recommendations, Annex A and import.
// Units, actions and progress are in api_actions.cpp, alerts in api_alerts.cpp, feeds and
// metrics in api_feeds.cpp.
#include "engine/access.h"
#include "engine/host.h"
#include "engine/render.h"
#include "http/api.h"
#include "http/api_util.h"
#include "http/openapi.h"

namespace rectrack::http {

std::vector<Route> ApiRoutes(std::function<Response(const Engine&)> metrics,
                             std::function<bool()> started) {
  auto healthz = [] { return Api::Healthz(); };
  // Ready once the log is read: until then only lists are answered (from the item heads), so a
  // load balancer sends the rest elsewhere.
  auto readyz = [started = std::move(started)] {
    return started() ? Json(200, "{\"status\":\"ready\"}") : FromStatus(EngineHost::Starting());
  };
  auto openapi = [] {
    Response r;
    r.content_type = "application/yaml";
    r.body = OpenApiDocument();
    return r;
  };
  // The gauges count every body's work: for the inspectorate or an unscoped token (a reader
  // token made for monitoring), not for a body's token nor, under public_read, for anyone.
  auto metrics_get = [metrics = std::move(metrics)](const Call& call) {
    if (call.who.token_id.empty()) {
      return Api::Problem(401, "send Authorization: Bearer <token> (an unscoped token)");
    }
    if (!HasOperatorsView(call.who)) {
      return Api::Problem(403, "metrics count every body's work: use an unscoped token");
    }
    return metrics(call.engine);
  };
  using A = Access;
  using B = BodyKind;
  // method, pattern, access, open, get, post, body, cached, while_starting
  return {
      {"GET", "/healthz", A::kOpen, healthz, {}, {}, B::kNone, false},
      {"GET", "/readyz", A::kOpen, readyz, {}, {}, B::kNone, false},
      {"GET", "/openapi.yaml", A::kOpen, openapi, {}, {}, B::kNone, false},
      {"GET", "/metrics", A::kToken, {}, metrics_get, {}, B::kNone, false},
      {"GET", "/feed.atom", A::kFeed, {}, GetAtomFeed, {}, B::kNone, true},
      {"GET", "/calendar.ics", A::kFeed, {}, GetCalendar, {}, B::kNone, true},
      {"GET", "bodies", A::kToken, {}, GetBodies, {}, B::kNone, true, true},
      {"GET", "inspections", A::kToken, {}, GetInspections, {}, B::kNone, true},
      {"POST", "inspections", A::kToken, {}, {}, PostInspection, B::kJson, false},
      {"GET", "units", A::kToken, {}, GetUnits, {}, B::kNone, true},
      {"POST", "units", A::kToken, {}, {}, PostUnit, B::kJson, false},
      {"GET", "recommendations", A::kToken, {}, GetRecommendations, {}, B::kNone, true, true},
      {"POST", "recommendations", A::kToken, {}, {}, PostRecommendation, B::kJson, false},
      {"GET", "recommendations/{}", A::kToken, {}, GetRecommendation, {}, B::kNone, true},
      {"POST",
       "recommendations/{}/events",
       A::kToken,
       {},
       {},
       PostRecommendationEvent,
       B::kEvent,
       false},
      {"POST", "recommendations/{}/actions", A::kToken, {}, {}, PostAction, B::kJson, false},
      {"GET", "actions", A::kToken, {}, GetActions, {}, B::kNone, true},
      {"GET", "actions/{}", A::kToken, {}, GetAction, {}, B::kNone, true},
      {"POST", "actions/{}/events", A::kToken, {}, {}, PostActionEvent, B::kEvent, false},
      {"GET", "reports/annex", A::kToken, {}, GetAnnex, {}, B::kNone, true},
      {"GET", "reports/progress", A::kToken, {}, GetProgress, {}, B::kNone, true},
      // Not cached: delivery states change without the log growing.
      {"GET", "alerts", A::kToken, {}, GetAlerts, {}, B::kNone, false},
      {"GET", "alerts/{}", A::kToken, {}, GetAlert, {}, B::kNone, false},
      {"POST", "import", A::kDefine, {}, {}, PostImport, B::kImport, false},
      // Not cached: files are large, and each is read rarely.
      {"GET", "evidence/{}", A::kToken, {}, GetEvidence, {}, B::kNone, false},
  };
}

// --- The table

RouteTable::RouteTable(std::vector<Route> routes) : routes_(std::move(routes)) {
  for (const Route& route : routes_) {
    const std::string path = route.pattern.front() == '/' ? route.pattern : kApi + route.pattern;
    std::vector<std::string> pattern;
    for (std::string_view segment : Segments(path)) pattern.emplace_back(segment);
    patterns_.push_back(std::move(pattern));
  }
}

std::vector<std::string_view> RouteTable::Segments(std::string_view path) {
  const std::string_view api = kApi;
  if (path.substr(0, api.size()) != api) return {path};  // top-level routes match whole
  std::vector<std::string_view> segments = {"api"};
  for (size_t start = api.size(); start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) segments.push_back(path.substr(start, slash - start));  // "//" is one
    start = slash + 1;
  }
  return segments;
}

bool RouteTable::Matches(const std::vector<std::string>& pattern,
                         const std::vector<std::string_view>& segments,
                         std::vector<std::string>* params) {
  if (pattern.size() != segments.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != "{}" && pattern[i] != segments[i]) return false;
  }
  if (params) {
    params->clear();
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == "{}") params->emplace_back(segments[i]);
    }
  }
  return true;
}

const Route* RouteTable::Find(const std::string& method, const std::string& path,
                              std::vector<std::string>* params, bool* path_known) const {
  const std::vector<std::string_view> segments = Segments(path);
  *path_known = false;
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (!Matches(patterns_[i], segments, nullptr)) continue;
    if (routes_[i].method != method) {
      *path_known = true;
      continue;
    }
    Matches(patterns_[i], segments, params);
    return &routes_[i];
  }
  return nullptr;
}

std::string RouteTable::Allowed(const std::string& path) const {
  const std::vector<std::string_view> segments = Segments(path);
  std::vector<std::string> methods;
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (!Matches(patterns_[i], segments, nullptr)) continue;
    if (routes_[i].method == "GET") {
      methods.insert(methods.end(), {"GET", "HEAD"});
    } else {
      methods.push_back(routes_[i].method);
    }
  }
  return Join(methods);
}

std::variant<std::string, Response> ScopedBody(const Call& call) {
  auto body = ScopeBody(call.who, call.Query("body"));
  if (!body.ok()) return Api::Problem(403, "this token sees only " + call.who.body);
  return *body;
}

std::string Call::Query(const char* name) const {
  auto it = target.query.find(name);
  return it == target.query.end() ? std::string() : it->second;
}

// --- Bodies, inspections, recommendations, Annex A

Response GetBodies(const Call& call) {
  if (Status s = OnlyParams(call.target, {}); !s.ok()) return Api::Problem(400, s.message());
  json::array out;
  for (const Body& b : call.engine.Bodies()) {
    out.push_back({{"id", b.id}, {"name", b.name}, {"short_name", b.short_name}});
  }
  return Json(200, json::serialize(out));
}

Response GetInspections(const Call& call) {
  if (Status s = OnlyParams(call.target, {}); !s.ok()) return Api::Problem(400, s.message());
  json::array out;
  for (const Inspection& i : call.engine.Inspections()) {
    out.push_back({{"id", i.id},
                   {"title", i.title},
                   {"short_title", i.short_title},
                   {"published", i.published.ToString()},
                   {"kind", i.kind},
                   {"follow_up_of", i.follow_up_of}});
  }
  return Json(200, json::serialize(out));
}

Response GetRecommendations(const Call& call) {
  const Target& t = call.target;
  const Engine& engine = call.engine;
  if (Status s = OnlyParams(t, {"body", "state", "open", "overdue", "as_of", "q", "limit", "cursor",
                                "format", "bom"});
      !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto format = ListFormatParams(t);
  if (!format.ok()) return Api::Problem(400, format.status().message());
  ListQuery q;
  auto as_of = DateParam(t, "as_of");
  auto open = BoolParam(t, "open");
  auto overdue = BoolParam(t, "overdue");
  auto limit = PageLimit(call);
  for (const Status& s : {as_of.status(), open.status(), overdue.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  q.as_of = *as_of;
  q.open = *open;
  q.overdue_only = overdue->value_or(false);
  const bool not_overdue = *overdue == std::optional<bool>(false);
  q.body = call.Query("body");
  // An unknown body is 404, as for actions, units and reports: not an empty list hiding a typo.
  if (!q.body.empty() && !engine.HasBody(q.body)) {
    return Api::Problem(404, "no body '" + q.body + "'");
  }
  q.state = call.Query("state");
  if (!q.state.empty() && !engine.workflow().FindState(q.state)) {
    return Api::Problem(400, "unknown state '" + q.state + "'");
  }
  if (!limit.ok()) return Api::Problem(400, limit.status().message());
  const std::string text_query = call.Query("q");
  auto wanted = [&](const RecommendationView& v) {
    return engine.MaySee(call.who, v.def.owners) && !(not_overdue && v.overdue) &&
           (text_query.empty() || ContainsFolded(v.def.text, text_query) ||
            ContainsFolded(v.id, text_query));
  };
  // A body's token sees that body's recommendations: visited alone, not found among all.
  if (q.body.empty()) q.body = call.who.body;
  std::vector<RecommendationView> views;
  if (format->csv) {
    // The whole list, which the item heads' engine would hold the server's start up for.
    if (engine.reads_heads()) return FromStatus(EngineHost::Starting());
    Status listed = engine.VisitList(q, [&](const RecommendationView& v) {
      if (wanted(v)) views.push_back(v);
      return true;
    });
    if (!listed.ok()) return FromStatus(listed);
    const Date day = q.as_of.value_or(engine.clock().Today());
    return CsvFile(ListAsCsv(views), "recommendations-" + day.ToString() + ".csv", format->bom);
  }
  if (t.query.count("cursor")) {
    // The cursor is a position in the list's order (issue date, id), so a page still follows
    // even when the item it names has since left the list.
    const std::string cursor = call.Query("cursor");
    // Where the cursor is in the list is the recommendation's, which the item heads' engine
    // cannot show: a next page waits for the log.
    if (engine.reads_heads()) return FromStatus(EngineHost::Starting());
    auto at = engine.Show(cursor, std::nullopt, Detail::kHead);
    if (!at.ok() || !engine.MaySee(call.who, at->def.owners)) {
      return Api::Problem(400, "cursor '" + cursor + "' names no recommendation");
    }
    q.after = std::pair(at->issued, cursor);
  }
  // One more than the page, to know whether another follows: heads are made only up to the page's
  // end (those the filters drop on the way too), not for the rest of the list. (From the item
  // heads while the server starts, a list that reads too many of them waits for the log:
  // Engine::VisitList is Unavailable.)
  Status listed = engine.VisitList(q, [&](const RecommendationView& v) {
    if (wanted(v)) views.push_back(v);
    return views.size() <= *limit;
  });
  if (!listed.ok()) return FromStatus(listed);
  const bool more = views.size() > *limit;
  if (more) views.pop_back();
  std::string next = more ? json::serialize(json::string(views.back().id)) : "null";
  return Json(200, "{\"items\":" + ListAsJson(views) + ",\"next_cursor\":" + next + "}");
}

Response GetRecommendation(const Call& call) {
  const std::string& id = call.params[0];
  if (Status s = OnlyParams(call.target, {"as_of"}); !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto as_of = DateParam(call.target, "as_of");
  if (!as_of.ok()) return Api::Problem(400, as_of.status().message());
  auto view = ShowVisible(call.engine, call.who, id, SubjectKind::kRecommendation, *as_of);
  if (!view.ok()) return FromStatus(view.status());
  const auto actions = VisibleActions(call.engine, call.who, id, view->as_of);
  if (!actions.ok()) return FromStatus(actions.status());
  Response r = Json(200, ShowAsJson(*view, *actions));
  r.headers.emplace_back("ETag", RecommendationEtag(*view, *actions));
  return r;
}

Response GetEvidence(const Call& call) {
  if (Status s = OnlyParams(call.target, {}); !s.ok()) return Api::Problem(400, s.message());
  auto download = EvidenceVisible(call.engine, call.who, call.params[0]);
  if (!download.ok()) {
    const Status& s = download.status();
    return Api::Problem(s.code() == Code::kInvalidArgument ? 400 : HttpStatus(s), s.message());
  }
  return EvidenceFileResponse(std::move(*download));
}

Response GetAnnex(const Call& call) {
  if (Status s = OnlyParams(call.target, {"body", "as_of", "format"}); !s.ok()) {
    return Api::Problem(400, s.message());
  }
  if (!call.target.query.count("body")) return Api::Problem(400, "body is required");
  const std::string body = call.Query("body");
  if (!call.who.body.empty() && call.who.body != body) {
    return Api::Problem(403, "this token sees only " + call.who.body);
  }
  auto as_of = DateParam(call.target, "as_of");
  if (!as_of.ok()) return Api::Problem(400, as_of.status().message());
  const std::string format = call.target.query.count("format") ? call.Query("format") : "json";
  auto report = call.engine.Annex(body, *as_of);
  if (!report.ok()) return FromStatus(report.status());
  Response r;
  if (format == "json") {
    r.body = AnnexAsJson(*report);
  } else if (format == "csv") {
    r.content_type = "text/csv; charset=utf-8";
    r.body = AnnexAsCsv(*report);
  } else if (format == "md") {
    r.content_type = "text/markdown; charset=utf-8";
    r.body = AnnexAsMarkdown(*report);
  } else if (format == "html") {
    r.content_type = "text/html; charset=utf-8";
    r.body = AnnexAsHtml(*report);
  } else if (const auto document = DocumentFormatNamed(format)) {
    const std::string name = "annex-a-" + report->body + "-" + report->as_of.ToString();
    return DocumentFile([documents = call.options.documents, report = std::move(*report),
                         document] { return documents->Annex(report, *document); },
                        *document, name);
  } else {
    return Api::Problem(400, "format must be json, csv, md, html, xlsx, docx, odt or pdf");
  }
  return r;
}

std::variant<Response, Plan> PostImport(const Call&, PostBody& body) {
  // Moved, not copied: this runs under the engine's lock, and an import may be large.
  return Plan{std::move(body.imported), [](const Result<ApplyReport>& report, const Engine&) {
                if (!report.ok()) return FromStatus(report.status());
                return Json(200, json::serialize(json::object{{"appended", report->appended},
                                                              {"unchanged", report->unchanged}}));
              }};
}

std::variant<Response, Plan> PostInspection(const Call& call, PostBody& body) {
  const json::object& o = body.object;
  if (!call.engine.MayDefine(call.who)) {
    return Api::Problem(403, "role '" + call.who.role + "' may not do this");
  }
  if (Status s =
          OnlyMembers(o, {"id", "title", "short_title", "published", "kind", "follow_up_of"});
      !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto id = StringMember(o, "id", true);
  auto title = StringMember(o, "title", true);
  auto short_title = StringMember(o, "short_title", false);
  auto kind = StringMember(o, "kind", false);
  auto follow = StringMember(o, "follow_up_of", false);
  auto published = DateMember(o, "published");
  for (const Status& s : {id.status(), title.status(), short_title.status(), kind.status(),
                          follow.status(), published.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  DefineInspection c;
  c.inspection = Inspection{*id, *title, *short_title, *published, *kind, *follow};
  return Plan{{std::move(c)},
              [echo = json::serialize(o)](const Result<ApplyReport>& report, const Engine&) {
                if (!report.ok()) return FromStatus(report.status());
                Response r = Json(report->appended ? 201 : 200, echo);
                r.headers.emplace_back("Location", std::string(kApi) + "inspections");
                return r;
              }};
}

std::variant<Response, Plan> PostRecommendation(const Call& call, PostBody& body) {
  const json::object& o = body.object;
  if (!call.engine.MayDefine(call.who)) {
    return Api::Problem(403, "role '" + call.who.role + "' may not do this");
  }
  if (Status s =
          OnlyMembers(o, {"id", "inspection", "owners", "text", "milestones", "issued", "note"});
      !s.ok()) {
    return Api::Problem(400, s.message());
  }
  DefineRecommendation c;
  auto id = StringMember(o, "id", true);
  auto inspection = StringMember(o, "inspection", true);
  auto text = StringMember(o, "text", true);
  auto note = StringMember(o, "note", false);
  for (const Status& s : {id.status(), inspection.status(), text.status(), note.status()}) {
    if (!s.ok()) return Api::Problem(400, s.message());
  }
  c.id = *id;
  c.def.inspection = *inspection;
  c.def.text = *text;
  c.note = *note;
  if (!o.contains("owners")) return Api::Problem(400, "'owners' is required");
  auto owners = StringList(o.at("owners"), "owners");
  if (!owners.ok()) return Api::Problem(400, owners.status().message());
  c.def.owners = *owners;
  if (const json::value* ms = o.if_contains("milestones")) {
    c.milestones_given = true;
    if (!ms->is_array()) return Api::Problem(400, "'milestones' must be a list of {label, due}");
    for (const auto& m : ms->as_array()) {
      if (!m.is_object()) return Api::Problem(400, "'milestones' must be a list of {label, due}");
      if (Status s = OnlyMembers(m.as_object(), {"label", "due"}); !s.ok()) {
        return Api::Problem(400, "a milestone: " + s.message());
      }
      auto label = StringMember(m.as_object(), "label", true);
      auto due = DateMember(m.as_object(), "due");
      if (!label.ok()) return Api::Problem(400, label.status().message());
      if (!due.ok()) return Api::Problem(400, due.status().message());
      c.def.milestones.push_back({*label, *due});
    }
  }
  if (o.contains("issued")) {
    auto issued = DateMember(o, "issued");
    if (!issued.ok()) return Api::Problem(400, issued.status().message());
    c.issued = *issued;
  }
  const std::string subject = c.id;
  return Plan{{std::move(c)},
              [who = call.who, subject](const Result<ApplyReport>& report, const Engine& engine) {
                if (!report.ok()) return FromStatus(report.status());
                return ItemWritten(engine, who, subject, false, false, *report);
              }};
}

Response ItemWritten(const Engine& engine, const Principal& who, const std::string& subject,
                     bool action, bool event, const ApplyReport& report) {
  // An event is answered with the item as a list shows it and the event (the whole timeline is
  // one GET away, at Location); a definition with the item.
  const Detail detail = event ? Detail::kHead : Detail::kFull;
  auto item = action ? engine.ShowAction(subject, std::nullopt, detail)
                     : engine.Show(subject, std::nullopt, detail);
  if (!item.ok()) return FromStatus(item.status());
  auto listed = action ? std::vector<RecommendationView>{}
                       : VisibleActions(engine, who, subject, item->as_of);
  if (!listed.ok()) return FromStatus(listed.status());
  const std::vector<RecommendationView>& actions = *listed;
  std::string body;
  if (event) {
    std::optional<TimelineEntry> recorded;
    if (!report.seqs.empty()) recorded = engine.Recorded(subject, report.seqs.front());
    body = RecordedAsJson(*item, recorded, actions);
  } else {
    body = action ? ActionAsJson(*item) : ShowAsJson(*item, actions);
  }
  Response r = Json(report.appended ? 201 : 200, std::move(body));
  r.headers.emplace_back("ETag", RecommendationEtag(*item, actions));
  r.headers.emplace_back("Location",
                         std::string(kApi) + (action ? "actions/" : "recommendations/") + subject);
  return r;
}

}  // namespace rectrack::http
