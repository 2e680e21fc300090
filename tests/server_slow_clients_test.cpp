// `rectrack serve` and clients that are slow, stop reading or hold connections open, over real
// sockets on 127.0.0.1: large answers sent whole (from a sealed file) or timed out, an import
// being read holding up no other connection, idle connections from one address, and a stop with
// a client that never reads. The fixture is tests/server_fixture.h.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/server_fixture.h"
#include "tests/test_support.h"

namespace rectrack::server_test {
namespace {

// The bytes `pid` has passed through read(2) and sendfile(2), from /proc/PID/io ("rchar"): a
// sendfile counts what it sent, a send(2) to a socket nothing.
long long BytesReadBy(pid_t pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string name;
  long long value = -1;
  while (io >> name >> value) {
    if (name == "rchar:") return value;
  }
  return -1;
}

// The most the kernel buffers on one side of a TCP connection (tcp_wmem's maximum).
long long SendBufferMax() {
  std::ifstream wmem("/proc/sys/net/ipv4/tcp_wmem");
  long long low = 0, initial = 0, most = 4 << 20;
  wmem >> low >> initial >> most;
  return most;
}

// A connection with a small receive buffer, so that a large answer waits on it in the server.
int SlowReader(int port) {
  const int fd = ConnectLocal(port, /*read_timeout=*/true, /*receive_buffer=*/4096);
  EXPECT_GE(fd, 0) << "cannot connect to port " << port;
  return fd;
}

// A list of 1,000 is hundreds of KB; once cached, it is sent from a sealed file by sendfile(2).
// Whole, again and again on one connection, between other answers, and HEAD and 304 still
// without a body.
TEST_F(ServerTest, ALargeCachedAnswerIsSentWholeFromItsSealedFile) {
  ASSERT_NO_FATAL_FAILURE(ImportSynthetic(db_, dir_, 600));
  Start();
  const std::string list = "/api/v1/recommendations?limit=1000";
  Connection c(port_);
  const Reply first = c.Request("GET", list, inspectorate_);
  ASSERT_EQ(first.status, 200) << first.body.substr(0, 300);
  ASSERT_GT(first.body.size(), 150000u);
  const std::string etag = FieldOf(first, "etag");
  const long long read_before = BytesReadBy(server_->pid());
  for (int i = 0; i < 3; ++i) {
    const Reply again = c.Request("GET", list, inspectorate_);
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.body, first.body) << "request " << i;
    EXPECT_EQ(FieldOf(again, "content-length"), std::to_string(first.body.size()));
    EXPECT_EQ(c.Request("GET", "/api/v1/bodies", inspectorate_).status, 200);
  }
  EXPECT_GE(BytesReadBy(server_->pid()) - read_before,
            static_cast<long long>(3 * first.body.size()))
      << "the three cached answers did not go out by sendfile";
  c.Send("HEAD " + list + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + inspectorate_ +
         "\r\n\r\n");
  const std::string head = ReadUntil(c.fd(), "\r\n\r\n", 5);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(first.body.size())), std::string::npos);
  // The alerts the server raises when it starts give the log a new generation, and the list a
  // new ETag: a 200 with the whole list says so, and the next try uses its tag.
  std::string tag = etag;
  int status = 0;
  for (int tries = 0; tries < 20 && status != 304; ++tries) {
    c.Send("GET " + list + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + inspectorate_ +
           "\r\nIf-None-Match: " + tag + "\r\n\r\n");
    const Reply conditional = c.Read();
    status = conditional.status;
    if (status != 200) break;
    EXPECT_EQ(conditional.body, first.body);
    tag = FieldOf(conditional, "etag");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 304) << "a body after the HEAD would be read as this answer";
  EXPECT_EQ(c.Request("GET", list, inspectorate_).body, first.body);
}

// A large answer sent by sendfile is bound by the write timeout like any other, and clients
// that go away in the middle of one (sendfile cannot be told not to raise SIGPIPE) leave the
// server serving.
TEST_F(ServerTest, ALargeAnswerToAClientThatStopsReadingTimesOutAndOneThatLeavesHarmsNothing) {
  ASSERT_NO_FATAL_FAILURE(ImportSynthetic(db_, dir_, 600));
  Start({"RECTRACK_TIMEOUT_SECONDS=1"});
  const std::string request =
      "GET /api/v1/recommendations?limit=1000 HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      inspectorate_ + "\r\n\r\n";
  Connection warm(port_);  // cached, so sent from its sealed file from now on
  const Reply whole = warm.Request("GET", "/api/v1/recommendations?limit=1000", inspectorate_);
  ASSERT_GT(whole.body.size(), 150000u);

  // Answers asked for ahead, more than the kernel's buffers on both sides hold, so that the
  // server is left waiting to send.
  const size_t answers = 2 * static_cast<size_t>(SendBufferMax()) / whole.body.size() + 20;
  const int stalled = SlowReader(port_);
  std::string ahead;
  for (size_t i = 0; i < answers; ++i) ahead += request;
  ::send(stalled, ahead.data(), ahead.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // past the timeout, reading nothing
  std::string got;
  char buffer[65536];
  ssize_t n;
  while ((n = ::recv(stalled, buffer, sizeof buffer, 0)) > 0) got.append(buffer, n);
  // Closed with requests unread, the server's end resets the connection.
  const bool closed = n == 0 || errno == ECONNRESET;
  EXPECT_TRUE(closed) << "the server did not close the stalled connection: " << strerror(errno);
  EXPECT_LT(got.size(), answers * whole.body.size()) << "every answer went out: nothing stalled";
  ::close(stalled);

  for (int i = 0; i < 20; ++i) {
    const int leaving = SlowReader(port_);
    ::send(leaving, request.data(), request.size(), MSG_NOSIGNAL);
    ReadUntil(leaving, "\r\n\r\n", 2);  // the head and a part of the body
    if (i % 2 == 0) {
      // Half close first, so that the reset below finds the server's end past the client's
      // FIN: its next send is then EPIPE, which raises SIGPIPE unless ignored.
      ::shutdown(leaving, SHUT_WR);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    linger reset{1, 0};
    ::setsockopt(leaving, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(leaving);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Connection after(port_);
  EXPECT_EQ(after.Request("GET", "/api/v1/recommendations?limit=1000", inspectorate_).body,
            whole.body);
  EXPECT_EQ(Stop(), 0);
}

// Each I/O thread serves the connections dealt to it; an import (megabytes of YAML to parse)
// runs on another thread, so no connection waits for it.
TEST_F(ServerTest, AnImportBeingReadHoldsUpNoOtherConnection) {
  Start();
  std::string yaml =
      "inspections:\n  - {id: big, title: A large import, published: 2025-01-01}\n"
      "recommendations:\n";
  for (int i = 0; yaml.size() < 1500000; ++i) {
    yaml += "  - {id: big-r" + std::to_string(i) +
            ", inspection: big, owners: [CPS], text: \"The CPS to review item " +
            std::to_string(i) + " of the plan and report on it\"}\n";
  }
  Connection import(port_);
  const auto sent = std::chrono::steady_clock::now();
  import.Send("POST /api/v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + inspectorate_ +
              "\r\nContent-Type: application/yaml\r\nContent-Length: " +
              std::to_string(yaml.size()) + "\r\n\r\n" + yaml);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // New connections are dealt to every I/O thread in turn, the import's included.
  for (int i = 0; i < 4; ++i) {
    Connection c(port_);
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_EQ(c.Request("GET", "/healthz", "").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::milliseconds(500))
        << "connection " << i << " waited for the import";
  }
  char byte;
  const bool still_reading = ::recv(import.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0;
  const std::string answer = ReadUntil(import.fd(), "\r\n\r\n", 120);
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer.substr(0, 300);
  // Otherwise the import was too quick to tell anything.
  EXPECT_TRUE(still_reading) << "the import took only "
                             << std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - sent)
                                    .count()
                             << " ms";
}

TEST_F(ServerTest, SigtermWithAClientThatNeverReadsStillExitsCleanly) {
  Start({"RECTRACK_SHUTDOWN_GRACE_SECONDS=1"});
  const int fd = SlowReader(port_);
  std::string burst;
  for (int i = 0; i < 500; ++i) burst += "GET /openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n";
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  ::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Stop(), 0);  // it used to destroy the sessions' shared state first and crash
  ::close(fd);
}

// Idle connections cannot lock everyone out: one address holds at most its share, a connection
// that sends nothing is closed after the header timeout, and /healthz answers even when full.
TEST_F(ServerTest, IdleConnectionsFromOneAddressCannotLockOutTheRest) {
  Start({"RECTRACK_MAX_CONNECTIONS=6", "RECTRACK_MAX_CONNECTIONS_PER_ADDRESS=3",
         "RECTRACK_HEADER_TIMEOUT_SECONDS=1"});
  std::vector<std::unique_ptr<Connection>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<Connection>(port_));
    ASSERT_TRUE(idle.back()->connected());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // accepted and counted
  Connection refused(port_);
  Reply r = refused.Request("GET", "/api/v1/bodies", cps_);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("too many connections from 127.0.0.1"), std::string::npos) << r.body;
  Connection health(port_);
  EXPECT_EQ(health.Request("GET", "/healthz", "").status, 200) << "healthz while full";
  // Sending nothing, they are closed after the header timeout, and room comes back.
  for (auto& c : idle) EXPECT_TRUE(c->ClosedByPeer());
  Connection after(port_);
  EXPECT_EQ(after.Request("GET", "/api/v1/bodies", cps_).status, 200);
}

}  // namespace
}  // namespace rectrack::server_test
