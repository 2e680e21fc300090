// Delivery (alerts/delivery.h) over real sockets on 127.0.0.1: scripted webhook receivers
// and a scripted SMTP relay, each a thread with a blocking Asio acceptor. Every read and write in
// a receiver is bounded in time, and every receiver stops by itself when the test ends.
#include "alerts/delivery.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace rectrack::alerts {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// A receiver on 127.0.0.1:<any port>. Connections are handled one at a time, in order, by
// `handler`; Stop() (or the destructor) ends the current handler's waits and joins.
class Receiver {
 public:
  using Handler = std::function<void(Receiver&, int fd)>;

  explicit Receiver(Handler handler)
      : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        handler_(std::move(handler)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    // Wakes a blocking accept(); a handler sees stop_ within one poll slice.
    boost::system::error_code ignored;
    tcp::socket wake(io_);
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ignored);
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }
  void Record(Request r) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(std::move(r));
  }
  void Record(std::string line) {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(std::move(line));
  }

  // Reads into `buf` until it holds `delim`; false on EOF, error, stop or after `timeout`.
  bool ReadUntil(int fd, std::string& buf, std::string_view delim,
                 std::chrono::milliseconds timeout = 5s) {
    const auto end = Clock::now() + timeout;
    while (buf.find(delim) == std::string::npos) {
      if (!Readable(fd, end)) return false;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }
  bool ReadAtLeast(int fd, std::string& buf, size_t size) {
    const auto end = Clock::now() + 5s;
    while (buf.size() < size) {
      if (!Readable(fd, end)) return false;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }
  // Waits for the peer to close (or stop, or `timeout`).
  void WaitForClose(int fd, std::chrono::milliseconds timeout = 10s) {
    std::string ignored;
    ReadUntil(fd, ignored, std::string_view("\x01never\x01"), timeout);
  }
  bool Write(int fd, std::string_view data) {
    const auto end = Clock::now() + 5s;
    while (!data.empty()) {
      pollfd p{fd, POLLOUT, 0};
      if (stop_ || Clock::now() > end) return false;
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one HTTP request (Content-Length framed) and records it.
  bool ReadRequest(int fd, Request* out = nullptr) {
    std::string buf;
    if (!ReadUntil(fd, buf, "\r\n\r\n")) return false;
    const size_t head_end = buf.find("\r\n\r\n");
    Request r;
    std::string head = buf.substr(0, head_end);
    std::string body = buf.substr(head_end + 4);
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    r.method = first.substr(0, first.find(' '));
    r.target = first.substr(r.method.size() + 1, first.rfind(' ') - r.method.size() - 1);
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      std::string line = head.substr(start, line_end - start);
      const size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    const size_t length =
        std::stoul(r.headers.count("content-length") ? r.headers["content-length"] : "0");
    if (!ReadAtLeast(fd, body, length)) return false;
    r.body = body.substr(0, length);
    if (out) *out = r;
    Record(std::move(r));
    return true;
  }

 private:
  bool Readable(int fd, Clock::time_point end) {
    while (!stop_ && Clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  void Loop() {
    for (;;) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stop_ || ec) return;
      ++connections_;
      handler_(*this, socket.native_handle());
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  Handler handler_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<Request> requests_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

// A receiver that answers every request with `status`, `headers` ("Name: value\r\n"...) and
// `body`.
Receiver::Handler Answer(int status, std::string headers = "", std::string body = "") {
  return [=](Receiver& r, int fd) {
    if (!r.ReadRequest(fd)) return;
    r.Write(fd, "HTTP/1.1 " + std::to_string(status) +
                    " Whatever\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n" + headers + "\r\n" + body);
  };
}

// Takes the request, then says nothing until the client gives up.
Receiver::Handler Silent() {
  return [](Receiver& r, int fd) {
    if (!r.ReadRequest(fd)) return;
    r.WaitForClose(fd);
  };
}

struct Pending {
  std::future<AttemptResult> future;
  Clock::time_point sent = Clock::now();
  std::shared_ptr<std::atomic<Clock::rep>> done_at = std::make_shared<std::atomic<Clock::rep>>(0);

  // The result, or a failure after 10 s.
  AttemptResult Get() {
    if (future.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no callback within 10 s";
      AttemptResult r;
      r.error = "test: no callback";
      return r;
    }
    return future.get();
  }
  std::chrono::milliseconds Elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        Clock::time_point(Clock::duration(done_at->load())) - sent);
  }
};

template <class Message>
Pending Send(Deliverer& deliverer, Message message) {
  auto promise = std::make_shared<std::promise<AttemptResult>>();
  Pending pending{promise->get_future()};
  deliverer.Send(std::move(message), [promise, done_at = pending.done_at](AttemptResult r) {
    done_at->store(Clock::now().time_since_epoch().count());
    promise->set_value(std::move(r));
  });
  return pending;
}

DelivererOptions Options(std::chrono::milliseconds timeout = 2000ms) {
  DelivererOptions o;
  o.timeout = timeout;
  o.allow = AllowList({"127.0.0.1"});
  return o;
}

WebhookMessage Hook(const std::string& url) {
  WebhookMessage m;
  m.url = url;
  m.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  m.id = "alrt_0001";
  m.timestamp = "1700000000";
  m.body = R"({"type":"alert.raised","id":"alrt_0001"})";
  return m;
}

// Independent of delivery.cpp: OpenSSL's base64 and HMAC, called directly.
std::string IndependentSignature(const std::string& whsec, const std::string& content) {
  const std::string b64 = whsec.substr(6);
  std::vector<unsigned char> key(b64.size());
  int n = EVP_DecodeBlock(key.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return "bad secret";
  n -= static_cast<int>(std::count(b64.end() - 2, b64.end(), '='));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), n, reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &mac_len);
  std::vector<unsigned char> out(4 * ((mac_len + 2) / 3) + 1);
  const int m = EVP_EncodeBlock(out.data(), mac, static_cast<int>(mac_len));
  return "v1," + std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(m));
}

// ---- Signatures ----

TEST(SignWebhookTest, StandardWebhooksReferenceVector) {
  EXPECT_EQ(SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                        "1614265330", R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

// A secret not of the whsec_ form signs nothing: signing with its raw bytes, as rectrack once
// did, made signatures every Standard Webhooks receiver rejects.
TEST(SignWebhookTest, OnlyWhsecSecretsSign) {
  EXPECT_EQ(SignWebhook("plain secret of some length", "id", "1", "{}"), "");
  EXPECT_EQ(SignWebhook("whsec_not base64!", "id", "1", "{}"), "");
  EXPECT_EQ(SignWebhook("whsec_", "id", "1", "{}"), "");
  // A changed body, id or timestamp changes the signature.
  const std::string base = SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a", "1", "{}");
  EXPECT_EQ(base, IndependentSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a.1.{}"));
  EXPECT_NE(base, SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a", "1", "{} "));
  EXPECT_NE(base, SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "b", "1", "{}"));
  EXPECT_NE(base, SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a", "2", "{}"));
}

// ---- AllowList ----

TEST(AllowListTest, EmptyAllowsNothing) {
  const Status s = AllowList().Check("https://example.com/hook");
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("example.com"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("webhook_allow"), std::string::npos) << s.message();
}

TEST(AllowListTest, HostMatchesAnyPortAndIgnoresCase) {
  const AllowList allow({"Example.COM"});
  EXPECT_TRUE(allow.Check("https://example.com/hook").ok());
  EXPECT_TRUE(allow.Check("HTTP://EXAMPLE.com:8080/x?y=1").ok());
  EXPECT_TRUE(allow.Check("https://example.com").ok());
  EXPECT_EQ(allow.Check("https://sub.example.com/").code(), Code::kPermissionDenied);
  EXPECT_EQ(allow.Check("https://example.com.evil.net/").code(), Code::kPermissionDenied);
  EXPECT_EQ(allow.Check("https://evil.net/?example.com").code(), Code::kPermissionDenied);
  EXPECT_EQ(allow.Check("https://evil.net/#@example.com").code(), Code::kPermissionDenied);
}

TEST(AllowListTest, HostPortMatchesThatPortOnly) {
  const AllowList allow({"example.com:8443", "hooks.test:443"});
  EXPECT_TRUE(allow.Check("https://example.com:8443/").ok());
  EXPECT_EQ(allow.Check("https://example.com/").code(), Code::kPermissionDenied);
  EXPECT_EQ(allow.Check("http://example.com:8444/").code(), Code::kPermissionDenied);
  EXPECT_TRUE(allow.Check("https://hooks.test/in").ok());  // 443 is https' default
  EXPECT_EQ(allow.Check("http://hooks.test/in").code(), Code::kPermissionDenied);  // port 80
}

TEST(AllowListTest, IpLiterals) {
  const AllowList allow({"127.0.0.1", "[::1]:9000", "fd00::5"});
  EXPECT_TRUE(allow.Check("http://127.0.0.1:1234/").ok());
  EXPECT_EQ(allow.Check("http://localhost:1234/").code(), Code::kPermissionDenied);
  EXPECT_EQ(allow.Check("http://127.0.0.2/").code(), Code::kPermissionDenied);
  EXPECT_TRUE(allow.Check("http://[::1]:9000/").ok());
  EXPECT_EQ(allow.Check("http://[::1]:9001/").code(), Code::kPermissionDenied);
  EXPECT_TRUE(allow.Check("https://[FD00::5]/").ok());
  EXPECT_EQ(allow.Check("http://::1/").code(), Code::kInvalidArgument);  // needs brackets
}

TEST(AllowListTest, OnlyHttpUrlsWithAHost) {
  const AllowList allow({"example.com"});
  for (const char* url :
       {"ftp://example.com/", "file:///etc/passwd", "example.com/hook", "http:///hook",
        "http://user:pw@example.com/", "http://example.com@evil.net/", "http://exa mple.com/",
        "http://example.com:0/", "http://example.com:99999/", "http://example.com:/",
        "gopher://example.com:70/", "http://example.com/\r\nX: y", "http://[::1/"}) {
    EXPECT_EQ(allow.Check(url).code(), Code::kInvalidArgument) << url;
  }
}

// ---- RetryDelay and Retry-After ----

TEST(RetryDelayTest, ScheduleWithoutJitter) {
  const std::vector<int64_t> expected = {0, 5, 300, 1800, 7200, 18000, 36000, 36000};
  int64_t total = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    auto d = RetryDelay(static_cast<int>(i) + 1, std::nullopt, 0.5);
    ASSERT_TRUE(d) << i;
    EXPECT_EQ(d->count(), expected[i]) << "attempt " << i + 1;
    total += d->count();
  }
  EXPECT_NEAR(static_cast<double>(total) / 3600, 27.6, 0.05);
  EXPECT_FALSE(RetryDelay(9, std::nullopt, 0.5));
  EXPECT_FALSE(RetryDelay(100, std::chrono::seconds(10), 0.5));  // Retry-After cannot extend it
}

TEST(RetryDelayTest, JitterStaysWithinTwentyPercent) {
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const auto mid = RetryDelay(attempt, std::nullopt, 0.5)->count();
    for (double u : {0.0, 0.1, 0.25, 0.5, 0.75, 0.999999}) {
      const auto d = RetryDelay(attempt, std::nullopt, u)->count();
      EXPECT_GE(d, std::floor(mid * 0.8)) << attempt << " " << u;
      EXPECT_LE(d, std::ceil(mid * 1.2)) << attempt << " " << u;
    }
  }
  EXPECT_EQ(RetryDelay(3, std::nullopt, 0.0)->count(), 240);
  EXPECT_EQ(RetryDelay(3, std::nullopt, 0.999999)->count(), 360);
  EXPECT_LT(RetryDelay(3, std::nullopt, 0.0), RetryDelay(3, std::nullopt, 0.9));
}

TEST(RetryDelayTest, LongerRetryAfterWinsAndIsCapped) {
  EXPECT_EQ(RetryDelay(2, std::chrono::seconds(600), 0.5), std::chrono::seconds(600));
  EXPECT_EQ(RetryDelay(1, std::chrono::seconds(7), 0.5), std::chrono::seconds(7));
  EXPECT_EQ(RetryDelay(3, std::chrono::seconds(2), 0.5), std::chrono::seconds(300));  // shorter
  EXPECT_EQ(RetryDelay(2, std::chrono::hours(48), 0.5), std::chrono::hours(24));
}

TEST(ParseRetryAfterTest, Seconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(ParseRetryAfter("7", now), std::chrono::seconds(7));
  EXPECT_EQ(ParseRetryAfter(" 120 ", now), std::chrono::seconds(120));
  EXPECT_EQ(ParseRetryAfter("0", now), std::chrono::seconds(0));
  EXPECT_TRUE(ParseRetryAfter("99999999999999999999999", now));  // saturates, no overflow
}

TEST(ParseRetryAfterTest, HttpDate) {
  // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 Unix seconds.
  const std::chrono::system_clock::time_point date{std::chrono::seconds(1445412480)};
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", date - std::chrono::seconds(90)),
            std::chrono::seconds(90));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", date + std::chrono::hours(1)),
            std::chrono::seconds(0));  // already past
  EXPECT_EQ(
      ParseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", std::chrono::system_clock::time_point{}),
      std::chrono::seconds(10));
}

TEST(ParseRetryAfterTest, GarbageIsNullopt) {
  const auto now = std::chrono::system_clock::now();
  for (const char* v : {"", "  ", "soon", "-5", "+5", "1.5", "7s", "Wed, 32 Oct 2015 07:28:00 GMT",
                        "Wed, 21 Oct 2015 07:28:00 UTC", "Wed, 21 Foo 2015 07:28:00 GMT",
                        "Wed, 21 Oct 2015 25:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT"}) {
    EXPECT_FALSE(ParseRetryAfter(v, now)) << v;
  }
}

// ---- Webhooks ----

TEST(WebhookTest, ArrivesSignedWithTheStandardHeaders) {
  Receiver receiver(Answer(200));
  Deliverer deliverer(Options());
  WebhookMessage m = Hook(receiver.Url("/hook?team=a"));
  AttemptResult r = Send(deliverer, m).Get();
  EXPECT_TRUE(r.delivered) << r.error;
  EXPECT_FALSE(r.gone);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  receiver.Stop();
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  Request& q = requests[0];
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.target, "/hook?team=a");
  EXPECT_EQ(q.headers["content-type"], "application/json");
  EXPECT_EQ(q.headers["user-agent"], "rectrack");
  EXPECT_EQ(q.headers["host"], "127.0.0.1:" + std::to_string(receiver.port()));
  EXPECT_EQ(q.headers["webhook-id"], "alrt_0001");
  EXPECT_EQ(q.headers["webhook-timestamp"], "1700000000");
  EXPECT_EQ(q.body, m.body);
  EXPECT_EQ(q.headers["webhook-signature"],
            IndependentSignature(m.secret, "alrt_0001.1700000000." + m.body));
}

TEST(WebhookTest, HostNamesAreResolved) {
  Receiver receiver(Answer(204));
  DelivererOptions o = Options();
  o.allow = AllowList({"localhost"});
  Deliverer deliverer(std::move(o));
  AttemptResult r =
      Send(deliverer, Hook("http://localhost:" + std::to_string(receiver.port()) + "/")).Get();
  EXPECT_TRUE(r.delivered) << r.error;
  EXPECT_EQ(r.status, 204);
}

TEST(WebhookTest, ServerErrorWithRetryAfter) {
  Receiver receiver(Answer(500, "Retry-After: 7\r\n", "oops"));
  Deliverer deliverer(Options());
  AttemptResult r = Send(deliverer, Hook(receiver.Url())).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_FALSE(r.gone);
  EXPECT_EQ(r.status, 500);
  ASSERT_TRUE(r.retry_after);
  EXPECT_EQ(*r.retry_after, std::chrono::seconds(7));
  EXPECT_EQ(r.error, "HTTP 500");
}

TEST(WebhookTest, TooManyRequestsWithHttpDate) {
  const auto in_a_minute = std::chrono::system_clock::now() + std::chrono::seconds(61);
  const std::time_t t = std::chrono::system_clock::to_time_t(in_a_minute);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  Receiver receiver(Answer(429, std::string("Retry-After: ") + date + "\r\n"));
  Deliverer deliverer(Options());
  AttemptResult r = Send(deliverer, Hook(receiver.Url())).Get();
  EXPECT_EQ(r.status, 429);
  ASSERT_TRUE(r.retry_after);
  EXPECT_GE(r.retry_after->count(), 55);
  EXPECT_LE(r.retry_after->count(), 62);
}

TEST(WebhookTest, GoneOn410) {
  Receiver receiver(Answer(410));
  Deliverer deliverer(Options());
  AttemptResult r = Send(deliverer, Hook(receiver.Url())).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_TRUE(r.gone);
  EXPECT_EQ(r.status, 410);
  EXPECT_FALSE(r.error.empty());
}

TEST(WebhookTest, RedirectsAreNotFollowed) {
  Receiver receiver(Answer(302, "Location: http://169.254.169.254/\r\n"));
  Deliverer deliverer(Options());
  AttemptResult r = Send(deliverer, Hook(receiver.Url())).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.error, "HTTP 302");
  EXPECT_EQ(receiver.connections(), 1);
}

TEST(WebhookTest, SilentReceiverTimesOutWithoutHoldingUpOthers) {
  Receiver slow(Silent());
  Receiver good(Answer(200));
  Deliverer deliverer(Options(500ms));
  Pending stuck = Send(deliverer, Hook(slow.Url()));
  Pending quick = Send(deliverer, Hook(good.Url()));
  AttemptResult q = quick.Get();
  EXPECT_TRUE(q.delivered) << q.error;
  EXPECT_LT(quick.Elapsed(), 400ms);
  AttemptResult s = stuck.Get();
  EXPECT_FALSE(s.delivered);
  EXPECT_EQ(s.status, 0);
  EXPECT_NE(s.error.find("timed out"), std::string::npos) << s.error;
  EXPECT_GE(stuck.Elapsed(), 450ms);
  EXPECT_LT(stuck.Elapsed(), 1500ms);
}

TEST(WebhookTest, MaxInFlightQueuesTheRest) {
  Receiver slow(Silent());
  DelivererOptions o = Options(300ms);
  o.max_in_flight = 1;
  Deliverer deliverer(std::move(o));
  Pending first = Send(deliverer, Hook(slow.Url()));
  Pending second = Send(deliverer, Hook(slow.Url()));
  EXPECT_NE(first.Get().error.find("timed out"), std::string::npos);
  EXPECT_NE(second.Get().error.find("timed out"), std::string::npos);
  // The second attempt started (and its deadline began) only when the first one ended.
  EXPECT_GE(second.Elapsed(), 550ms);
  EXPECT_LT(second.Elapsed(), 2000ms);
}

// A 2xx status line is the receiver's answer, however long (or cut short) the body after it.
TEST(WebhookTest, HugeSuccessfulResponseCountsAsDelivered) {
  Receiver receiver([](Receiver& r, int fd) {
    if (!r.ReadRequest(fd)) return;
    r.Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n");
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 800 && r.Write(fd, chunk); ++i) {
    }
  });
  DelivererOptions o = Options();
  o.max_response_bytes = 1024;
  Deliverer deliverer(std::move(o));
  AttemptResult r = Send(deliverer, Hook(receiver.Url())).Get();
  EXPECT_TRUE(r.delivered) << r.error;
  EXPECT_EQ(r.status, 200);
}

TEST(WebhookTest, HugeUnframedResponseIsAnError) {
  Receiver receiver([](Receiver& r, int fd) {
    if (!r.ReadRequest(fd)) return;
    r.Write(fd, "HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\n");  // the body ends at close
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 800 && r.Write(fd, chunk); ++i) {
    }
  });
  DelivererOptions o = Options();
  o.max_response_bytes = 4096;
  Deliverer deliverer(std::move(o));
  AttemptResult r = Send(deliverer, Hook(receiver.Url())).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.error.find("larger than 4096 bytes"), std::string::npos) << r.error;
}

TEST(WebhookTest, RefusedConnectionIsAnError) {
  uint16_t port = 0;
  {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens there now
  Deliverer deliverer(Options());
  AttemptResult r =
      Send(deliverer, Hook("http://127.0.0.1:" + std::to_string(port) + "/hook")).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
}

TEST(WebhookTest, UrlNotAllowedMakesNoConnection) {
  Receiver receiver(Answer(200));
  DelivererOptions o = Options();
  o.allow = AllowList({"hooks.example.com"});
  Deliverer deliverer(std::move(o));
  AttemptResult r = Send(deliverer, Hook(receiver.Url())).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_NE(r.error.find("not in webhook_allow"), std::string::npos) << r.error;
  AttemptResult bad = Send(deliverer, Hook("ftp://hooks.example.com/")).Get();
  EXPECT_FALSE(bad.delivered);
  EXPECT_NE(bad.error.find("http"), std::string::npos) << bad.error;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(receiver.connections(), 0);
}

TEST(WebhookTest, DestructorWithAnAttemptInFlightReturnsPromptly) {
  Receiver slow(Silent());
  Pending pending;
  Pending queued;
  Clock::duration took{};
  {
    DelivererOptions o = Options(10s);
    o.max_in_flight = 1;
    std::optional<Deliverer> deliverer;
    deliverer.emplace(std::move(o));
    pending = Send(*deliverer, Hook(slow.Url()));
    queued = Send(*deliverer, Hook(slow.Url()));  // waits behind the first
    const auto until = Clock::now() + 5s;
    while (slow.requests().empty() && Clock::now() < until) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(slow.requests().size(), 1u);
    const auto start = Clock::now();
    deliverer.reset();
    took = Clock::now() - start;
  }
  EXPECT_LT(took, 1s);
  AttemptResult r = pending.Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.error, "shutting down");
  AttemptResult q = queued.Get();
  EXPECT_FALSE(q.delivered);
  EXPECT_EQ(q.error, "shutting down");
}

// ---- Email ----

struct SmtpScript {
  std::string rcpt_reply = "250 2.1.5 ok\r\n";
};

// A scripted SMTP relay: multi-line greeting and EHLO replies; records each command line and,
// as one more line, the DATA section as received (up to and including "\r\n.\r\n").
Receiver::Handler Smtp(SmtpScript script = {}) {
  return [script](Receiver& r, int fd) {
    if (!r.Write(fd, "220-smtp.test ESMTP\r\n220 ready\r\n")) return;
    std::string buf;
    for (;;) {
      if (!r.ReadUntil(fd, buf, "\r\n")) return;
      const size_t end = buf.find("\r\n");
      const std::string line = buf.substr(0, end);
      buf.erase(0, end + 2);
      r.Record(line);
      if (line.rfind("EHLO ", 0) == 0) {
        r.Write(fd,
                "250-smtp.test greets rectrack\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 "
                "8BITMIME\r\n");
      } else if (line.rfind("MAIL FROM:", 0) == 0) {
        r.Write(fd, "250 2.1.0 ok\r\n");
      } else if (line.rfind("RCPT TO:", 0) == 0) {
        r.Write(fd, script.rcpt_reply);
      } else if (line == "DATA") {
        r.Write(fd, "354 end with <CRLF>.<CRLF>\r\n");
        if (!r.ReadUntil(fd, buf, "\r\n.\r\n")) return;
        const size_t data_end = buf.find("\r\n.\r\n") + 5;
        r.Record(buf.substr(0, data_end));
        buf.erase(0, data_end);
        r.Write(fd, "250 2.0.0 queued as 42\r\n");
      } else if (line == "QUIT") {
        r.Write(fd, "221 bye\r\n");
        return;
      } else {
        r.Write(fd, "500 unknown command\r\n");
      }
    }
  };
}

EmailMessage Mail(const Receiver& relay) {
  EmailMessage m;
  m.relay.url = "smtp://127.0.0.1:" + std::to_string(relay.port());
  m.relay.plain = true;  // the scripted relay offers no STARTTLS
  m.from = "rectrack@example.org";
  m.to = "ops@example.org";
  m.subject = "Recommendation R-12 is due";
  m.body = "Recommendation R-12 is due today.\n.hidden behind a dot\n..two dots\nbye\n";
  m.message_id = "alrt_0001@rectrack";
  return m;
}

TEST(EmailTest, DeliveredThroughAScriptedRelay) {
  Receiver relay(Smtp());
  Deliverer deliverer(Options());
  AttemptResult r = Send(deliverer, Mail(relay)).Get();
  EXPECT_TRUE(r.delivered) << r.error;
  EXPECT_EQ(r.status, 250);
  EXPECT_EQ(r.error, "");
  // QUIT follows the callback.
  const auto until = Clock::now() + 5s;
  while (relay.lines().size() < 6 && Clock::now() < until) std::this_thread::sleep_for(5ms);
  relay.Stop();
  const auto lines = relay.lines();
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "EHLO example.org");  // the sender's domain
  EXPECT_EQ(lines[1], "MAIL FROM:<rectrack@example.org>");
  EXPECT_EQ(lines[2], "RCPT TO:<ops@example.org>");
  EXPECT_EQ(lines[3], "DATA");
  EXPECT_EQ(lines[5], "QUIT");
  const std::string& data = lines[4];
  const size_t split = data.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos);
  const std::string head = data.substr(0, split + 2);
  const std::string body = data.substr(split + 4);
  EXPECT_NE(head.find("From: rectrack@example.org\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("To: ops@example.org\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Subject: Recommendation R-12 is due\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Message-ID: <alrt_0001@rectrack>\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("MIME-Version: 1.0\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nDate: "), std::string::npos) << head;
  EXPECT_EQ(body,
            "Recommendation R-12 is due today.\r\n..hidden behind a dot\r\n...two dots\r\n"
            "bye\r\n.\r\n");
  // The relay saw no line ending but CRLF.
  for (size_t i = data.find('\n'); i != std::string::npos; i = data.find('\n', i + 1)) {
    ASSERT_GT(i, 0u);
    EXPECT_EQ(data[i - 1], '\r') << i;
  }
}

TEST(EmailTest, NonAsciiSubjectIsEncoded) {
  Receiver relay(Smtp());
  Deliverer deliverer(Options());
  EmailMessage m = Mail(relay);
  m.subject = "Échéance: recommandation R-12";
  AttemptResult r = Send(deliverer, m).Get();
  EXPECT_TRUE(r.delivered) << r.error;
  relay.Stop();
  const auto lines = relay.lines();
  ASSERT_GE(lines.size(), 5u);
  EXPECT_NE(lines[4].find("Subject: =?UTF-8?B?"), std::string::npos) << lines[4];
}

TEST(EmailTest, RecipientRefused) {
  SmtpScript script;
  script.rcpt_reply = "550-5.1.1 no such user\r\n550 5.1.1 go away\r\n";
  Receiver relay(Smtp(script));
  Deliverer deliverer(Options());
  AttemptResult r = Send(deliverer, Mail(relay)).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.status, 550);
  EXPECT_NE(r.error.find("550"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("RCPT"), std::string::npos) << r.error;
  relay.Stop();
  const auto lines = relay.lines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "DATA"), 0);
}

TEST(EmailTest, HeaderInjectionIsRefusedWithoutConnecting) {
  Receiver relay(Smtp());
  Deliverer deliverer(Options());
  EmailMessage subject = Mail(relay);
  subject.subject = "Due\r\nBcc: everyone@example.org";
  EmailMessage to = Mail(relay);
  to.to = "ops@example.org\r\nRCPT TO:<other@example.org>";
  EmailMessage from = Mail(relay);
  from.from = "a@example.org>\nX: y";
  for (const EmailMessage& m : {subject, to, from}) {
    AttemptResult r = Send(deliverer, m).Get();
    EXPECT_FALSE(r.delivered);
    EXPECT_FALSE(r.error.empty());
  }
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(relay.connections(), 0);
}

// TLS is required unless config says plain: a relay that does not offer STARTTLS gets EHLO and
// QUIT, never the sender, the recipient nor the message.
TEST(EmailTest, NoStartTlsOfferedMeansNothingSentInClear) {
  Receiver relay(Smtp());
  Deliverer deliverer(Options());
  EmailMessage m = Mail(relay);
  m.relay.plain = false;
  AttemptResult r = Send(deliverer, m).Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_NE(r.error.find("does not offer STARTTLS"), std::string::npos) << r.error;
  relay.Stop();
  for (const std::string& line : relay.lines()) {
    EXPECT_TRUE(line.rfind("EHLO", 0) == 0 || line.rfind("STARTTLS", 0) == 0 || line == "QUIT")
        << line;
  }
}

TEST(EmailTest, RelaySettingsAreChecked) {
  auto check = [](std::string url, bool plain = false, std::string user = "",
                  std::string password = "") {
    return CheckSmtpRelay({std::move(url), std::move(user), std::move(password), "", plain});
  };
  EXPECT_TRUE(check("smtp://relay.example:587").ok());
  EXPECT_TRUE(check("smtps://relay.example").ok());
  EXPECT_TRUE(check("smtp://relay.example:587", false, "me", "secret").ok());
  EXPECT_TRUE(check("smtp://127.0.0.1:25", true).ok());
  EXPECT_TRUE(check("smtp://[::1]:25", true).ok());
  EXPECT_TRUE(check("SMTP://LOCALHOST:25/", true).ok());
  for (const char* bad : {"relay.example:25", "http://relay.example", "smtp://", "smtp://a b:25",
                          "smtp://me:pw@relay.example:587", "smtp://relay.example:587/x",
                          "smtp://relay.example:587?x=1", "smtp://relay.example:99999"}) {
    EXPECT_FALSE(check(bad).ok()) << bad;
  }
  EXPECT_NE(check("smtp://relay.example:25", true).message().find("only for a relay on this"),
            std::string::npos);
  EXPECT_FALSE(check("smtp://10.1.2.3:25", true).ok());
  EXPECT_FALSE(check("smtps://127.0.0.1:465", true).ok());
  EXPECT_FALSE(check("smtp://relay.example:587", false, "me", "").ok());
  EXPECT_FALSE(check("smtp://relay.example:587", false, "", "secret").ok());
  EXPECT_FALSE(check("smtp://relay.example:587", false, "me\r\nMAIL", "x").ok());
}

TEST(EmailTest, SilentRelayTimesOut) {
  Receiver relay([](Receiver& r, int fd) { r.WaitForClose(fd); });  // no greeting
  Deliverer deliverer(Options(300ms));
  Pending pending = Send(deliverer, Mail(relay));
  AttemptResult r = pending.Get();
  EXPECT_FALSE(r.delivered);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_LT(pending.Elapsed(), 1500ms);
}

}  // namespace
}  // namespace rectrack::alerts
