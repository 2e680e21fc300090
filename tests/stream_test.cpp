// GET /api/v1/stream over real sockets: resuming with Last-Event-ID, live events from HTTP and
// the CLI, heartbeats, body scoping, the cap on streams, revocation and shutdown. The fixture
// is tests/server_fixture.h.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/server_fixture.h"
#include "tests/test_support.h"

namespace rectrack::server_test {
namespace {

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

}  // namespace
}  // namespace rectrack::server_test
