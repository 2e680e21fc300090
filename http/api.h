// Api: the HTTP API as a function from request to response, with no sockets in sight, so the
// server (server.h) is a thin shell and tests can call it directly.
//
// Routes (all under /api/v1 unless noted; see docs/api.md and /openapi.yaml):
//   GET  /healthz (no token needed); bodies; inspections; units?body=
//   GET  recommendations?body=&state=&open=&overdue=&as_of=&q=&limit=&cursor=
//   GET  recommendations/{id}?as_of= (with its actions; ETag, If-None-Match -> 304)
//   GET  actions?body=&unit=&recommendation=&open=&overdue=&as_of=; actions/{id}?as_of= (ETag)
//   GET  reports/annex?body=&as_of=&format=json|csv|md|html; reports/progress?body=&as_of=&format=
//   POST inspections; recommendations; units; import
//   POST recommendations/{id}/events; recommendations/{id}/actions; actions/{id}/events (If-Match)
// Errors are RFC 9457 application/problem+json with a precise detail.
//
// Writes go through the EngineHost (engine/host.h): a POST is checked and turned into commands
// on the caller's thread, then submitted to the host's group commit, which answers it once its
// transaction is durable. HandleAsync returns at once for a write, so a server with two I/O
// threads can have many writes in one group.
//
// Routes are a table (api_routes.cpp): method and path pattern -> handler, each handler a short
// function of the request, the caller and the engine (read under the host's lock).
//
// Thread-safety: Handle() and HandleAsync() may be called from many threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "engine/commands.h"
#include "engine/principal.h"
#include "http/metrics.h"

namespace rectrack {

class DocumentConverter;
class Engine;
class EngineHost;
class Workflow;

namespace http {

struct Target;     // a parsed request target (api_util.h)
struct Call;       // a routed request (api_util.h)
struct Route;      // one entry of the route table (api_util.h)
class RouteTable;  // (api_util.h)
class SealedBody;  // (sealed_body.h)

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // origin-form: "/api/v1/recommendations?open=true"
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote;  // the client's address, for limits on requests without a valid token

  const std::string& Header(const std::string& lower_name) const;  // "" when absent
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (ETag, Location, ...)
  // Set instead of `body` when the bytes are shared with the GET cache: the server sends them
  // without a copy (a list is hundreds of KB). Api::Handle folds it back into `body`.
  std::shared_ptr<const std::string> shared_body;
  // Set beside `shared_body` for a large cached answer: the same bytes in a sealed file, which
  // the server sends with sendfile(2) (sealed_body.h). Nothing else reads it.
  std::shared_ptr<const SealedBody> sealed_body;
  // Set by a handler whose body is costly to render (the Atom feed): it runs after the engine's
  // lock is released, on what the handler copied, and fills `body`. Api::Route runs it and
  // clears it; nothing outside the Api sees one.
  std::function<void(Response&)> render;
};

// Another front served by the same server beside the API: the web workspace (web/). The server
// hands it every request whose path is not the API's (Api::Owns), so that an address people
// mistype gets a page, not the API's JSON. Handle may block its I/O thread (a form that
// records something waits for its commit).
class Front {
 public:
  virtual ~Front() = default;
  virtual Response Handle(const Request& request) = 0;
  // The server's own refusal of a request to one of its paths before it could be handled (413: a
  // body over max_body_bytes; 431: a head over max_header_bytes; 400: a request that cannot be
  // read), as a page people can read; `head` has the request line and as many headers as were
  // read (none for 431); `detail` says what was wrong. Without an override, the API's problem
  // JSON.
  virtual std::optional<Response> Refusal(const Request& head, int status,
                                          const std::string& detail) {
    (void)head, (void)status, (void)detail;
    return std::nullopt;
  }
};

struct ApiOptions {
  size_t max_page = 1000;  // largest `limit` a list request may ask for
  size_t default_page = 100;
  bool public_read = false;    // when true, GETs without a token read as an unscoped reader
  int max_streams = 64;        // concurrent GET /api/v1/stream connections
  int rate_per_minute = 6000;  // per token, or per address without a valid one; 0 disables
  // Bytes of answers a minute, per token or address the same way: what one reader may make the
  // server send (a full list is a few MB); 0 disables.
  long long rate_bytes_per_minute = 1LL << 30;
  // Where people and feed readers reach this server ("https://rectrack.example"): the base of
  // the links in feeds. Never taken from a request's Host header, which a client chooses.
  std::string public_url = "";
  // Makes reports as DOCX, ODT and PDF (engine/documents.h), bounded in time and in how many at
  // once; shared with the web workspace. Null: one with the default limits.
  std::shared_ptr<const DocumentConverter> documents;
};

// Where a stream is: the newest event and alert it has sent (or skipped as not its business).
// Frame ids are "<event>" while no alert exists, else "<event>.<alert>"; Last-Event-ID takes
// either form back.
struct StreamCursor {
  int64_t event = 0;
  int64_t alert = 0;
  // More is waiting than one call of StreamFrames returns: call it again once its frames are
  // written (a stream resuming from far back pages through the log, never holding it all).
  bool more = false;
  // Its client is over its bytes this minute: end the stream once these frames are written.
  bool spent = false;
  std::string Id() const;
};

// An accepted GET /api/v1/stream: who is listening, to which body, from where on.
struct StreamRequest {
  Principal who;
  std::string secret;  // the bearer token, re-checked on every push: revoking it ends the stream
  std::string client;  // whose budget its bytes count against (Api::RateClient)
  std::string body;
  StreamCursor after;
};

// A fixed window per minute per client: simple, and enough to stop one client starving others.
// Thread-safe.
// Requests and answer bytes per client (a token, or an address) in the current minute. A client
// over either budget is refused until the minute turns; 0 disables that budget.
class RateLimiter {
 public:
  RateLimiter(int per_minute, long long bytes_per_minute)
      : per_minute_(per_minute), bytes_per_minute_(bytes_per_minute) {}
  // Counts one request; false when the client is over its requests or its bytes.
  bool Allow(const std::string& client) EXCLUDES(mutex_);
  // Counts `bytes` of answer sent to the client (after Allow let the request in); false when it
  // is now over its bytes (a stream then ends: its client resumes once the minute turns).
  bool Charge(const std::string& client, size_t bytes) EXCLUDES(mutex_);

 private:
  struct Spent {
    int requests = 0;
    long long bytes = 0;
  };
  // Starts a new minute when the clock has moved on.
  void TurnLocked() REQUIRES(mutex_);
  const int per_minute_;
  const long long bytes_per_minute_;
  Mutex mutex_;
  long long window_ GUARDED_BY(mutex_) = -1;
  std::map<std::string, Spent> spent_ GUARDED_BY(mutex_);
};

class Api {
 public:
  // REQUIRES: `host` outlives the Api.
  Api(EngineHost* host, ApiOptions options);
  // Waits until every write submitted so far is committed and answered.
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // The refusal of a POST to the API whose head (line and headers: its body not sent yet) is
  // refused whatever its body, because it has no token that is one (401; 429 once its
  // address is over its requests, as Route counts a failed attempt), or nullopt: so that a
  // client waiting to send (Expect: 100-continue) need not send a body that would be thrown
  // away.
  std::optional<Response> RefuseBeforeBody(const Request& head);

  // Whether `path` (as the request line has it, before its query) is the API's: under /api/,
  // or one of its own top-level files (/healthz, /metrics, /openapi.yaml, the feeds).
  bool Owns(std::string_view path) const;

  // Answers `request` by calling `done` once: on this thread, before returning, for anything
  // but a write; on the host's writer thread once a write is committed or refused. `done` must
  // not block: the writer answers a whole group in turn.
  void HandleAsync(const Request& request, std::function<void(Response)> done);
  // HandleAsync, waiting for the answer.
  Response Handle(const Request& request);

  // GET /api/v1/stream (server-sent events). OpenStream authenticates and checks the request
  // like Handle would, counting it against max_streams; a Response means refused. Each accepted
  // stream must be closed with CloseStream. StreamFrames returns the SSE frames ("id:", "event:",
  // "data:") for events (event: recommendation) and alerts (event: alert) after *cursor that the
  // stream may see, oldest first, at most kStreamBatch events and as many alerts, and advances it;
  // nullopt once the stream's token is no longer valid (revoked, expired): end the stream then. A
  // stream learns that there is something new from the host's listeners (EngineHost::Subscribe).
  std::variant<StreamRequest, Response> OpenStream(const Request& request);
  std::optional<std::string> StreamFrames(const StreamRequest& stream, StreamCursor* cursor);
  static constexpr size_t kStreamBatch = 256;
  void CloseStream(const StreamRequest& stream) EXCLUDES(streams_mutex_);
  // The streams one client (a token, or an address) may hold at once: a quarter of
  // max_streams, at least one, so that one client cannot take every slot.
  int StreamsPerClient() const { return std::max(1, options_.max_streams / 4); }

  // Sets ApiOptions::public_url once the server knows the address it listens on.
  // REQUIRES: called before the first request.
  void SetPublicUrl(std::string url) { options_.public_url = std::move(url); }

  // Counts in /metrics an answer the server gave itself: to a request it refused before routing
  // it (`target` if its request line was read; "" when not, counted under the route "unread"),
  // or a stream's opening.
  void CountServerAnswer(const std::string& target, int status);

  // Problem response for `status` with `detail`; used by the server for errors found before a
  // request reaches the API (too large, malformed, too many connections).
  // With `field`, the problem's member "field": the input it is about (Status::field): a
  // workflow field's name, "effective" or "note".
  static Response Problem(int status, const std::string& detail, const std::string& field = "");
  // GET /healthz's answer; the server gives it too when it has no room for the connection.
  static Response Healthz();

 private:
  // A routed write: the commands to submit and how to answer once they are committed or
  // refused (run by the host's writer with its lock held).
  struct WriteJob {
    WriteBatch batch;
    std::function<Response(const Result<ApplyReport>&, const Engine&)> answer;
  };
  // The answer, or for a write the job to submit.
  std::variant<Response, WriteJob> Route(const Request& request);
  // Who sent `request`, or the 401 (or 429, past the rate limit) to answer. Every route that
  // needs a token goes through here, so every one is metered. Runs under the host's lock.
  // `presented_hash` is PresentedHash(request, query_token).
  std::variant<Principal, Response> Authenticate(const Engine& engine, const Request& request,
                                                 bool read, const std::string& query_token,
                                                 const std::string& presented_hash);
  // Authenticate without the rate limit.
  std::variant<Principal, Response> Identify(const Engine& engine, const Request& request,
                                             bool read, const std::string& query_token,
                                             const std::string& presented_hash);
  // The SHA-256 of the secret `request` presents (its Bearer token, else `query_token`), or ""
  // when it presents none. Needs no lock: routes hash before taking the host's, so the hashing
  // does not hold up the engine.
  static std::string PresentedHash(const Request& request, const std::string& query_token);
  // A GET answered from the cache, or by `handler` and cached: every GET is a function of the
  // log, the day and who asks, so an answer is reused until the log grows or the day turns.
  // The GET cache: an answer is cached under its key for one generation of the engine (its last
  // event and alert, and the day). Lookup runs under the host's lock; Store without it, so an
  // answer is rendered outside the lock and then kept.
  struct CacheSlot {
    std::string key;
    std::string generation;
  };
  std::shared_ptr<const Response> CacheLookup(const Call& call, CacheSlot* slot);
  std::shared_ptr<const Response> CacheStore(const CacheSlot& slot, Response fresh);
  // GET /metrics: the request counters and the engine's gauges (cached per generation).
  Response MetricsResponse(const Engine& engine);

  EngineHost* const host_;
  ApiOptions options_;  // fixed once serving: SetPublicUrl comes before the first request
  std::unique_ptr<const RouteTable> routes_;
  // Fixed once the engine is open, so POST bodies are parsed against them without the lock.
  const Workflow* workflow_ = nullptr;
  const Workflow* action_workflow_ = nullptr;
  Mutex streams_mutex_;
  int streams_ GUARDED_BY(streams_mutex_) = 0;
  std::map<std::string, int> streams_by_client_ GUARDED_BY(streams_mutex_);
  Metrics metrics_;
  RateLimiter rate_{options_.rate_per_minute, options_.rate_bytes_per_minute};
  // The rate limiter's key for a request: its token, else its address.
  static std::string RateClient(const Principal* who, const Request& request);
  // Taken inside the host's lock, never the other way round.
  Mutex cache_mutex_;
  // GET answers by "role|body|unit|target": (generation, response); bounded in bytes.
  static constexpr size_t kCacheBytes = 64 << 20;
  size_t cache_bytes_ GUARDED_BY(cache_mutex_) = 0;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const Response>>> cache_
      GUARDED_BY(cache_mutex_);
  std::pair<std::string, std::string> gauges_ GUARDED_BY(cache_mutex_);  // (generation, text)
  // The frames of recent events, rendered once and shared by every stream that may see them:
  // seq -> "event: ...\ndata: ...\n\n" (the id line is each stream's own). The newest
  // kSharedFrames; taken inside the host's lock, never the other way round.
  static constexpr size_t kSharedFrames = 4096;
  Mutex frames_mutex_;
  std::map<int64_t, std::shared_ptr<const std::string>> frames_ GUARDED_BY(frames_mutex_);
};

}  // namespace http
}  // namespace rectrack
