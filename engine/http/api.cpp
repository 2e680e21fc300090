#include "engine/http/api.h"

#include <algorithm>
#include <chrono>

#include "engine/http/api_util.h"
#include "engine/http/openapi.h"
#include "engine/importer.h"
#include "engine/render.h"
#include "storage/crypto.h"

namespace rectrack::http {

std::variant<Principal, Response> Api::Authenticate(const Request& req, bool read,
                                                    const std::string& query_token,
                                                    const std::string& presented_hash) {
  auto identified = Identify(req, read, query_token, presented_hash);
  // Requests are counted per token once we know it is one, else per address, so neither
  // rotating made-up tokens nor guessing escapes the limit.
  const Principal* known = std::get_if<Principal>(&identified);
  const std::string client =
      known && !known->token_id.empty() ? "token:" + known->token_id : "address:" + req.remote;
  if (!rate_.Allow(client)) {
    Response r = Problem(
        429, "more than " + std::to_string(options_.rate_per_minute) + " requests a minute");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  return identified;
}

namespace {

bool IsBearer(const std::string& auth) {
  return auth.size() >= 7 && Lower(auth.substr(0, 7)) == "bearer ";
}

}  // namespace

std::string Api::PresentedHash(const Request& req, const std::string& query_token) {
  const std::string auth = req.Header("authorization");
  if (auth.empty()) return query_token.empty() ? "" : storage::Sha256Hex(query_token);
  return IsBearer(auth) ? storage::Sha256Hex(auth.substr(7)) : "";
}

std::variant<Principal, Response> Api::Identify(const Request& req, bool read,
                                                const std::string& query_token,
                                                const std::string& presented_hash) {
  Principal who;
  const std::string auth = req.Header("authorization");
  if (auth.empty() && !query_token.empty()) {
    auto principal = engine_->Authenticate(query_token, presented_hash);
    if (!principal.ok()) return FromStatus(principal.status());
    return *principal;
  }
  if (auth.empty()) {
    if (!(options_.public_read && read)) return Problem(401, "send Authorization: Bearer <token>");
    who.role = "reader";
    return who;
  }
  if (!IsBearer(auth)) return Problem(401, "use the Bearer authorization scheme");
  auto principal = engine_->Authenticate(auth.substr(7), presented_hash);
  if (!principal.ok()) return FromStatus(principal.status());
  return *principal;
}

Api::~Api() {
  {
    std::lock_guard<std::mutex> lock(writers_mutex_);
    stopping_ = true;
  }
  writers_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void Api::Enqueue(WriteJob job) {
  std::lock_guard<std::mutex> lock(writers_mutex_);
  writes_.push_back(std::move(job));
  if (!writer_.joinable()) writer_ = std::thread([this] { RunWriter(); });
  writers_cv_.notify_all();
}

void Api::RunWriter() {
  std::unique_lock<std::mutex> lock(writers_mutex_);
  for (;;) {
    writers_cv_.wait(lock, [&] { return stopping_ || !writes_.empty(); });
    if (writes_.empty()) return;  // stopping, and every job answered
    // Everyone who queued while the last group was committing goes in this one.
    std::vector<WriteJob> group;
    while (!writes_.empty() && group.size() < kMaxGroup) {
      group.push_back(std::move(writes_.front()));
      writes_.pop_front();
    }
    group_in_hand_ = true;
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    group_in_hand_ = false;
    writers_cv_.notify_all();  // Drain
  }
}

void Api::Drain() {
  std::unique_lock<std::mutex> lock(writers_mutex_);
  writers_cv_.wait(lock, [&] { return writes_.empty() && !group_in_hand_; });
}

void Api::CommitGroup(std::vector<WriteJob>& group) {
  std::vector<Response> answers(group.size());
  bool grown = false;
  std::vector<WriteBatch> batches;
  batches.reserve(group.size());
  for (WriteJob& job : group) batches.push_back(std::move(job.batch));
  std::vector<Result<ApplyReport>> results;
  try {
    Engine::Prepared prepared;
    int64_t before;
    {
      std::lock_guard<std::mutex> engine_lock(mutex_);
      before = engine_->last_seq();
      prepared = engine_->PrepareAll(batches);
      commit_in_flight_ = true;
    }
    // The fsync, without the engine: requests are read, checked and queued meanwhile (they
    // still see the world before this group), which is what makes the next group large.
    const Status committed = engine_->CommitPrepared(*prepared);
    std::lock_guard<std::mutex> engine_lock(mutex_);
    commit_in_flight_ = false;
    results = engine_->FinishPrepared(std::move(prepared), committed);
    grown = engine_->last_seq() > before;
  } catch (const std::exception& e) {
    // Whatever happens, every queued writer gets an answer and the queue moves on.
    std::lock_guard<std::mutex> engine_lock(mutex_);
    commit_in_flight_ = false;
    results.assign(group.size(), Status::IOError(std::string("write failed: ") + e.what()));
  }
  commit_landed_.notify_all();  // WithEngine
  {
    std::lock_guard<std::mutex> engine_lock(mutex_);
    for (size_t i = 0; i < group.size(); ++i) {
      try {
        answers[i] = group[i].answer(results[i]);
      } catch (const std::exception& e) {
        answers[i] = Problem(500, std::string("internal error: ") + e.what());
      }
    }
  }
  metrics_.RecordGroup(group.size());
  if (grown) NotifyListeners();
  for (size_t i = 0; i < group.size(); ++i) {
    try {
      group[i].done(std::move(answers[i]));
    } catch (const std::exception&) {
      // One session's failure to take its answer must not cost the others theirs.
    }
  }
}

void Api::HandleAsync(const Request& request, std::function<void(Response)> done) {
  const auto start = std::chrono::steady_clock::now();
  auto finish = [this, label = RouteLabel(request.target), start,
                 done = std::move(done)](Response response) {
    metrics_.Record(
        label, response.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    done(std::move(response));
  };
  std::variant<Response, WriteJob> routed;
  bool caught_up = false;
  try {
    routed = Route(request, caught_up);
  } catch (const std::exception& e) {
    // Nothing below should throw; if it does, the client gets a 500 and the server lives on.
    routed = Problem(500, std::string("internal error: ") + e.what());
  }
  if (caught_up) NotifyListeners();
  if (auto* job = std::get_if<WriteJob>(&routed)) {
    job->done = std::move(finish);
    return Enqueue(std::move(*job));
  }
  finish(std::move(std::get<Response>(routed)));
}

Response Api::Handle(const Request& request) {
  std::mutex mutex;
  std::condition_variable answered;
  std::optional<Response> response;
  HandleAsync(request, [&](Response r) {
    std::lock_guard<std::mutex> lock(mutex);
    response = std::move(r);
    answered.notify_one();
  });
  std::unique_lock<std::mutex> lock(mutex);
  answered.wait(lock, [&] { return response.has_value(); });
  if (response->shared_body) {
    response->body = *response->shared_body;
    response->shared_body.reset();
  }
  return std::move(*response);
}

Response Api::RouteGet(const Request& req, const Target& t, const std::vector<std::string>& parts,
                       const Principal& who) {
  if (t.path == "/feed.atom" || t.path == "/calendar.ics") return FeedResponse(req, t, who);
  const std::string& resource = parts[0];
  if (auto answered = ActionsGet(*engine_, t, parts, who)) return std::move(*answered);
  if (parts.size() == 1 && resource == "bodies") {
    if (Status s = OnlyParams(t, {}); !s.ok()) return Problem(400, s.message());
    json::array out;
    for (const Body& b : engine_->Bodies()) {
      out.push_back({{"id", b.id}, {"name", b.name}, {"short_name", b.short_name}});
    }
    return Json(200, json::serialize(out));
  }
  if (parts.size() == 1 && resource == "inspections") {
    if (Status s = OnlyParams(t, {}); !s.ok()) return Problem(400, s.message());
    json::array out;
    for (const Inspection& i : engine_->Inspections()) {
      out.push_back({{"id", i.id},
                     {"title", i.title},
                     {"short_title", i.short_title},
                     {"published", i.published.ToString()},
                     {"kind", i.kind},
                     {"follow_up_of", i.follow_up_of}});
    }
    return Json(200, json::serialize(out));
  }
  if (parts.size() == 1 && resource == "recommendations") {
    if (Status s =
            OnlyParams(t, {"body", "state", "open", "overdue", "as_of", "q", "limit", "cursor"});
        !s.ok()) {
      return Problem(400, s.message());
    }
    ListQuery q;
    auto as_of = DateParam(t, "as_of");
    auto open = BoolParam(t, "open");
    auto overdue = BoolParam(t, "overdue");
    for (const Status& s : {as_of.status(), open.status(), overdue.status()}) {
      if (!s.ok()) return Problem(400, s.message());
    }
    q.as_of = *as_of;
    q.open = *open;
    q.overdue_only = overdue->value_or(false);
    const bool not_overdue = *overdue == std::optional<bool>(false);
    q.body = t.query.count("body") ? t.query.at("body") : "";
    q.state = t.query.count("state") ? t.query.at("state") : "";
    if (!q.state.empty() && !engine_->workflow().FindState(q.state)) {
      return Problem(400, "unknown state '" + q.state + "'");
    }
    size_t limit = options_.default_page;
    if (t.query.count("limit")) {
      const std::string& text = t.query.at("limit");
      if (text.empty() || text.size() > 6 ||
          !std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(c); }) ||
          std::stoul(text) == 0 || std::stoul(text) > options_.max_page) {
        return Problem(400,
                       "limit must be a number from 1 to " + std::to_string(options_.max_page));
      }
      limit = std::stoul(text);
    }
    std::vector<RecommendationView> views = engine_->List(q);
    const std::string text_query = t.query.count("q") ? t.query.at("q") : "";
    std::erase_if(views, [&](const RecommendationView& v) {
      return !engine_->MaySee(who, v.def.owners) || (not_overdue && v.overdue) ||
             (!text_query.empty() && !ContainsFolded(v.def.text, text_query) &&
              !ContainsFolded(v.id, text_query));
    });
    size_t start = 0;
    if (t.query.count("cursor")) {
      // The cursor is a position in the list's order (issue date, id), so a page still follows
      // even when the item it names has since left the list.
      const std::string& cursor = t.query.at("cursor");
      auto at = engine_->Show(cursor, std::nullopt);
      if (!at.ok() || !engine_->MaySee(who, at->def.owners)) {
        return Problem(400, "cursor '" + cursor + "' names no recommendation");
      }
      const auto after = std::make_pair(at->issued, cursor);
      start = static_cast<size_t>(std::find_if(views.begin(), views.end(),
                                               [&](const RecommendationView& v) {
                                                 return std::make_pair(v.issued, v.id) > after;
                                               }) -
                                  views.begin());
    }
    const size_t end = std::min(views.size(), start + limit);
    std::vector<RecommendationView> page(views.begin() + static_cast<long>(start),
                                         views.begin() + static_cast<long>(end));
    std::string next =
        end < views.size() ? json::serialize(json::string(views[end - 1].id)) : "null";
    return Json(200, "{\"items\":" + ListAsJson(page) + ",\"next_cursor\":" + next + "}");
  }
  if (parts.size() == 2 && resource == "recommendations") {
    if (Status s = OnlyParams(t, {"as_of"}); !s.ok()) return Problem(400, s.message());
    auto as_of = DateParam(t, "as_of");
    if (!as_of.ok()) return Problem(400, as_of.status().message());
    // Whether the caller may see it comes first, so a 404 says nothing about others' items.
    auto today = engine_->Show(parts[1], std::nullopt);
    if (!today.ok() || !engine_->MaySee(who, today->def.owners)) {
      return Problem(404, "no recommendation '" + parts[1] + "'");
    }
    auto view = engine_->Show(parts[1], *as_of);
    if (!view.ok()) return FromStatus(view.status());
    const auto actions = VisibleActions(*engine_, who, parts[1], view->as_of);
    Response r = Json(200, ShowAsJson(*view, actions));
    r.headers.emplace_back("ETag", RecommendationEtag(*view, actions));
    return r;
  }
  if (parts.size() == 2 && resource == "reports" && parts[1] == "annex") {
    if (Status s = OnlyParams(t, {"body", "as_of", "format"}); !s.ok()) {
      return Problem(400, s.message());
    }
    if (!t.query.count("body")) return Problem(400, "body is required");
    const std::string& body = t.query.at("body");
    if (!who.body.empty() && who.body != body) {
      return Problem(403, "this token sees only " + who.body);
    }
    auto as_of = DateParam(t, "as_of");
    if (!as_of.ok()) return Problem(400, as_of.status().message());
    const std::string format = t.query.count("format") ? t.query.at("format") : "json";
    auto report = engine_->Annex(body, *as_of);
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
    } else {
      return Problem(400, "format must be json, csv, md or html");
    }
    return r;
  }
  return Problem(404, "no route GET " + t.path);
}

std::variant<Response, Api::WriteJob> Api::Route(const Request& original, bool& caught_up) {
  // HEAD is GET without a body (the server drops the body).
  Request head_as_get;
  const bool head = original.method == "HEAD";
  if (head) {
    head_as_get = original;
    head_as_get.method = "GET";
  }
  const Request& req = head ? head_as_get : original;
  auto target = ParseTarget(req.target);
  if (!target.ok()) return Problem(400, target.status().message());
  const Target& t = *target;
  if (t.path == "/healthz") {
    if (req.method != "GET") return NotAllowed("GET, HEAD");
    return Json(200, "{\"status\":\"ok\"}");
  }
  if (t.path == "/openapi.yaml") {
    if (req.method != "GET") return NotAllowed("GET, HEAD");
    Response r;
    r.content_type = "application/yaml";
    r.body = OpenApiDocument();
    return r;
  }
  // Feed readers and calendar apps cannot send headers, so feeds also take ?token=.
  const bool feed = t.path == "/feed.atom" || t.path == "/calendar.ics";
  const bool metrics = t.path == "/metrics";
  std::vector<std::string> parts;
  if (t.path.rfind(kApi, 0) == 0) parts = Split(t.path.substr(std::string(kApi).size()));
  if (parts.empty() && !feed && !metrics) return Problem(404, "no route " + t.path);
  if ((feed || metrics) && req.method != "GET") return NotAllowed("GET, HEAD");

  const std::string query_token = feed && t.query.count("token") ? t.query.at("token") : "";
  const std::string presented_hash = PresentedHash(req, query_token);
  std::unique_lock<std::mutex> lock(mutex_);
  if (Status refreshed = Refresh(caught_up); !refreshed.ok()) return FromStatus(refreshed);
  if (metrics) {
    auto authenticated = Authenticate(req, true, "", presented_hash);
    if (auto* refusal = std::get_if<Response>(&authenticated)) return std::move(*refusal);
    return MetricsResponse();
  }

  auto authenticated = Authenticate(req, req.method == "GET", query_token, presented_hash);
  if (auto* refusal = std::get_if<Response>(&authenticated)) return std::move(*refusal);
  const Principal who = std::get<Principal>(authenticated);
  const std::string actor = who.token_id.empty() ? "public" : "token:" + who.token_id;

  if (!parts.empty() && parts[0] == "alerts") {
    if (req.method != "GET") return NotAllowed("GET, HEAD");
    return AlertsResponse(t, parts, who);
  }
  if (req.method == "GET") {
    // Every GET is a function of the log, the day and who asks, so an answer can be reused
    // until the log grows or the day turns.
    // The key is the parsed query, so "?a=1&" and "?a=1" share an entry; feeds link to the Host
    // they were asked on, so for them the Host is part of the key.
    std::string key = who.role + "|" + who.body + "|" + who.unit + "|" + t.path + "?";
    auto escaped = [](const std::string& text) {  // so "a=b&c" in a value cannot pose as two
      std::string out;
      for (char ch : text) {
        out += ch == '%' ? "%25" : ch == '&' ? "%26" : ch == '=' ? "%3D" : std::string(1, ch);
      }
      return out;
    };
    for (const auto& [name, value] : t.query) key += escaped(name) + "=" + escaped(value) + "&";
    if (feed) key += "|" + req.Header("host");
    const std::string generation = std::to_string(engine_->last_seq()) + "-" +
                                   std::to_string(engine_->last_alert_seq()) + "-" +
                                   engine_->clock().Today().ToString();
    std::shared_ptr<const Response> answer;
    auto hit = cache_.find(key);
    if (hit != cache_.end() && hit->second.first == generation) {
      answer = hit->second.second;
    } else {
      Response fresh = RouteGet(req, t, parts, who);
      if (fresh.status != 200) return fresh;
      if (std::none_of(fresh.headers.begin(), fresh.headers.end(),
                       [](const auto& h) { return h.first == "ETag"; })) {
        fresh.headers.emplace_back(
            "ETag", "\"" + generation + "-" +
                        std::to_string(std::hash<std::string>{}(key) % 1000000) + "\"");
      }
      // Bounded in bytes (keys included: a long query makes a long key); when full, start
      // again, since every entry is cheap to recompute.
      const size_t size = key.size() + fresh.body.size() + 512;
      if (auto old = cache_.find(key); old != cache_.end()) {
        cache_bytes_ -= std::min(cache_bytes_, key.size() + old->second.second->body.size() + 512);
      }
      if (cache_bytes_ + size > kCacheBytes) {
        cache_.clear();
        cache_bytes_ = 0;
      }
      cache_bytes_ += size;
      answer = std::make_shared<const Response>(std::move(fresh));
      cache_[key] = {generation, answer};
    }
    // The rest without the lock: the entry lives on with `answer`, and its body is shared, not
    // copied, with the session that sends it.
    lock.unlock();
    Response response;
    response.status = answer->status;
    response.content_type = answer->content_type;
    response.headers = answer->headers;
    response.shared_body = std::shared_ptr<const std::string>(answer, &answer->body);
    for (const auto& [name, value] : response.headers) {
      if (name == "ETag" && value == req.Header("if-none-match")) {
        Response not_modified;
        not_modified.status = 304;
        not_modified.content_type.clear();
        not_modified.headers.emplace_back("ETag", value);
        return not_modified;
      }
    }
    return response;
  }

  if (req.method != "POST") return NotAllowed("GET, HEAD, POST");
  const std::string& resource = parts[0];
  if (!t.query.empty()) return Problem(400, "POST takes no query parameters");
  // Parsing the body needs only the workflows, which never change once the engine is open: it
  // runs without the lock, so a large import does not hold up every other request.
  lock.unlock();

  if (parts.size() == 1 && resource == "import") {
    if (!engine_->MayDefine(who)) return Problem(403, "role '" + who.role + "' may not import");
    const std::string type = Lower(req.Header("content-type"));
    if (type.rfind("application/yaml", 0) != 0 && type.rfind("text/yaml", 0) != 0 &&
        type.rfind("application/x-yaml", 0) != 0) {
      return Problem(415, "send the import file with Content-Type: application/yaml");
    }
    auto commands =
        ParseImport(req.body, "request body", engine_->workflow(), engine_->action_workflow());
    if (!commands.ok()) return Problem(400, commands.status().message());
    return WriteJob{WriteBatch{std::move(*commands), actor},
                    [](const Result<ApplyReport>& report) {
                      if (!report.ok()) return FromStatus(report.status());
                      return Json(200,
                                  json::serialize(json::object{{"appended", report->appended},
                                                               {"unchanged", report->unchanged}}));
                    },
                    nullptr};
  }

  if (const std::string type = Lower(req.Header("content-type"));
      type != "application/json" && type.rfind("application/json;", 0) != 0) {
    return Problem(415, "send Content-Type: application/json");
  }
  auto body = ParseJsonObject(req);
  if (!body.ok()) return Problem(400, body.status().message());
  lock.lock();
  const json::object& o = *body;
  Command command;
  std::string subject;
  auto bad = [](const Status& s) { return Problem(400, s.message()); };

  if (parts.size() == 1 && resource == "inspections") {
    if (!engine_->MayDefine(who)) return Problem(403, "role '" + who.role + "' may not do this");
    if (Status s =
            OnlyMembers(o, {"id", "title", "short_title", "published", "kind", "follow_up_of"});
        !s.ok()) {
      return bad(s);
    }
    DefineInspection c;
    auto id = StringMember(o, "id", true);
    auto title = StringMember(o, "title", true);
    auto short_title = StringMember(o, "short_title", false);
    auto kind = StringMember(o, "kind", false);
    auto follow = StringMember(o, "follow_up_of", false);
    auto published = DateMember(o, "published");
    for (const Status& s : {id.status(), title.status(), short_title.status(), kind.status(),
                            follow.status(), published.status()}) {
      if (!s.ok()) return bad(s);
    }
    c.inspection = Inspection{*id, *title, *short_title, *published, *kind, *follow};
    subject = *id;
    command = std::move(c);
  } else if (parts.size() == 1 && resource == "recommendations") {
    if (!engine_->MayDefine(who)) return Problem(403, "role '" + who.role + "' may not do this");
    if (Status s =
            OnlyMembers(o, {"id", "inspection", "owners", "text", "milestones", "issued", "note"});
        !s.ok()) {
      return bad(s);
    }
    DefineRecommendation c;
    auto id = StringMember(o, "id", true);
    auto inspection = StringMember(o, "inspection", true);
    auto text = StringMember(o, "text", true);
    auto note = StringMember(o, "note", false);
    for (const Status& s : {id.status(), inspection.status(), text.status(), note.status()}) {
      if (!s.ok()) return bad(s);
    }
    c.id = *id;
    c.def.inspection = *inspection;
    c.def.text = *text;
    c.note = *note;
    if (!o.contains("owners")) return Problem(400, "'owners' is required");
    auto owners = StringList(o.at("owners"), "owners");
    if (!owners.ok()) return bad(owners.status());
    c.def.owners = *owners;
    if (const json::value* ms = o.if_contains("milestones")) {
      c.milestones_given = true;
      if (!ms->is_array()) return Problem(400, "'milestones' must be a list of {label, due}");
      for (const auto& m : ms->as_array()) {
        if (!m.is_object()) return Problem(400, "'milestones' must be a list of {label, due}");
        auto label = StringMember(m.as_object(), "label", true);
        auto due = DateMember(m.as_object(), "due");
        if (!label.ok()) return bad(label.status());
        if (!due.ok()) return bad(due.status());
        c.def.milestones.push_back({*label, *due});
      }
    }
    if (o.contains("issued")) {
      auto issued = DateMember(o, "issued");
      if (!issued.ok()) return bad(issued.status());
      c.issued = *issued;
    }
    subject = c.id;
    command = std::move(c);
  } else if (parts.size() == 1 && resource == "units") {
    auto made = UnitCommand(*engine_, who, o);
    if (auto* refusal = std::get_if<Response>(&made)) return std::move(*refusal);
    subject = std::get<DefineUnit>(std::get<Command>(made)).unit.id;
    command = std::move(std::get<Command>(made));
  } else if (parts.size() == 3 && resource == "recommendations" && parts[2] == "actions") {
    auto made = ActionCommand(*engine_, who, parts[1], o);
    if (auto* refusal = std::get_if<Response>(&made)) return std::move(*refusal);
    subject = std::get<DefineAction>(std::get<Command>(made)).id;
    command = std::move(std::get<Command>(made));
  } else if (parts.size() == 3 && (resource == "recommendations" || resource == "actions") &&
             parts[2] == "events") {
    const bool action = resource == "actions";
    auto current = action ? engine_->ShowAction(parts[1], std::nullopt, Detail::kHead)
                          : engine_->Show(parts[1], std::nullopt, Detail::kHead);
    if (!current.ok() || !engine_->MaySee(who, current->def.owners)) {
      return Problem(404,
                     std::string(action ? "no action '" : "no recommendation '") + parts[1] + "'");
    }
    auto made = EventCommand(*engine_, who, req, o, *current);
    if (auto* refusal = std::get_if<Response>(&made)) return std::move(*refusal);
    subject = parts[1];
    command = std::move(std::get<Command>(made));
  } else {
    return Problem(404, "no route POST " + t.path);
  }

  // Answered once committed: a definition with what was defined, an event with the item as a
  // list shows it and the event (the whole timeline is one GET away, at Location).
  const bool event = parts.size() == 3 && parts[2] == "events";
  const bool planned = parts.size() == 3 && parts[2] == "actions";
  std::string echo = resource == "inspections" ? json::serialize(o) : "";
  std::optional<Unit> unit;
  if (resource == "units") unit = std::get<DefineUnit>(command).unit;
  auto answer = [this, who, resource, event, planned, subject, unit,
                 echo = std::move(echo)](const Result<ApplyReport>& report) -> Response {
    if (!report.ok()) return FromStatus(report.status());
    const int status = report->appended ? 201 : 200;
    if (resource == "inspections") {
      Response r = Json(status, echo);
      r.headers.emplace_back("Location", std::string(kApi) + "inspections");
      return r;
    }
    if (unit) {
      Response r = Json(
          status,
          json::serialize(json::object{
              {"id", unit->id}, {"body", unit->body}, {"name", unit->name}, {"kind", unit->kind}}));
      r.headers.emplace_back("Location", std::string(kApi) + "units?body=" + unit->body);
      return r;
    }
    const bool action = resource == "actions" || planned;
    auto item =
        action ? engine_->ShowAction(subject, std::nullopt, event ? Detail::kHead : Detail::kFull)
               : engine_->Show(subject, std::nullopt, event ? Detail::kHead : Detail::kFull);
    if (!item.ok()) return FromStatus(item.status());
    const auto actions = action ? std::vector<RecommendationView>{}
                                : VisibleActions(*engine_, who, subject, item->as_of);
    std::string body;
    if (event) {
      std::optional<TimelineEntry> recorded;
      if (!report->seqs.empty()) recorded = engine_->Recorded(subject, report->seqs.front());
      body = RecordedAsJson(*item, recorded, actions);
    } else {
      body = action ? ActionAsJson(*item) : ShowAsJson(*item, actions);
    }
    Response r = Json(status, std::move(body));
    r.headers.emplace_back("ETag", RecommendationEtag(*item, actions));
    r.headers.emplace_back(
        "Location", std::string(kApi) + (action ? "actions/" : "recommendations/") + subject);
    return r;
  };
  return WriteJob{WriteBatch{{std::move(command)}, actor}, std::move(answer), nullptr};
}

}  // namespace rectrack::http
