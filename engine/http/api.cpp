#include "engine/http/api.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>

#include "engine/http/feeds.h"
#include "engine/http/openapi.h"
#include "engine/http/target.h"
#include "engine/importer.h"
#include "engine/render.h"

namespace rectrack::http {

namespace {

namespace json = boost::json;
namespace urls = boost::urls;

constexpr const char* kApi = "/api/v1/";

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

// An engine Status as an HTTP status. InvalidArgument from the engine means well-formed input
// that breaks a rule (422); malformed input is caught here first and answered with 400.
int HttpStatus(const Status& s) {
  switch (s.code()) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 422;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kFailedPrecondition:
      return 412;
    case Code::kUnprocessable:
      return 422;
    default:
      return 500;
  }
}

Response FromStatus(const Status& s) { return Api::Problem(HttpStatus(s), s.message()); }

Response NotAllowed(const std::string& allow) {
  Response r = Api::Problem(405, "this route answers " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Result<Target> ParseTarget(const std::string& target) {
  auto parsed = urls::parse_origin_form(target);
  if (!parsed) return Status::InvalidArgument("malformed request target");
  Target t;
  t.path = std::string(parsed->path());
  for (auto param : parsed->params()) {
    std::string key(param.key);
    if (key.empty() && param.value.empty()) continue;  // "?" alone or a trailing "&"
    if (t.query.count(key))
      return Status::InvalidArgument("query parameter '" + key + "' repeated");
    t.query[key] = std::string(param.value);
  }
  return t;
}

Status OnlyParams(const Target& t, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : t.query) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      return Status::InvalidArgument("unknown query parameter '" + key + "'");
    }
  }
  return Status();
}

Result<std::optional<Date>> DateParam(const Target& t, const char* name) {
  auto it = t.query.find(name);
  if (it == t.query.end()) return std::optional<Date>();
  auto date = Date::Parse(it->second);
  if (!date) {
    return Status::InvalidArgument(std::string(name) + " must be a date YYYY-MM-DD, not '" +
                                   it->second + "'");
  }
  return std::optional<Date>(date);
}

Result<std::optional<bool>> BoolParam(const Target& t, const char* name) {
  auto it = t.query.find(name);
  if (it == t.query.end()) return std::optional<bool>();
  if (it->second == "true") return std::optional<bool>(true);
  if (it->second == "false") return std::optional<bool>(false);
  return Status::InvalidArgument(std::string(name) + " must be true or false");
}

Result<json::object> ParseJsonObject(const Request& req) {
  json::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return Status::InvalidArgument("malformed JSON: " + ec.message());
  if (!v.is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  return std::move(v.as_object());
}

// Reads a string member; "" when absent. InvalidArgument when present with another type.
Result<std::string> StringMember(const json::object& o, const char* key, bool required) {
  const json::value* v = o.if_contains(key);
  if (!v) {
    if (required) return Status::InvalidArgument("'" + std::string(key) + "' is required");
    return std::string();
  }
  if (!v->is_string())
    return Status::InvalidArgument("'" + std::string(key) + "' must be a string");
  return std::string(v->as_string());
}

Result<std::vector<std::string>> StringList(const json::value& v, const std::string& key) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.emplace_back(v.as_string());
    return out;
  }
  if (!v.is_array())
    return Status::InvalidArgument("'" + key + "' must be a string or a list of strings");
  for (const auto& item : v.as_array()) {
    if (!item.is_string()) return Status::InvalidArgument("'" + key + "' must list strings");
    out.emplace_back(item.as_string());
  }
  return out;
}

Result<Date> DateMember(const json::object& o, const char* key) {
  ASSIGN_OR_RETURN(std::string text, StringMember(o, key, true));
  auto date = Date::Parse(text);
  if (!date) {
    return Status::InvalidArgument("'" + std::string(key) + "' must be a date YYYY-MM-DD, not '" +
                                   text + "'");
  }
  return *date;
}

Status OnlyMembers(const json::object& o, std::initializer_list<const char*> allowed) {
  for (const auto& member : o) {
    std::string key(member.key());
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      return Status::InvalidArgument("unknown member '" + key + "'");
    }
  }
  return Status();
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ContainsFolded(const std::string& haystack, const std::string& needle) {
  return Lower(haystack).find(Lower(needle)) != std::string::npos;
}

std::string RecommendationEtag(const RecommendationView& v) {
  return "\"" + std::to_string(v.version) + "-" + v.as_of.ToString() + "\"";
}

// The version named by an If-Match tag ("12-2025-03-31" -> 12); -1 when unreadable.
long long EtagVersion(const std::string& tag) {
  std::string t = tag;
  if (t.rfind("W/", 0) == 0) t = t.substr(2);
  if (t.size() < 2 || t.front() != '"') return -1;
  size_t dash = t.find('-');
  try {
    return std::stoll(t.substr(1, dash == std::string::npos ? std::string::npos : dash - 1));
  } catch (...) {
    return -1;
  }
}

}  // namespace

std::string Request::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

Response Api::Problem(int status, const std::string& detail) {
  json::object problem{
      {"type", "about:blank"}, {"title", Reason(status)}, {"status", status}, {"detail", detail}};
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(problem);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"rectrack\"");
  return r;
}

std::variant<Principal, Response> Api::Authenticate(const Request& req, bool read,
                                                    const std::string& query_token) {
  Principal who;
  const std::string auth = req.Header("authorization");
  if (auth.empty() && !query_token.empty()) {
    auto principal = engine_->Authenticate(query_token);
    if (!principal.ok()) return FromStatus(principal.status());
    return *principal;
  }
  if (auth.empty()) {
    if (!(options_.public_read && read)) return Problem(401, "send Authorization: Bearer <token>");
    who.role = "reader";
    return who;
  }
  if (auth.size() < 7 || Lower(auth.substr(0, 7)) != "bearer ") {
    return Problem(401, "use the Bearer authorization scheme");
  }
  auto principal = engine_->Authenticate(auth.substr(7));
  if (!principal.ok()) return FromStatus(principal.status());
  return *principal;
}

std::variant<StreamRequest, Response> Api::OpenStream(const Request& req) {
  auto target = ParseTarget(req.target);
  if (!target.ok()) return Problem(400, target.status().message());
  if (Status s = OnlyParams(*target, {"body"}); !s.ok()) return Problem(400, s.message());
  StreamRequest stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status fresh = engine_->Refresh(); !fresh.ok()) return FromStatus(fresh);
    auto authenticated = Authenticate(req, true, "");
    if (auto* refusal = std::get_if<Response>(&authenticated)) return std::move(*refusal);
    stream.who = std::get<Principal>(authenticated);
    stream.after_seq = engine_->last_seq();
  }
  stream.body = target->query.count("body") ? target->query.at("body") : "";
  if (!stream.who.body.empty() && !stream.body.empty() && stream.body != stream.who.body) {
    return Problem(403, "this token sees only " + stream.who.body);
  }
  // Resuming: a client that saw event N asks for what came after it.
  if (const std::string last = req.Header("last-event-id"); !last.empty()) {
    if (last.size() > 18 || last.find_first_not_of("0123456789") != std::string::npos) {
      return Problem(400, "Last-Event-ID must be an event number");
    }
    stream.after_seq = std::stoll(last);
  }
  if (++streams_ > options_.max_streams) {
    --streams_;
    return Problem(503,
                   "too many open streams (at most " + std::to_string(options_.max_streams) + ")");
  }
  return stream;
}

std::string Api::StreamFrames(const StreamRequest& stream, int64_t* after_seq) {
  std::vector<FeedEntry> entries;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // All of them: a capped batch would skip events between it and the newest.
    entries =
        engine_->Feed(stream.who, stream.body, *after_seq, std::numeric_limits<size_t>::max());
  }
  std::string frames;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const TimelineEntry& e = it->event;
    json::object fields;
    for (const auto& [name, values] : e.fields) {
      json::array list;
      for (const auto& v : values) list.emplace_back(v);
      fields[name] = std::move(list);
    }
    json::array owners;
    for (const auto& o : it->owners) owners.emplace_back(o);
    json::object data{{"seq", e.seq},
                      {"recommendation", it->recommendation},
                      {"inspection", it->inspection},
                      {"owners", std::move(owners)},
                      {"do", e.transition},
                      {"effective", e.effective.ToString()},
                      {"recorded", e.recorded},
                      {"voice", e.voice},
                      {"body", e.body},
                      {"from", e.from_state},
                      {"to", e.to_state},
                      {"note", e.note},
                      {"fields", std::move(fields)}};
    frames += "id: " + std::to_string(e.seq) +
              "\nevent: recommendation\ndata: " + json::serialize(data) + "\n\n";
    *after_seq = std::max(*after_seq, e.seq);
  }
  return frames;
}

Result<ApplyReport> Api::Write(std::vector<Command> commands, const std::string& actor) {
  Writer me{WriteBatch{std::move(commands), actor}, std::nullopt, {}};
  std::unique_lock<std::mutex> lock(writers_mutex_);
  writers_.push_back(&me);
  me.cv.wait(lock, [&] { return me.result.has_value() || writers_.front() == &me; });
  if (me.result) return std::move(*me.result);
  // This writer leads: it commits everyone queued so far in one transaction, then wakes them.
  const std::vector<Writer*> group(writers_.begin(), writers_.end());
  lock.unlock();
  std::vector<WriteBatch> batches;
  batches.reserve(group.size());
  for (Writer* w : group) batches.push_back(std::move(w->batch));
  std::vector<Result<ApplyReport>> results;
  {
    std::lock_guard<std::mutex> engine_lock(mutex_);
    results = engine_->ApplyAll(batches);
  }
  lock.lock();
  for (size_t i = 0; i < group.size(); ++i) {
    group[i]->result = std::move(results[i]);
    writers_.pop_front();
    if (group[i] != &me) group[i]->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return std::move(*me.result);
}

int Api::Subscribe(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  listeners_[++next_listener_] = std::move(listener);
  return next_listener_;
}

void Api::Unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  listeners_.erase(id);
}

void Api::NotifyIfGrown(int64_t before) {
  int64_t now;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    now = engine_->last_seq();
  }
  if (now == before) return;
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const auto& listener : listeners) listener();
}

void Api::Poll() {
  int64_t before;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    before = engine_->last_seq();
    if (!engine_->Refresh().ok()) return;  // the next request reports the error
  }
  NotifyIfGrown(before);
}

Response Api::Handle(const Request& request) {
  int64_t before;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    before = engine_->last_seq();
  }
  const auto start = std::chrono::steady_clock::now();
  Response response;
  try {
    response = Route(request);
    NotifyIfGrown(before);
  } catch (const std::exception& e) {
    // Nothing below should throw; if it does, the client gets a 500 and the server lives on.
    response = Problem(500, std::string("internal error: ") + e.what());
  }
  metrics_.Record(RouteLabel(request.target), response.status,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return response;
}

Response Api::RouteGet(const Request& req, const Target& t, const std::vector<std::string>& parts,
                       const Principal& who) {
  if (t.path == "/feed.atom" || t.path == "/calendar.ics") return FeedResponse(req, t, who);
  const std::string& resource = parts[0];
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
      const std::string& cursor = t.query.at("cursor");
      auto it = std::find_if(views.begin(), views.end(),
                             [&](const RecommendationView& v) { return v.id == cursor; });
      if (it == views.end()) return Problem(400, "cursor '" + cursor + "' is not in this list");
      start = static_cast<size_t>(it - views.begin()) + 1;
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
    Response r = Json(200, ShowAsJson(*view));
    r.headers.emplace_back("ETag", RecommendationEtag(*view));
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

Response Api::Route(const Request& original) {
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

  std::unique_lock<std::mutex> lock(mutex_);
  if (Status fresh = engine_->Refresh(); !fresh.ok()) return FromStatus(fresh);
  if (metrics) {
    auto authenticated = Authenticate(req, true, "");
    if (auto* refusal = std::get_if<Response>(&authenticated)) return std::move(*refusal);
    return MetricsResponse();
  }

  auto authenticated = Authenticate(req, req.method == "GET",
                                    feed && t.query.count("token") ? t.query.at("token") : "");
  if (auto* refusal = std::get_if<Response>(&authenticated)) return std::move(*refusal);
  const Principal who = std::get<Principal>(authenticated);
  const std::string actor = who.token_id.empty() ? "public" : "token:" + who.token_id;

  if (req.method == "GET") {
    // Every GET is a function of the log, the day and who asks, so an answer can be reused
    // until the log grows or the day turns.
    const std::string key = who.role + "|" + who.body + "|" + req.target;
    const std::string generation =
        std::to_string(engine_->last_seq()) + "-" + engine_->clock().Today().ToString();
    Response response;
    auto hit = cache_.find(key);
    if (hit != cache_.end() && hit->second.first == generation) {
      response = hit->second.second;
    } else {
      response = RouteGet(req, t, parts, who);
      if (response.status == 200) {
        if (std::none_of(response.headers.begin(), response.headers.end(),
                         [](const auto& h) { return h.first == "ETag"; })) {
          response.headers.emplace_back(
              "ETag", "\"" + generation + "-" +
                          std::to_string(std::hash<std::string>{}(key) % 1000000) + "\"");
        }
        if (cache_.size() >= kCacheEntries) cache_.clear();
        cache_[key] = {generation, response};
      }
    }
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

  if (parts.size() == 1 && resource == "import") {
    if (!engine_->MayDefine(who)) return Problem(403, "role '" + who.role + "' may not import");
    const std::string type = Lower(req.Header("content-type"));
    if (type.rfind("application/yaml", 0) != 0 && type.rfind("text/yaml", 0) != 0 &&
        type.rfind("application/x-yaml", 0) != 0) {
      return Problem(415, "send the import file with Content-Type: application/yaml");
    }
    auto commands = ParseImport(req.body, "request body", engine_->workflow());
    if (!commands.ok()) return Problem(400, commands.status().message());
    lock.unlock();
    auto report = Write(std::move(*commands), actor);
    lock.lock();
    if (!report.ok()) return FromStatus(report.status());
    return Json(200, json::serialize(json::object{{"appended", report->appended},
                                                  {"unchanged", report->unchanged}}));
  }

  if (Lower(req.Header("content-type")).rfind("application/json", 0) != 0) {
    return Problem(415, "send Content-Type: application/json");
  }
  auto body = ParseJsonObject(req);
  if (!body.ok()) return Problem(400, body.status().message());
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
  } else if (parts.size() == 3 && resource == "recommendations" && parts[2] == "events") {
    RecordEvent c;
    c.subject_id = parts[1];
    auto current = engine_->Show(parts[1], std::nullopt);
    if (!current.ok() || !engine_->MaySee(who, current->def.owners)) {
      return Problem(404, "no recommendation '" + parts[1] + "'");
    }
    // Checked by the engine inside the write transaction, so no other write can slip between.
    if (const std::string match = req.Header("if-match"); !match.empty() && match != "*") {
      const long long version = EtagVersion(match);
      if (version < 0) return Problem(400, "If-Match must be an ETag this server gave");
      c.expected_version = version;
    }
    auto transition = StringMember(o, "do", true);
    auto note = StringMember(o, "note", false);
    for (const Status& s : {transition.status(), note.status()}) {
      if (!s.ok()) return bad(s);
    }
    c.transition = *transition;
    c.note = *note;
    if (o.contains("effective")) {
      auto effective = DateMember(o, "effective");
      if (!effective.ok()) return bad(effective.status());
      c.effective = *effective;
    }
    for (const auto& member : o) {
      std::string key(member.key());
      if (key == "do" || key == "note" || key == "effective") continue;
      if (key == "role" || key == "by") {
        return Problem(400, "'" + key + "' comes from your token, not the request");
      }
      auto values = StringList(member.value(), key);
      if (!values.ok()) return bad(values.status());
      c.fields[key] = *values;
    }
    c.role = who.role;
    // A body-scoped role acts for its body; other roles act for none.
    const RoleSpec* spec = engine_->workflow().FindRole(who.role);
    c.body = spec && spec->acts_for_owner ? who.body : "";
    subject = c.subject_id;
    command = std::move(c);
  } else {
    return Problem(404, "no route POST " + t.path);
  }

  lock.unlock();
  auto report = Write({command}, actor);
  lock.lock();
  if (!report.ok()) return FromStatus(report.status());
  if (resource == "inspections") {
    Response r = Json(report->appended ? 201 : 200, json::serialize(o));
    r.headers.emplace_back("Location", std::string(kApi) + "inspections");
    return r;
  }
  auto view = engine_->Show(subject, std::nullopt);
  if (!view.ok()) return FromStatus(view.status());
  Response r = Json(report->appended ? 201 : 200, ShowAsJson(*view));
  r.headers.emplace_back("ETag", RecommendationEtag(*view));
  r.headers.emplace_back("Location", std::string(kApi) + "recommendations/" + subject);
  return r;
}

}  // namespace rectrack::http
