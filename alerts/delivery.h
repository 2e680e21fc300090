// Delivery: sends one alert to one receiver, never blocking the caller. Webhooks follow the
// Standard Webhooks convention (https://www.standardwebhooks.com): POST of the JSON payload with
// headers webhook-id, webhook-timestamp and webhook-signature "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>". Email goes to a configured SMTP relay through libcurl: TLS (STARTTLS on
// smtp://, implicit on smtps://) with the certificate and host name verified, and AUTH when a user
// is configured; in clear only when config says so, and only to a relay on this machine.
//
// A Deliverer runs its own io_context on its own thread, so a slow, dead or hostile receiver
// holds up only its own attempt: every attempt has a deadline (connect + send + response), a cap
// on the response size, and at most `max_in_flight` attempts run at once (more wait their turn).
// Webhook URLs are checked against an allow-list before any connection is made (no SSRF).
//
// Thread-safety: Send() may be called from any thread; callbacks run on the Deliverer's thread,
// each exactly once (see ~Deliverer for the one exception). A callback must not block for long:
// it holds up every other attempt's progress.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace rectrack::alerts {

// Hosts webhooks may be sent to: "host" (any port) or "host:port"; host names compare
// case-insensitively, IP literals as written ("127.0.0.1", "[::1]" or "::1"). Empty: no webhook
// allowed. A malformed entry matches nothing. Only the name in the URL is checked, not the
// addresses it resolves to: an allowed name is trusted.
class AllowList {
 public:
  AllowList() = default;
  explicit AllowList(std::vector<std::string> entries) : entries_(std::move(entries)) {}
  // OK, or PermissionDenied naming the host and saying it is not in webhook_allow;
  // InvalidArgument for a URL that is not http:// or https:// with a host, or that has user
  // information ("user@host"), a space, a control or a non-ASCII character. Messages never quote
  // the whole URL (its query may hold a token).
  Status Check(const std::string& url) const;

 private:
  std::vector<std::string> entries_;
};

// "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>", the key being the base64 after
// "whsec_" decoded (Standard Webhooks). "" for a secret not of that form (the rules refuse one).
std::string SignWebhook(const std::string& secret, const std::string& id,
                        const std::string& timestamp, const std::string& body);

// When to try again after failed attempt number `attempt` (1-based): the schedule immediately,
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27.6 hours in all), each with up to +-20%
// jitter drawn from `unit_random` in [0, 1) (0.5: none); a longer Retry-After wins (capped at
// 24 h). nullopt once the schedule is exhausted (attempt 9 on): give up, whatever Retry-After
// says. An attempt below 1 counts as 1.
std::optional<std::chrono::seconds> RetryDelay(int attempt,
                                               std::optional<std::chrono::seconds> retry_after,
                                               double unit_random);
// Retry-After as delay-seconds or an HTTP-date in IMF-fixdate form (relative to `now`; a past
// date gives 0 s); nullopt if unparseable. Huge delay-seconds saturate at about 68 years.
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value,
                                                    std::chrono::system_clock::time_point now);

struct WebhookMessage {
  std::string url;
  std::string secret;
  std::string id;         // webhook-id: the alert id, the same on every attempt
  std::string timestamp;  // webhook-timestamp: Unix seconds of this attempt ("": now)
  std::string body;       // JSON
};

// The SMTP relay email goes through.
struct SmtpRelay {
  // smtp://host:port (STARTTLS required unless `plain`) or smtps://host:port (TLS from the first
  // byte). Without a port, 25 and 465.
  std::string url;
  std::string user;      // "" for no AUTH
  std::string password;  // with `user`; never logged nor put in a delivery's error
  std::string ca_file;   // PEM file of the CAs to trust; "" for the system's
  // Send in clear, without STARTTLS: for a relay on this machine only (CheckSmtpRelay).
  bool plain = false;
};
// OK, or InvalidArgument saying what is wrong: a URL (parsed by Boost.URL) that is not smtp:// or
// smtps:// with a host and nothing after the port, user information in it, `plain` with smtps://
// or to a host that is not localhost or a loopback address, a password without a user, or a user
// without a password.
Status CheckSmtpRelay(const SmtpRelay& relay);

struct EmailMessage {
  SmtpRelay relay;
  std::string from;
  std::string to;
  std::string subject;
  std::string body;        // plain text
  std::string message_id;  // Message-ID header, derived from the alert id ("<>" added if absent)
};
// Addresses with CR, LF, a space, '<', '>' or another control character, and subjects or
// Message-IDs with CR, LF or a control character, are refused (an error, no connection): no
// header or command injection. A non-ASCII subject is sent as RFC 2047 encoded-words, a body that
// is not 7-bit text with short lines as base64; anything else as is, CRLF-terminated (libcurl
// dot-stuffs it). The attempt's error names the relay's last reply ("535 5.7.8 ...") and what
// failed: the certificate, STARTTLS not offered, AUTH refused, a recipient refused.

struct AttemptResult {
  bool delivered = false;  // a 2xx answer, or SMTP accepted the message (250 after DATA)
  bool gone = false;       // HTTP 410: the receiver asks never to be called again
  int status = 0;          // HTTP status or last SMTP reply code; 0 when none came
  std::string reply;       // email: the relay's last reply line ("250 2.0.0 queued as 42")
  std::optional<std::chrono::seconds> retry_after;
  std::string error;  // what went wrong, for the delivery log ("" when delivered)
};

struct DelivererOptions {
  // The whole attempt (resolve, connect, TLS, send, response; or the SMTP dialogue), from the
  // moment it starts running; time spent waiting for a max_in_flight slot does not count.
  std::chrono::milliseconds timeout{10000};
  size_t max_in_flight = 16;              // 0 counts as 1
  size_t max_response_bytes = 64 * 1024;  // response body; also caps an SMTP reply
  AllowList allow;
};

class Deliverer {
 public:
  explicit Deliverer(DelivererOptions options);
  // Cancels attempts in flight and those waiting for a slot (their callbacks run with the error
  // "shutting down") and joins the thread. A Send() made by a callback during this is dropped:
  // its callback never runs. Returns promptly, except that a DNS lookup in progress is waited
  // for (bounded by the system resolver's timeout) and an email in flight takes up to about a
  // second to notice (libcurl asks whether to go on once a second). Destroying a Deliverer from one
  // of its own callbacks is allowed but leaks its internals (the thread cannot join itself).
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  using Callback = std::function<void(AttemptResult)>;
  void Send(WebhookMessage message, Callback done);
  void Send(EmailMessage message, Callback done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rectrack::alerts
