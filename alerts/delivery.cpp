// Each attempt is a C++20 coroutine (Asio's awaitable) on the Deliverer's single io_context
// thread, so attempts share no locks. An Attempt carries the callback and a steady_timer for its
// deadline; whichever comes first (the coroutine's result, the deadline, shutdown) runs the
// callback (Attempt::Finish), and the others only clean up. Sockets are beast::tcp_stream with the
// same deadline, so no single operation outlives it either. An email's SMTP dialogue is
// libcurl's (smtp.h), run on a worker thread whose result the coroutine awaits.
#include "alerts/delivery.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_path.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <deque>
#include <limits>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "alerts/smtp.h"
#include "common/strings.h"

namespace rectrack::alerts {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace urls = boost::urls;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Every asynchronous step answers (error_code, ...) instead of throwing.
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when `s` holds a byte below 0x20 (CR, LF, NUL, ...) or DEL.
bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// ---- URLs and host[:port] ----

struct HostPort {
  std::string host;  // without brackets
  bool ipv6 = false;
  std::optional<uint16_t> port;
};

// A host and optional port as Boost.URL reads an authority ("host", "host:port", "[v6]:port"),
// without user information; nullopt for anything else. `bare_ipv6` also takes "::1" unbracketed,
// as an allow-list entry may be written.
std::optional<HostPort> ParseHostPort(std::string_view s, bool bare_ipv6) {
  HostPort out;
  boost::system::error_code ec;
  if (bare_ipv6 && std::count(s.begin(), s.end(), ':') > 1 && s.find('[') == s.npos) {
    net::ip::make_address_v6(std::string(s), ec);
    if (ec) return std::nullopt;
    return HostPort{std::string(s), true, std::nullopt};
  }
  auto authority = urls::parse_authority(s);
  if (!authority || authority->has_userinfo() || authority->host().empty() ||
      authority->host_type() == urls::host_type::ipvfuture) {
    return std::nullopt;
  }
  out.ipv6 = authority->host_type() == urls::host_type::ipv6;
  out.host = out.ipv6 ? authority->host_ipv6_address().to_string()
                      : std::string(authority->encoded_host());
  const bool name_ok = std::all_of(out.host.begin(), out.host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == ':';
  });
  if (!name_ok) return std::nullopt;  // no encoded or odd names
  if (authority->has_port()) {
    const std::string_view digits = authority->port();
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port == 0 ||
        port > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

// How a host compares: lower case, without a trailing dot.
std::string HostKey(std::string host) {
  host = Lower(host);
  if (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

struct Url {
  bool https = false;
  HostPort authority;
  uint16_t port = 0;   // the effective port (80 or 443 unless given)
  std::string target;  // path and query, at least "/"

  // "host" or "[v6]", with ":port" unless it is the scheme's default: the Host header.
  std::string Authority() const {
    std::string out = authority.ipv6 ? "[" + authority.host + "]" : authority.host;
    if (port != (https ? 443 : 80)) out += ":" + std::to_string(port);
    return out;
  }
};

// A URL of one of `schemes` with a host, read by Boost.URL; `what` names it in errors ("webhook
// URL"). The URL is never quoted in messages: its query may carry a token.
Result<std::pair<std::string, HostPort>> ParseServerUrl(
    const std::string& text, const std::string& what, std::initializer_list<const char*> schemes) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return Status::InvalidArgument(what +
                                     " contains a space, a control or a non-ASCII character");
    }
  }
  auto url = urls::parse_uri(text);
  std::string scheme = url ? Lower(std::string(url->scheme())) : "";
  std::string names;
  for (const char* s : schemes) names += (names.empty() ? "" : " or ") + std::string(s) + "://";
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end() || !url->has_authority()) {
    return Status::InvalidArgument(what + " must start with " + names);
  }
  if (url->has_userinfo()) {
    return Status::InvalidArgument(what + " must not contain user information (user@host)");
  }
  auto host = ParseHostPort(url->encoded_authority(), /*bare_ipv6=*/false);
  if (!host) return Status::InvalidArgument(what + " has no valid host[:port]");
  return std::make_pair(std::move(scheme), std::move(*host));
}

Result<Url> ParseUrl(const std::string& text) {
  ASSIGN_OR_RETURN(auto parsed, ParseServerUrl(text, "webhook URL", {"http", "https"}));
  Url url;
  url.https = parsed.first == "https";
  url.authority = std::move(parsed.second);
  url.port = url.authority.port.value_or(url.https ? 443 : 80);
  auto view = urls::parse_uri(text);
  url.target = std::string(view->encoded_path());
  if (view->has_query()) url.target += "?" + std::string(view->encoded_query());
  if (url.target.empty() || url.target.front() != '/') url.target = "/" + url.target;
  return url;
}

// ---- HTTP-date ----

// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7).
std::optional<std::chrono::system_clock::time_point> ParseImfFixdate(std::string_view s) {
  static constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu",
                                                            "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (std::find(kDays.begin(), kDays.end(), s.substr(0, 3)) == kDays.end()) return std::nullopt;
  const auto month = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
  if (month == kMonths.end()) return std::nullopt;
  auto number = [&](size_t pos, size_t len) -> std::optional<int> {
    int value = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      value = value * 10 + (s[i] - '0');
    }
    return value;
  };
  const auto day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
             second = number(23, 2);
  if (!day || !year || !hour || !minute || !second) return std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  const std::chrono::year_month_day date{
      std::chrono::year(*year),
      std::chrono::month(static_cast<unsigned>(month - kMonths.begin() + 1)),
      std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second);
}

// RFC 5322 date-time in UTC, "Wed, 21 Oct 2015 07:28:00 +0000", independent of the locale.
std::string MailDate(std::chrono::system_clock::time_point now) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// ---- Email text ----

// The subject as is when it is short printable ASCII, else RFC 2047 encoded-words (UTF-8,
// base64), folded so no line exceeds 78 characters.
std::string EncodeSubject(const std::string& subject) {
  const bool plain =
      subject.size() <= 900 &&
      std::all_of(subject.begin(), subject.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (plain) return subject;
  std::string out;
  size_t pos = 0;
  while (pos < subject.size()) {
    size_t len = std::min<size_t>(45, subject.size() - pos);
    // Do not split a UTF-8 sequence: back off while the next byte is a continuation byte.
    while (len > 1 && pos + len < subject.size() &&
           (static_cast<unsigned char>(subject[pos + len]) & 0xC0) == 0x80) {
      --len;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(std::string_view(subject).substr(pos, len)) + "?=";
    pos += len;
  }
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      lines.push_back(std::move(line));
      line.clear();
    } else {
      line += text[i];
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// The DATA section: headers, the body with CRLF line endings and dot-stuffed (RFC 5321
// 4.5.2), and the terminating ".". A body that is not 7-bit text with lines of at most 998
// characters goes base64-encoded, so no SMTP extension (8BITMIME) is needed.
std::string MailData(const EmailMessage& m, std::chrono::system_clock::time_point now) {
  std::vector<std::string> lines = SplitLines(m.body);
  const bool seven_bit =
      IsAscii(m.body) && m.body.find('\0') == std::string::npos &&
      std::all_of(lines.begin(), lines.end(), [](const std::string& l) { return l.size() <= 998; });
  std::string out;
  out += "From: " + m.from + "\r\n";
  out += "To: " + m.to + "\r\n";
  out += "Subject: " + EncodeSubject(m.subject) + "\r\n";
  out += "Date: " + MailDate(now) + "\r\n";
  if (!m.message_id.empty()) {
    const bool bracketed = m.message_id.front() == '<' && m.message_id.back() == '>';
    out += "Message-ID: " + (bracketed ? m.message_id : "<" + m.message_id + ">") + "\r\n";
  }
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += std::string("Content-Transfer-Encoding: ") + (seven_bit ? "7bit" : "base64") + "\r\n";
  out += "\r\n";
  if (!seven_bit) {
    const std::string encoded = Base64Encode(m.body);
    lines.clear();
    for (size_t i = 0; i < encoded.size(); i += 76) lines.push_back(encoded.substr(i, 76));
  }
  for (const std::string& line : lines) out += line + "\r\n";
  return out;
}

// ---- Attempts ----

AttemptResult Failure(std::string error, int status = 0) {
  AttemptResult r;
  r.status = status;
  r.error = std::move(error);
  return r;
}

// One webhook or email attempt. Lives on the Deliverer's thread only, so it needs no lock.
struct Attempt {
  Attempt(net::any_io_executor executor, Deliverer::Callback done)
      : timer(std::move(executor)), done(std::move(done)) {}

  net::steady_timer timer;  // the attempt's deadline
  std::chrono::steady_clock::time_point deadline;
  Deliverer::Callback done;
  bool finished = false;        // the callback has run: whatever still runs only cleans up
  int status = 0;               // the last HTTP status or SMTP reply code seen
  std::string stage;            // what the attempt is waiting for, for a timeout's message
  std::function<void()> abort;  // closes what the attempt waits on; set while its coroutine runs

  // Runs the callback once: the first of result, deadline and shutdown wins.
  void Finish(AttemptResult result) {
    if (finished) return;
    finished = true;
    timer.cancel();
    auto callback = std::move(done);
    done = nullptr;
    if (!callback) return;
    try {
      callback(std::move(result));
    } catch (...) {
      // A callback's exception must not unwind through the io_context.
    }
  }
  void Abort() {
    if (abort) abort();
  }
};

// Clears Attempt::abort when the coroutine whose locals it refers to ends.
struct AbortGuard {
  Attempt& attempt;
  ~AbortGuard() { attempt.abort = nullptr; }
};

std::string Millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

// ---- Pure functions ----

Status CheckSmtpRelay(const SmtpRelay& relay) {
  ASSIGN_OR_RETURN(auto parsed, ParseServerUrl(relay.url, "smtp_url", {"smtp", "smtps"}));
  auto view = urls::parse_uri(relay.url);
  if ((!view->encoded_path().empty() && view->encoded_path() != "/") || view->has_query() ||
      view->has_fragment()) {
    return Status::InvalidArgument(
        "smtp_url must be smtp://host:port or smtps://host:port, "
        "with nothing after the port");
  }
  if (relay.plain) {
    const std::string host = HostKey(parsed.second.host);
    boost::system::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (parsed.first == "smtps") {
      return Status::InvalidArgument("smtp_plain cannot be used with smtps:// (which is TLS)");
    }
    if (host != "localhost" && (ec || !address.is_loopback())) {
      return Status::InvalidArgument(
          "smtp_plain (no TLS) is only for a relay on this machine (localhost, 127.0.0.1 or ::1), "
          "not '" +
          parsed.second.host + "'");
    }
  }
  if (relay.user.empty() != relay.password.empty()) {
    return Status::InvalidArgument(relay.user.empty()
                                       ? "an SMTP password is set without smtp_user"
                                       : "smtp_user is set without a password (smtp_password_env "
                                         "or smtp_password_file)");
  }
  if (HasControl(relay.user) || HasControl(relay.password)) {
    return Status::InvalidArgument("the SMTP user or password contains a control character");
  }
  return Status();
}

Status AllowList::Check(const std::string& url) const {
  auto parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.status();
  const std::string host = HostKey(parsed->authority.host);
  for (const std::string& entry : entries_) {
    const auto allowed = ParseHostPort(Trim(entry), /*bare_ipv6=*/true);
    if (!allowed) continue;  // a malformed entry matches nothing
    if (HostKey(allowed->host) == host && (!allowed->port || *allowed->port == parsed->port)) {
      return Status();
    }
  }
  std::string shown =
      parsed->authority.ipv6 ? "[" + parsed->authority.host + "]" : parsed->authority.host;
  if (parsed->authority.port) shown += ":" + std::to_string(*parsed->authority.port);
  return Status::PermissionDenied("webhook host '" + shown + "' is not in webhook_allow");
}

std::string SignWebhook(const std::string& secret, const std::string& id,
                        const std::string& timestamp, const std::string& body) {
  // The key is what follows "whsec_", base64-decoded, as receivers decode it. Anything else
  // (the rules refuse it at start) signs nothing: a signature made some other way would only
  // fail every check, and be retried for a day.
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  const auto decoded = Base64Decode(std::string_view(secret).substr(kPrefix.size()));
  if (!decoded || decoded->empty()) return "";
  const std::string& key = *decoded;
  const std::string content = id + "." + timestamp + "." + body;
  static const unsigned char kEmptyKey = 0;  // HMAC() wants a non-null key even when empty
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(),
           key.empty() ? &kEmptyKey : reinterpret_cast<const unsigned char*>(key.data()),
           static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
           content.size(), mac, &mac_len) == nullptr) {
    return "v1,";  // OpenSSL failed; a receiver rejects the empty signature
  }
  return "v1," + Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::optional<std::chrono::seconds> RetryDelay(int attempt,
                                               std::optional<std::chrono::seconds> retry_after,
                                               double unit_random) {
  // Delays after failed attempt 1, 2, ... (seconds): immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
  // 10 h, 10 h; 27 h 35 min 5 s in all.
  static constexpr std::array<int64_t, 8> kSchedule = {0, 5, 300, 1800, 7200, 18000, 36000, 36000};
  attempt = std::max(attempt, 1);
  if (static_cast<size_t>(attempt) > kSchedule.size()) return std::nullopt;
  double u = std::isfinite(unit_random) ? unit_random : 0.5;
  u = std::clamp(u, 0.0, 1.0);
  const double factor = 0.8 + 0.4 * u;  // +-20%
  std::chrono::seconds delay(
      std::llround(static_cast<double>(kSchedule[static_cast<size_t>(attempt) - 1]) * factor));
  if (retry_after && *retry_after > delay)
    delay = std::min<std::chrono::seconds>(*retry_after, 24h);
  return delay;
}

std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value,
                                                    std::chrono::system_clock::time_point now) {
  const std::string_view v = Trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delay-seconds; absurdly large values saturate (about 68 years) rather than overflow
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    int64_t seconds = 0;
    for (char c : v) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMax) return std::chrono::seconds(kMax);
    }
    return std::chrono::seconds(seconds);
  }
  const auto date = ParseImfFixdate(v);
  if (!date) return std::nullopt;
  if (*date <= now) return 0s;
  return std::chrono::ceil<std::chrono::seconds>(*date - now);
}

// ---- Deliverer ----

namespace {

// HTTP exchange on a connected (and, for https, handshaken) stream.
struct HttpOutcome {
  beast::error_code ec;  // set when the exchange failed
  std::string stage;
  int status = 0;
  std::string retry_after;
};

template <class Stream>
net::awaitable<HttpOutcome> Exchange(Stream& stream, Attempt& attempt,
                                     bhttp::request<bhttp::string_body>& request, size_t max_body) {
  HttpOutcome out;
  out.stage = attempt.stage = "send request";
  auto [write_ec, written] = co_await bhttp::async_write(stream, request, kNoThrow);
  (void)written;
  if (write_ec) {
    out.ec = write_ec;
    co_return out;
  }
  beast::flat_buffer buffer;
  out.stage = attempt.stage = "read response";
  // Interim 1xx answers (103 Early Hints) precede the final one; a few are skipped.
  for (int interim = 0; interim < 5; ++interim) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_body);
    auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
    (void)read;
    if (parser.is_header_done()) {
      out.status = attempt.status = static_cast<int>(parser.get().result_int());
      out.retry_after = std::string(parser.get()[bhttp::field::retry_after]);
    }
    if (read_ec) {
      out.ec = read_ec;
      co_return out;
    }
    if (out.status < 100 || out.status >= 200) co_return out;
  }
  out.ec = bhttp::error::bad_status;
  co_return out;
}

// SMTP reply: the code and the text of its lines, joined by " ".

}  // namespace

struct Deliverer::Impl {
  explicit Impl(DelivererOptions o) : options(std::move(o)) {
    if (options.max_in_flight == 0) options.max_in_flight = 1;
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    tls.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ignored;  // without CA paths every https attempt fails to verify
    tls.set_default_verify_paths(ignored);
    thread = std::thread([this] {
      for (;;) {
        try {
          io.run();
          return;
        } catch (...) {
          // Only an internal failure (bad_alloc) gets here; keep serving the other attempts.
        }
      }
    });
  }

  DelivererOptions options;
  ssl::context tls{ssl::context::tls_client};
  // Declared after what attempts use, so pending attempts are destroyed first.
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  std::thread thread;

  // The rest is touched only on `thread`.
  bool stopping = false;
  size_t running = 0;
  std::set<std::shared_ptr<Attempt>> live;
  std::deque<std::pair<std::shared_ptr<Attempt>, std::function<void()>>> waiting;

  std::string Describe(const std::string& stage, beast::error_code ec) const {
    if (ec == beast::error::timeout) return stage + ": timed out after " + Millis(options.timeout);
    if (ec == bhttp::error::body_limit) {
      return stage + ": the response body is larger than " +
             std::to_string(options.max_response_bytes) + " bytes";
    }
    if (ec == net::error::eof || ec == bhttp::error::end_of_stream ||
        ec == bhttp::error::partial_message) {
      return stage + ": the connection closed before a complete answer";
    }
    return stage + ": " + ec.message();
  }

  std::shared_ptr<Attempt> NewAttempt(Callback done) {
    return std::make_shared<Attempt>(io.get_executor(), std::move(done));
  }

  // Runs `start` now if fewer than max_in_flight attempts run, else when one ends.
  void Enqueue(std::shared_ptr<Attempt> attempt, std::function<void()> start) {
    if (running < options.max_in_flight) {
      Begin(attempt, start);
    } else {
      waiting.emplace_back(std::move(attempt), std::move(start));
    }
  }

  void Begin(const std::shared_ptr<Attempt>& attempt, const std::function<void()>& start) {
    ++running;
    live.insert(attempt);
    attempt->deadline = std::chrono::steady_clock::now() + options.timeout;
    attempt->timer.expires_at(attempt->deadline);
    attempt->timer.async_wait([this, attempt](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the attempt finished first
      attempt->Finish(Failure(attempt->stage + ": timed out after " + Millis(options.timeout),
                              attempt->status));
      attempt->Abort();
    });
    start();
  }

  // The completion of an attempt's coroutine.
  void Ended(const std::shared_ptr<Attempt>& attempt, std::exception_ptr error) {
    if (error) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        what += std::string(": ") + e.what();
      } catch (...) {
      }
      attempt->Finish(Failure(what, attempt->status));
    }
    attempt->Finish(Failure("internal error: the attempt ended without a result"));
    attempt->timer.cancel();
    live.erase(attempt);
    --running;
    while (!stopping && !waiting.empty() && running < options.max_in_flight) {
      auto [next, start] = std::move(waiting.front());
      waiting.pop_front();
      Begin(next, start);
    }
  }

  void Spawn(const std::shared_ptr<Attempt>& attempt, net::awaitable<void> body) {
    net::co_spawn(io, std::move(body),
                  [this, attempt](std::exception_ptr e) { Ended(attempt, std::move(e)); });
  }

  void Stop() {
    stopping = true;
    auto queued = std::move(waiting);
    waiting.clear();
    for (auto& [attempt, start] : queued) attempt->Finish(Failure("shutting down"));
    const auto running_now = live;  // Finish may not touch `live`, but be safe
    for (const auto& attempt : running_now) {
      attempt->Finish(Failure("shutting down", attempt->status));
      attempt->Abort();
    }
    work.reset();  // run() returns once the aborted coroutines have unwound
  }

  // ---- Webhooks ----

  void StartWebhook(WebhookMessage message, Callback done) {
    if (stopping) return;  // sent by a callback during shutdown: dropped
    auto attempt = NewAttempt(std::move(done));
    const Status allowed = options.allow.Check(message.url);
    if (!allowed.ok()) return attempt->Finish(Failure(allowed.message()));
    if (message.timestamp.empty()) {
      message.timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    }
    if (HasControl(message.id) || HasControl(message.timestamp)) {
      return attempt->Finish(Failure("webhook id or timestamp contains a control character"));
    }
    Url url = ParseUrl(message.url).value();  // Check() parsed it already
    Enqueue(attempt, [this, attempt, message = std::move(message), url = std::move(url)] {
      Spawn(attempt, Webhook(attempt, message, url));
    });
  }

  net::awaitable<void> Webhook(std::shared_ptr<Attempt> attempt, WebhookMessage message, Url url) {
    if (attempt->finished) co_return;
    auto executor = co_await net::this_coro::executor;
    tcp::resolver resolver(executor);
    beast::tcp_stream tcp(executor);
    attempt->abort = [&] {
      resolver.cancel();
      tcp.close();
    };
    AbortGuard guard{*attempt};

    bhttp::request<bhttp::string_body> request{bhttp::verb::post, url.target, 11};
    request.set(bhttp::field::host, url.Authority());
    request.set(bhttp::field::user_agent, "rectrack");
    request.set(bhttp::field::content_type, "application/json");
    request.set("webhook-id", message.id);
    request.set("webhook-timestamp", message.timestamp);
    request.set("webhook-signature",
                SignWebhook(message.secret, message.id, message.timestamp, message.body));
    request.keep_alive(false);
    request.body() = message.body;
    request.prepare_payload();

    const std::string& host = url.authority.host;
    const std::string where =
        (url.authority.ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(url.port);
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code literal_ec;
    const auto literal = net::ip::make_address(host, literal_ec);
    if (!literal_ec) {
      endpoints.emplace_back(literal, url.port);
    } else {
      attempt->stage = "resolve " + host;
      auto [ec, results] =
          co_await resolver.async_resolve(host, std::to_string(url.port), kNoThrow);
      if (attempt->finished) co_return;
      if (ec) co_return attempt->Finish(Failure(Describe(attempt->stage, ec)));
      for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }

    attempt->stage = "connect to " + where;
    tcp.expires_at(attempt->deadline);
    {
      auto [ec, endpoint] = co_await tcp.async_connect(endpoints, kNoThrow);
      (void)endpoint;
      if (attempt->finished) co_return;
      if (ec) co_return attempt->Finish(Failure(Describe(attempt->stage, ec)));
    }

    HttpOutcome outcome;
    if (!url.https) {
      outcome = co_await Exchange(tcp, *attempt, request, options.max_response_bytes);
    } else {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), tls);
      attempt->abort = [&stream] { beast::get_lowest_layer(stream).close(); };
      // SNI carries names only (RFC 6066 3); the certificate must match the host either way.
      if (literal_ec && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
        co_return attempt->Finish(Failure("TLS: cannot set the server name " + host));
      }
      stream.set_verify_callback(ssl::host_name_verification(host));
      beast::get_lowest_layer(stream).expires_at(attempt->deadline);
      attempt->stage = "TLS handshake with " + where;
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kNoThrow);
      if (attempt->finished) co_return;
      if (ec) co_return attempt->Finish(Failure(Describe(attempt->stage, ec)));
      outcome = co_await Exchange(stream, *attempt, request, options.max_response_bytes);
      // No TLS close_notify: the whole response is read and the connection is not reused.
    }
    if (attempt->finished) co_return;

    AttemptResult result;
    result.status = outcome.status;
    if (!outcome.retry_after.empty()) {
      result.retry_after = ParseRetryAfter(outcome.retry_after, std::chrono::system_clock::now());
    }
    if (outcome.status >= 200 && outcome.status < 300) {
      // The status line is the receiver's answer: a 2xx whose body we could not read in full
      // (too large, cut short) still means it has the alert, and sending it again would
      // duplicate it.
      result.delivered = true;
    } else if (outcome.ec) {
      result.error = Describe(outcome.stage, outcome.ec);
    } else {
      result.gone = outcome.status == 410;
      result.error = "HTTP " + std::to_string(outcome.status);
    }
    attempt->Finish(std::move(result));
  }

  // ---- Email ----

  // libcurl blocks, so each email's dialogue runs on a worker thread (no more than max_in_flight
  // at once: the slots of Enqueue bound them) while its coroutine waits on `done`, which the
  // worker cancels, through the io_context, when it has a result.
  struct MailJob {
    explicit MailJob(net::any_io_executor executor)
        : done(std::move(executor), std::chrono::steady_clock::time_point::max()) {}
    net::steady_timer done;
    std::atomic<bool> cancelled{false};
    AttemptResult result;  // written by the worker before it posts
  };

  void StartEmail(EmailMessage message, Callback done) {
    if (stopping) return;  // sent by a callback during shutdown: dropped
    auto attempt = NewAttempt(std::move(done));
    auto refuse = [&](const std::string& why) {
      attempt->Finish(Failure("email refused: " + why));
    };
    if (message.from.empty() || message.to.empty()) return refuse("no sender or no recipient");
    for (const std::string* address : {&message.from, &message.to}) {
      if (HasControl(*address) || address->find_first_of("<> ") != std::string::npos) {
        return refuse("an address contains CR, LF, a space, '<', '>' or a control character");
      }
    }
    if (HasControl(message.subject))
      return refuse("the subject contains CR, LF or a control character");
    if (HasControl(message.message_id) || message.message_id.find(' ') != std::string::npos) {
      return refuse("the Message-ID contains a space, CR, LF or a control character");
    }
    if (Status relay = CheckSmtpRelay(message.relay); !relay.ok()) return refuse(relay.message());
    std::string data = MailData(message, std::chrono::system_clock::now());
    Enqueue(attempt, [this, attempt, message = std::move(message), data = std::move(data)] {
      Spawn(attempt, Email(attempt, message, data));
    });
  }

  net::awaitable<void> Email(std::shared_ptr<Attempt> attempt, EmailMessage message,
                             std::string data) {
    if (attempt->finished) co_return;
    auto job = std::make_shared<MailJob>(co_await net::this_coro::executor);
    attempt->abort = [job] { job->cancelled = true; };
    AbortGuard guard{*attempt};
    attempt->stage = "SMTP";
    if (!mailers) mailers = std::make_unique<net::thread_pool>(options.max_in_flight);
    const auto left = std::max<std::chrono::milliseconds>(
        1ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                 attempt->deadline - std::chrono::steady_clock::now()));
    net::post(*mailers, [this, job, message = std::move(message), data = std::move(data), left] {
      job->result = internal::SendMail(message, data, left, job->cancelled);
      net::post(io, [job] { job->done.cancel(); });
    });
    co_await job->done.async_wait(kNoThrow);
    attempt->Finish(std::move(job->result));
  }

  // Declared last, so destroyed (its threads joined) first: its jobs post to `io`.
  std::unique_ptr<net::thread_pool> mailers;
};

Deliverer::Deliverer(DelivererOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Deliverer::~Deliverer() {
  net::post(impl_->io, [impl = impl_.get()] { impl->Stop(); });
  if (impl_->thread.get_id() == std::this_thread::get_id()) {
    // Destroyed from one of its own callbacks: joining would deadlock. The thread finishes the
    // shutdown on its own; the Impl is left to it (a small leak instead of a crash).
    impl_->thread.detach();
    (void)impl_.release();
    return;
  }
  impl_->thread.join();
}

void Deliverer::Send(WebhookMessage message, Callback done) {
  net::post(impl_->io,
            [impl = impl_.get(), message = std::move(message), done = std::move(done)]() mutable {
              impl->StartWebhook(std::move(message), std::move(done));
            });
}

void Deliverer::Send(EmailMessage message, Callback done) {
  net::post(impl_->io,
            [impl = impl_.get(), message = std::move(message), done = std::move(done)]() mutable {
              impl->StartEmail(std::move(message), std::move(done));
            });
}

}  // namespace rectrack::alerts
