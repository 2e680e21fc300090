// `rectrack serve` over real sockets on 127.0.0.1: transport behaviour that Api::Handle tests
// cannot see (keep-alive, malformed HTTP, timeouts, shutdown), feeds through real parsers,
// metrics, group commit under load, and other processes' writes becoming visible. Every socket
// has a receive timeout; every server is stopped. The limits (connections, rates, budgets,
// proxies) are in server_limits_test.cpp, slow and idle clients in server_slow_clients_test.cpp,
// the live event stream in stream_test.cpp; the fixture is tests/server_fixture.h.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "tests/server_fixture.h"
#include "tests/test_support.h"

namespace rectrack::server_test {
namespace {

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

// How far the log has come (the page script's poll) is for whoever may read the pages.
TEST_F(ServerTest, TheLogsPositionIsForWhoeverMayReadThePages) {
  Start();
  Connection c(port_);
  Reply anonymous = c.Request("GET", "/live", "");
  EXPECT_EQ(anonymous.status, 303);
  EXPECT_EQ(FieldOf(anonymous, "location"), "/sign-in?next=%2Flive");
  Start({"RECTRACK_PUBLIC_READ=true"});
  Connection d(port_);
  Reply public_read = d.Request("GET", "/live", "");
  EXPECT_EQ(public_read.status, 200);
  EXPECT_TRUE(ParseDigits(public_read.body, 18).has_value()) << public_read.body;
}

// A form posted from another site's page is refused before anything reads it: signing in has
// no session's CSRF token yet, and a forged sign-in would put the victim in the forger's account.
// A browser says where a form came from (Origin, Sec-Fetch-Site); a client that does not is
// believed.
TEST_F(ServerTest, AFormPostedFromAnotherSiteIsRefused) {
  Start({"RECTRACK_PUBLIC_URL=https://rectrack.example.org:443/tracker"});
  auto sign_in = [&](const std::string& headers) {
    const std::string form = "email=lead%40cps.example&password=wrong+password";
    Connection c(port_);
    c.Send("POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) + "\r\n" + headers +
           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(form.size()) + "\r\n\r\n" + form);
    return c.Read();
  };
  Reply forged = sign_in("Origin: https://evil.example\r\n");
  EXPECT_EQ(forged.status, 403) << forged.head;
  EXPECT_NE(forged.body.find("The form came from another site"), std::string::npos);
  EXPECT_EQ(sign_in("Origin: null\r\n").status, 403);
  EXPECT_EQ(sign_in("Sec-Fetch-Site: cross-site\r\n").status, 403);
  // From its own pages, as this server or its public address, or from no page at all.
  const std::string own = "Origin: http://127.0.0.1:" + std::to_string(port_) + "\r\n";
  for (const std::string& headers :
       {own, own + "Sec-Fetch-Site: same-origin\r\n",
        std::string("Origin: https://rectrack.example.org\r\n"), std::string()}) {
    Reply r = sign_in(headers);
    EXPECT_EQ(r.status, 401) << headers << r.head;  // the sign-in page: the password is wrong
    EXPECT_NE(r.body.find("Enter a correct email address and password"), std::string::npos);
  }
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
  // The body here is literally "CPS&q=r2": there is no such body (404, not the list cached for
  // CPS; before unknown bodies were 404 it was an empty list).
  Reply odd = c.Request("GET", list + "CPS%26q%3Dr2", inspectorate_);
  EXPECT_EQ(odd.status, 404);
  EXPECT_NE(odd.body.find("no body 'CPS&q=r2'"), std::string::npos) << odd.body;
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

TEST_F(ServerTest, A304HasNoBodyAndTheConnectionGoesOnAfterIt) {
  Start();
  Connection c(port_);
  Reply get = c.Request("GET", "/api/v1/recommendations/da23-r2", cps_);
  ASSERT_EQ(get.status, 200) << get.body;
  const std::string etag = FieldOf(get, "etag");
  ASSERT_NE(etag, "") << get.head;
  c.Send("GET /api/v1/recommendations/da23-r2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         cps_ + "\r\nIf-None-Match: " + etag + "\r\n\r\n");
  Reply not_modified = c.Read();
  EXPECT_EQ(not_modified.status, 304) << not_modified.head;
  EXPECT_EQ(Lower(not_modified.head).find("content-length"), std::string::npos)
      << not_modified.head;
  EXPECT_NE(not_modified.head.find("ETag: " + etag), std::string::npos) << not_modified.head;
  // Nothing after the head: the next answer on the connection starts where the 304 ended.
  Reply again = c.Request("GET", "/healthz", "");
  EXPECT_EQ(again.status, 200) << again.head;
  EXPECT_EQ(again.body, "{\"status\":\"ok\"}");
}

TEST(ResponseHeadTest, SaysWhatTheBodyIsAndNoFieldCanEndEarly) {
  http::Response response;
  response.status = 201;
  response.headers.emplace_back("Location", "/a\r\nSet-Cookie: x=1");
  std::string head;
  http::WriteResponseHead(response, true, 12, &head);
  EXPECT_EQ(head,
            "HTTP/1.1 201 Created\r\nServer: rectrack\r\nContent-Type: application/json\r\n"
            "Location: /a  Set-Cookie: x=1\r\nContent-Length: 12\r\n\r\n");
  http::Response empty;
  empty.status = 204;
  empty.content_type.clear();
  http::WriteResponseHead(empty, false, 0, &head);
  EXPECT_EQ(head, "HTTP/1.1 204 No Content\r\nServer: rectrack\r\nConnection: close\r\n\r\n");
}

// Feed links use the server's public address, whatever Host a client sends: a Host header
// neither reaches the feed nor costs a feed of its own (it once did both).
TEST_F(ServerTest, FeedLinksUseThePublicUrlWhateverTheHost) {
  const std::string reader = FirstLine(RunCli("--db " + db_ + " token create --role reader"));
  Start({"RECTRACK_PUBLIC_URL=https://rectrack.example.org"});
  Connection c(port_);
  for (const std::string host : {"evil.example", "rectrack.internal:8080"}) {
    c.Send("GET /feed.atom?token=" + reader + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    Reply r = c.Read();
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("href=\"https://rectrack.example.org/feed.atom"), std::string::npos)
        << r.body.substr(0, 600);
    EXPECT_EQ(r.body.find(host), std::string::npos) << host;
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
  const std::string tag = FieldOf(now, "etag");
  ASSERT_NE(tag, "") << now.head;
  auto post = [&](const std::string& if_match) {
    c.Send(
        "POST /api/v1/recommendations/da25-n1/events HTTP/1.1\r\nHost: x\r\nAuthorization: "
        "Bearer " +
        cps_ + "\r\nContent-Type: application/json\r\nIf-Match: " + if_match +
        "\r\nContent-Length: 26\r\n\r\n{\"do\":\"update\",\"note\":\"n\"}");
    return c.Read().status;
  };
  EXPECT_EQ(post("W/" + tag), 412);
  EXPECT_EQ(post("\"1\""), 400);
  EXPECT_EQ(post("\"1-2025-01-01\", " + tag), 201);
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

// A client that asks before sending its body (curl does for large bodies) is told to go on.
TEST_F(ServerTest, Expect100ContinueIsAnsweredBeforeTheBody) {
  Start();
  Connection c(port_);
  const std::string body = R"({"do":"update","note":"after 100"})";
  c.Send(
      "POST /api/v1/recommendations/da25-n1/events HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      cps_ +
      "\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  Reply go_on = c.Read();
  EXPECT_EQ(go_on.status, 100) << go_on.head;
  c.Send(body);
  EXPECT_EQ(c.Read().status, 201);
}

// A write that no body could make acceptable is refused before its body: a client waiting to
// send one is not told to go on; each such refusal counts against its address's requests.
TEST_F(ServerTest, AWriteWithoutATokenIsRefusedBeforeItsBody) {
  Start({"RECTRACK_RATE_PER_MINUTE=4"});
  const int64_t before = std::stoll(RunCli("--db " + db_ + " verify").substr(4));
  auto send = [&](const std::string& authorization) {
    Connection c(port_);
    c.Send("POST /api/v1/import HTTP/1.1\r\nHost: x\r\n" + authorization +
           "Content-Type: application/yaml\r\nExpect: 100-continue\r\n"
           "Content-Length: 8000000\r\n\r\n");
    return c.Read();  // at once: no body was sent
  };
  for (const std::string& authorization :
       {std::string(), std::string("Authorization: Bearer rt_made_up\r\n")}) {
    Reply refused = send(authorization);
    EXPECT_EQ(refused.status, 401) << authorization << refused.head;
    EXPECT_NE(refused.head.find("Connection: close"), std::string::npos) << refused.head;
  }
  EXPECT_EQ(send("").status, 401);
  EXPECT_EQ(send("").status, 401);
  Reply limited = send("Authorization: Bearer rt_made_up_too\r\n");
  EXPECT_EQ(limited.status, 429) << limited.head;
  EXPECT_EQ(std::stoll(RunCli("--db " + db_ + " verify").substr(4)), before);
}

// A list given on several lines is one list (RFC 9110 5.3): an If-Match split by a proxy
// still names the version.
TEST_F(ServerTest, AListFieldOnSeveralLinesIsReadAsOne) {
  Start();
  Connection c(port_);
  Reply item = c.Request("GET", "/api/v1/recommendations/da25-n1", cps_);
  const std::string etag = FieldOf(item, "etag");
  ASSERT_FALSE(etag.empty()) << item.head;
  const std::string body = R"({"do":"update","note":"split If-Match"})";
  c.Send(
      "POST /api/v1/recommendations/da25-n1/events HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      cps_ + "\r\nContent-Type: application/json\r\nIf-Match: \"1-2000-01-01\"\r\n" + "If-Match: " +
      etag + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(c.Read().status, 201);
}

// A field that says who asks or what the body is, given twice, is refused: which one a reader
// would take is a guess (the last one used to win).
TEST_F(ServerTest, AnAuthorizationGivenTwiceIsRefused) {
  Start();
  Connection c(port_);
  c.Send("GET /api/v1/bodies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + cps_ +
         "\r\nAuthorization: Bearer " + cps_ + "\r\n\r\n");
  Reply twice = c.Read();
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(twice.body.find("the header field 'authorization' may be given once"),
            std::string::npos)
      << twice.body;
}

// Fills the file system holding `dir` (a small tmpfs here) with a file until it is full.
void FillUp(const fs::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  const std::string block(4096, 'x');
  while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
  }
  std::fclose(f);
}

// A full disk refuses writes cleanly (507, saying so, nothing written, no SQL in the answer),
// reads go on, and writes resume once there is room again. On a real small file system: a
// tmpfs mounted for the test, which needs root (CI has it); elsewhere the test is skipped.
TEST_F(ServerTest, AFullDiskRefusesWritesWith507ReadsGoOnAndWritesResume) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const fs::path small = dir_ / "small";
  fs::create_directories(small);
  const std::string mount = "mount -t tmpfs -o size=2m tmpfs " + small.string();
  if (std::system(mount.c_str()) != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  struct Unmount {
    std::string path;
    ~Unmount() { std::system(("umount -l " + path + " 2>/dev/null").c_str()); }
  } unmount{small.string()};
  fs::copy_file(db_, small / "rectrack.db");
  db_ = (small / "rectrack.db").string();
  Start({"RECTRACK_RATE_PER_MINUTE=0"});
  Connection c(port_);
  const std::string event = R"({"do":"update","note":"before the disk filled"})";
  ASSERT_EQ(c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_, event).status, 201);

  ASSERT_NO_FATAL_FAILURE(FillUp(small / "filler"));
  Reply refused;
  for (int i = 0; i < 200 && refused.status != 507; ++i) {  // the log may take a few first
    refused = c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_,
                        R"({"do":"update","note":")" + std::string(2000, 'n') + "\"}");
    ASSERT_TRUE(refused.status == 201 || refused.status == 507) << refused.status << refused.body;
  }
  ASSERT_EQ(refused.status, 507) << refused.body;
  EXPECT_NE(refused.body.find("storage is full"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("nothing was written"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find("INSERT"), std::string::npos) << refused.body;
  EXPECT_EQ(c.Request("GET", "/api/v1/recommendations/da25-n1", cps_).status, 200);

  fs::remove(small / "filler");
  EXPECT_EQ(c.Request("POST", "/api/v1/recommendations/da25-n1/events", cps_,
                      R"({"do":"update","note":"after"})")
                .status,
            201);
  EXPECT_EQ(Stop(), 0);
  EXPECT_NE(RunCli("--db " + db_ + " verify").find("OK:"), std::string::npos);
}

}  // namespace
}  // namespace rectrack::server_test
