#include "http/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>

#include "common/strings.h"
#include "engine/documents.h"
#include "http/api_util.h"

namespace rectrack::http {
namespace {

namespace bhttp = beast::http;

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

}  // namespace

Session::Session(tcp::socket&& socket, Shared& shared)
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

Session::~Session() {
  EndStream();
  --shared_.connections;
  if (admitted_) shared_.ReleaseAddress(address_);
  shared_.Unregister(this);
}

bool Session::Admit() {
  admitted_ = shared_.AdmitAddress(address_);
  return admitted_;
}

void Session::Start() {
  shared_.Register(shared_from_this());
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
}

void Session::CloseIfIdle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->busy_) return;
    beast::error_code ignored;
    self->stream_.socket().close(ignored);
    self->heartbeat_.cancel();
  });
}

void Session::TurnAway(Response refusal) {
  // On the session's own thread: the accepting thread may be another.
  net::dispatch(stream_.get_executor(),
                [self = shared_from_this(), refusal = std::move(refusal)]() mutable {
                  self->Refuse(std::move(refusal));
                });
}

void Session::Refuse(Response refusal) {
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

void Session::Read() {
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

void Session::OnHeader(beast::error_code ec) {
  if (ec || parser_->is_done()) return OnRead(ec);
  busy_ = true;
  stream_.expires_after(std::chrono::seconds(shared_.options.timeout_seconds));
  // A write to the API that no body could make acceptable (no token, or none that is one) is
  // answered now, before a client that waits for 100 Continue sends its body; the connection
  // then closes, no body sent. A body sent without asking is read as usual (within
  // max_body_bytes): closing with it unread would reset the connection before the client
  // could read the answer.
  const std::string& target = parser_->request.target;
  if (parser_->expect_continue &&
      shared_.api.Owns(std::string_view(target).substr(0, target.find('?')))) {
    Request& head = parser_->request;
    head.remote =
        ClientAddress(address_, head.Header("x-forwarded-for"), shared_.options.trusted_proxies);
    if (auto refusal = shared_.api.RefuseBeforeBody(head)) {
      return Decline(std::move(*refusal));
    }
  }
  if (parser_->expect_continue) {
    // RFC 9110 10.1.1: the client waits for this before it sends the body.
    auto go_on = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    return bhttp::async_write(
        stream_, *go_on, [self = shared_from_this(), go_on](beast::error_code ec, std::size_t) {
          if (ec) return self->Close();
          self->ReadBody();
        });
  }
  ReadBody();
}

void Session::ReadBody() {
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
}

void Session::OnRead(beast::error_code ec) {
  busy_ = true;
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::bad_descriptor ||
      ec == net::error::connection_reset || ec == net::error::eof) {
    return Close();
  }
  if (ec == bhttp::error::body_limit) {
    return Refuse(413, "the request body is larger than " +
                           std::to_string(shared_.options.max_body_bytes) + " bytes");
  }
  if (ec == bhttp::error::header_limit) {
    return Refuse(431, "the request header is larger than " +
                           std::to_string(shared_.options.max_header_bytes) + " bytes");
  }
  if (ec && !parser_->repeated.empty()) {
    return Refuse(400, "the header field '" + parser_->repeated +
                           "' may be given once, and was given more than once");
  }
  if (ec) return Refuse(400, "malformed HTTP request: " + ec.message());

  // RFC 9112 6.3: a Transfer-Encoding whose last coding is not chunked leaves the body's end
  // unknowable; reading on would take the body for the next request.
  if (parser_->transfer_encoding && !parser_->chunked()) {
    return Refuse(400, "Transfer-Encoding must end with chunked");
  }
  const bool keep_alive = parser_->keep_alive() && !shared_.stopping;
  const bhttp::verb method = parser_->method;
  Request request = std::move(parser_->request);
  request.remote =
      ClientAddress(address_, request.Header("x-forwarded-for"), shared_.options.trusted_proxies);
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

void Session::Handle(const Request& request, std::function<void(Response)> answer) {
  const std::string_view path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  if (!shared_.front || shared_.api.Owns(path)) {
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

namespace {

// The target of the request line at the start of `bytes` ("GET /recommendations HTTP/1.1"), or
// "" when that line has not all come or is not one: for a request whose head was too large for
// the parser to read, only to choose how to say so.
std::string TargetOfRequestLine(std::string_view bytes) {
  const std::string_view line = bytes.substr(0, bytes.find("\r\n"));
  if (line.size() == bytes.size()) return "";
  const size_t first = line.find(' '), last = line.rfind(' ');
  if (first == std::string_view::npos || last <= first + 1) return "";
  const std::string_view target = line.substr(first + 1, last - first - 1);
  if (target.front() != '/' || !line.substr(last + 1).starts_with("HTTP/")) return "";
  return std::string(target);
}

}  // namespace

void Session::Refuse(int status, const std::string& detail) {
  Request& head = parser_->request;
  // A head too large is refused before its request line is parsed: its target, to choose a
  // page or the API's problem, is read from the line as it came. (Any other refusal has its
  // line parsed, or it is the line that cannot be read, and is counted as `unread`.)
  if (status == 431 && head.target.empty()) {
    head.target = TargetOfRequestLine(
        std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
  }
  const std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
  if (shared_.front && !path.empty() && !shared_.api.Owns(path)) {
    if (auto page = shared_.front->Refusal(head, status, detail)) return Decline(std::move(*page));
  }
  return Decline(Api::Problem(status, detail));
}

void Session::Decline(Response response) {
  std::string target;
  if (parser_) target = parser_->request.target;  // empty until the line is read
  shared_.api.CountServerAnswer(target, response.status);
  Write(std::move(response), false);
}

void Session::Write(Response response, bool keep_alive, bool head) {
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

void Session::SendSealed(bool keep_alive) {
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
      return Written(
          n < 0 ? beast::error_code(errno, beast::system_category()) : net::error::connection_reset,
          keep_alive);
    }
  }
  Written({}, keep_alive);
}

void Session::Written(beast::error_code ec, bool keep_alive) {
  send_deadline_.expires_at(net::steady_timer::time_point::max());  // cancels a pending wait
  body_shared_.reset();                                             // the cache may drop its entry
  body_sealed_.reset();
  body_owned_ = std::string();
  if (ec || !keep_alive) return Close();
  Read();
}

void Session::StartStream(const Request& request) {
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

void Session::WatchForClose() {
  stream_.socket().async_read_some(net::buffer(discard_),
                                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (ec) return self->EndStream();
                                     self->WatchForClose();
                                   });
}

void Session::Pump() {
  if (!subscription_) return;
  if (writing_) {
    pending_ = true;
    return;
  }
  auto frames = shared_.api.StreamFrames(*subscription_, &stream_seq_);
  if (!frames) return EndStream();  // the token was revoked or expired
  if (!frames->empty()) WriteRaw(std::move(*frames));
}

void Session::Heartbeat() {
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

void Session::WriteRaw(std::string bytes) {
  writing_ = true;
  out_ = std::move(bytes);
  stream_.expires_after(std::chrono::seconds(shared_.options.timeout_seconds));
  net::async_write(stream_, net::buffer(out_),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     self->writing_ = false;
                     if (ec || self->stream_seq_.spent) return self->EndStream();
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

void Session::EndStream() {
  if (!subscription_) return;
  shared_.api.CloseStream(*subscription_);
  subscription_.reset();
  shared_.host.Unsubscribe(listener_);
  heartbeat_.cancel();
  wake_.cancel();
  Close();
}

void Session::Close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

}  // namespace rectrack::http
