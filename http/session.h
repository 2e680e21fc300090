// Session: one connection of rectrack's HTTP server (server.cpp), from accept to close: it reads
// a request under the header and body limits and timeouts, hands it to the web front or the Api
// (requests that may block on a thread of the blocking pool), writes the answer (a large cached
// one from its sealed file, by sendfile), and may become a server-sent event stream. Shared is
// what every session of one server shares: the API, the limits, the live sessions and the
// per-address counts. Private to http/.
//
// Thread-safety: a session's handlers run on its own io_context (one thread); its public
// methods post to it, so any thread may call them. Shared's methods take its lock.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "engine/host.h"
#include "http/api.h"
#include "http/sealed_body.h"
#include "http/server.h"
#include "http/wire.h"

namespace rectrack::http {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session;

// What every session shares: the API, the limits, the live sessions and the rate buckets.
class Shared {
 public:
  Shared(EngineHost& host, Api& api, const ServerOptions& options, Front* front)
      : host(host),
        api(api),
        options(options),
        front(front),
        blocking(static_cast<size_t>(std::max(options.blocking_threads, 1))) {}

  EngineHost& host;
  Api& api;
  const ServerOptions options;
  Front* const front;  // null when only the API is served
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  // Where requests that may block run (Session::OnRead), off the I/O threads. Joined by Serve
  // before the I/O threads' contexts are destroyed, since its tasks post back to them.
  net::thread_pool blocking;

  // Counts a connection from `address` unless it already has max_connections_per_address.
  bool AdmitAddress(const std::string& address) EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    int& n = per_address_[address];
    if (n >= options.max_connections_per_address) return false;
    ++n;
    return true;
  }
  void ReleaseAddress(const std::string& address) EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
  }

  void Register(const std::shared_ptr<Session>& s) EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    sessions_.emplace(s.get(), s);
  }
  // Called by the session's destructor. Takes no strong reference under the lock: dropping one
  // there could destroy another session, whose destructor would take the lock again.
  void Unregister(Session* s) EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    sessions_.erase(s);
  }
  // The caller drops the references after the lock is released.
  std::vector<std::shared_ptr<Session>> Live() EXCLUDES(mutex_) {
    MutexLock lock(&mutex_);
    std::vector<std::shared_ptr<Session>> out;
    for (const auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }

 private:
  Mutex mutex_;
  std::map<Session*, std::weak_ptr<Session>> sessions_ GUARDED_BY(mutex_);
  std::map<std::string, int> per_address_ GUARDED_BY(mutex_);  // open connections by address
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Shared& shared);
  ~Session();

  const std::string& address() const { return address_; }

  // Takes one of its address's connections (Shared::AdmitAddress); false when it has none left.
  bool Admit();

  void Start();

  // Closes the connection if it is waiting for a request; one in progress finishes first.
  void CloseIfIdle();

  // A connection the server has no room for: it may still ask GET /healthz (so monitoring sees
  // a live server while it is full), which is answered; anything else, or nothing within two
  // seconds, gets `refusal`. Either way the connection then closes.
  void TurnAway(Response refusal);

 private:
  void Refuse(Response refusal);

  void Read();

  // The head has arrived: read the body, if any, within timeout_seconds.
  void OnHeader(beast::error_code ec);

  void ReadBody();

  void OnRead(beast::error_code ec);

  // The front's or the API's answer to `request`, handed to `answer` (on any thread: a write is
  // answered from the host's writer thread once its group is committed).
  void Handle(const Request& request, std::function<void(Response)> answer);

  // Answers a request the Api never saw (refused, malformed, too large), counts the answer in
  // /metrics under the request's route as far as it was read, and closes.
  void Decline(Response response);
  // Declines a request that could not be read with `status` and `detail`: a page for the
  // workspace's paths (as far as its request line was read), the API's problem otherwise.
  void Refuse(int status, const std::string& detail);

  // `head`: answer with the headers a GET would have, Content-Length included, and no body.
  // The body is sent from where it lies (shared with the GET cache, or owned by the session),
  // a large cached one from its sealed file (SendSealed).
  void Write(Response response, bool keep_alive, bool head = false);

  // Sends head_ and then body_sealed_ as far as the socket takes them, and waits for room for
  // the rest: the head with MSG_MORE, so that it leaves in the body's first segment, the body
  // by sendfile(2) from its file, without a copy. Within timeout_seconds (send_deadline_), as
  // any other answer.
  void SendSealed(bool keep_alive);

  // An answer is written (or failed to be): read the next request, or close. (After a sealed
  // answer sent at once, this runs inside OnRead's call; nothing there touches parser_ after.)
  void Written(beast::error_code ec, bool keep_alive);

  // Server-sent events: the header once, then frames whenever the log grows, and a comment
  // line as heartbeat. The connection is never read again; a failed write ends the stream.
  void StartStream(const Request& request);

  // A stream is never read for requests, but a pending read learns at once when the client
  // goes away, so its slot under max_streams is freed then, not at the next failed heartbeat.
  void WatchForClose();

  void Pump();

  void Heartbeat();

  void WriteRaw(std::string bytes);

  void EndStream();

  void Close();

  beast::tcp_stream stream_;
  net::steady_timer heartbeat_;
  static constexpr int kStreamWakeMs = 25;
  net::steady_timer wake_;                     // a stream's next look at the log
  std::atomic<bool> wake_scheduled_{false};    // set by the committing thread, so atomic
  std::optional<StreamRequest> subscription_;  // set while this connection is an event stream
  StreamCursor stream_seq_;
  int listener_ = 0;
  bool writing_ = false;
  bool pending_ = false;
  std::string out_;
  std::string head_;                                // a response's status line and fields
  std::string body_owned_;                          // its body, or
  std::shared_ptr<const std::string> body_shared_;  // its body shared with the GET cache
  std::shared_ptr<const SealedBody> body_sealed_;   // that body's sealed file, being sent
  size_t sealed_sent_ = 0;                          // of head_ and body_sealed_, in SendSealed
  net::steady_timer send_deadline_;                 // SendSealed's timeout
  std::array<char, 512> discard_;
  beast::flat_buffer buffer_;
  std::optional<RequestReader> parser_;
  Shared& shared_;
  bool busy_ = false;
  std::string address_;    // the client's, for the per-address limit and the API's rate limit
  bool admitted_ = false;  // counted against its address
};

}  // namespace rectrack::http
