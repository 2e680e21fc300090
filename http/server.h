// Server: rectrack's HTTP/1.1 server (Boost.Beast over Asio), a thin shell around Api.
//
// A fixed number of threads each run an io_context of their own; a connection stays on the one
// it was accepted onto. Each connection is a Session that reads a
// request under header and body size limits and a timeout, hands it to Api::Handle, and writes
// the response, keeping the connection alive when the client asks. Limits: at most
// `max_connections` at once (more are answered 503 and closed); requests per minute are limited
// by the Api (ApiOptions::rate_per_minute). GET
// /api/v1/stream switches the connection to server-sent events, woken by every commit. SIGINT
// and SIGTERM stop accepting, let requests in flight finish, close idle connections and streams
// and return.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/api.h"

namespace rectrack::http {

struct ServerOptions {
  std::string address = "127.0.0.1";  // loopback unless told otherwise
  uint16_t port = 8080;               // 0: any free port (printed when listening)
  int threads = 2;
  // Requests that may block a thread (writes: a web form waits for its commit, an import is
  // parsed before it is submitted) run on this many other threads, so the I/O threads go on
  // answering reads meanwhile.
  int blocking_threads = 4;
  int max_connections = 256;
  // One address may hold at most this many (others keep room when one client floods); beyond
  // either limit a connection is answered 503, or 200 for GET /healthz.
  int max_connections_per_address = 128;
  uint64_t max_body_bytes = 8 * 1024 * 1024;  // imports are the largest bodies
  uint32_t max_header_bytes = 16 * 1024;
  int timeout_seconds = 30;  // a request's body must arrive within this
  // A request's head (request line and headers) must arrive within this (or timeout_seconds, if
  // less) of the connection opening or its last answer: an idle connection holds a slot.
  int header_timeout_seconds = 10;
  int shutdown_grace_seconds = 10;
  int heartbeat_seconds = 15;    // comment lines on idle event streams keep proxies from closing
  int poll_milliseconds = 1000;  // how often to look for other processes' commits (one PRAGMA)
  // Addresses of reverse proxies (nginx in front, deploy/nginx-tls.conf) whose X-Forwarded-For
  // is believed: a request from one is the client's named there (the nearest address in it that
  // is not itself a trusted proxy), for the rate limits and the sign-in throttle, which count
  // per address. Empty: none; the header is ignored, as anyone may send it.
  std::vector<std::string> trusted_proxies;
};

// Parses "127.0.0.1, ::1" (IP addresses, comma-separated) into options.trusted_proxies.
Status ParseTrustedProxies(const std::string& list, ServerOptions* options);

// The address a request is from: `peer` (the socket's), or, when `peer` is one of
// `trusted_proxies`, the nearest address in `forwarded_for` (X-Forwarded-For, "client, proxy1,
// proxy2") that is not a trusted proxy; `peer` when the header has no valid address.
std::string ClientAddress(const std::string& peer, std::string_view forwarded_for,
                          const std::vector<std::string>& trusted_proxies);

// Parses "127.0.0.1:8080", "[::1]:8080" or ":8080" into options.address/port.
Status ParseListen(const std::string& listen, ServerOptions* options);

// Writes into `out` the status line and header fields the server sends before a body of `length`
// bytes: Server, Content-Type, `response.headers`, Content-Length (not on 1xx, 204 and 304,
// which never have a body: RFC 9110 8.6) and, unless `keep_alive`, Connection: close. A CR, LF
// or NUL in a name or value is written as a space, so no header can end early or add another.
void WriteResponseHead(const Response& response, bool keep_alive, size_t length, std::string* out);

// Stopping a server from another thread of the process (`serve`'s start, which reads the log
// on a thread of its own while the server answers): Request asks it to stop as SIGTERM does
// (it notices within ServerOptions::poll_milliseconds), and stopping() says whether it has
// begun to. Both may be called from any thread, before, while or after the server runs.
class Stop {
 public:
  void Request() { requested_.store(true); }
  bool requested() const { return requested_.load(); }
  bool stopping() const { return stopping_.load(); }
  void MarkStopping() { stopping_.store(true); }  // by Serve

 private:
  std::atomic<bool> requested_{false};
  std::atomic<bool> stopping_{false};
};

// Serves `api` until SIGINT/SIGTERM (or `stop`, when given, is requested). `on_listening` is
// called once with the bound "address:port" (useful with port 0). IOError when the address
// cannot be bound. While serving it polls `host` for other processes' commits (streams hear of
// them), and drains its writes before returning. REQUIRES: `api` is over `host`.
// `front`, when not null, answers the requests whose paths are not the API's (the web workspace).
// Sets SIGPIPE to be ignored for the whole process, for good: a large answer goes out by
// sendfile(2), which cannot be told not to raise it when a client has gone.
Status Serve(EngineHost& host, Api& api, const ServerOptions& options,
             const std::function<void(const std::string&)>& on_listening, Front* front = nullptr,
             Stop* stop = nullptr);

}  // namespace rectrack::http
