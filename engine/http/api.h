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
// Writes are grouped: a POST is checked and turned into commands on the caller's thread, then
// queued for the Api's writer thread, which commits everything queued in one transaction (one
// fsync) and answers each. HandleAsync returns at once for a write, so a server with two I/O
// threads can have many writes in one group; every queued write is committed and answered,
// also when the Api is destroyed.
//
// Thread-safety: Handle() and HandleAsync() may be called from many threads; engine access is
// serialised inside.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "engine/engine.h"
#include "engine/http/metrics.h"

namespace rectrack::http {

struct Target;  // a parsed request target (api.cpp)

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // origin-form: "/api/v1/recommendations?open=true"
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote;  // the client's address, for limits on requests without a valid token

  std::string Header(const std::string& lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (ETag, Location, ...)
  // Set instead of `body` when the bytes are shared with the GET cache: the server sends them
  // without a copy (a list is hundreds of KB). Api::Handle folds it back into `body`.
  std::shared_ptr<const std::string> shared_body;
};

struct ApiOptions {
  size_t max_page = 1000;  // largest `limit` a list request may ask for
  size_t default_page = 100;
  bool public_read = false;    // when true, GETs without a token read as an unscoped reader
  int max_streams = 64;        // concurrent GET /api/v1/stream connections
  int rate_per_minute = 6000;  // per token, or per address without a valid one; 0 disables
};

// Where a stream is: the newest event and alert it has sent (or skipped as not its business).
// Frame ids are "<event>" while no alert exists, else "<event>.<alert>"; Last-Event-ID takes
// either form back.
struct StreamCursor {
  int64_t event = 0;
  int64_t alert = 0;
  std::string Id() const;
};

// An accepted GET /api/v1/stream: who is listening, to which body, from where on.
struct StreamRequest {
  Principal who;
  std::string secret;  // the bearer token, re-checked on every push: revoking it ends the stream
  std::string body;
  StreamCursor after;
};

// A fixed window per minute per client: simple, and enough to stop one client starving others.
// Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(int per_minute) : per_minute_(per_minute) {}
  bool Allow(const std::string& client);

 private:
  const int per_minute_;
  std::mutex mutex_;
  long long window_ = -1;
  std::map<std::string, int> counts_;
};

class Api {
 public:
  // REQUIRES: `engine` outlives the Api.
  Api(Engine* engine, ApiOptions options) : engine_(engine), options_(options) {}
  // Commits and answers every write still queued, then stops the writer thread.
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Answers `request` by calling `done` once: on this thread, before returning, for anything
  // but a write; on the writer thread once a write is committed or refused. `done` must not
  // block: the writer answers a whole group in turn.
  void HandleAsync(const Request& request, std::function<void(Response)> done);
  // HandleAsync, waiting for the answer.
  Response Handle(const Request& request);
  // Waits until every write queued so far has been committed and answered.
  void Drain();

  // GET /api/v1/stream (server-sent events). OpenStream authenticates and checks the request
  // like Handle would, counting it against max_streams; a Response means refused. Each accepted
  // stream must be closed with CloseStream. StreamFrames returns the SSE frames ("id:", "event:",
  // "data:") for events (event: recommendation) and alerts (event: alert) after *cursor that the
  // stream may see, oldest first, and advances it; nullopt once the stream's token is no longer
  // valid (revoked, expired): end the stream then.
  std::variant<StreamRequest, Response> OpenStream(const Request& request);
  std::optional<std::string> StreamFrames(const StreamRequest& stream, StreamCursor* cursor);
  void CloseStream() { --streams_; }

  // Listeners are called (on the thread that noticed) after the log grew, by a write through
  // this Api or, seen by Poll(), by another process.
  int Subscribe(std::function<void()> listener);
  void Unsubscribe(int id);
  void Poll();
  // Runs `fn` with the engine, serialised with requests: how the alert scheduler gets at it.
  void WithEngine(const std::function<void(Engine&)>& fn);
  // Counts in /metrics an answer the server gave itself: to a request it refused before routing
  // it (`target` if its request line was read; "" when not, counted under the route "unread"),
  // or a stream's opening.
  void CountServerAnswer(const std::string& target, int status);
  // Wakes the listeners after alerts were raised, or `WithEngine` took in another process's
  // commits (streams send both).
  void NotifyAlerts();

  // Problem response for `status` with `detail`; used by the server for errors found before a
  // request reaches the API (too large, malformed, too many connections).
  static Response Problem(int status, const std::string& detail);

 private:
  // A POST's commands and how to answer once they are committed or refused: `answer` runs on
  // the writer thread with mutex_ held, `done` (HandleAsync's) after it is released.
  struct WriteJob {
    WriteBatch batch;
    std::function<Response(const Result<ApplyReport>&)> answer;
    std::function<void(Response)> done;
  };
  // The answer, or for a write the job to queue. Sets `caught_up` when the engine took in
  // another process's commits meanwhile, whatever the answer (listeners are to be woken).
  // REQUIRES: mutex_ not held.
  std::variant<Response, WriteJob> Route(const Request& request, bool& caught_up);
  Response RouteGet(const Request& request, const Target& target,
                    const std::vector<std::string>& parts, const Principal& who);
  // Who sent `request`, or the 401 (or 429, past the rate limit) to answer. Every route that
  // needs a token goes through here, so every one is metered. REQUIRES: mutex_ held.
  // `presented_hash` is PresentedHash(request, query_token).
  std::variant<Principal, Response> Authenticate(const Request& request, bool read,
                                                 const std::string& query_token,
                                                 const std::string& presented_hash);
  // Authenticate without the rate limit.
  std::variant<Principal, Response> Identify(const Request& request, bool read,
                                             const std::string& query_token,
                                             const std::string& presented_hash);
  // The SHA-256 of the secret `request` presents (its Bearer token, else `query_token`), or ""
  // when it presents none. Needs no lock: routes hash before taking mutex_, so the hashing does
  // not hold up the engine.
  static std::string PresentedHash(const Request& request, const std::string& query_token);
  Response FeedResponse(const Request& request, const Target& target, const Principal& who);
  Response MetricsResponse();
  // GET /api/v1/alerts and /api/v1/alerts/{id} (api_alerts.cpp). Not cached: delivery states
  // change without the log growing. REQUIRES: mutex_ held.
  Response AlertsResponse(const Target& target, const std::vector<std::string>& parts,
                          const Principal& who);
  void NotifyListeners();
  // Engine::Refresh. Sets `caught_up` when the engine took in another process's commits, also
  // when it then failed on one: the listeners are to be woken once mutex_ is released.
  // REQUIRES: mutex_ held.
  Status Refresh(bool& caught_up);
  // Group commit: Enqueue adds a job (starting the writer thread on first use); RunWriter takes
  // everything queued, up to kMaxGroup, commits it in one transaction and answers each job.
  void Enqueue(WriteJob job);
  void RunWriter();
  void CommitGroup(std::vector<WriteJob>& group);
  static constexpr size_t kMaxGroup = 512;

  Engine* engine_;
  ApiOptions options_;
  std::mutex mutex_;  // guards engine_ and commit_in_flight_
  // Set while a group's commit is made durable without mutex_ (Engine::CommitPrepared): then
  // the engine answers queries only; WithEngine waits on `commit_landed_` for it to end.
  bool commit_in_flight_ = false;
  std::condition_variable commit_landed_;
  std::atomic<int> streams_{0};
  Metrics metrics_;
  std::pair<std::string, std::string> gauges_;  // (generation, rendered gauges); mutex_
  // GET answers by "role|body|target": (generation, response). Guarded by mutex_.
  static constexpr size_t kCacheBytes = 64 << 20;
  size_t cache_bytes_ = 0;
  RateLimiter rate_{options_.rate_per_minute};
  std::map<std::string, std::pair<std::string, std::shared_ptr<const Response>>> cache_;
  std::mutex writers_mutex_;  // guards the five below; never held while taking mutex_
  std::condition_variable writers_cv_;
  std::deque<WriteJob> writes_;
  bool group_in_hand_ = false;  // a group taken from writes_ is not answered yet
  bool stopping_ = false;
  std::thread writer_;
  std::mutex listeners_mutex_;
  std::map<int, std::function<void()>> listeners_;
  int next_listener_ = 0;
};

}  // namespace rectrack::http
