// The alert scheduler's work in turns: a day raised in turns and restarted midway, the first
// pass over the items in turns (serve's start), and histories that cannot be read back, which
// hold a raise rather than lose its alerts. Real SQLite files; a clock the test moves.
#include "tests/alerts_fixture.h"

namespace rectrack {
namespace {

// The turns' tests: AlertsTest, and the end of the day they all raise.
class AlertTurnsTest : public AlertsTest {
 protected:
  // Raises the turns left of 15 August 2025 (at most four), after `raised`, and checks that
  // they and `raised` are that day's three alerts, each once: r1 and s1 came due while the
  // server was down for four months.
  void RaiseTheRestOf15August(V* raised) {
    for (int turn = 0;
         turn < 4 && engine_->NextAlertDay().value_or(D("9999-12-31")) <= D("2025-08-15"); ++turn) {
      for (std::string& key : Raise()) raised->push_back(std::move(key));
    }
    std::sort(raised->begin(), raised->end());
    EXPECT_EQ(*raised,
              (V{"r1/due/escalation/0 late", "r1/due/overdue/4 late", "s1/due/overdue/1 late"}));
  }
};

// A day with more recommendations due than a batch (AlertOptions::raise_batch) is raised in
// turns, the engine free between them; the watermark passes the day only when every one is
// raised, so a restart midway raises the rest, once each, and nothing is lost.
TEST_F(AlertTurnsTest, ADayRaisedInTurnsLosesNothingWhenRestartedMidway) {
  AlertOptions one_at_a_time;
  one_at_a_time.raise_batch = 1;
  ASSERT_TRUE(engine_->StartAlerts(one_at_a_time).ok());
  clock_.Set("2025-04-01T09:00:00Z");
  EXPECT_EQ(Raise(), (V{"r1/due/overdue/0"}));
  engine_.reset();
  clock_.Set("2025-08-15T09:00:00Z");  // down for four months: r1 and s1 are both due
  engine_ = Open();
  ASSERT_TRUE(engine_->StartAlerts(one_at_a_time).ok());
  V raised = Raise();
  ASSERT_FALSE(raised.empty());
  ASSERT_TRUE(engine_->NextAlertDay().has_value());
  EXPECT_LE(*engine_->NextAlertDay(), D("2025-08-15")) << "one recommendation a turn";
  engine_.reset();  // stopped between turns
  engine_ = Open();
  ASSERT_TRUE(engine_->StartAlerts(one_at_a_time).ok());
  RaiseTheRestOf15August(&raised);
  EXPECT_GT(engine_->NextAlertDay().value_or(D("9999-12-31")), D("2025-08-15"));
  engine_.reset();
  engine_ = Open();
  ASSERT_TRUE(engine_->StartAlerts(one_at_a_time).ok());
  EXPECT_TRUE(Raise().empty()) << "the day is done";
}

// serve's start works out the alert days in turns (AlertOptions::first_pass_turn) and answers
// between them: until every item has been looked at, nothing is raised, staged or let go, and
// the watermark stays; then the same alerts are raised, once each, as one pass raises, also for
// items changed between turns (one already looked at, one not yet), and only then are the
// histories let go.
TEST_F(AlertTurnsTest, AFirstPassInTurnsRaisesWhatOnePassWouldAndNothingBefore) {
  // A third recommendation, between r1 and s1 in id order, with nothing due in August.
  auto third = ParseImport(R"(
recommendations:
  - {id: r2, inspection: i1, owners: [CPS], text: "By 30 September 2025, the CPS to do a third."}
events:
  - {rec: r2, do: update, effective: 2025-01-20, by: CPS, note: "started"}
)",
                           "t.yaml", engine_->workflow());
  ASSERT_TRUE(third.ok()) << third.status().message();
  ASSERT_TRUE(engine_->Apply(*third, "test").ok());
  ASSERT_TRUE(engine_->StartAlerts({}).ok());
  EXPECT_TRUE(engine_->alert_days_known()) << "one pass by default";
  EXPECT_TRUE(Raise().empty());
  engine_.reset();
  clock_.Set("2025-08-15T09:00:00Z");  // down for seven months: r1 and s1 are both due
  engine_ = Open();
  const auto watermark = engine_->alert_store().ProcessedThrough();
  ASSERT_TRUE(watermark.ok());
  AlertOptions in_turns;
  in_turns.first_pass_turn = 1;
  in_turns.raise_batch = 1;
  ASSERT_TRUE(engine_->StartAlerts(in_turns).ok());
  EXPECT_FALSE(engine_->alert_days_known());
  EXPECT_EQ(engine_->alert_days_left_to_work_out(), 2u) << "r1 looked at, r2 and s1 not yet";
  EXPECT_EQ(engine_->NextAlertDay(), D("2025-08-15")) << "the pass goes on today";
  ASSERT_TRUE(engine_->StageAlerts(D("2025-08-16")).ok());
  EXPECT_FALSE(engine_->staged_day().has_value());
  ASSERT_TRUE(engine_->KeepHistoriesOut(1 << 20, 1).ok());
  EXPECT_FALSE(*engine_->LetHistoriesGo()) << "let go before the pass replayed them";
  EXPECT_GT(engine_->histories_left_to_look_at(), 0u);

  RecordEvent r1 = ByCpsLead("r1", "update");
  r1.note = "more work";
  RecordEvent s1 = ByCpsLead("s1", "update");
  s1.body = "SFO";
  s1.note = "more work";
  ASSERT_TRUE(engine_->Apply({r1, s1}, "test").ok());
  EXPECT_TRUE(Raise().empty()) << "raised before every item was looked at";
  EXPECT_FALSE(engine_->alert_days_known());
  EXPECT_EQ(engine_->alert_days_left_to_work_out(), 1u);
  EXPECT_EQ(*engine_->alert_store().ProcessedThrough(), *watermark);
  EXPECT_FALSE(*engine_->LetHistoriesGo());

  // The pass's last turn, then the first batch of the day's raise: the histories stay until
  // the day's last.
  V raised = Raise();
  EXPECT_TRUE(engine_->alert_days_known());
  EXPECT_FALSE(*engine_->LetHistoriesGo()) << "let go before the day's alerts were raised";
  RaiseTheRestOf15August(&raised);
  EXPECT_EQ(*engine_->alert_store().ProcessedThrough(), "2025-08-15");
  bool let_go = false;
  for (int turn = 0; turn < 10 && !let_go; ++turn) let_go = *engine_->LetHistoriesGo();
  EXPECT_TRUE(let_go);
}

// Alerts started on an engine whose item index covers every event, the day's raise done and
// so every history let go (not before: KeepHistoriesOut), then r1's rows taken out of the item
// index behind the engine's back, but its first.
class AlertsHistoriesTest : public AlertsTest {
 protected:
  void LetHistoriesGoThenDamageR1() {
    engine_ = Open(/*batch=*/1);
    ASSERT_NE(engine_, nullptr);
    RecordEvent started = ByCpsLead("r1", "update");
    started.effective = D("2025-01-21");
    started.note = "and more";
    ASSERT_TRUE(engine_->Apply({started}, "test").ok());
    ASSERT_TRUE(engine_->StartAlerts({"http://rt.example"}).ok());
    ASSERT_TRUE(engine_->KeepHistoriesOut(1).ok());
    EXPECT_TRUE(Raise().empty());
    ASSERT_TRUE(*engine_->LetHistoriesGo());
    ASSERT_TRUE(DamageHistoryOf((dir_ / "rectrack.db").string(), "r1").ok());
  }
};

// With histories out of memory (as `serve` keeps them), a history the rules cannot read back
// fails the raise, which raises nothing and marks nothing done; the scheduler tries again, and
// once the item index is rebuilt the alert is raised on time. Before, the item was skipped and
// the day marked done: its alert was lost.
TEST_F(AlertsHistoriesTest, AHistoryThatCannotBeReadBackHoldsTheRaiseRatherThanLoseItsAlert) {
  ASSERT_NO_FATAL_FAILURE(LetHistoriesGoThenDamageR1());
  clock_.Set("2025-03-01T00:00:01Z");
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto raised = engine_->RaiseDueAlerts();
    ASSERT_FALSE(raised.ok()) << "attempt " << attempt;
    EXPECT_NE(raised.status().message().find("'r1'"), std::string::npos)
        << raised.status().message();
    EXPECT_EQ(engine_->NextAlertDay(), std::optional(D("2025-03-01"))) << "still due";
  }
  std::unique_ptr<Engine> other = Open();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Rebuild().ok());
  EXPECT_EQ(Raise(), (V{"r1/due/due_soon/0"}));
  ASSERT_TRUE(engine_->NextAlertDay().has_value());
  EXPECT_GT(*engine_->NextAlertDay(), D("2025-03-01")) << "the day is done";
}

// The first pass of alerts started again once histories were let go reads them back: one that
// cannot be read is looked at again when raised (which fails, naming it, until it can), not
// left out of the queue with its alerts.
TEST_F(AlertsHistoriesTest, AHistoryTheFirstPassCannotReadBackIsNotLeftOut) {
  ASSERT_NO_FATAL_FAILURE(LetHistoriesGoThenDamageR1());
  ASSERT_TRUE(engine_->StartAlerts({"http://rt.example"}).ok());  // reads every history back
  EXPECT_TRUE(engine_->alert_days_known());
  clock_.Set("2025-03-01T00:00:01Z");
  auto raised = engine_->RaiseDueAlerts();
  ASSERT_FALSE(raised.ok()) << "r1 left out of the queue";
  EXPECT_NE(raised.status().message().find("'r1'"), std::string::npos) << raised.status().message();
  std::unique_ptr<Engine> other = Open();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Rebuild().ok());
  EXPECT_EQ(Raise(), (V{"r1/due/due_soon/0"}));
}

}  // namespace
}  // namespace rectrack
