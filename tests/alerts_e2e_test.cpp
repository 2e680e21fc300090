// Alerting end to end: `rectrack serve` as a child process raises alerts from a small import and
// delivers them to receivers in this test (webhooks, an SMTP relay) over real sockets on
// 127.0.0.1; what it recorded is read back with `rectrack alerts` and GET /api/v1/alerts.
// Every wait is bounded, every receiver stops by itself, every server is killed in TearDown.
//
// Delivery: every alert once, signed and recorded; a delivery in flight when the server is
// killed; retries after Retry-After and on the schedule; a 410 that ends a subscription.
#include "tests/alerts_e2e_fixture.h"

namespace {

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
    EXPECT_NE(shown.find("cps-hook (webhook " + receiver.Url() + "): delivered, 1 attempt"),
              std::string::npos)
        << shown;
    EXPECT_NE(shown.find("    #1 "), std::string::npos) << shown;
    EXPECT_NE(shown.find("status 200"), std::string::npos) << shown;
  }
  // And over the API.
  Reply list = RequestOnce(port_, "GET", "/api/v1/alerts", inspectorate_);
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
  Reply detail = RequestOnce(port_, "GET", "/api/v1/alerts/" + one, inspectorate_);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const json::value d = json::parse(detail.body);
  const json::array& deliveries = d.at("deliveries").as_array();
  ASSERT_EQ(deliveries.size(), 1u) << detail.body;
  EXPECT_EQ(Str(deliveries[0].as_object(), "state"), "delivered");
  ASSERT_EQ(deliveries[0].at("log").as_array().size(), 1u) << detail.body;
  EXPECT_EQ(deliveries[0].at("log").as_array()[0].at("status"), json::value(200));
  EXPECT_EQ(Str(deliveries[0].as_object(), "target"), receiver.Url());
  // The body whose alert it is sees that it was delivered, not where to: a webhook's URL may
  // hold its secret.
  // Nor does a reader's token made for monitoring, unscoped as it is.
  for (const char* scope : {"--role body_lead --body CPS", "--role reader"}) {
    const std::string token = FirstLine(Cli(std::string("token create ") + scope));
    Reply theirs = RequestOnce(port_, "GET", "/api/v1/alerts/" + one, token);
    ASSERT_EQ(theirs.status, 200) << theirs.body;
    const json::value parsed = json::parse(theirs.body);
    const json::object& seen = parsed.at("deliveries").as_array()[0].as_object();
    EXPECT_EQ(Str(seen, "state"), "delivered");
    EXPECT_EQ(Str(seen, "subscription"), "cps-hook");
    for (const char* hidden : {"target", "last_error", "log"}) {
      EXPECT_FALSE(seen.contains(hidden)) << scope << ": " << hidden << " in " << theirs.body;
    }
  }
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
  EXPECT_NE(shown.find("2 attempts"), std::string::npos) << shown;
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
  EXPECT_NE(shown.find("delivered, 3 attempts"), std::string::npos) << shown;
  const size_t a1 = shown.find("#1 "), a2 = shown.find("#2 "), a3 = shown.find("#3 ");
  ASSERT_TRUE(a1 != std::string::npos && a2 != std::string::npos && a3 != std::string::npos)
      << shown;
  EXPECT_NE(shown.substr(a1, a2 - a1).find("status 503"), std::string::npos) << shown;
  EXPECT_NE(shown.substr(a2, a3 - a2).find("status 500"), std::string::npos) << shown;
  EXPECT_NE(shown.substr(a3).find("status 200"), std::string::npos) << shown;

  Reply detail = RequestOnce(port_, "GET", "/api/v1/alerts/" + id, inspectorate_);
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

  Reply first_detail = RequestOnce(port_, "GET", "/api/v1/alerts/" + first, inspectorate_);
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
  Reply detail = RequestOnce(port_, "GET", "/api/v1/alerts/" + later, inspectorate_);
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

}  // namespace
