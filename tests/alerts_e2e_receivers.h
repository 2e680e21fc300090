// The receivers the alerting end-to-end tests deliver to, over real sockets on 127.0.0.1: a
// TCP server whose connections each run on a thread of their own, a webhook receiver whose
// answers a policy scripts, an SMTP relay, a plain GET, and the Standard Webhooks signature they
// check. Every read and write is bounded in time and ends at Stop(). Header-only, for
// tests/alerts_e2e_*.cpp (through alerts_e2e_fixture.h).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "tests/http_client.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using rectrack::Lower;
using SteadyClock = std::chrono::steady_clock;

// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>", the key the base64 after "whsec_" decoded,
// with OpenSSL called directly.
inline std::string ExpectedSignature(const std::string& secret, const std::string& id,
                                     const std::string& timestamp, const std::string& body) {
  const std::string content = id + "." + timestamp + "." + body;
  const std::string b64 = secret.substr(6);
  std::vector<unsigned char> key(b64.size());
  int key_len = EVP_DecodeBlock(key.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  key_len -= static_cast<int>(std::count(b64.end() - 2, b64.end(), '='));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), key_len, reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &mac_len);
  std::vector<unsigned char> out(4 * ((mac_len + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), mac, static_cast<int>(mac_len));
  return "v1," + std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
}

// A TCP server on 127.0.0.1:<any port>; each connection is handled on its own thread (a receiver
// that never answers must not hold up the others). Reads and writes are bounded in time and end
// at Stop().
class LocalServer {
 public:
  using Handler = std::function<void(LocalServer&, int fd)>;

  explicit LocalServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 64) == 0) {
      socklen_t len = sizeof addr;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~LocalServer() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    std::vector<std::thread> handlers;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      handlers.swap(handlers_);
    }
    for (auto& t : handlers) t.join();
    ::close(fd_);
  }

  int port() const { return port_; }
  int connections() const { return connections_; }

  // Reads into `buf` until it holds `delim`; false on EOF, error, stop or after `timeout`.
  bool ReadUntil(int fd, std::string& buf, std::string_view delim,
                 std::chrono::milliseconds timeout = 5s) {
    const auto end = SteadyClock::now() + timeout;
    while (buf.find(delim) == std::string::npos) {
      if (!Readable(fd, end) || !Receive(fd, buf)) return false;
    }
    return true;
  }
  bool ReadAtLeast(int fd, std::string& buf, size_t size) {
    const auto end = SteadyClock::now() + 5s;
    while (buf.size() < size) {
      if (!Readable(fd, end) || !Receive(fd, buf)) return false;
    }
    return true;
  }
  // Says nothing until the peer closes the connection (or Stop()).
  void WaitForClose(int fd) {
    std::string ignored;
    while (!stop_) {
      if (Readable(fd, SteadyClock::now() + 100ms) && !Receive(fd, ignored)) return;
    }
  }
  bool Write(int fd, std::string_view data) {
    const auto end = SteadyClock::now() + 5s;
    while (!data.empty()) {
      pollfd p{fd, POLLOUT, 0};
      if (stop_ || SteadyClock::now() > end) return false;
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  bool Readable(int fd, SteadyClock::time_point end) {
    while (!stop_ && SteadyClock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }
  static bool Receive(int fd, std::string& buf) {
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
  }
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      std::lock_guard<std::mutex> lock(mutex_);
      handlers_.emplace_back([this, c] {
        handler_(*this, c);
        ::close(c);
      });
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<std::thread> handlers_;
  std::thread thread_;
};

// One webhook request as received.
struct Hook {
  std::string method, target, id, timestamp, signature, content_type, body;
  SteadyClock::time_point arrived;
  int answered = 0;  // the status answered; 0 when the receiver kept silent
};

struct Answer {
  int status = 200;
  std::string headers;  // "Name: value\r\n"...
  bool silent = false;  // take the request and never answer
};

// A webhook receiver whose answers are scripted by a policy, given each request and how many
// requests with its webhook-id have come so far (1 for the first).
class WebhookReceiver {
 public:
  using Policy = std::function<Answer(const Hook&, int nth)>;

  explicit WebhookReceiver(Policy policy = nullptr)
      : policy_(std::move(policy)), server_([this](LocalServer& s, int fd) { Handle(s, fd); }) {}
  ~WebhookReceiver() { server_.Stop(); }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/hook"; }
  void SetPolicy(Policy policy) {
    std::lock_guard<std::mutex> lock(mutex_);
    policy_ = std::move(policy);
  }
  std::vector<Hook> hooks() {
    std::lock_guard<std::mutex> lock(mutex_);
    return hooks_;
  }
  int Count(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return CountLocked(id);
  }
  // Waits until `done(hooks)` holds, at most `timeout`.
  bool WaitFor(const std::function<bool(const std::vector<Hook>&)>& done,
               std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return done(hooks_); });
  }

 private:
  int CountLocked(const std::string& id) const {
    int n = 0;
    for (const auto& h : hooks_) n += h.id == id;
    return n;
  }

  void Handle(LocalServer& s, int fd) {
    std::string buf;
    if (!s.ReadUntil(fd, buf, "\r\n\r\n")) return;
    const size_t head_end = buf.find("\r\n\r\n");
    const std::string head = buf.substr(0, head_end);
    std::string body = buf.substr(head_end + 4);
    Hook h;
    h.arrived = SteadyClock::now();
    size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    h.method = first.substr(0, first.find(' '));
    h.target = first.substr(h.method.size() + 1, first.rfind(' ') - h.method.size() - 1);
    std::map<std::string, std::string> headers;
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      headers[Lower(line.substr(0, colon))] = value;
    }
    const size_t length = std::strtoul(headers["content-length"].c_str(), nullptr, 10);
    if (!s.ReadAtLeast(fd, body, length)) return;
    h.body = body.substr(0, length);
    h.id = headers["webhook-id"];
    h.timestamp = headers["webhook-timestamp"];
    h.signature = headers["webhook-signature"];
    h.content_type = headers["content-type"];
    Answer answer;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (policy_) answer = policy_(h, CountLocked(h.id) + 1);
      h.answered = answer.silent ? 0 : answer.status;
      hooks_.push_back(h);
    }
    cv_.notify_all();
    if (answer.silent) return s.WaitForClose(fd);
    s.Write(fd, "HTTP/1.1 " + std::to_string(answer.status) +
                    " Scripted\r\nContent-Length: 0\r\nConnection: close\r\n" + answer.headers +
                    "\r\n");
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  Policy policy_;
  std::vector<Hook> hooks_;
  LocalServer server_;  // last: its threads use the members above
};

// A scripted SMTP relay; records each session's DATA section (up to "\r\n.\r\n").
class SmtpRelay {
 public:
  SmtpRelay() : server_([this](LocalServer& s, int fd) { Handle(s, fd); }) {}
  ~SmtpRelay() { server_.Stop(); }
  std::string Address() const { return "127.0.0.1:" + std::to_string(server_.port()); }
  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }
  bool WaitForMessages(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
  }

 private:
  void Handle(LocalServer& s, int fd) {
    if (!s.Write(fd, "220 relay.test ESMTP\r\n")) return;
    std::string buf;
    for (;;) {
      if (!s.ReadUntil(fd, buf, "\r\n")) return;
      const size_t end = buf.find("\r\n");
      const std::string line = buf.substr(0, end);
      buf.erase(0, end + 2);
      if (line.rfind("EHLO ", 0) == 0 || line.rfind("HELO ", 0) == 0) {
        s.Write(fd, "250-relay.test\r\n250 8BITMIME\r\n");
      } else if (line.rfind("MAIL FROM:", 0) == 0 || line.rfind("RCPT TO:", 0) == 0) {
        s.Write(fd, "250 ok\r\n");
      } else if (line == "DATA") {
        s.Write(fd, "354 go ahead\r\n");
        if (!s.ReadUntil(fd, buf, "\r\n.\r\n")) return;
        const size_t data_end = buf.find("\r\n.\r\n") + 5;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          messages_.push_back(buf.substr(0, data_end));
        }
        cv_.notify_all();
        buf.erase(0, data_end);
        s.Write(fd, "250 queued\r\n");
      } else if (line == "QUIT") {
        s.Write(fd, "221 bye\r\n");
        return;
      } else {
        s.Write(fd, "500 unknown command\r\n");
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
  LocalServer server_;  // last: its threads use the members above
};

using rectrack::test_http::Reply;
using rectrack::test_http::RequestOnce;

}  // namespace
