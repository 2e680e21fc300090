// Alerting end to end, as alerts_e2e_test.cpp: what `serve` refuses to start with (a webhook
// host not allowed, email without a relay, a secret's variable unset), the live stream carrying
// an alert raised while connected, and email alerts through an SMTP relay in this test.
#include "tests/alerts_e2e_fixture.h"

namespace {

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
