// The fixture of the tests of `rectrack serve` over real sockets (server_test.cpp,
// stream_test.cpp, start_test.cpp; api_actions_reads_test.cpp waits with it): the blocking
// HTTP/1.1 client of http_client.h, a server started as its own process on a free port of 127.0.0.1
// over a copy of the demo data, and raw event-stream sockets.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "common/strings.h"
#include "tests/http_client.h"
#include "tests/serve_process.h"
#include "tests/test_support.h"

namespace rectrack::server_test {

namespace fs = std::filesystem;

using test_http::Connection;
using test_http::ConnectLocal;
using test_http::FieldOf;
using test_http::ReadUntil;
using test_http::Reply;

// The CLI's stdout and stderr together (test_support.h's Rectrack).
inline std::string RunCli(const std::string& args) { return Rectrack(args).out; }

// A log of `recommendations` synthetic recommendations (bench/generate.py, about three events
// each) on top of the fixture's demo data.
inline void ImportSynthetic(const std::string& db, const fs::path& dir, int recommendations) {
  const std::string file = (dir / "synthetic.yaml").string();
  const std::string generate = "/usr/bin/python3 " + std::string(RECTRACK_SOURCE_DIR) +
                               "/bench/generate.py --recommendations " +
                               std::to_string(recommendations) + " --inspections 50 " + file +
                               " > /dev/null";
  ASSERT_EQ(std::system(generate.c_str()), 0);
  RunCli("--db " + db + " import " + file);
}

// Waits (at most a minute) until the server on `port` has let go of the histories its start
// read, as /metrics says (read with `token`, an unscoped one): it answers while its alerts'
// first pass and first raise still hold them.
inline void WaitUntilHistoriesAreLetGo(int port, const std::string& token) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string metrics;
  while (std::chrono::steady_clock::now() < deadline) {
    Connection c(port);
    const Reply m = c.Request("GET", "/metrics", token);
    ASSERT_EQ(m.status, 200) << m.body;
    if (m.body.find("\nrectrack_histories_to_let_go 0\n") != std::string::npos &&
        m.body.find("\nrectrack_alerts_first_pass_items_left 0\n") != std::string::npos) {
      return;
    }
    metrics = m.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "histories still held a minute after the start:\n" << metrics;
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

  // Starts `rectrack serve` on a free port with extra RECTRACK_* settings.
  void Start(const std::vector<std::string>& settings = {}) {
    server_ = std::make_unique<ServeProcess>(std::vector<std::string>{"--db", db_}, settings);
    port_ = server_->port();
    ASSERT_GT(port_, 0) << "server did not start: " << server_->first_line();
  }

  // WaitUntilHistoriesAreLetGo, for this fixture's server.
  void WaitUntilHistoriesAreLetGo() {
    ASSERT_NO_FATAL_FAILURE(server_test::WaitUntilHistoriesAreLetGo(port_, inspectorate_));
  }

  // `signal` (SIGTERM, or SIGINT as Ctrl-C sends), then wait up to 10 s; returns the exit
  // status (-1 if it had to be killed).
  int Stop(int signal = SIGTERM) { return server_ ? server_->Stop(signal) : 0; }

  fs::path dir_;
  std::string db_, inspectorate_, cps_;
  std::unique_ptr<ServeProcess> server_;
  int port_ = 0;
};

class StreamTest : public ServerTest {
 protected:
  // Opens GET /api/v1/stream (of `body`'s events, if one is given) on a raw socket and returns
  // the socket.
  int OpenStream(const std::string& token, const std::string& last_event_id = "",
                 const std::string& body = "") {
    const int fd = ConnectLocal(port_, /*read_timeout=*/false);
    if (fd < 0) return -1;
    std::string req = "GET /api/v1/stream" + (body.empty() ? "" : "?body=" + body) +
                      " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n";
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

}  // namespace rectrack::server_test
