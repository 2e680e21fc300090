#include "http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/strings.h"
#include "engine/documents.h"
#include "engine/host.h"
#include "http/api_util.h"
#include "http/sealed_body.h"
#include "http/wire.h"

namespace rectrack::http {
namespace {

// GET ...?format=docx|odt|pdf, on the API or the web's report pages.
bool AsksForConvertedDocument(const std::string& target) {
  if (target.find("format=") == std::string::npos) return false;  // most requests, at once
  auto parsed = ParseTarget(target);
  if (!parsed.ok()) return false;
  const auto format = parsed->query.find("format");
  if (format == parsed->query.end()) return false;
  const auto named = DocumentFormatNamed(format->second);
  return named && MadeByConverter(*named);
}

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session;

}  // namespace

namespace {

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
  Session(tcp::socket&& socket, Shared& shared)
      : stream_(std::move(socket)),
        heartbeat_(stream_.get_executor()),
        wake_(stream_.get_executor()),
        send_deadline_(stream_.get_executor()),
        shared_(shared) {
    ++shared_.connections;
    beast::error_code ignored;
    address_ = stream_.socket().remote_endpoint(ignored).address().to_string();
    // Every answer goes out in whole writes: Nagle's algorithm would hold a large answer's last
    // segment until the client's (delayed, up to 40 ms) ACK of the one before.
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    // SendSealed calls send and sendfile on the socket itself, and expects them not to block.
    stream_.socket().native_non_blocking(true, ignored);
  }
  ~Session() {
    EndStream();
    --shared_.connections;
    if (admitted_) shared_.ReleaseAddress(address_);
    shared_.Unregister(this);
  }

  const std::string& address() const { return address_; }

  // Takes one of its address's connections (Shared::AdmitAddress); false when it has none left.
  bool Admit() {
    admitted_ = shared_.AdmitAddress(address_);
    return admitted_;
  }

  void Start() {
    shared_.Register(shared_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // Closes the connection if it is waiting for a request; one in progress finishes first.
  void CloseIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->busy_) return;
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
      self->heartbeat_.cancel();
    });
  }

  // A connection the server has no room for: it may still ask GET /healthz (so monitoring sees
  // a live server while it is full), which is answered; anything else, or nothing within two
  // seconds, gets `refusal`. Either way the connection then closes.
  void TurnAway(Response refusal) {
    // On the session's own thread: the accepting thread may be another.
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this(), refusal = std::move(refusal)]() mutable {
                    self->Refuse(std::move(refusal));
                  });
  }

 private:
  void Refuse(Response refusal) {
    busy_ = true;
    parser_.emplace();
    parser_->header_limit(4096);
    // Not the stream's own timeout, which would close the socket: the refusal is still to send.
    stream_.expires_never();
    heartbeat_.expires_after(std::chrono::seconds(2));
    heartbeat_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->stream_.cancel();
    });
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this(), refusal = std::move(refusal)](beast::error_code ec,
                                                                  std::size_t) mutable {
          self->heartbeat_.cancel();
          const RequestReader& req = *self->parser_;
          const bool healthz = !ec && req.request.target == "/healthz" &&
                               (req.method == bhttp::verb::get || req.method == bhttp::verb::head);
          self->Decline(healthz ? Api::Healthz() : std::move(refusal));
        });
  }

  void Read() {
    busy_ = false;
    if (shared_.stopping) return Close();
    parser_.emplace();
    parser_->body_limit(shared_.options.max_body_bytes);
    parser_->header_limit(shared_.options.max_header_bytes);
    // The next request's head must come soon: an idle or trickling connection holds a slot.
    stream_.expires_after(std::chrono::seconds(
        std::min(shared_.options.header_timeout_seconds, shared_.options.timeout_seconds)));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  // The head has arrived: read the body, if any, within timeout_seconds.
  void OnHeader(beast::error_code ec) {
    if (ec || parser_->is_done()) return OnRead(ec);
    busy_ = true;
    stream_.expires_after(std::chrono::seconds(shared_.options.timeout_seconds));
    if (parser_->expect_continue) {
      // RFC 9110 10.1.1: the client waits for this before it sends the body.
      auto go_on =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      return bhttp::async_write(
          stream_, *go_on, [self = shared_from_this(), go_on](beast::error_code ec, std::size_t) {
            if (ec) return self->Close();
            self->ReadBody();
          });
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    busy_ = true;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::bad_descriptor ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return Close();
    }
    if (ec == bhttp::error::body_limit) {
      const std::string detail = "the request body is larger than " +
                                 std::to_string(shared_.options.max_body_bytes) + " bytes";
      const Request& head = parser_->request;
      const std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
      if (shared_.front && shared_.front->Claims(path)) {
        if (auto page = shared_.front->Refusal(head, 413, detail)) return Decline(std::move(*page));
      }
      return Decline(Api::Problem(413, detail));
    }
    if (ec == bhttp::error::header_limit) {
      return Decline(Api::Problem(431, "the request header is larger than " +
                                           std::to_string(shared_.options.max_header_bytes) +
                                           " bytes"));
    }
    if (ec) return Decline(Api::Problem(400, "malformed HTTP request: " + ec.message()));

    // RFC 9112 6.3: a Transfer-Encoding whose last coding is not chunked leaves the body's end
    // unknowable; reading on would take the body for the next request.
    if (parser_->transfer_encoding && !parser_->chunked()) {
      return Decline(Api::Problem(400, "Transfer-Encoding must end with chunked"));
    }
    const bool keep_alive = parser_->keep_alive() && !shared_.stopping;
    const bhttp::verb method = parser_->method;
    Request request = std::move(parser_->request);
    request.remote = address_;
    const std::string_view path =
        std::string_view(request.target).substr(0, request.target.find('?'));
    if (method == bhttp::verb::get && path == "/api/v1/stream") return StartStream(request);
    const bool head = method == bhttp::verb::head;
    auto answer = [self = shared_from_this(), keep_alive, head](Response response) {
      net::dispatch(self->stream_.get_executor(),
                    [self, keep_alive, head, response = std::move(response)]() mutable {
                      self->Write(std::move(response), keep_alive, head);
                    });
    };
    // This thread serves every connection dealt to it, so a request that may block it (a web
    // form waits for its commit; an import is parsed, megabytes of YAML, before it is
    // submitted) is handled on the blocking pool; reads, the bulk, stay here. The session stays
    // busy, and alive (held by `answer`), until its answer is written.
    // A document an outside program makes (a PDF) takes seconds of it too.
    const bool may_block = (method != bhttp::verb::get && method != bhttp::verb::head) ||
                           AsksForConvertedDocument(request.target);
    auto handle = [self = shared_from_this(), request = std::move(request),
                   answer = std::move(answer)]() mutable {
      self->Handle(request, std::move(answer));
    };
    if (may_block) return net::post(shared_.blocking, std::move(handle));
    handle();
  }

  // The front's or the API's answer to `request`, handed to `answer` (on any thread: a write is
  // answered from the host's writer thread once its group is committed).
  void Handle(const Request& request, std::function<void(Response)> answer) {
    const std::string_view path =
        std::string_view(request.target).substr(0, request.target.find('?'));
    if (!shared_.front || !shared_.front->Claims(path)) {
      return shared_.api.HandleAsync(request, std::move(answer));
    }
    Response response;
    try {
      response = shared_.front->Handle(request);
    } catch (const std::exception& e) {
      response = Api::Problem(500, std::string("internal error: ") + e.what());
    }
    shared_.api.CountServerAnswer(request.target, response.status);
    answer(std::move(response));
  }

  // Answers a request the Api never saw (refused, malformed, too large), counts the answer in
  // /metrics under the request's route as far as it was read, and closes.
  void Decline(Response response) {
    std::string target;
    if (parser_) target = parser_->request.target;  // empty until the line is read
    shared_.api.CountServerAnswer(target, response.status);
    Write(std::move(response), false);
  }

  // `head`: answer with the headers a GET would have, Content-Length included, and no body.
  // The body is sent from where it lies (shared with the GET cache, or owned by the session),
  // a large cached one from its sealed file (SendSealed).
  void Write(Response response, bool keep_alive, bool head = false) {
    body_shared_ = std::move(response.shared_body);
    body_owned_ = std::move(response.body);
    // These never carry a body (RFC 9110 8.6; the head says none), so none is sent.
    const int status = response.status;
    if (status < 200 || status == 204 || status == 304) {
      body_shared_.reset();
      body_owned_.clear();
    }
    const std::string_view body = body_shared_ ? *body_shared_ : body_owned_;
    WriteResponseHead(response, keep_alive, body.size(), &head_);
    if (body_shared_ && !head && response.sealed_body &&
        response.sealed_body->size() == body.size()) {
      body_sealed_ = std::move(response.sealed_body);
      sealed_sent_ = 0;
      send_deadline_.expires_after(std::chrono::seconds(shared_.options.timeout_seconds));
      send_deadline_.async_wait([weak = weak_from_this()](beast::error_code ec) {
        auto self = weak.lock();
        // A firing already queued when Written moved the expiry away is not this send's.
        if (ec || !self || !self->body_sealed_ ||
            self->send_deadline_.expiry() > std::chrono::steady_clock::now()) {
          return;
        }
        beast::error_code ignored;
        self->stream_.socket().cancel(ignored);
      });
      return SendSealed(keep_alive);
    }
    const std::array<net::const_buffer, 2> buffers{
        net::buffer(head_), head ? net::const_buffer() : net::buffer(body.data(), body.size())};
    stream_.expires_after(std::chrono::seconds(shared_.options.timeout_seconds));
    net::async_write(stream_, buffers,
                     [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                       self->Written(ec, keep_alive);
                     });
  }

  // Sends head_ and then body_sealed_ as far as the socket takes them, and waits for room for
  // the rest: the head with MSG_MORE, so that it leaves in the body's first segment, the body
  // by sendfile(2) from its file, without a copy. Within timeout_seconds (send_deadline_), as
  // any other answer.
  void SendSealed(bool keep_alive) {
    const int socket = stream_.socket().native_handle();
    const size_t total = head_.size() + body_sealed_->size();
    while (sealed_sent_ < total) {
      ssize_t n;
      if (sealed_sent_ < head_.size()) {
        n = ::send(socket, head_.data() + sealed_sent_, head_.size() - sealed_sent_,
                   MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
      } else {
        off_t offset = static_cast<off_t>(sealed_sent_ - head_.size());
        n = ::sendfile(socket, body_sealed_->fd(), &offset,
                       body_sealed_->size() - static_cast<size_t>(offset));
      }
      if (n > 0) {
        sealed_sent_ += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        stream_.socket().async_wait(tcp::socket::wait_write,
                                    [self = shared_from_this(), keep_alive](beast::error_code ec) {
                                      if (ec) return self->Written(ec, keep_alive);
                                      self->SendSealed(keep_alive);
                                    });
        return;
      } else {
        return Written(n < 0 ? beast::error_code(errno, beast::system_category())
                             : net::error::connection_reset,
                       keep_alive);
      }
    }
    Written({}, keep_alive);
  }

  // An answer is written (or failed to be): read the next request, or close. (After a sealed
  // answer sent at once, this runs inside OnRead's call; nothing there touches parser_ after.)
  void Written(beast::error_code ec, bool keep_alive) {
    send_deadline_.expires_at(net::steady_timer::time_point::max());  // cancels a pending wait
    body_shared_.reset();  // the cache may drop its entry
    body_sealed_.reset();
    body_owned_ = std::string();
    if (ec || !keep_alive) return Close();
    Read();
  }

  // Server-sent events: the header once, then frames whenever the log grows, and a comment
  // line as heartbeat. The connection is never read again; a failed write ends the stream.
  void StartStream(const Request& request) {
    auto opened = shared_.api.OpenStream(request);
    if (auto* refusal = std::get_if<Response>(&opened)) {
      shared_.api.CountServerAnswer(request.target, refusal->status);
      return Write(std::move(*refusal), false);
    }
    shared_.api.CountServerAnswer(request.target, 200);
    subscription_ = std::get<StreamRequest>(opened);
    stream_seq_ = subscription_->after;
    std::weak_ptr<Session> weak = shared_from_this();
    // Commits come by the thousand a second under load; a stream wakes at most once per
    // kStreamWakeMs and sends what they added together, so sixty streams do not take the lock
    // sixty times per commit.
    listener_ = shared_.host.Subscribe([weak] {
      auto self = weak.lock();
      if (!self || self->wake_scheduled_.exchange(true)) return;
      net::post(self->stream_.get_executor(), [self] {
        self->wake_.expires_after(std::chrono::milliseconds(kStreamWakeMs));
        self->wake_.async_wait([self](beast::error_code) {
          self->wake_scheduled_ = false;
          self->Pump();
        });
      });
    });
    busy_ = false;  // an open stream may be closed at shutdown
    WatchForClose();
    WriteRaw(
        "HTTP/1.1 200 OK\r\nServer: rectrack\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n"
        "retry: 2000\n\n" +
        shared_.api.StreamFrames(*subscription_, &stream_seq_).value_or(""));
    Heartbeat();
  }

  // A stream is never read for requests, but a pending read learns at once when the client
  // goes away, so its slot under max_streams is freed then, not at the next failed heartbeat.
  void WatchForClose() {
    stream_.socket().async_read_some(
        net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->EndStream();
          self->WatchForClose();
        });
  }

  void Pump() {
    if (!subscription_) return;
    if (writing_) {
      pending_ = true;
      return;
    }
    auto frames = shared_.api.StreamFrames(*subscription_, &stream_seq_);
    if (!frames) return EndStream();  // the token was revoked or expired
    if (!frames->empty()) WriteRaw(std::move(*frames));
  }

  void Heartbeat() {
    heartbeat_.expires_after(std::chrono::seconds(shared_.options.heartbeat_seconds));
    heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->subscription_) return self->EndStream();
      if (!self->writing_) {
        auto frames = self->shared_.api.StreamFrames(*self->subscription_, &self->stream_seq_);
        if (!frames) return self->EndStream();  // the token was revoked or expired
        self->WriteRaw(frames->empty() ? ": heartbeat\n\n" : std::move(*frames));
      }
      self->Heartbeat();
    });
  }

  void WriteRaw(std::string bytes) {
    writing_ = true;
    out_ = std::move(bytes);
    stream_.expires_after(std::chrono::seconds(shared_.options.timeout_seconds));
    net::async_write(stream_, net::buffer(out_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->writing_ = false;
                       if (ec) return self->EndStream();
                       self->stream_.expires_never();
                       // More from the log (a stream resuming from far back) goes once this
                       // page is written: a reader too slow for the timeout is dropped, not
                       // buffered for.
                       if (self->pending_ || self->stream_seq_.more) {
                         self->pending_ = false;
                         self->Pump();
                       }
                     });
  }

  void EndStream() {
    if (!subscription_) return;
    subscription_.reset();
    shared_.host.Unsubscribe(listener_);
    shared_.api.CloseStream();
    heartbeat_.cancel();
    wake_.cancel();
    Close();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

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

// One io_context per thread, each run by its own thread (as nginx runs one event loop per worker):
// a connection lives on one context from accept to close, so its handlers need no strand, and the
// threads do not meet on one scheduler's lock for every operation. Connections are dealt out in
// turn.
class ContextPool {
 public:
  explicit ContextPool(int threads) {
    for (int i = 0; i < std::max(threads, 1); ++i) {
      // Hint 1: one thread runs each context (others still post to it: the writer, commits).
      contexts_.push_back(std::make_unique<net::io_context>(1));
      guards_.push_back(net::make_work_guard(*contexts_.back()));
    }
  }
  net::io_context& first() { return *contexts_.front(); }
  net::io_context& next() { return *contexts_[next_++ % contexts_.size()]; }  // accept thread only

  // Runs every context, the first on the calling thread, until Stop.
  void Run() {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([context = contexts_[i].get()] { context->run(); });
    }
    contexts_.front()->run();
    for (auto& t : threads) t.join();
  }
  void Stop() {
    for (auto& context : contexts_) context->stop();
  }

 private:
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  size_t next_ = 0;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(ContextPool& pool, Shared& shared)
      : pool_(pool), acceptor_(pool.first()), shared_(shared) {}

  Status Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IOError("cannot listen on " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + ec.message());
    }
    return Status();
  }
  tcp::endpoint local() const { return acceptor_.local_endpoint(); }

  void Accept() {
    acceptor_.async_accept(pool_.next(), [self = shared_from_this()](beast::error_code ec,
                                                                     tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted) return;
      } else {
        const int limit = self->shared_.options.max_connections;
        if (self->shared_.connections >= 2 * limit) {
          // Far past the limit: not even a look at the request (the socket just closes).
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          auto session = std::make_shared<Session>(std::move(socket), self->shared_);
          if (self->shared_.connections > limit) {
            session->TurnAway(Api::Problem(503, "too many connections"));
          } else if (!session->Admit()) {
            session->TurnAway(Api::Problem(
                503, "too many connections from " + session->address() + " (at most " +
                         std::to_string(self->shared_.options.max_connections_per_address) + ")"));
          } else {
            session->Start();
          }
        }
      }
      if (!self->shared_.stopping) self->Accept();
    });
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  ContextPool& pool_;
  tcp::acceptor acceptor_;
  Shared& shared_;
};

}  // namespace

Status ParseListen(const std::string& listen, ServerOptions* options) {
  std::string host, port;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find("]:");
    if (close == std::string::npos) return Status::InvalidArgument("bad --listen '" + listen + "'");
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("--listen needs HOST:PORT");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (host.empty()) host = "127.0.0.1";
  beast::error_code ec;
  net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("--listen: '" + host + "' is not an IP address");
  const std::optional<int64_t> number = ParseDigits(port, 5);
  if (!number || *number > 65535) {
    return Status::InvalidArgument("--listen: bad port '" + port + "'");
  }
  options->address = host;
  options->port = static_cast<uint16_t>(*number);
  return Status();
}

Status Serve(EngineHost& host, Api& api, const ServerOptions& options,
             const std::function<void(const std::string&)>& on_listening, Front* front) {
  // sendfile(2) (Session::SendSealed) cannot be asked not to raise SIGPIPE, as send can, when the
  // client has gone: a server takes the EPIPE instead, as nginx does. Programs rectrack starts
  // get the default back (common/subprocess.cpp).
  ::signal(SIGPIPE, SIG_IGN);
  // `shared` is declared first so it outlives the io_context: destroying the io_context destroys
  // pending handlers, and with them sessions that still use `shared`.
  Shared shared(host, api, options, front);
  ContextPool pool(options.threads);
  net::io_context& ioc = pool.first();  // the listener, the poll, the signals and the drain
  auto listener = std::make_shared<Listener>(pool, shared);
  const tcp::endpoint endpoint(net::ip::make_address(options.address), options.port);
  RETURN_IF_ERROR(listener->Open(endpoint));
  listener->Accept();
  const tcp::endpoint bound = listener->local();
  const std::string where =
      bound.address().is_v6()
          ? "[" + bound.address().to_string() + "]:" + std::to_string(bound.port())
          : bound.address().to_string() + ":" + std::to_string(bound.port());

  // Other processes (the CLI) may commit too; one cheap PRAGMA a second notices it.
  net::steady_timer poll_timer(ioc);
  std::function<void()> poll_loop = [&] {
    poll_timer.expires_after(std::chrono::milliseconds(options.poll_milliseconds));
    poll_timer.async_wait([&](beast::error_code ec) {
      if (ec || shared.stopping) return;
      host.Poll();
      poll_loop();
    });
  };
  poll_loop();

  // Shutdown: stop accepting, let requests in flight finish, close idle connections and
  // streams, and stop when none is left or the grace period is over.
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::steady_timer drain(ioc);
  auto deadline = std::chrono::steady_clock::time_point::max();
  std::function<void()> wait_for_drain = [&] {
    if (shared.connections == 0 || std::chrono::steady_clock::now() > deadline) {
      pool.Stop();
      return;
    }
    for (auto& session : shared.Live()) session->CloseIfIdle();
    drain.expires_after(std::chrono::milliseconds(50));
    drain.async_wait([&](beast::error_code) { wait_for_drain(); });
  };
  signals.async_wait([&](beast::error_code ec, int) {
    if (ec) return;
    shared.stopping = true;
    listener->Stop();
    poll_timer.cancel();
    deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options.shutdown_grace_seconds);
    wait_for_drain();
  });

  on_listening(where);
  pool.Run();
  shared.blocking.join();  // its answers go to the stopped contexts, which destroy them
  // Writes still queued are committed; their answers go to the stopped io_context, which
  // destroys them (and their sessions) with the rest of its handlers.
  host.Drain();
  return Status();
}

}  // namespace rectrack::http
