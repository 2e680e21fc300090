// `rectrack serve` over real sockets on 127.0.0.1: transport behaviour that Api::Handle tests
// cannot see (keep-alive, malformed HTTP, limits, timeouts, shutdown) and other processes'
// writes becoming visible. Every socket has a receive timeout; every server is stopped.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tests/test_support.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

// A minimal blocking HTTP/1.1 client on one connection.
class Connection {
 public:
  explicit Connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Connection() { ::close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  void Send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

  // Reads one response (Content-Length framed); status 0 when the connection closed first.
  Reply Read() {
    Reply r;
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!Fill()) return r;
    }
    const size_t end = buffer_.find("\r\n\r\n");
    r.head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    r.status = std::atoi(r.head.substr(9, 3).c_str());
    size_t length = 0;
    if (auto at = Lower(r.head).find("content-length:"); at != std::string::npos) {
      length = std::strtoul(r.head.c_str() + at + 15, nullptr, 10);
    }
    while (buffer_.size() < length) {
      if (!Fill()) break;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, std::min(length, buffer_.size()));
    return r;
  }

  // True when the server closed the connection (read returns 0) within the socket timeout.
  bool ClosedByPeer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

  Reply Request(const std::string& method, const std::string& target, const std::string& token,
                const std::string& body = "", const std::string& type = "application/json") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) {
      req +=
          "Content-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    Send(req + "\r\n" + body);
    return Read();
  }

 private:
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  bool Fill() {
    std::array<char, 4096> chunk;
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n <= 0) return false;
    buffer_.append(chunk.data(), static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

// Reads from `c` until `needle` has arrived or `seconds` pass; returns what arrived.
std::string ReadUntil(int fd, const std::string& needle, int seconds) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (got.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

std::string RunCli(const std::string& args) {
  std::string out;
  FILE* pipe = ::popen((std::string(RECTRACK_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  ::pclose(pipe);
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("server_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "rectrack.db").string();
    RunCli("--db " + db_ + " import " + std::string(RECTRACK_SOURCE_DIR) +
           "/demo/domestic-abuse.yaml");
    inspectorate_ = FirstLine(RunCli("--db " + db_ + " token create --role inspectorate"));
    cps_ = FirstLine(RunCli("--db " + db_ + " token create --role body_lead --body CPS"));
    ASSERT_EQ(inspectorate_.rfind("rt_", 0), 0u);
  }

  void TearDown() override {
    Stop();
    fs::remove_all(dir_);
  }

  static std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

  // Starts `rectrack serve` on a free port with extra RECTRACK_* settings; waits for its
  // "serving ... on http://127.0.0.1:PORT" line.
  void Start(const std::vector<std::string>& settings = {}) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), settings.begin(), settings.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {RECTRACK_BINARY, "--db",     db_,
                                     "serve",         "--listen", "127.0.0.1:0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid_, RECTRACK_BINARY, &actions, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    char c;
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10000) > 0 &&
           ::read(out[0], &c, 1) == 1) {
      line += c;
    }
    ::close(out[0]);
    auto at = line.rfind(':');
    ASSERT_NE(at, std::string::npos) << "server did not start: " << line;
    port_ = std::atoi(line.c_str() + at + 1);
    ASSERT_GT(port_, 0) << line;
  }

  // `signal` (SIGTERM, or SIGINT as Ctrl-C sends), then wait up to 10 s; returns the exit
  // status (-1 if it had to be killed).
  int Stop(int signal = SIGTERM) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, signal);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    return -1;
  }

  fs::path dir_;
  std::string db_, inspectorate_, cps_;
  pid_t pid_ = 0;
  int port_ = 0;
};

TEST_F(ServerTest, AnswersSeveralRequestsOnOneKeptAliveConnection) {
  Start();
  Connection c(port_);
  ASSERT_TRUE(c.connected());
  Reply health = c.Request("GET", "/healthz", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "{\"status\":\"ok\"}");
  Reply list = c.Request("GET", "/api/v1/recommendations?as_of=2025-03-31&open=true", cps_);
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("\"da23-r2\""), std::string::npos);
  Reply anonymous = c.Request("GET", "/api/v1/bodies", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.head.find("application/problem+json"), std::string::npos);
}

TEST_F(ServerTest, WritesOverHttpAndFromTheCliAreSeenByEachOther) {
  Start();
  Connection c(port_);
  Reply wrote = c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_,
                          R"({"do":"update","effective":"2025-06-01","note":"over http"})");
  ASSERT_EQ(wrote.status, 201) << wrote.body;
  EXPECT_NE(RunCli("--db " + db_ + " show da25-n1").find("over http"), std::string::npos);
  // And the other way: a write by another process shows on the server's next read.
  RunCli("--db " + db_ + " record da25-n2 update --by CPS --effective 2025-06-02 --note from-cli");
  Reply read = c.Request("GET", "/api/v1/recommendations/da25-n2", inspectorate_);
  EXPECT_NE(read.body.find("from-cli"), std::string::npos) << read.body;
}

TEST_F(ServerTest, AMalformedRequestLineIsAnswered400AndTheServerLivesOn) {
  Start();
  {
    Connection c(port_);
    c.Send("THIS IS NOT HTTP\r\n\r\n");
    Reply r = c.Read();
    EXPECT_EQ(r.status, 400) << r.head;
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    Connection c(port_);
    c.Send(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\0\x01\x02\r\n\r\n", 37));
    EXPECT_EQ(c.Read().status, 400);
  }
  Connection again(port_);
  EXPECT_EQ(again.Request("GET", "/healthz", "").status, 200);
}

TEST_F(ServerTest, AnOversizedHeaderIs431AndAnOversizedBody413) {
  Start({"RECTRACK_MAX_BODY_BYTES=2048", "RECTRACK_MAX_HEADER_BYTES=2048"});
  {
    Connection c(port_);
    Reply r = c.Request("GET", "/healthz?" + std::string(4000, 'a'), "");
    EXPECT_EQ(r.status, 431) << r.head;
  }
  {
    Connection c(port_);
    Reply r = c.Request("POST", "/api/v1/import", inspectorate_, std::string(5000, '#'),
                        "application/yaml");
    EXPECT_EQ(r.status, 413) << r.head;
  }
  const std::string verify = RunCli("--db " + db_ + " verify");
  EXPECT_NE(verify.find("OK: 25 events"), std::string::npos) << verify;
}

TEST_F(ServerTest, ATruncatedBodyTimesOutWithoutWritingAnything) {
  Start({"RECTRACK_TIMEOUT_SECONDS=1"});
  Connection c(port_);
  c.Send(
      "POST /api/v1/recommendations/da25-n1/events HTTP/1.1\r\nHost: x\r\nAuthorization: "
      "Bearer " +
      cps_ + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"do\":");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_NE(RunCli("--db " + db_ + " verify").find("OK: 25 events"), std::string::npos);
  Connection again(port_);
  EXPECT_EQ(again.Request("GET", "/healthz", "").status, 200);
}

TEST_F(ServerTest, ConnectionsBeyondTheCapAreRefused503) {
  Start({"RECTRACK_MAX_CONNECTIONS=2"});
  Connection a(port_), b(port_);
  ASSERT_EQ(a.Request("GET", "/healthz", "").status, 200);
  ASSERT_EQ(b.Request("GET", "/healthz", "").status, 200);
  Connection c(port_);
  EXPECT_EQ(c.Read().status, 503);
}

TEST_F(ServerTest, RequestsBeyondTheRateAreRefused429WithRetryAfter) {
  Start({"RECTRACK_RATE_PER_MINUTE=5"});
  Connection c(port_);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.Request("GET", "/api/v1/bodies", cps_).status, 200);
  Reply limited = c.Request("GET", "/api/v1/bodies", cps_);
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(limited.head.find("Retry-After: 60"), std::string::npos) << limited.head;
  // Another client has its own allowance.
  EXPECT_EQ(c.Request("GET", "/api/v1/bodies", inspectorate_).status, 200);
}

TEST_F(ServerTest, SigtermWithAnIdleConnectionOpenStopsPromptlyAndCleanly) {
  Start();
  Connection idle(port_);
  ASSERT_EQ(idle.Request("GET", "/healthz", "").status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(idle.ClosedByPeer());
}

TEST_F(ServerTest, SigintStopsCleanlyLikeSigterm) {
  Start();
  Connection c(port_);
  ASSERT_EQ(c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_,
                      R"({"do":"update","note":"before Ctrl-C"})")
                .status,
            201);
  EXPECT_EQ(Stop(SIGINT), 0);
  EXPECT_NE(RunCli("--db " + db_ + " verify").find("OK: 26 events"), std::string::npos);
}

TEST_F(ServerTest, AnIdleKeptAliveConnectionIsClosedAfterTheTimeout) {
  Start({"RECTRACK_TIMEOUT_SECONDS=1"});
  Connection c(port_);
  ASSERT_EQ(c.Request("GET", "/healthz", "").status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());  // the client's own read gives up after 5 s
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(500));
  EXPECT_LT(waited, std::chrono::seconds(4));
}

class StreamTest : public ServerTest {
 protected:
  // Opens GET /api/v1/stream on a raw socket and returns the socket.
  int OpenStream(const std::string& token, const std::string& last_event_id = "") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
    std::string req =
        "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n";
    if (!last_event_id.empty()) req += "Last-Event-ID: " + last_event_id + "\r\n";
    req += "\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    fds_.push_back(fd);
    return fd;
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    ServerTest::TearDown();
  }
  std::vector<int> fds_;
};

TEST_F(StreamTest, ResumesAfterLastEventIdAndDeliversNewEventsAsTheyCommit) {
  Start({"RECTRACK_HEARTBEAT_SECONDS=1"});
  int fd = OpenStream(inspectorate_, "23");
  std::string got = ReadUntil(fd, "id: 25\n", 5);
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
  EXPECT_EQ(got.find("id: 23\n"), std::string::npos) << "resent an event the client had";
  EXPECT_NE(got.find("id: 24\nevent: recommendation\ndata: {"), std::string::npos) << got;
  // A write over HTTP and one from the CLI both arrive, in order.
  Connection c(port_);
  ASSERT_EQ(c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_,
                      R"({"do":"update","note":"live"})")
                .status,
            201);
  got = ReadUntil(fd, "id: 26\n", 5);
  EXPECT_NE(got.find("\"note\":\"live\""), std::string::npos) << got;
  RunCli("--db " + db_ + " record da25-n2 update --by CPS --note cli");
  got = ReadUntil(fd, "id: 27\n", 5);
  EXPECT_NE(got.find("\"note\":\"cli\""), std::string::npos) << got;
  // Idle streams carry heartbeats.
  EXPECT_NE(ReadUntil(fd, ": heartbeat", 4).find(": heartbeat"), std::string::npos);
}

TEST_F(StreamTest, ABodyLeadStreamCarriesOnlyItsBodysRecommendations) {
  RunCli("--db " + db_ + " --clock 2025-09-30 import " + std::string(RECTRACK_SOURCE_DIR) +
         "/demo/more-bodies.yaml");
  const std::string sfo =
      FirstLine(RunCli("--db " + db_ + " token create --role body_lead --body SFO"));
  Start();
  int fd = OpenStream(sfo, "0");
  std::string got = ReadUntil(fd, "sfo24-r2", 5);
  EXPECT_NE(got.find("sfo24-r1"), std::string::npos) << got;
  EXPECT_EQ(got.find("da23-"), std::string::npos) << got;
}

TEST_F(StreamTest, StreamsBeyondTheCapAreRefusedAndShutdownClosesOpenStreams) {
  Start({"RECTRACK_MAX_STREAMS=1"});
  int first = OpenStream(inspectorate_);
  ASSERT_NE(ReadUntil(first, "retry: 2000", 5).find("retry: 2000"), std::string::npos);
  int second = OpenStream(inspectorate_);
  EXPECT_NE(ReadUntil(second, "503", 5).find("HTTP/1.1 503"), std::string::npos);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// The python3 that has Debian's feedparser and icalendar (a pyenv python3 may not).
std::string FeedPython() {
  for (const char* candidate : {"/usr/bin/python3", "python3"}) {
    std::string probe = std::string(candidate) + " -c 'import feedparser, icalendar' 2>/dev/null";
    if (std::system(probe.c_str()) == 0) return candidate;
  }
  return "";
}

TEST_F(ServerTest, TheAtomAndCalendarFeedsParseWithRealParsers) {
  const std::string python = FeedPython();
  RECTRACK_SKIP_IF_MISSING(python.empty() ? "no python3 with feedparser and icalendar" : "");
  const std::string reader = FirstLine(RunCli("--db " + db_ + " token create --role reader"));
  Start();
  Connection c(port_);
  // Readers and calendar apps pass the token in the URL.
  Reply atom = c.Request("GET", "/feed.atom?token=" + reader, "");
  ASSERT_EQ(atom.status, 200) << atom.body;
  EXPECT_NE(atom.head.find("application/atom+xml"), std::string::npos);
  Reply ics = c.Request("GET", "/calendar.ics?body=CPS&token=" + reader, "");
  ASSERT_EQ(ics.status, 200) << ics.body;
  for (auto [kind, body, count] : {std::tuple{"atom", atom.body, 22}, {"ics", ics.body, 3}}) {
    const std::string file = (dir_ / (std::string("feed.") + kind)).string();
    FILE* f = std::fopen(file.c_str(), "wb");
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
    const std::string check = python + " " + RECTRACK_SOURCE_DIR + "/tests/feeds_check.py " + kind +
                              " " + file + " " + std::to_string(count);
    EXPECT_EQ(std::system(check.c_str()), 0) << check;
  }
  EXPECT_EQ(c.Request("GET", "/feed.atom?token=rt_wrong", "").status, 401);
}

TEST_F(ServerTest, MetricsCountRequestsAndRecommendations) {
  Start();
  Connection c(port_);
  ASSERT_EQ(c.Request("GET", "/api/v1/bodies", inspectorate_).status, 200);
  Reply m = c.Request("GET", "/metrics", inspectorate_);
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("rectrack_http_requests_total{route=\"/api/v1/bodies\",status=\"200\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("rectrack_recommendations_open{body=\"CPS\"} 3"), std::string::npos);
  EXPECT_NE(m.body.find("rectrack_recommendations_overdue{body=\"CPS\"} 3"), std::string::npos);
  EXPECT_NE(m.body.find("rectrack_events_total 25"), std::string::npos);
  EXPECT_NE(m.body.find("rectrack_http_request_duration_seconds_bucket{route=\"/api/v1/bodies\","
                        "le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_EQ(c.Request("GET", "/metrics", "").status, 401);
}

TEST_F(StreamTest, AnswersGivenBeforeRoutingAndStreamsAreCountedInTheMetricsToo) {
  Start({"RECTRACK_MAX_BODY_BYTES=2048"});
  {
    Connection c(port_);
    c.Send("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_EQ(c.Read().status, 400);
  }
  {
    Connection c(port_);
    EXPECT_EQ(c.Request("POST", "/api/v1/import", inspectorate_, std::string(5000, '#'),
                        "application/yaml")
                  .status,
              413);
  }
  ASSERT_GE(OpenStream(inspectorate_), 0);
  ASSERT_GE(OpenStream("rt_not_a_token"), 0);
  const auto count = [](const std::string& metrics, const std::string& route, int status) {
    const std::string line = "rectrack_http_requests_total{route=\"" + route + "\",status=\"" +
                             std::to_string(status) + "\"} ";
    const size_t at = metrics.find(line);
    return at == std::string::npos ? 0 : std::atoi(metrics.c_str() + at + line.size());
  };
  std::string metrics;
  for (int i = 0; i < 50 && (count(metrics, "/api/v1/stream", 200) == 0 ||
                             count(metrics, "/api/v1/stream", 401) == 0);
       ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Connection c(port_);
    metrics = c.Request("GET", "/metrics", inspectorate_).body;
  }
  EXPECT_EQ(count(metrics, "unread", 400), 1) << metrics;  // the request line was not HTTP
  EXPECT_EQ(count(metrics, "/api/v1/import", 413), 1) << metrics;
  EXPECT_EQ(count(metrics, "/api/v1/stream", 200), 1) << metrics;
  EXPECT_EQ(count(metrics, "/api/v1/stream", 401), 1) << metrics;
}

TEST_F(ServerTest, ConcurrentWritersAreGroupedAndEveryWriteLandsOnce) {
  Start({"RECTRACK_THREADS=4", "RECTRACK_RATE_PER_MINUTE=0"});
  constexpr int kClients = 16, kEach = 10;
  std::vector<std::thread> clients;
  std::atomic<int> created{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Connection c(port_);
      for (int k = 0; k < kEach; ++k) {
        const std::string rec = (i + k) % 2 ? "da25-n1" : "da25-n2";
        Reply r = c.Request("POST", "/api/v1/recommendations/" + rec + "/events", cps_,
                            "{\"do\":\"update\",\"note\":\"c" + std::to_string(i) + "-" +
                                std::to_string(k) + "\"}");
        if (r.status == 201) ++created;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(created.load(), kClients * kEach);
  const std::string verify = RunCli("--db " + db_ + " verify");
  EXPECT_NE(verify.find("OK: " + std::to_string(25 + kClients * kEach) + " events"),
            std::string::npos)
      << verify;
}

TEST_F(ServerTest, StormsOfWritersLeavingAtOnceThenSigtermStopCleanlyAndLoseNoAnsweredWrite) {
  Start({"RECTRACK_RATE_PER_MINUTE=0"});
  constexpr int kClients = 64, kRounds = 4;
  std::atomic<int> created{0};
  std::atomic<bool> leave{false};
  // kClients writers on connections of their own, until `leave` or the server goes away.
  auto storm = [&] {
    leave = false;
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        Connection c(port_);
        for (int k = 0; !leave && k < 1000; ++k) {
          const std::string body = "{\"do\":\"update\",\"note\":\"s" + std::to_string(i) + "\"}";
          Reply r = c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_, body);
          if (r.status != 201) break;
          ++created;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    return clients;
  };
  for (int round = 0; round < kRounds; ++round) {
    // Writers leave together: many sessions end at once, on both I/O threads, some while their
    // last write is still being committed.
    auto clients = storm();
    leave = true;
    for (auto& t : clients) t.join();
    Connection probe(port_);
    ASSERT_EQ(probe.Request("GET", "/healthz", "").status, 200) << "round " << round;
  }
  // Then SIGTERM during a storm: writes in flight are committed and answered, and the server
  // exits by itself.
  auto clients = storm();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  leave = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(created.load(), kClients);
  const std::string verify = RunCli("--db " + db_ + " verify");
  const auto at = verify.find("OK: ");
  ASSERT_NE(at, std::string::npos) << verify;
  const long events = std::stol(verify.substr(at + 4));
  EXPECT_GE(events, 25 + created.load()) << "an answered write was lost";
  // Each storm's writers may leave one write each committed but unanswered.
  EXPECT_LE(events, 25 + created.load() + (kRounds + 1) * kClients);
}

TEST_F(ServerTest, ATransferEncodingNotEndingInChunkedIsRefusedAndNothingIsSmuggled) {
  Start();
  Connection c(port_);
  c.Send(
      "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
      "GET /api/v1/bodies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
      inspectorate_ + "\r\n\r\n");
  EXPECT_EQ(c.Read().status, 400);
  EXPECT_TRUE(c.ClosedByPeer());  // the smuggled GET is never answered
}

TEST_F(ServerTest, AMemberGivenTwiceIsRefusedNotSilentlyTheLastOne) {
  Start();
  Connection c(port_);
  for (const char* body :
       {R"({"do":"update","do":"withdraw"})", R"({"do":"update","note":"a","note" : "b"})"}) {
    Reply r = c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find("is given twice"), std::string::npos) << r.body;
  }
  // Equal keys in different objects, and strings that merely look like keys, are fine.
  EXPECT_EQ(c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_,
                      R"({"do":"update","note":"\"do\": and {\"do\":1}"})")
                .status,
            201);
}

TEST_F(ServerTest, AnEscapedKeyIsStillTheSameKey) {
  Start();
  Connection c(port_);
  Reply r = c.Request("POST", "/api/v1/recommendations/da25-n1/events", inspectorate_,
                      R"({"do":"update","d\u006f":"withdraw","reason":"x"})");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(ServerTest, AQueryValueThatLooksLikeTwoParametersIsNotConfusedInTheCache) {
  Start();
  Connection c(port_);
  const std::string list = "/api/v1/recommendations?as_of=2025-03-31&body=";
  EXPECT_NE(c.Request("GET", list + "CPS&q=r2", inspectorate_).body.find("da23-r2"),
            std::string::npos);
  // The body here is literally "CPS&q=r2": no such body owns anything.
  Reply odd = c.Request("GET", list + "CPS%26q%3Dr2", inspectorate_);
  EXPECT_EQ(odd.status, 200);
  EXPECT_EQ(odd.body.find("da23-r2"), std::string::npos) << odd.body;
}

TEST_F(ServerTest, HeadAnswersWithTheLengthAGetWouldHave) {
  Start();
  Connection c(port_);
  Reply get = c.Request("GET", "/api/v1/bodies", inspectorate_);
  c.Send("HEAD /api/v1/bodies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + inspectorate_ +
         "\r\n\r\n");
  // A HEAD reply has no body whatever its Content-Length: read only the head.
  std::string head = ReadUntil(c.fd(), "\r\n\r\n", 5);
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(get.body.size())), std::string::npos)
      << head;
}

TEST_F(ServerTest, MadeUpTokensDoNotEscapeTheRateLimit) {
  Start({"RECTRACK_RATE_PER_MINUTE=5"});
  Connection c(port_);
  int limited = 0;
  for (int i = 0; i < 8; ++i) {
    if (c.Request("GET", "/api/v1/bodies", "rt_guess" + std::to_string(i)).status == 429) {
      ++limited;
    }
  }
  EXPECT_EQ(limited, 3);
}

TEST_F(ServerTest, FeedLinksFollowTheHostTheyWereAskedOn) {
  const std::string reader = FirstLine(RunCli("--db " + db_ + " token create --role reader"));
  Start();
  Connection c(port_);
  for (const std::string host : {"evil.example", "rectrack.internal:8080"}) {
    c.Send("GET /feed.atom?token=" + reader + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    Reply r = c.Read();
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("href=\"http://" + host + "/feed.atom"), std::string::npos) << host;
    if (host != "evil.example") {
      EXPECT_EQ(r.body.find("evil.example"), std::string::npos);
    }
  }
}

TEST_F(ServerTest, ACursorStillPagesAfterItsItemLeftTheList) {
  Start();
  Connection c(port_);
  Reply first = c.Request("GET", "/api/v1/recommendations?open=true&limit=1", inspectorate_);
  ASSERT_EQ(first.status, 200);
  const size_t at = first.body.find("\"next_cursor\":\"");
  ASSERT_NE(at, std::string::npos) << first.body;
  const std::string cursor = first.body.substr(at + 15, first.body.find('"', at + 15) - at - 15);
  ASSERT_EQ(c.Request("POST", "/api/v1/recommendations/" + cursor + "/events", inspectorate_,
                      R"({"do":"withdraw","reason":"test"})")
                .status,
            201);
  EXPECT_EQ(
      c.Request("GET", "/api/v1/recommendations?open=true&limit=1&cursor=" + cursor, inspectorate_)
          .status,
      200);
}

TEST_F(ServerTest, IfMatchTakesAListAndNeverMatchesAWeakTag) {
  Start();
  Connection c(port_);
  Reply now = c.Request("GET", "/api/v1/recommendations/da25-n1", cps_);
  const size_t at = now.head.find("ETag: ");
  ASSERT_NE(at, std::string::npos);
  const std::string tag = now.head.substr(at + 6, now.head.find("\r\n", at) - at - 6);
  auto post = [&](const std::string& if_match) {
    c.Send(
        "POST /api/v1/recommendations/da25-n1/events HTTP/1.1\r\nHost: x\r\nAuthorization: "
        "Bearer " +
        cps_ + "\r\nContent-Type: application/json\r\nIf-Match: " + if_match +
        "\r\nContent-Length: 15\r\n\r\n{\"do\":\"update\"}");
    return c.Read().status;
  };
  EXPECT_EQ(post("W/" + tag), 412);
  EXPECT_EQ(post("\"1\""), 400);
  EXPECT_EQ(post("\"1-2025-01-01\", " + tag), 201);
}

TEST_F(ServerTest, SigtermWithAClientThatNeverReadsStillExitsCleanly) {
  Start({"RECTRACK_SHUTDOWN_GRACE_SECONDS=1"});
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string burst;
  for (int i = 0; i < 500; ++i) burst += "GET /openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n";
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  ::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Stop(), 0);  // it used to destroy the sessions' shared state first and crash
  ::close(fd);
}

TEST_F(StreamTest, RevokingTheTokenEndsItsOpenStream) {
  const std::string created =
      RunCli("--db " + db_ + " token create --role reader --label streaming");
  const std::string secret = FirstLine(created);
  const size_t at = created.find("token ");
  const std::string id = created.substr(at + 6, 12);
  Start({"RECTRACK_HEARTBEAT_SECONDS=1"});
  int fd = OpenStream(secret);
  ASSERT_NE(ReadUntil(fd, "retry: 2000", 5).find("retry: 2000"), std::string::npos);
  RunCli("--db " + db_ + " token revoke " + id);
  RunCli("--db " + db_ + " record da25-n1 update --by CPS --note after-revoke");
  const std::string got = ReadUntil(fd, "after-revoke", 4);
  EXPECT_EQ(got.find("after-revoke"), std::string::npos) << got;
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0) << "the stream should have been closed";
}

TEST_F(StreamTest, AClosedStreamFreesItsSlotAtOnceAndAFutureLastEventIdIsClamped) {
  Start({"RECTRACK_MAX_STREAMS=1"});
  int first = OpenStream(inspectorate_);
  ASSERT_NE(ReadUntil(first, "retry: 2000", 5).find("retry: 2000"), std::string::npos);
  ::shutdown(first, SHUT_RDWR);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int second = OpenStream(inspectorate_, "999999999");
  ASSERT_NE(ReadUntil(second, "retry: 2000", 5).find("HTTP/1.1 200"), std::string::npos);
  Connection c(port_);
  ASSERT_EQ(c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_,
                      R"({"do":"update","note":"after clamp"})")
                .status,
            201);
  EXPECT_NE(ReadUntil(second, "after clamp", 5).find("after clamp"), std::string::npos);
}

TEST_F(ServerTest, ABadListenAddressInTheConfigFileIsRefusedWithItsPosition) {
  const std::string config = (dir_ / "rectrack.yaml").string();
  FILE* f = std::fopen(config.c_str(), "w");
  std::fputs("listen: \"not-an-address:80\"\n", f);
  std::fclose(f);
  const std::string out = RunCli("--db " + db_ + " serve --config " + config);
  EXPECT_NE(out.find("rectrack.yaml:1:9: --listen: 'not-an-address' is not an IP address"),
            std::string::npos)
      << out;
}

}  // namespace
