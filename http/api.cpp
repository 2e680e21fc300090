#include "http/api.h"

#include <algorithm>
#include <chrono>

#include "engine/access.h"
#include "engine/documents.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "http/api_util.h"
#include "http/multipart.h"
#include "http/sealed_body.h"
#include "storage/crypto.h"

namespace rectrack::http {
namespace {

// An event with evidence files: its JSON in the part named "event", each file in a part named
// "file" with a filename. Nothing else.
Status ReadEventForm(const Request& req, PostBody* body) {
  ASSIGN_OR_RETURN(std::vector<FormPart> parts,
                   ParseMultipartForm(req.Header("content-type"), req.body));
  bool has_event = false;
  for (FormPart& part : parts) {
    if (part.name == "event" && !has_event) {
      auto object = ParseJsonObject(part.body);
      if (!object.ok()) return object.status().WithContext("part 'event'");
      body->object = std::move(*object);
      has_event = true;
    } else if (part.name == "file") {
      if (part.filename.empty()) return Status::InvalidArgument("a 'file' part needs a filename");
      body->files.push_back({std::move(part.filename), std::move(part.body)});
    } else {
      return Status::InvalidArgument("unexpected part '" + part.name +
                                     "': send one 'event' (JSON) and 'file' parts");
    }
  }
  if (!has_event) return Status::InvalidArgument("no 'event' part with the event's JSON");
  return Status();
}

// 429: a client over its requests or bytes this minute.
Response OverRate(const ApiOptions& options) {
  Response r = Api::Problem(
      429, "more than " + std::to_string(options.rate_per_minute) + " requests, or " +
               std::to_string(options.rate_bytes_per_minute) + " bytes of answers, a minute");
  r.headers.emplace_back("Retry-After", "60");
  return r;
}

}  // namespace

Api::Api(EngineHost* host, ApiOptions options)
    : host_(host),
      options_(options),
      routes_(std::make_unique<RouteTable>(
          ApiRoutes([this](const Engine& engine) { return MetricsResponse(engine); },
                    [this] { return host_->started(); }))) {
  if (!options_.documents) options_.documents = std::make_shared<DocumentConverter>();
  // Workflows never change once the engine is open: keep them to parse POST bodies unlocked.
  host_->ReadAsIs([&](const Engine& engine) {
    workflow_ = &engine.workflow();
    action_workflow_ = engine.action_workflow();
  });
}

Api::~Api() { host_->Drain(); }

std::variant<Principal, Response> Api::Authenticate(const Engine& engine, const Request& req,
                                                    bool read, const std::string& query_token,
                                                    const std::string& presented_hash) {
  auto identified = Identify(engine, req, read, query_token, presented_hash);
  // Requests are counted per token once we know it is one, else per address, so neither
  // rotating made-up tokens nor guessing escapes the limit.
  const std::string client = RateClient(std::get_if<Principal>(&identified), req);
  if (!rate_.Allow(client)) return OverRate(options_);
  return identified;
}

std::string Api::RateClient(const Principal* who, const Request& req) {
  return who && !who->token_id.empty() ? "token:" + who->token_id : "address:" + req.remote;
}

namespace {

bool IsBearer(const std::string& auth) {
  return auth.size() >= 7 && Lower(auth.substr(0, 7)) == "bearer ";
}

// The key of a GET answer in the cache: who asks (role and scope) and the parsed target, so
// "?a=1&" and "?a=1" share an entry.
std::string CacheKey(const Principal& who, const Target& t) {
  std::string key = who.role + "|" + who.body + "|" + who.unit + "|" + t.path + "?";
  auto escaped = [](const std::string& text) {  // so "a=b&c" in a value cannot pose as two
    std::string out;
    for (char ch : text) {
      out += ch == '%' ? "%25" : ch == '&' ? "%26" : ch == '=' ? "%3D" : std::string(1, ch);
    }
    return out;
  };
  for (const auto& [name, value] : t.query) key += escaped(name) + "=" + escaped(value) + "&";
  return key;
}

}  // namespace

std::string Api::PresentedHash(const Request& req, const std::string& query_token) {
  const std::string auth = req.Header("authorization");
  if (auth.empty()) return query_token.empty() ? "" : storage::Sha256Hex(query_token);
  return IsBearer(auth) ? storage::Sha256Hex(auth.substr(7)) : "";
}

std::variant<Principal, Response> Api::Identify(const Engine& engine, const Request& req, bool read,
                                                const std::string& query_token,
                                                const std::string& presented_hash) {
  const std::string auth = req.Header("authorization");
  if (auth.empty() && !query_token.empty()) {
    auto principal = engine.Authenticate(query_token, presented_hash);
    if (!principal.ok()) return FromStatus(principal.status());
    return *principal;
  }
  if (auth.empty()) {
    if (!(options_.public_read && read)) return Problem(401, "send Authorization: Bearer <token>");
    Principal who;
    who.role = "reader";
    return who;
  }
  if (!IsBearer(auth)) return Problem(401, "use the Bearer authorization scheme");
  auto principal = engine.Authenticate(auth.substr(7), presented_hash);
  if (!principal.ok()) return FromStatus(principal.status());
  return *principal;
}

std::optional<Response> Api::RefuseBeforeBody(const Request& head) {
  if (head.method != "POST") return std::nullopt;
  const std::string presented_hash = PresentedHash(head, "");
  std::optional<Response> refused;
  Status read = host_->Read([&](const Engine& engine) {
    auto identified = Identify(engine, head, /*read=*/false, "", presented_hash);
    if (auto* refusal = std::get_if<Response>(&identified); refusal && refusal->status == 401) {
      refused = std::move(*refusal);
    }
  });
  // Anything else (a store that could not be read) goes on, and meets it again in Route.
  if (!read.ok() || !refused) return std::nullopt;
  // Counted as Route counts a failed attempt, so that guessing tokens this way is limited too.
  if (!rate_.Allow(RateClient(nullptr, head))) return OverRate(options_);
  return refused;
}

bool Api::Owns(std::string_view path) const {
  if (path == "/api" || path.rfind("/api/", 0) == 0) return true;
  return !routes_->Allowed(std::string(path)).empty();
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
  try {
    routed = Route(request);
  } catch (const std::exception& e) {
    // Nothing below should throw; if it does, the client gets a 500 and the server lives on.
    routed = Problem(500, std::string("internal error: ") + e.what());
  }
  auto* job = std::get_if<WriteJob>(&routed);
  if (!job) return finish(std::move(std::get<Response>(routed)));
  // Answered by the host's writer: the answer is made with its lock held, then handed over.
  auto answer = std::make_shared<Response>();
  host_->Submit({std::move(job->batch),
                 [answer, make = std::move(job->answer)](const Result<ApplyReport>& report,
                                                         const Engine& engine) {
                   try {
                     *answer = make(report, engine);
                   } catch (const std::exception& e) {
                     *answer = Problem(500, std::string("internal error: ") + e.what());
                   }
                 },
                 [answer, finish = std::move(finish)]() mutable { finish(std::move(*answer)); }});
}

Response Api::Handle(const Request& request) {
  Mutex mutex;
  CondVar answered(&mutex);
  std::optional<Response> response;
  HandleAsync(request, [&](Response r) {
    MutexLock lock(&mutex);
    response = std::move(r);
    answered.SignalAll();
  });
  MutexLock lock(&mutex);
  while (!response) answered.Wait();
  if (response->shared_body) {
    response->body = *response->shared_body;
    response->shared_body.reset();
    response->sealed_body.reset();
  }
  return std::move(*response);
}

std::shared_ptr<const Response> Api::CacheLookup(const Call& call, CacheSlot* slot) {
  slot->key = CacheKey(call.who, call.target);
  slot->generation = std::to_string(call.engine.last_seq()) + "-" +
                     std::to_string(call.engine.last_alert_seq()) + "-" +
                     call.engine.clock().Today().ToString();
  MutexLock lock(&cache_mutex_);
  auto hit = cache_.find(slot->key);
  if (hit != cache_.end() && hit->second.first == slot->generation) return hit->second.second;
  return nullptr;
}

std::shared_ptr<const Response> Api::CacheStore(const CacheSlot& slot, Response fresh) {
  if (fresh.status != 200) return std::make_shared<const Response>(std::move(fresh));
  if (std::none_of(fresh.headers.begin(), fresh.headers.end(),
                   [](const auto& h) { return h.first == "ETag"; })) {
    fresh.headers.emplace_back(
        "ETag", "\"" + slot.generation + "-" +
                    std::to_string(std::hash<std::string>{}(slot.key) % 1000000) + "\"");
  }
  // The bytes a client may ask for by the thousand go out by sendfile, made once here.
  fresh.sealed_body = SealedBody::Make(fresh.body);
  auto answer = std::make_shared<const Response>(std::move(fresh));
  // Bounded in bytes (keys included: a long query makes a long key, and a sealed file's bytes
  // count again); when full, start again, since every entry is cheap to recompute. (An older
  // generation stored after a newer one only costs the next request a recomputation: lookups
  // match the generation exactly.)
  const auto bytes_of = [&slot](const Response& entry) {
    return slot.key.size() + entry.body.size() + 512 +
           (entry.sealed_body ? entry.sealed_body->size() : 0);
  };
  const size_t size = bytes_of(*answer);
  MutexLock lock(&cache_mutex_);
  if (auto old = cache_.find(slot.key); old != cache_.end()) {
    cache_bytes_ -= std::min(cache_bytes_, bytes_of(*old->second.second));
  }
  if (cache_bytes_ + size > kCacheBytes) {
    cache_.clear();
    cache_bytes_ = 0;
  }
  cache_bytes_ += size;
  cache_[slot.key] = {slot.generation, answer};
  return answer;
}

std::variant<Response, Api::WriteJob> Api::Route(const Request& original) {
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
  std::vector<std::string> params;
  bool path_known = false;
  const http::Route* route = routes_->Find(req.method, t.path, &params, &path_known);
  const bool api_path = t.path.rfind(kApi, 0) == 0;
  if (!route && !api_path) {
    if (path_known) return NotAllowed(routes_->Allowed(t.path));
    return Problem(404, "no route " + t.path);
  }
  if (route && route->access == Access::kOpen) return route->open();

  const std::string query_token =
      route && route->access == Access::kFeed && t.query.count("token") ? t.query.at("token") : "";
  const std::string presented_hash = PresentedHash(req, query_token);
  // Under the lock: who asks, and for a GET the answer (for a POST, parsing comes next).
  std::optional<Response> refused;
  std::optional<Response> fresh;  // a GET the cache did not have
  CacheSlot slot;
  std::shared_ptr<const Response> answer;
  Principal who;
  auto under_lock = [&](const Engine& engine) {
    auto authenticated =
        Authenticate(engine, req, req.method == "GET", query_token, presented_hash);
    if (auto* refusal = std::get_if<Response>(&authenticated)) {
      refused = std::move(*refusal);
      return;
    }
    who = std::get<Principal>(authenticated);
    if (!route) {
      // Asked only once the caller is known, so an unknown route says nothing to strangers.
      if (t.path == "/api/v1/stream") {
        // The server answers its GET itself (Session::StartStream): an open-ended stream,
        // which has no head to give alone.
        refused = NotAllowed("GET");
      } else if (req.method != "GET" && req.method != "POST") {
        // What the API answers as a whole; the alerts are read-only throughout.
        refused =
            NotAllowed(t.path.rfind("/api/v1/alerts", 0) == 0 ? "GET, HEAD" : "GET, HEAD, POST");
      } else if (path_known) {
        refused = NotAllowed(routes_->Allowed(t.path));
      } else {
        refused = Problem(404, "no route " + req.method + " " + t.path);
      }
      return;
    }
    if (route->method == "POST" && !t.query.empty()) {
      refused = Problem(400, "POST takes no query parameters");
      return;
    }
    if (route->access == Access::kDefine && !engine.MayDefine(who)) {
      refused = Problem(403, "role '" + who.role + "' may not import");
      return;
    }
    if (route->method != "GET") return;
    const Call call{req, t, params, who, engine, options_};
    // (An answer from the item heads is not kept: the cache's generations are the log's.)
    if (route->cached && !engine.reads_heads()) {
      answer = CacheLookup(call, &slot);
      if (!answer) fresh = route->get(call);
    } else {
      refused = route->get(call);
    }
  };
  // While the server starts, what the item heads answer is answered; the rest is 503.
  const Status refreshed =
      route && route->while_starting ? host_->ReadHeads(under_lock) : host_->Read(under_lock);
  if (!refreshed.ok()) return FromStatus(refreshed);
  // Without the lock: what is left of rendering an answer, then the cache keeps it.
  for (std::optional<Response>* done : {&fresh, &refused}) {
    if (*done && (*done)->render) {
      auto render = std::move((*done)->render);
      (*done)->render = nullptr;
      render(**done);
    }
  }
  if (fresh) answer = CacheStore(slot, std::move(*fresh));
  // What a reader makes the server send counts against its budget, as its requests do.
  if (refused && !refused->body.empty()) rate_.Charge(RateClient(&who, req), refused->body.size());
  if (answer) rate_.Charge(RateClient(&who, req), answer->body.size());
  if (refused) return std::move(*refused);
  if (answer) {
    // Without the lock: the entry lives on with `answer`, and its body is shared, not copied,
    // with the session that sends it.
    if (answer->status != 200) return *answer;
    for (const auto& [name, value] : answer->headers) {
      if (name == "ETag" && value == req.Header("if-none-match")) {
        Response not_modified;
        not_modified.status = 304;
        not_modified.content_type.clear();
        not_modified.headers.emplace_back("ETag", value);
        return not_modified;
      }
    }
    Response response;
    response.status = answer->status;
    response.content_type = answer->content_type;
    response.headers = answer->headers;
    response.shared_body = std::shared_ptr<const std::string>(answer, &answer->body);
    response.sealed_body = answer->sealed_body;
    return response;
  }

  // A POST. Its body is parsed without the lock (parsing needs only the workflows), so a large
  // import does not hold up every other request; the command is then built under it.
  PostBody body;
  const std::string type = Lower(req.Header("content-type"));
  // The media type alone, without its parameters ("; charset=utf-8"), compared whole:
  // "application/yamlfoo" is not YAML.
  const std::string media = MediaType(type);
  if (route->body == BodyKind::kImport) {
    if (media != "application/yaml" && media != "text/yaml" && media != "application/x-yaml") {
      return Problem(415, "send the import file with Content-Type: application/yaml");
    }
    const EngineHost::ImportTurn turn = host_->TakeImportTurn();
    if (!turn) {
      Response busy = Problem(503, "another import is being read; send this one again shortly");
      busy.headers.emplace_back("Retry-After", "5");
      return busy;
    }
    auto commands = ParseImport(req.body, "request body", *workflow_, action_workflow_);
    if (!commands.ok()) return Problem(400, commands.status().message());
    body.imported = std::move(*commands);
  } else if (route->body == BodyKind::kEvent && IsMultipartForm(type)) {
    if (Status s = ReadEventForm(req, &body); !s.ok()) return Problem(400, s.message());
  } else {
    if (media != "application/json") {
      return Problem(415, route->body == BodyKind::kEvent
                              ? "send Content-Type: application/json, or multipart/form-data "
                                "with evidence files"
                              : "send Content-Type: application/json");
    }
    auto object = ParseJsonObject(req);
    if (!object.ok()) return Problem(400, object.status().message());
    body.object = std::move(*object);
  }
  std::variant<Response, Plan> planned = Problem(500, "not planned");
  host_->ReadAsIs([&](const Engine& engine) {
    planned = route->post(Call{req, t, params, who, engine, options_}, body);
  });
  if (auto* refusal = std::get_if<Response>(&planned)) return std::move(*refusal);
  Plan& plan = std::get<Plan>(planned);
  const std::string actor = ActorOf(who);
  return WriteJob{WriteBatch{std::move(plan.commands), actor}, std::move(plan.answer)};
}

}  // namespace rectrack::http
