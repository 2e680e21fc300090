// Alerting end to end: `rectrack serve` as a child process raises alerts from a small import and
// delivers them to receivers in this test (webhooks, an SMTP relay) over real sockets on
// 127.0.0.1; what it recorded is read back with `rectrack alerts` and GET /api/v1/alerts.
// Every wait is bounded, every receiver stops by itself, every server is killed in TearDown.
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

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using rectrack::Lower;
using SteadyClock = std::chrono::steady_clock;

// A Standard Webhooks secret: the key is the base64 after whsec_, decoded.
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Two CPS recommendations and one of the SFO, each updated (so no response_due alert). By the
// bundled rules, on 2025-04-10 r1 is overdue since 1 April, r2 since 1 March (repeated 31
// March), s1 since 1 April.
constexpr const char* kData =
    R"(bodies: [{id: CPS, name: Crown Prosecution Service}, {id: SFO, name: Serious Fraud Office}]
inspections: [{id: i1, title: Casework, published: 2025-01-06}]
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "By 31 March 2025, the CPS to do one thing."}
  - {id: r2, inspection: i1, owners: [CPS], text: "By 28 February 2025, the CPS to do a second thing."}
  - {id: s1, inspection: i1, owners: [SFO], text: "By 31 March 2025, the SFO to do another."}
events:
  - {rec: r1, do: update, effective: 2025-01-20, by: CPS, note: started}
  - {rec: r2, do: update, effective: 2025-01-20, by: CPS, note: started}
  - {rec: s1, do: update, effective: 2025-01-20, by: SFO, note: started}
)";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string Str(const json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

bool Contains(const json::value& list, const std::string& item) {
  if (!list.is_array()) return false;
  for (const auto& v : list.as_array()) {
    if (v.is_string() && v.as_string() == item) return true;
  }
  return false;
}

// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>", the key the base64 after "whsec_" decoded,
// with OpenSSL called directly.
std::string ExpectedSignature(const std::string& secret, const std::string& id,
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

struct Reply {
  int status = 0;
  std::string head, body;
};

// One GET on its own connection (Content-Length framed), with a 5 s receive timeout.
Reply HttpGet(int port, const std::string& target, const std::string& token) {
  Reply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  const std::string req = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                          "\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string buf;
  char chunk[4096];
  size_t length = std::string::npos;
  for (;;) {
    const size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos && length == std::string::npos) {
      r.head = buf.substr(0, end);
      const size_t at = Lower(r.head).find("content-length:");
      length = at == std::string::npos ? 0 : std::strtoul(r.head.c_str() + at + 15, nullptr, 10);
    }
    if (length != std::string::npos && buf.size() >= r.head.size() + 4 + length) break;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  if (r.head.size() > 12) r.status = std::atoi(r.head.c_str() + 9);
  if (length != std::string::npos) r.body = buf.substr(r.head.size() + 4, length);
  return r;
}

class AlertsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("alerts_e2e_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
    rules_ = (dir_ / "rules").string();
    db_ = (dir_ / "rectrack.db").string();
    const fs::path source = fs::path(RECTRACK_SOURCE_DIR) / "rules";
    fs::copy_file(source / "alerts.yaml", dir_ / "rules" / "alerts.yaml");
    fs::copy(source / "calendars", dir_ / "rules" / "calendars", fs::copy_options::recursive);
    WriteFile(dir_ / "data.yaml", kData);
  }

  void TearDown() override {
    Stop(SIGKILL);
    fs::remove_all(dir_);
  }

  // Imports kData with the CLI's clock at `clock`, and mints an inspectorate token.
  void Import(const std::string& clock = "2025-04-10") {
    const std::string out = Cli("--clock " + clock + " import " + (dir_ / "data.yaml").string());
    ASSERT_NE(out.find("imported 1 file"), std::string::npos) << out;
    inspectorate_ = FirstLine(Cli("token create --role inspectorate"));
    ASSERT_EQ(inspectorate_.rfind("rt_", 0), 0u) << inspectorate_;
  }

  void WriteSubscriptions(const std::string& entries) {
    WriteFile(dir_ / "rules" / "subscriptions.yaml", "subscriptions:\n" + entries);
  }
  static std::string WebhookSubscription(const std::string& id, const std::string& url) {
    return "  - {id: " + id + ", body: CPS, webhook: \"" + url + "\", secret: \"" + kSecret +
           "\"}\n";
  }

  // `rectrack --db DB --rules RULES ARGS`, stdout and stderr.
  std::string Cli(const std::string& args) {
    std::string out;
    const std::string command =
        std::string(RECTRACK_BINARY) + " --db " + db_ + " --rules " + rules_ + " " + args + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    ::pclose(pipe);
    return out;
  }

  // The outbox as `rectrack alerts --format json` prints it: alert id -> payload.
  std::map<std::string, json::object> Outbox() {
    std::map<std::string, json::object> out;
    const std::string text = Cli("alerts --format json");
    boost::system::error_code ec;
    json::value doc = json::parse(text, ec);
    EXPECT_FALSE(ec) << text;
    if (ec || !doc.is_array()) return out;
    for (const auto& payload : doc.as_array()) {
      if (!payload.is_object() || !payload.as_object().contains("data")) continue;
      out[Str(payload.at("data").as_object(), "id")] = payload.as_object();
    }
    return out;
  }

  // The state of alert `id` in the first line of `rectrack alerts ID` ("" if unreadable).
  std::string StateOf(const std::string& id) {
    const std::string line = FirstLine(Cli("alerts " + id));
    const size_t comma = line.rfind(", ");
    return comma == std::string::npos ? "" : line.substr(comma + 2);
  }
  // Waits (at most `timeout`) until alert `id` is in `state`; returns `rectrack alerts ID`.
  std::string WaitForState(const std::string& id, const std::string& state,
                           std::chrono::milliseconds timeout = 5s) {
    const auto end = SteadyClock::now() + timeout;
    while (StateOf(id) != state && SteadyClock::now() < end) std::this_thread::sleep_for(100ms);
    return Cli("alerts " + id);
  }

  // Starts `rectrack serve --listen 127.0.0.1:0 FLAGS` with RECTRACK_WEBHOOK_ALLOW=127.0.0.1,
  // RECTRACK_WEBHOOK_TIMEOUT_SECONDS=2 and `env` on top ("" unsets); RECTRACK_* settings of the
  // test's own environment are dropped. Waits for the "serving ... on http://ADDR" line.
  void Start(const std::vector<std::string>& flags, std::map<std::string, std::string> env = {}) {
    Spawn(flags, std::move(env));
    const auto end = SteadyClock::now() + 20s;
    std::string log;
    while (SteadyClock::now() < end) {
      log = ReadFile(log_);
      const size_t at = log.find("rectrack serving ");
      if (at != std::string::npos && log.find('\n', at) != std::string::npos) {
        const size_t url = log.find(" on http://", at);
        ASSERT_NE(url, std::string::npos) << log;
        const std::string where = log.substr(url + 11, log.find(' ', url + 11) - url - 11);
        port_ = std::atoi(where.c_str() + where.rfind(':') + 1);
        ASSERT_GT(port_, 0) << log;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        FAIL() << "rectrack serve exited: " << log;
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "rectrack serve did not start within 20 s: " << log;
  }

  // Runs serve expecting it to refuse to start: its exit status (-1 if it served or hung) and
  // what it printed.
  std::pair<int, std::string> StartExpectingFailure(const std::vector<std::string>& flags,
                                                    std::map<std::string, std::string> env) {
    Spawn(flags, std::move(env));
    const auto end = SteadyClock::now() + 15s;
    while (SteadyClock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(log_)};
      }
      if (ReadFile(log_).find("rectrack serving") != std::string::npos) break;
      std::this_thread::sleep_for(20ms);
    }
    Stop(SIGKILL);
    return {-1, ReadFile(log_)};
  }

  // Sends `signal` (SIGKILL: at once; otherwise SIGKILL after 10 s) and reaps the server.
  void Stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    const auto end = SteadyClock::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (SteadyClock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = 0;
  }

  std::string ServeLog() { return log_.empty() ? "" : ReadFile(log_); }

  fs::path dir_;
  std::string rules_, db_, inspectorate_;
  pid_t pid_ = 0;
  int port_ = 0;

 private:
  void Spawn(const std::vector<std::string>& flags, std::map<std::string, std::string> env) {
    env.emplace("RECTRACK_WEBHOOK_ALLOW", "127.0.0.1");
    env.emplace("RECTRACK_WEBHOOK_TIMEOUT_SECONDS", "2");
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      if (entry.rfind("RECTRACK_", 0) == 0 && entry.rfind("RECTRACK_DATA_DIR=", 0) != 0) continue;
      env_strings.push_back(entry);
    }
    for (const auto& [name, value] : env) {
      if (!value.empty()) env_strings.push_back(name + "=" + value);
    }
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {RECTRACK_BINARY, "--db",  db_,        "--rules",
                                     rules_,          "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    log_ = (dir_ / ("serve" + std::to_string(++starts_) + ".log")).string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int spawned =
        posix_spawn(&pid_, RECTRACK_BINARY, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) pid_ = 0;
    ASSERT_EQ(spawned, 0);
  }

  std::string log_;
  int starts_ = 0;
};

// The alerts of the outbox `outbox` whose audience includes `body`.
std::set<std::string> AlertsFor(const std::map<std::string, json::object>& outbox,
                                const std::string& body) {
  std::set<std::string> ids;
  for (const auto& [id, payload] : outbox) {
    if (Contains(payload.at("data").as_object().at("audience"), body)) ids.insert(id);
  }
  return ids;
}

int CountIn(const std::vector<Hook>& hooks, const std::string& id) {
  return static_cast<int>(
      std::count_if(hooks.begin(), hooks.end(), [&](const Hook& h) { return h.id == id; }));
}

bool HasAll(const std::vector<Hook>& hooks, const std::set<std::string>& ids) {
  std::set<std::string> got;
  for (const auto& h : hooks) got.insert(h.id);
  return std::includes(got.begin(), got.end(), ids.begin(), ids.end());
}

TEST_F(AlertsE2eTest, EveryAlertArrivesOnceSignedAndIsRecordedDelivered) {
  ASSERT_NO_FATAL_FAILURE(Import());
  WebhookReceiver receiver;
  WriteSubscriptions(WebhookSubscription("cps-hook", receiver.Url()));
  ASSERT_NO_FATAL_FAILURE(Start({"--clock", "2025-04-10T09:00:00Z"}));
  // The first arrival means the start-up pass has committed: the outbox then says what to expect.
  ASSERT_TRUE(receiver.WaitFor([](const auto& h) { return !h.empty(); }, 15s)) << ServeLog();
  const auto outbox = Outbox();
  const std::set<std::string> expected = AlertsFor(outbox, "CPS");
  ASSERT_FALSE(expected.empty());
  // What the rules say: r1's first overdue alert, raised late (it fell due on 1 April).
  bool r1_overdue = false;
  for (const auto& id : expected) {
    const json::object& data = outbox.at(id).at("data").as_object();
    if (Str(data, "recommendation") == "r1" && Str(data, "kind") == "overdue") {
      r1_overdue = true;
      EXPECT_EQ(Str(data, "due"), "2025-04-01");
      EXPECT_EQ(data.at("late"), json::value(true));
      EXPECT_EQ(data.at("occurrence"), json::value(0));
    }
  }
  EXPECT_TRUE(r1_overdue) << json::serialize(json::value_from(outbox));
  EXPECT_EQ(AlertsFor(outbox, "SFO").size(), 1u);  // s1's, with no subscription

  ASSERT_TRUE(receiver.WaitFor([&](const auto& h) { return HasAll(h, expected); }, 10s))
      << ServeLog();
  std::this_thread::sleep_for(1500ms);  // time for a duplicate to show up
  std::map<std::string, int> count;
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  for (const Hook& h : receiver.hooks()) {
    ++count[h.id];
    EXPECT_EQ(h.method, "POST");
    EXPECT_EQ(h.target, "/hook");
    EXPECT_NE(h.content_type.find("application/json"), std::string::npos) << h.content_type;
    EXPECT_EQ(h.id.rfind("alrt_", 0), 0u) << h.id;
    EXPECT_EQ(h.id.size(), 5u + 24u) << h.id;
    // Standard Webhooks: space-separated "v1,..." signatures; one must verify.
    const std::string want = ExpectedSignature(kSecret, h.id, h.timestamp, h.body);
    EXPECT_NE((" " + h.signature + " ").find(" " + want + " "), std::string::npos)
        << h.signature << " vs " << want;
    // webhook-timestamp is real time, whatever --clock says.
    EXPECT_LT(std::llabs(std::atoll(h.timestamp.c_str()) - now), 300) << h.timestamp;
    boost::system::error_code ec;
    json::value body = json::parse(h.body, ec);
    ASSERT_FALSE(ec) << h.body;
    ASSERT_TRUE(body.is_object() && body.as_object().contains("data")) << h.body;
    const json::object& data = body.at("data").as_object();
    EXPECT_EQ(Str(data, "id"), h.id);
    EXPECT_NE(Str(data, "link").find("/api/v1/recommendations/" + Str(data, "recommendation")),
              std::string::npos)
        << h.body;
    EXPECT_TRUE(Str(data, "page").ends_with("/recommendations/" + Str(data, "recommendation")))
        << h.body;
    EXPECT_EQ(Str(body.as_object(), "type"), "alert." + Str(data, "kind"));
    ASSERT_TRUE(outbox.count(h.id)) << h.id;
    EXPECT_EQ(body, json::value(outbox.at(h.id))) << "the body is the outbox payload";
  }
  for (const auto& id : expected) EXPECT_EQ(count[id], 1) << id;
  for (const auto& [id, payload] : outbox) {
    if (!expected.count(id)) {
      EXPECT_EQ(count[id], 0) << "not subscribed, yet sent: " << id;
    }
  }

  for (const auto& id : expected) {
    const std::string shown = WaitForState(id, "delivered");
    EXPECT_EQ(StateOf(id), "delivered") << shown;
    EXPECT_NE(shown.find("cps-hook (webhook " + receiver.Url() + "): delivered, 1 attempt(s)"),
              std::string::npos)
        << shown;
    EXPECT_NE(shown.find("    #1 "), std::string::npos) << shown;
    EXPECT_NE(shown.find("status 200"), std::string::npos) << shown;
  }
  // And over the API.
  Reply list = HttpGet(port_, "/api/v1/alerts", inspectorate_);
  ASSERT_EQ(list.status, 200) << list.head << list.body;
  json::value doc = json::parse(list.body);
  std::set<std::string> listed;
  for (const auto& item : doc.at("items").as_array()) {
    const std::string id = Str(item.as_object(), "id");
    listed.insert(id);
    EXPECT_EQ(Str(item.as_object(), "state"), expected.count(id) ? "delivered" : "unsubscribed")
        << id;
  }
  std::set<std::string> all;
  for (const auto& [id, payload] : outbox) all.insert(id);
  EXPECT_EQ(listed, all);
  const std::string one = *expected.begin();
  Reply detail = HttpGet(port_, "/api/v1/alerts/" + one, inspectorate_);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const json::value d = json::parse(detail.body);
  const json::array& deliveries = d.at("deliveries").as_array();
  ASSERT_EQ(deliveries.size(), 1u) << detail.body;
  EXPECT_EQ(Str(deliveries[0].as_object(), "state"), "delivered");
  ASSERT_EQ(deliveries[0].at("log").as_array().size(), 1u) << detail.body;
  EXPECT_EQ(deliveries[0].at("log").as_array()[0].at("status"), json::value(200));
}

TEST_F(AlertsE2eTest, ADeliveryInFlightWhenKilledIsResentWithTheSameIdAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(Import());
  // The first request (whichever alert) is taken and never answered; the others are answered.
  WebhookReceiver receiver([first = true](const Hook&, int) mutable {
    Answer a;
    a.silent = first;
    first = false;
    return a;
  });
  WriteSubscriptions(WebhookSubscription("cps-hook", receiver.Url()));
  // A 4 s attempt timeout leaves time to see the others delivered before killing; the claim,
  // and so the resend after a restart, comes 4 + 5 s later.
  const std::vector<std::string> flags = {"--clock", "2025-04-10T09:00:00Z"};
  const std::map<std::string, std::string> env = {{"RECTRACK_WEBHOOK_TIMEOUT_SECONDS", "4"}};
  ASSERT_NO_FATAL_FAILURE(Start(flags, env));
  ASSERT_TRUE(receiver.WaitFor([](const auto& h) { return !h.empty(); }, 15s)) << ServeLog();
  const Hook hung = receiver.hooks().front();
  ASSERT_EQ(hung.answered, 0);
  const auto before = Outbox();
  const std::set<std::string> expected = AlertsFor(before, "CPS");
  ASSERT_GE(expected.size(), 2u) << "the test needs an alert delivered before the kill";
  ASSERT_TRUE(expected.count(hung.id));
  std::set<std::string> others = expected;
  others.erase(hung.id);
  ASSERT_TRUE(receiver.WaitFor([&](const auto& h) { return HasAll(h, others); }, 3s));
  for (const auto& id : others) {
    const std::string shown = WaitForState(id, "delivered", 2s);
    ASSERT_EQ(StateOf(id), "delivered") << shown;
  }
  ASSERT_EQ(receiver.Count(hung.id), 1) << "the attempt timed out before the kill: too slow";
  ASSERT_LT(SteadyClock::now() - hung.arrived, 3800ms) << "too slow to kill mid-attempt";
  Stop(SIGKILL);
  const std::string after_kill = Cli("alerts " + hung.id);
  EXPECT_NE(after_kill.find("#1 "), std::string::npos) << after_kill;
  EXPECT_NE(after_kill.find("(unfinished)"), std::string::npos) << after_kill;
  EXPECT_EQ(StateOf(hung.id), "pending") << after_kill;

  receiver.SetPolicy(nullptr);  // 200 from now on
  const auto restarted = SteadyClock::now();
  ASSERT_NO_FATAL_FAILURE(Start(flags, env));
  ASSERT_TRUE(receiver.WaitFor([&](const auto& h) { return CountIn(h, hung.id) == 2; }, 20s))
      << ServeLog();
  const auto resent_after = SteadyClock::now() - restarted;
  EXPECT_LT(resent_after, 16s);
  std::this_thread::sleep_for(1500ms);  // time for a duplicate to show up
  EXPECT_EQ(receiver.Count(hung.id), 2);
  for (const auto& id : others) {
    EXPECT_EQ(receiver.Count(id), 1) << "repeated after restart: " << id;
  }
  for (const Hook& h : receiver.hooks()) EXPECT_TRUE(expected.count(h.id)) << h.id;
  // The resend is the same alert: same id, same body; no new alert was minted.
  for (const Hook& h : receiver.hooks()) {
    if (h.id == hung.id) {
      EXPECT_EQ(h.body, hung.body);
    }
  }
  const auto after = Outbox();
  std::set<std::string> ids_before, ids_after;
  for (const auto& [id, p] : before) ids_before.insert(id);
  for (const auto& [id, p] : after) ids_after.insert(id);
  EXPECT_EQ(ids_after, ids_before);
  const std::string shown = WaitForState(hung.id, "delivered");
  EXPECT_EQ(StateOf(hung.id), "delivered") << shown;
  EXPECT_NE(shown.find("2 attempt(s)"), std::string::npos) << shown;
  EXPECT_NE(shown.find("#2 "), std::string::npos) << shown;
  EXPECT_NE(shown.find("status 200"), std::string::npos) << shown;
}

TEST_F(AlertsE2eTest, FailedAttemptsAreRetriedHonouringRetryAfterThenTheSchedule) {
  ASSERT_NO_FATAL_FAILURE(Import());
  // Per alert: 503 with Retry-After: 3 (the schedule says "at once"), then 500 (the schedule:
  // about 5 s later), then 200.
  WebhookReceiver receiver([](const Hook&, int nth) {
    Answer a;
    if (nth == 1) a = {503, "Retry-After: 3\r\n", false};
    if (nth == 2) a.status = 500;
    return a;
  });
  WriteSubscriptions(WebhookSubscription("cps-hook", receiver.Url()));
  ASSERT_NO_FATAL_FAILURE(Start({"--clock", "2025-04-10T09:00:00Z"}));
  ASSERT_TRUE(receiver.WaitFor([](const auto& h) { return !h.empty(); }, 15s)) << ServeLog();
  const std::string id = receiver.hooks().front().id;
  ASSERT_TRUE(receiver.WaitFor([&](const auto& h) { return CountIn(h, id) >= 3; }, 15s))
      << ServeLog();
  std::vector<Hook> mine;
  for (const Hook& h : receiver.hooks()) {
    if (h.id == id) mine.push_back(h);
  }
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_EQ(mine[0].answered, 503);
  EXPECT_EQ(mine[2].answered, 200);
  EXPECT_EQ(mine[1].body, mine[0].body);
  EXPECT_EQ(mine[2].body, mine[0].body);
  // next_attempt is kept to the second, so a delay may come up to 1 s short.
  const auto first_gap = mine[1].arrived - mine[0].arrived;
  const auto second_gap = mine[2].arrived - mine[1].arrived;
  EXPECT_GE(first_gap, 1900ms) << "Retry-After: 3 not honoured";
  EXPECT_LT(first_gap, 5s);
  EXPECT_GE(second_gap, 2900ms) << "5 s (+-20%) after the second failure";
  EXPECT_LT(second_gap, 8s);

  const std::string shown = WaitForState(id, "delivered");
  EXPECT_EQ(StateOf(id), "delivered") << shown;
  EXPECT_NE(shown.find("delivered, 3 attempt(s)"), std::string::npos) << shown;
  const size_t a1 = shown.find("#1 "), a2 = shown.find("#2 "), a3 = shown.find("#3 ");
  ASSERT_TRUE(a1 != std::string::npos && a2 != std::string::npos && a3 != std::string::npos)
      << shown;
  EXPECT_NE(shown.substr(a1, a2 - a1).find("status 503"), std::string::npos) << shown;
  EXPECT_NE(shown.substr(a2, a3 - a2).find("status 500"), std::string::npos) << shown;
  EXPECT_NE(shown.substr(a3).find("status 200"), std::string::npos) << shown;

  Reply detail = HttpGet(port_, "/api/v1/alerts/" + id, inspectorate_);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const json::value d = json::parse(detail.body);
  const json::array& log = d.at("deliveries").as_array().at(0).at("log").as_array();
  ASSERT_EQ(log.size(), 3u) << detail.body;
  EXPECT_EQ(log[0].at("status"), json::value(503));
  EXPECT_EQ(log[1].at("status"), json::value(500));
  EXPECT_EQ(log[2].at("status"), json::value(200));
  EXPECT_EQ(Str(d.as_object(), "state"), "delivered");
}

TEST_F(AlertsE2eTest, A410DisablesTheSubscriptionAndLaterAlertsAreNotSent) {
  ASSERT_NO_FATAL_FAILURE(Import());
  WebhookReceiver receiver([](const Hook&, int) {
    Answer a;
    a.status = 410;
    return a;
  });
  WriteSubscriptions(WebhookSubscription("cps-hook", receiver.Url()));
  // A day a second: r2's next overdue repetition (30 April) comes about 5 s after the start,
  // r1's (1 May) about 6 s after.
  ASSERT_NO_FATAL_FAILURE(Start({"--clock", "2025-04-25T09:00:00Z", "--clock-rate", "86400"}));
  ASSERT_TRUE(receiver.WaitFor([](const auto& h) { return !h.empty(); }, 15s)) << ServeLog();
  const std::set<std::string> initial = AlertsFor(Outbox(), "CPS");
  ASSERT_FALSE(initial.empty());
  const std::string first = receiver.hooks().front().id;
  ASSERT_TRUE(initial.count(first));
  const std::string shown = WaitForState(first, "failed");
  EXPECT_EQ(StateOf(first), "failed") << shown;
  EXPECT_NE(shown.find("status 410"), std::string::npos) << shown;
  EXPECT_NE(shown.find("HTTP 410 Gone: subscription disabled"), std::string::npos) << shown;

  Reply first_detail = HttpGet(port_, "/api/v1/alerts/" + first, inspectorate_);
  ASSERT_EQ(first_detail.status, 200) << first_detail.body;
  const json::value fd = json::parse(first_detail.body);
  ASSERT_EQ(fd.at("deliveries").as_array().size(), 1u) << first_detail.body;
  const json::object& gone = fd.at("deliveries").as_array()[0].as_object();
  EXPECT_EQ(Str(gone, "state"), "failed");
  EXPECT_EQ(gone.at("last_status"), json::value(410)) << first_detail.body;
  EXPECT_NE(Str(gone, "last_error").find("410"), std::string::npos) << first_detail.body;

  // A later alert for CPS is raised, with no delivery: the disabled subscription is skipped
  // (engine.h), so it stays "unsubscribed" and nothing is sent.
  std::string later;
  const auto end = SteadyClock::now() + 20s;
  while (later.empty() && SteadyClock::now() < end) {
    for (const auto& id : AlertsFor(Outbox(), "CPS")) {
      if (!initial.count(id)) later = id;
    }
    if (later.empty()) std::this_thread::sleep_for(200ms);
  }
  ASSERT_FALSE(later.empty()) << "no later alert within 20 s: " << ServeLog();
  std::this_thread::sleep_for(500ms);  // time for the dispatcher, were it to send it
  const std::string later_shown = Cli("alerts " + later);
  EXPECT_EQ(StateOf(later), "unsubscribed") << later_shown;
  EXPECT_EQ(later_shown.find("cps-hook"), std::string::npos) << later_shown;
  Reply detail = HttpGet(port_, "/api/v1/alerts/" + later, inspectorate_);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const json::value d = json::parse(detail.body);
  EXPECT_TRUE(d.at("deliveries").as_array().empty()) << detail.body;
  EXPECT_EQ(Str(d.as_object(), "state"), "unsubscribed") << detail.body;

  std::this_thread::sleep_for(500ms);
  for (const Hook& h : receiver.hooks()) {
    EXPECT_TRUE(initial.count(h.id)) << "sent to a disabled subscription: " << h.id;
    EXPECT_EQ(receiver.Count(h.id), 1) << "retried after 410 Gone: " << h.id;
  }
}

TEST_F(AlertsE2eTest, RefusesToStartWithAWebhookHostNotInWebhookAllow) {
  ASSERT_NO_FATAL_FAILURE(Import());
  WriteSubscriptions(WebhookSubscription("cps-hook", "http://127.0.0.1:9/hook"));
  for (const char* allow : {"", "hooks.example.org"}) {
    auto [status, log] = StartExpectingFailure({"--clock", "2025-04-10T09:00:00Z"},
                                               {{"RECTRACK_WEBHOOK_ALLOW", allow}});
    EXPECT_EQ(status, 1) << log;
    EXPECT_NE(log.find("webhook_allow"), std::string::npos) << log;
    EXPECT_NE(log.find("127.0.0.1"), std::string::npos) << log;
    EXPECT_NE(log.find("subscriptions.yaml"), std::string::npos) << log;
  }
  EXPECT_NE(Cli("alerts").find("0 alerts"), std::string::npos) << "raised before refusing";
}

TEST_F(AlertsE2eTest, RefusesToStartWithAnEmailSubscriptionButNoSmtpRelay) {
  ASSERT_NO_FATAL_FAILURE(Import());
  WriteSubscriptions("  - {id: cps-mail, body: CPS, email: cps@example.org}\n");
  auto [status, log] = StartExpectingFailure({"--clock", "2025-04-10T09:00:00Z"}, {});
  EXPECT_EQ(status, 1) << log;
  EXPECT_NE(log.find("cps-mail"), std::string::npos) << log;
  EXPECT_NE(log.find("smtp_url"), std::string::npos) << log;
}

// A webhook's secret is needed only to deliver: the read-only commands run without the
// variable set, and serve, which delivers, refuses to start naming it.
TEST_F(AlertsE2eTest, OnlyServeNeedsAWebhooksSecretVariable) {
  ASSERT_NO_FATAL_FAILURE(Import());
  ::unsetenv("RECTRACK_TEST_UNSET_SECRET");
  WriteSubscriptions(
      "  - {id: cps-hook, body: CPS, webhook: \"http://127.0.0.1:9/h\", "
      "secret_env: RECTRACK_TEST_UNSET_SECRET}\n");
  const std::string rules = Cli("rules");
  EXPECT_EQ(rules.find("not set"), std::string::npos) << rules;
  EXPECT_NE(rules.find("due_soon"), std::string::npos) << rules;
  EXPECT_NE(Cli("alerts").find("0 alerts"), std::string::npos);
  EXPECT_NE(Cli("list --as-of 2025-04-10").find("r1"), std::string::npos);
  auto [status, log] = StartExpectingFailure({"--clock", "2025-04-10T09:00:00Z"}, {});
  EXPECT_EQ(status, 1) << log;
  EXPECT_NE(log.find("RECTRACK_TEST_UNSET_SECRET is not set"), std::string::npos) << log;
}

TEST_F(AlertsE2eTest, TheLiveStreamCarriesAnAlertRaisedWhileConnected) {
  ASSERT_NO_FATAL_FAILURE(Import("2025-03-31"));
  // BST began on 30 March 2025: 1 April starts at 2025-03-31T23:00:00Z, when r1 falls overdue.
  ASSERT_NO_FATAL_FAILURE(Start({"--clock", "2025-03-31T22:59:57Z"}));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req =
      "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + inspectorate_ +
      "\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  json::object found;
  const auto end = SteadyClock::now() + 12s;
  size_t scanned = 0;
  while (found.empty() && SteadyClock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    // Complete alert frames: "event: alert\ndata: {...}\n\n".
    for (size_t at; (at = got.find("event: alert\ndata: ", scanned)) != std::string::npos;) {
      const size_t start = at + 19, stop = got.find("\n\n", start);
      if (stop == std::string::npos) break;
      scanned = stop;
      boost::system::error_code ec;
      json::value payload = json::parse(got.substr(start, stop - start), ec);
      if (ec || !payload.is_object() || !payload.as_object().contains("data")) continue;
      const json::object& data = payload.at("data").as_object();
      if (Str(data, "recommendation") == "r1" && Str(data, "kind") == "overdue") {
        found = payload.as_object();
      }
    }
  }
  ::close(fd);
  ASSERT_FALSE(found.empty()) << "no alert frame for r1's overdue alert within 12 s:\n"
                              << got << ServeLog();
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
  const json::object& data = found.at("data").as_object();
  EXPECT_EQ(Str(found, "type"), "alert.overdue");
  EXPECT_EQ(Str(data, "due"), "2025-04-01");
  EXPECT_EQ(data.at("late"), json::value(false)) << "raised on its day while running";
  EXPECT_GE(Str(data, "raised"), "2025-03-31T23:00:00Z");
  EXPECT_LT(Str(data, "raised"), "2025-03-31T23:00:30Z");
  EXPECT_TRUE(Outbox().count(Str(data, "id")));
}

TEST_F(AlertsE2eTest, EmailAlertsGoThroughTheSmtpRelayNamingKindAndRecommendation) {
  ASSERT_NO_FATAL_FAILURE(Import());
  SmtpRelay relay;
  WriteSubscriptions("  - {id: cps-mail, body: CPS, email: cps@example.org}\n");
  ASSERT_NO_FATAL_FAILURE(
      Start({"--clock", "2025-04-10T09:00:00Z"},
            {{"RECTRACK_SMTP_URL", "smtp://" + relay.Address()},
             {"RECTRACK_SMTP_PLAIN", "true"},  // the test's relay offers no STARTTLS
             {"RECTRACK_SMTP_FROM", "rectrack@example.org"}}));
  ASSERT_TRUE(relay.WaitForMessages(1, 15s)) << ServeLog();
  const auto outbox = Outbox();
  const std::set<std::string> expected = AlertsFor(outbox, "CPS");
  ASSERT_TRUE(relay.WaitForMessages(expected.size(), 10s)) << ServeLog();
  std::this_thread::sleep_for(1s);
  const auto messages = relay.messages();
  EXPECT_EQ(messages.size(), expected.size());
  std::set<std::string> seen;
  for (const std::string& m : messages) {
    const size_t at = m.find("Message-ID: <");
    ASSERT_NE(at, std::string::npos) << m;
    const std::string id = m.substr(at + 13, m.find('@', at) - at - 13);
    seen.insert(id);
    ASSERT_TRUE(expected.count(id)) << m;
    const json::object& data = outbox.at(id).at("data").as_object();
    const size_t s = m.find("Subject: ");
    ASSERT_NE(s, std::string::npos) << m;
    const std::string subject = m.substr(s, m.find("\r\n", s) - s);
    EXPECT_NE(subject.find(Str(data, "kind")), std::string::npos) << subject;
    EXPECT_NE(subject.find(Str(data, "recommendation")), std::string::npos) << subject;
    EXPECT_NE(m.find("To: cps@example.org"), std::string::npos) << m;
    EXPECT_NE(m.find("rectrack@example.org"), std::string::npos) << m;
    // The Message-ID is the alert's, under the sender's domain, distinct per recipient.
    const std::string message_id = m.substr(at, m.find("\r\n", at) - at);
    EXPECT_NE(message_id.find("." + std::string("example.org>")), std::string::npos) << message_id;
    // Only an overdue alert says how many days; a reminder says how far ahead it is.
    EXPECT_EQ(m.find("Days overdue: 0"), std::string::npos) << m;
    // People get the item's page in the web workspace, not only the API's resource.
    EXPECT_NE(m.find("Open it in rectrack: http://"), std::string::npos) << m;
    EXPECT_NE(m.find("/recommendations/" + Str(data, "recommendation")), std::string::npos) << m;
    const json::value& milestone = data.at("milestone");
    if (Str(data, "kind") == "due_soon" && milestone.is_object()) {
      EXPECT_NE(subject.find(", in "), std::string::npos) << subject;
    }
  }
  EXPECT_EQ(seen, expected);
  for (const auto& id : expected) {
    const std::string shown = WaitForState(id, "delivered");
    EXPECT_EQ(StateOf(id), "delivered") << shown;
    EXPECT_NE(shown.find("cps-mail (email cps@example.org): delivered"), std::string::npos)
        << shown;
    EXPECT_NE(shown.find("status 250"), std::string::npos) << shown;
  }
}

}  // namespace
