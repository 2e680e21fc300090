// The alert scheduler in the Engine: the queue, raising once, catch-up after downtime, re-arming
// after a commit, deliveries per subscription, staging, actions. Real SQLite files; a clock the
// test moves. Raising in turns and the first pass, and histories that cannot be read back, are
// in alerts_turns_test.cpp.
#include "tests/alerts_fixture.h"

namespace rectrack {
namespace {

TEST(AlertQueueTest, EarliestFirstAndSetReplaces) {
  AlertQueue q;
  q.Set("b", D("2025-03-02"));
  q.Set("a", D("2025-03-01"));
  q.Set("c", D("2025-03-05"));
  q.Set("a", D("2025-03-04"));  // replaces a's entry
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(*q.Earliest(), D("2025-03-02"));
  EXPECT_EQ(q.PopThrough(D("2025-03-04")), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(q.size(), 1u);
  q.Erase("c");
  EXPECT_FALSE(q.Earliest().has_value());
  EXPECT_TRUE(q.PopThrough(D("2030-01-01")).empty());
}

TEST(AlertQueueTest, ManyReplacementsStayBounded) {
  AlertQueue q;
  for (int i = 0; i < 100000; ++i) q.Set("r" + std::to_string(i % 10), D("2025-01-01").AddDays(i));
  EXPECT_EQ(q.size(), 10u);
  EXPECT_EQ(*q.Earliest(), D("2025-01-01").AddDays(99990));
  EXPECT_EQ(q.PopThrough(D("2400-01-01")).size(), 10u);
}

TEST(AlertQueueTest, PeekThroughListsWhatPopThroughWouldTake) {
  AlertQueue q;
  std::mt19937 random(7);
  for (int i = 0; i < 5000; ++i) {
    const std::string id = "r" + std::to_string(random() % 700);
    if (random() % 10 == 0) {
      q.Erase(id);
    } else {
      q.Set(id, D("2025-01-01").AddDays(static_cast<int>(random() % 60)));
    }
  }
  for (int day = 0; day < 70; day += 3) {
    const Date through = D("2025-01-01").AddDays(day);
    auto peeked = q.PeekThrough(through);
    const size_t size = q.size();
    AlertQueue copy = q;
    auto popped = copy.PopThrough(through);
    EXPECT_EQ(q.size(), size) << "PeekThrough changed the queue";
    std::sort(peeked.begin(), peeked.end());
    std::sort(popped.begin(), popped.end());
    EXPECT_EQ(peeked, popped) << through.ToString();
  }
}

TEST(UkDayStartTest, GmtAndBst) {
  EXPECT_EQ(FormatInstant(UkDayStart(D("2025-01-15"))), "2025-01-15T00:00:00Z");
  EXPECT_EQ(FormatInstant(UkDayStart(D("2025-07-01"))), "2025-06-30T23:00:00Z");
  EXPECT_EQ(FormatInstant(UkDayStart(D("2025-03-30"))), "2025-03-30T00:00:00Z");  // BST from 01:00
  EXPECT_EQ(FormatInstant(UkDayStart(D("2025-03-31"))), "2025-03-30T23:00:00Z");
  EXPECT_EQ(FormatInstant(UkDayStart(D("2025-10-26"))), "2025-10-25T23:00:00Z");  // BST until 01:00
  EXPECT_EQ(FormatInstant(UkDayStart(D("2025-10-27"))), "2025-10-27T00:00:00Z");
}

TEST_F(AlertsTest, RaisesEachAlertOnceOnItsDay) {
  ASSERT_TRUE(engine_->StartAlerts({"http://rt.example"}).ok());
  EXPECT_TRUE(Raise().empty());
  // response_due is 20 working days after issue (6 Jan), but both recorded an update: ended.
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-03-01"));  // r1: 30 days before 31 March
  clock_.Set("2025-03-01T00:00:01Z");
  EXPECT_EQ(Raise(), (V{"r1/due/due_soon/0"}));
  EXPECT_TRUE(Raise().empty()) << "raised twice";
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-03-24"));
  clock_.Set("2025-03-24T08:00:00Z");
  EXPECT_EQ(Raise(), (V{"r1/due/due_soon/1"}));
  clock_.Set("2025-04-01T00:00:00Z");
  EXPECT_EQ(Raise(), (V{"r1/due/overdue/0"}));
  auto listed = engine_->alert_store().List({});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[2].owners, (V{"CPS"}));
  EXPECT_NE((*listed)[2].payload.find("\"link\":\"http://rt.example/api/v1/recommendations/r1\""),
            std::string::npos)
      << (*listed)[2].payload;
  EXPECT_NE((*listed)[2].payload.find("\"type\":\"alert.overdue\""), std::string::npos);
}

TEST_F(AlertsTest, DeliveriesGoToMatchingSubscriptionsOnly) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-03-01T09:00:00Z");
  Raise();  // due_soon: CPS's hook wants overdue and escalation only
  clock_.Set("2025-04-01T09:00:00Z");
  V raised = Raise();
  ASSERT_EQ(raised, (V{"r1/due/overdue/0"}));
  storage::AlertFilter overdue_only;
  overdue_only.kind = "overdue";
  auto overdue = engine_->alert_store().List(overdue_only);
  ASSERT_TRUE(overdue.ok() && overdue->size() == 1u);
  auto deliveries = engine_->alert_store().Deliveries((*overdue)[0].id);
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_EQ((*deliveries)[0].subscription, "cps-hook");
  EXPECT_EQ((*deliveries)[0].channel, "webhook");
  storage::AlertFilter soon_only;
  soon_only.kind = "due_soon";
  auto soon = engine_->alert_store().List(soon_only);
  ASSERT_TRUE(soon.ok() && !soon->empty());
  EXPECT_EQ(*engine_->alert_store().StateOf((*soon)[0].id), "unsubscribed");
}

TEST_F(AlertsTest, AfterDowntimeEachSeriesIsRaisedOnceAndLate) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-04-01T09:00:00Z");
  // Down since 21 January: due_soon (1 and 24 March) no longer matter once the day has passed;
  // the overdue alert of today does.
  EXPECT_EQ(Raise(), (V{"r1/due/overdue/0"}));
  engine_.reset();
  clock_.Set("2025-08-15T09:00:00Z");  // down again for four months
  engine_ = Open();
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  // r1: overdue repeats on 1 May, 31 May, 30 June, 30 July: only the latest, late; escalation
  // (90 days after 31 March = 29 June), late. s1: due 30 June: overdue 1 July and 31 July,
  // only the latest, late (its due-soon warnings have passed).
  EXPECT_EQ(Raise(),
            (V{"r1/due/escalation/0 late", "r1/due/overdue/4 late", "s1/due/overdue/1 late"}));
  EXPECT_TRUE(Raise().empty());
  // A restart the same day raises nothing again.
  engine_.reset();
  engine_ = Open();
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  EXPECT_TRUE(Raise().empty());
  clock_.Set("2025-08-29T09:00:00Z");
  EXPECT_EQ(Raise(), (V{"r1/due/overdue/5"}));  // s1 repeats from 1 July: 30 August
}

TEST_F(AlertsTest, ACommitReArmsOnlyThatRecommendation) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-04-01T09:00:00Z");
  EXPECT_EQ(Raise(), (V{"r1/due/overdue/0"}));
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-05-01"));
  RecordEvent close = ByCpsLead("r1", "close");
  close.note = "done";
  ASSERT_TRUE(engine_->Apply({close}, "test").ok());
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-04-01")) << "a commit must be looked at today";
  EXPECT_TRUE(Raise().empty());
  // r1 is closed: no more overdue; its next is verification_due six months after the close.
  // s1's first alert is due_soon on 31 May.
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-05-31"));
  clock_.Set("2025-10-01T09:00:00Z");
  V raised = Raise();
  EXPECT_NE(std::find(raised.begin(), raised.end(), "r1/e8/verification_due/0"), raised.end())
      << ::testing::PrintToString(raised);
}

TEST_F(AlertsTest, ABackDatedImportRaisesWhatMattersNow) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-04-10T09:00:00Z");
  Raise();
  // An old recommendation arrives now: its overdue alerts of 2024 are collapsed to the latest.
  auto commands = ParseImport(R"(
recommendations:
  - {id: old1, inspection: i1, owners: [CPS], issued: 2025-01-06, text: "By 31 January 2025, the CPS to act."}
)",
                              "late.yaml", engine_->workflow());
  ASSERT_TRUE(commands.ok()) << commands.status().message();
  ASSERT_TRUE(engine_->Apply(*commands, "test").ok());
  V raised = Raise();
  // Overdue from 1 Feb, again 3 Mar, 2 Apr: the latest only. Escalation is not due until May.
  EXPECT_EQ(raised, (V{"old1/e8/response_due/0 late", "old1/due/overdue/2 late"}));
}

TEST_F(AlertsTest, StagedAlertsAreWrittenAtTheStartOfTheirDay) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-02-28T23:59:58Z");
  EXPECT_TRUE(Raise().empty());
  ASSERT_EQ(*engine_->NextAlertDay(), D("2025-03-01"));
  ASSERT_TRUE(engine_->StageAlerts(D("2025-03-01")).ok());
  EXPECT_EQ(engine_->staged_day(), D("2025-03-01"));
  EXPECT_TRUE(Raise().empty()) << "staged alerts are not due before their day";
  clock_.Set("2025-03-01T00:00:03Z");
  auto raised = engine_->RaiseDueAlerts();
  ASSERT_TRUE(raised.ok()) << raised.status().message();
  ASSERT_EQ(raised->size(), 1u);
  EXPECT_EQ((*raised)[0].dedupe_key, "r1/due/due_soon/0");
  // Taken from the stage: raised at the start of the day, as staged, not 3 s later.
  EXPECT_EQ((*raised)[0].raised, "2025-03-01T00:00:00Z");
  EXPECT_FALSE(engine_->staged_day().has_value()) << "a stage is used once";
  auto stored = engine_->alert_store().Find((*raised)[0].id);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_EQ(stored->payload, (*raised)[0].payload);
  EXPECT_EQ(stored->seq, (*raised)[0].seq);
  EXPECT_TRUE(Raise().empty());
}

TEST_F(AlertsTest, AStagedRecommendationThatChangesIsLookedAtAfresh) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-03-31T12:00:00Z");
  Raise();  // the due-soon warnings
  ASSERT_EQ(*engine_->NextAlertDay(), D("2025-04-01"));
  ASSERT_TRUE(engine_->StageAlerts(D("2025-04-01")).ok());  // r1's overdue/0, to cps-hook
  RecordEvent close = ByCpsLead("r1", "close");
  close.note = "done on the last day";
  ASSERT_TRUE(engine_->Apply({close}, "test").ok());
  EXPECT_TRUE(Raise().empty());
  clock_.Set("2025-04-01T00:00:01Z");
  EXPECT_TRUE(Raise().empty()) << "the staged overdue alert of a closed recommendation was raised";
}

TEST_F(AlertsTest, AChangeRaisedBeforeTheStagedDayStillSetsTheStageAside) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-03-31T12:00:00Z");
  Raise();
  ASSERT_TRUE(engine_->StageAlerts(D("2025-04-01")).ok());  // r1's overdue/0
  RecordEvent update = ByCpsLead("r1", "update");
  update.note = "nearly there";
  ASSERT_TRUE(engine_->Apply({update}, "test").ok());
  EXPECT_TRUE(Raise().empty());  // looks at r1 today, which clears the set of changes
  clock_.Set("2025-04-01T00:00:01Z");
  auto raised = engine_->RaiseDueAlerts();
  ASSERT_TRUE(raised.ok()) << raised.status().message();
  ASSERT_EQ(raised->size(), 1u);
  EXPECT_EQ((*raised)[0].dedupe_key, "r1/due/overdue/0");
  // Computed afresh when raised, not taken from the stage made before the update.
  EXPECT_EQ((*raised)[0].raised, "2025-04-01T00:00:01Z");
}

TEST_F(AlertsTest, AProgressNoteIsNotLookedAtAgainButEndsWhatItEnds) {
  auto commands = ParseImport(R"(
recommendations:
  - {id: n1, inspection: i1, owners: [CPS], issued: 2025-01-21, text: "By 30 June 2026, the CPS to act."}
)",
                              "new.yaml", engine_->workflow());
  ASSERT_TRUE(commands.ok()) << commands.status().message();
  ASSERT_TRUE(engine_->Apply(*commands, "test").ok());
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-02-17T12:00:00Z");
  EXPECT_TRUE(Raise().empty());
  // n1's response_due: 20 working days after its issue, unless the CPS records something.
  ASSERT_EQ(*engine_->NextAlertDay(), D("2025-02-18"));
  ASSERT_TRUE(engine_->StageAlerts(D("2025-02-18")).ok());
  RecordEvent update = ByCpsLead("n1", "update");
  update.note = "plan agreed";
  ASSERT_TRUE(engine_->Apply({update}, "test").ok());
  // A note changes no state, milestone or anchor: nothing can fall due sooner, so n1 is not
  // looked at again today ...
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-02-18"));
  // ... but the note ends n1's response_due, so the staged alert is not raised.
  clock_.Set("2025-02-18T00:00:01Z");
  EXPECT_TRUE(Raise().empty());
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-03-01")) << "r1's due_soon is next";
}

TEST_F(AlertsTest, AnUpdateThatMeetsAMilestoneIsLookedAtAgain) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-03-01T09:00:00Z");
  EXPECT_EQ(Raise(), (V{"r1/due/due_soon/0"}));
  RecordEvent met = ByCpsLead("r1", "update");
  met.fields["met"] = {"due"};
  ASSERT_TRUE(engine_->Apply({met}, "test").ok());
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-03-01")) << "a milestone met must be looked at";
  EXPECT_TRUE(Raise().empty());
  clock_.Set("2025-04-01T09:00:00Z");
  EXPECT_TRUE(Raise().empty()) << "a met milestone is not overdue";
}

TEST_F(AlertsTest, AStagedDeliveryToADisabledSubscriptionIsDropped) {
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  clock_.Set("2025-03-31T12:00:00Z");
  Raise();
  ASSERT_TRUE(engine_->StageAlerts(D("2025-04-01")).ok());
  ASSERT_TRUE(engine_->alert_store()
                  .DisableSubscription("cps-hook", "2025-03-31T13:00:00Z", "410 from the receiver")
                  .ok());
  clock_.Set("2025-04-01T00:00:01Z");
  auto raised = engine_->RaiseDueAlerts();
  ASSERT_TRUE(raised.ok()) << raised.status().message();
  ASSERT_EQ(raised->size(), 1u);
  EXPECT_EQ((*raised)[0].dedupe_key, "r1/due/overdue/0");
  EXPECT_EQ((*raised)[0].raised, "2025-03-31T23:00:00Z");  // UK midnight in summer time
  auto deliveries = engine_->alert_store().Deliveries((*raised)[0].id);
  ASSERT_TRUE(deliveries.ok());
  EXPECT_TRUE(deliveries->empty());
}

// A rule or subscription that names a body (or unit) the database does not hold loads, since
// the body may be imported later, but is said: until then it reaches no one.
TEST_F(AlertsTest, RulesNamingABodyOrUnitThereIsNotAreSaid) {
  engine_.reset();
  std::ofstream(dir_ / "rules" / "typo.yaml") << R"(
alerts:
  - {kind: nudge, before_due: 7 days, to: [owners, everyone]}
subscriptions:
  - {id: nope-hook, body: NOPE, email: nope@example.org}
  - {id: sfo-sw, body: SFO, unit: cps-sw, email: sw@example.org}
)";
  engine_ = Open();
  ASSERT_NE(engine_, nullptr);
  const std::vector<std::string> said = engine_->RulesNamingWhatIsNotHeld();
  ASSERT_EQ(said.size(), 3u);
  const std::string file = (dir_ / "rules" / "typo.yaml").string();
  EXPECT_EQ(said[0], file +
                         ":3:5: alert 'nudge' is addressed to 'everyone', which is no body in "
                         "this database: it reaches no one as 'everyone'");
  EXPECT_EQ(said[1], file +
                         ":5:5: subscription 'nope-hook' is for body 'NOPE', which is no body in "
                         "this database: it gets no alerts");
  EXPECT_EQ(said[2], file +
                         ":6:5: subscription 'sfo-sw' is for unit 'cps-sw', which is no unit of "
                         "SFO in this database: it gets no alerts");
  // The bundled rules and subscriptions (the inspectorate's among them) name nothing amiss.
  std::filesystem::remove(dir_ / "rules" / "typo.yaml");
  engine_.reset();
  engine_ = Open();
  ASSERT_NE(engine_, nullptr);
  EXPECT_EQ(engine_->RulesNamingWhatIsNotHeld(), std::vector<std::string>());
}

// Actions under r1, owned by CPS South West: their due dates feed the same scheduler, by the
// action rules of rules/alerts.yaml (due soon 14 days before, to the unit; overdue the day
// after, to the unit and the body).
TEST_F(AlertsTest, ActionsAlertTheirUnitAndBodyUntilClosedAndFollowAReschedule) {
  engine_.reset();
  std::ofstream(dir_ / "rules" / "units.yaml") << R"(
subscriptions:
  - {id: sw-hook, body: CPS, unit: cps-sw, webhook: "http://127.0.0.1:9/sw", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
  - {id: cps-actions, body: CPS, kinds: [action_overdue], email: actions@cps.example}
)";
  engine_ = Open();
  ASSERT_NE(engine_, nullptr);
  ASSERT_NE(engine_->action_workflow(), nullptr);
  auto import = [&](const char* yaml) {
    auto commands =
        ParseImport(yaml, "actions.yaml", engine_->workflow(), engine_->action_workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    auto applied = engine_->Apply(*commands, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
  };
  import(R"(
units:
  - {id: cps-sw, body: CPS, name: CPS South West}
actions:
  - {id: r1-a1, rec: r1, unit: cps-sw, planned: 2025-01-20, by: CPS, due: 2025-05-31,
     title: Train the Area's lawyers}
)");
  // Planned before the scheduler starts: in its first queue.
  ASSERT_TRUE(engine_->StartAlerts({"http://rt.example"}).ok());
  EXPECT_EQ(engine_->QueuedRecommendations(), 3u);  // r1, s1, r1-a1
  EXPECT_TRUE(Raise().empty());
  // Planned after: noted as changed.
  import(R"(
actions:
  - {id: r1-a2, rec: r1, unit: cps-sw, planned: 2025-01-21, by: CPS, due: 2025-04-30,
     title: Agree a casework quality plan}
)");
  EXPECT_TRUE(Raise().empty());
  EXPECT_EQ(engine_->QueuedRecommendations(), 4u);

  auto actions_only = [](V keys) {
    std::erase_if(keys, [](const std::string& k) { return k.rfind("r1-a", 0) != 0; });
    return keys;
  };
  auto deliveries_of = [&](const std::string& alert_id) {
    V subs;
    auto deliveries = engine_->alert_store().Deliveries(alert_id);
    EXPECT_TRUE(deliveries.ok());
    if (deliveries.ok()) {
      for (const auto& d : *deliveries) subs.push_back(d.subscription);
    }
    std::sort(subs.begin(), subs.end());
    return subs;
  };
  auto find = [&](const std::string& key) {
    auto alert = engine_->alert_store().Find(storage::AlertIdFor(key));
    EXPECT_TRUE(alert.ok()) << key << ": " << alert.status().message();
    return alert.ok() ? *alert : storage::AlertRecord{};
  };

  clock_.Set("2025-04-15T12:00:00Z");
  EXPECT_TRUE(actions_only(Raise()).empty()) << "a day early";
  clock_.Set("2025-04-16T00:00:01Z");  // 14 days before 30 April
  EXPECT_EQ(actions_only(Raise()), (V{"r1-a2/due/action_due_soon/0"}));
  const storage::AlertRecord soon = find("r1-a2/due/action_due_soon/0");
  EXPECT_EQ(soon.recommendation, "r1-a2");  // the action's id, in the recommendation column
  EXPECT_EQ(soon.milestone, "due");
  EXPECT_EQ(soon.owners, V{"CPS"});
  EXPECT_EQ(soon.audience, V{"unit:cps-sw"});
  for (const char* part :
       {"\"type\":\"alert.action_due_soon\"", "\"subject\":\"action\"", "\"recommendation\":\"r1\"",
        "\"action\":\"r1-a2\"", "\"unit\":\"cps-sw\"", "\"text\":\"Agree a casework quality plan\"",
        "\"link\":\"http://rt.example/api/v1/actions/r1-a2\""}) {
    EXPECT_NE(soon.payload.find(part), std::string::npos) << part << " in " << soon.payload;
  }
  // To the unit only: not CPS's hook (wrong kinds and not in the audience), not the body's.
  EXPECT_EQ(deliveries_of(soon.id), V{"sw-hook"});

  clock_.Set("2025-05-01T08:00:00Z");  // the day after 30 April
  EXPECT_EQ(actions_only(Raise()), (V{"r1-a2/due/action_overdue/0"}));
  const storage::AlertRecord overdue = find("r1-a2/due/action_overdue/0");
  EXPECT_EQ(overdue.audience, (V{"unit:cps-sw", "CPS"}));
  EXPECT_EQ(deliveries_of(overdue.id), (V{"cps-actions", "sw-hook"}));

  // Closed: no more overdue alerts. Rescheduled: r1-a1's alerts move with its due date.
  clock_.Set("2025-05-02T08:00:00Z");
  import(R"(
events:
  - {action: r1-a2, do: close, effective: 2025-05-02, by: CPS, note: Agreed}
  - {action: r1-a1, do: reschedule, effective: 2025-05-02, by: CPS, due: 2025-07-31,
     reason: Trainers not free until July}
)");
  EXPECT_TRUE(actions_only(Raise()).empty());
  for (const char* day : {"2025-05-17T08:00:00Z", "2025-05-31T08:00:00Z", "2025-06-01T08:00:00Z",
                          "2025-06-30T08:00:00Z", "2025-07-16T08:00:00Z"}) {
    clock_.Set(day);
    EXPECT_TRUE(actions_only(Raise()).empty()) << day;
  }
  clock_.Set("2025-07-17T08:00:00Z");  // 14 days before the new due date
  EXPECT_EQ(actions_only(Raise()), (V{"r1-a1/due/action_due_soon/0"}));
  clock_.Set("2025-08-01T08:00:00Z");
  EXPECT_EQ(actions_only(Raise()), (V{"r1-a1/due/action_overdue/0"}));

  // `rectrack rules ID` for an action: its alerts by the action rules only.
  auto alerts = engine_->Alerts("r1-a1", D("2025-12-31"));
  ASSERT_TRUE(alerts.ok()) << alerts.status().message();
  V keys;
  for (const auto& a : *alerts) keys.push_back(a.dedupe_key + "@" + a.due.ToString());
  EXPECT_EQ(keys,
            (V{"r1-a1/due/action_due_soon/0@2025-07-17", "r1-a1/due/action_overdue/0@2025-08-01",
               "r1-a1/due/action_overdue/1@2025-08-31", "r1-a1/due/action_overdue/2@2025-09-30",
               "r1-a1/due/action_overdue/3@2025-10-30", "r1-a1/due/action_overdue/4@2025-11-29",
               "r1-a1/due/action_overdue/5@2025-12-29"}));
  EXPECT_EQ(engine_->Alerts("nope", {}).status().code(), Code::kNotFound);
}

TEST_F(AlertsTest, AStagedActionThatIsClosedRaisesNothing) {
  auto import = [&](const char* yaml) {
    auto commands =
        ParseImport(yaml, "actions.yaml", engine_->workflow(), engine_->action_workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    auto applied = engine_->Apply(*commands, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
  };
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  import(R"(
units:
  - {id: cps-sw, body: CPS, name: CPS South West}
actions:
  - {id: r1-a1, rec: r1, unit: cps-sw, planned: 2025-01-21, by: CPS, due: 2025-02-28,
     title: Train the Area's lawyers}
)");
  EXPECT_TRUE(Raise().empty());
  EXPECT_EQ(*engine_->NextAlertDay(), D("2025-02-14"));  // 14 days before 28 February
  clock_.Set("2025-02-13T23:59:58Z");
  ASSERT_TRUE(engine_->StageAlerts(D("2025-02-14")).ok());
  import(R"(
events:
  - {action: r1-a1, do: close, effective: 2025-02-13, by: CPS, note: Done early}
)");
  EXPECT_TRUE(Raise().empty());
  clock_.Set("2025-02-14T00:00:01Z");
  EXPECT_TRUE(Raise().empty()) << "the staged due-soon alert of a closed action was raised";
  clock_.Set("2025-03-01T09:00:00Z");
  EXPECT_EQ(Raise(), (V{"r1/due/due_soon/0"}));  // and no action_overdue
}

TEST_F(AlertsTest, NotStartedMeansNothingQueued) {
  EXPECT_FALSE(engine_->NextAlertDay().has_value());
  EXPECT_FALSE(engine_->RaiseDueAlerts().ok());
  auto no_rules = Engine::Open({(dir_ / "other.db").string(),
                                kSource + "/workflows/recommendation.yaml", &clock_, true, ""});
  ASSERT_TRUE(no_rules.ok());
  EXPECT_EQ((*no_rules)->StartAlerts({}).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace rectrack
