// AlertsFor and NextAlertDay (engine/rules.h): the alerts the shipped rules give for
// hand-built recommendations and actions as they are closed, reopened, assessed and met, their
// dedupe keys, and the next alert day found without building them.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/rules.h"
#include "tests/rules_fixture.h"

namespace rectrack {
namespace {

// A recommendation "r1" with milestone "due" (2023-07-31) and the given timeline.
struct Ev {
  const char* effective;
  const char* transition;
  const char* to_state;
};
RecommendationView View(const std::vector<Ev>& events, std::optional<Date> met_on = {},
                        const char* due = "2023-07-31") {
  RecommendationView v;
  v.id = "r1";
  v.as_of = D("2030-01-01");
  v.milestones.push_back({"due", D(due), D(due), met_on.has_value(), met_on, false});
  std::string state;
  int64_t seq = 0;
  for (const auto& e : events) {
    v.timeline.push_back(
        {++seq, D(e.effective), "", e.transition, "body", "", "", "", "", {}, state, e.to_state});
    state = e.to_state;
  }
  return v;
}

class AlertsForTest : public RulesTest {
 protected:
  // Instances of `kind` in [from, to], as "date#occurrence".
  Names Of(const RecommendationView& v, const std::string& kind, const char* from = "2023-01-01",
           const char* to = "2025-03-31") const {
    Names out;
    for (const auto& a : AlertsFor(v, rules_, wf_, D(from), D(to))) {
      if (a.kind == kind) out.push_back(a.due.ToString() + "#" + std::to_string(a.occurrence));
    }
    return out;
  }
  static Names Overdue(const std::vector<int>& ks) {  // every 30 days from 2023-08-01
    Names out;
    for (int k : ks)
      out.push_back(D("2023-08-01").AddDays(30 * k).ToString() + "#" + std::to_string(k));
    return out;
  }
  static std::vector<int> Range(int first, int last) {
    std::vector<int> out;
    for (int k = first; k <= last; ++k) out.push_back(k);
    return out;
  }
};

TEST_F(AlertsForTest, OpenAllAlong) {
  const auto v = View({{"2023-03-01", "issue", "issued"}});
  const auto all = AlertsFor(v, rules_, wf_, D("2023-01-01"), D("2025-03-31"));
  EXPECT_EQ(Of(v, "due_soon"), (Names{"2023-07-01#0", "2023-07-24#1"}));
  // The day after the due date, then every 30 days up to 31 March 2025: 608 days, 21 alerts.
  const Names overdue = Of(v, "overdue");
  ASSERT_EQ(overdue.size(), 21u);
  EXPECT_EQ(overdue.front(), "2023-08-01#0");
  EXPECT_EQ(overdue.back(), "2025-03-23#20");
  EXPECT_EQ(overdue, Overdue(Range(0, 20)));
  EXPECT_EQ(Of(v, "escalation"), Names{"2023-10-29#0"});
  EXPECT_EQ(Of(v, "response_due"), Names{"2023-03-29#0"});  // 20 working days after issue
  EXPECT_TRUE(Of(v, "verification_due").empty());
  ASSERT_EQ(all.size(), 25u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const auto& a, const auto& b) { return a.due < b.due; }));
  EXPECT_EQ(all.front().kind, "response_due");
  EXPECT_EQ(all.front().dedupe_key, "r1/e1/response_due/0");
  EXPECT_EQ(all.front().milestone, "");
  EXPECT_EQ(all[1].dedupe_key, "r1/due/due_soon/0");
  EXPECT_EQ(all[1].to, Names{"owners"});
  EXPECT_EQ(all[1].recommendation, "r1");
}

TEST_F(AlertsForTest, NothingAfterTheMilestoneIsMet) {
  const auto met = View({{"2023-03-01", "issue", "issued"}}, D("2023-10-01"));
  EXPECT_EQ(Of(met, "due_soon").size(), 2u);
  EXPECT_EQ(Of(met, "overdue"), Overdue({0, 1, 2}));
  EXPECT_TRUE(Of(met, "escalation").empty());
  const auto early = View({{"2023-03-01", "issue", "issued"}}, D("2023-07-24"));
  EXPECT_EQ(Of(early, "due_soon"), Names{"2023-07-01#0"});  // met on the day: no alert
  EXPECT_TRUE(Of(early, "overdue").empty());
}

TEST_F(AlertsForTest, NotYetIssuedIsNotAlive) {
  const auto v = View({{"2023-07-10", "issue", "issued"}});
  EXPECT_EQ(Of(v, "due_soon"), Names{"2023-07-24#1"});
}

TEST_F(AlertsForTest, ClosedStopsAlertsAndReopenResumesThem) {
  const std::vector<Ev> closed = {{"2023-03-01", "issue", "issued"},
                                  {"2024-08-15", "close", "closed"}};
  EXPECT_EQ(Of(View(closed), "overdue"), Overdue(Range(0, 12)));  // 2024-07-26 the last
  auto reopened = closed;
  reopened.push_back({"2025-03-06", "assess", "reopened"});
  const auto v = View(reopened);
  auto expected = Overdue(Range(0, 12));
  expected.push_back("2025-03-23#20");
  EXPECT_EQ(Of(v, "overdue"), expected);
  EXPECT_EQ(Of(v, "escalation"), Names{"2023-10-29#0"});
  // Closed 15 August 2024, assessed only on 6 March 2025: verification was due on 15 February.
  EXPECT_EQ(Of(v, "verification_due"), Names{"2025-02-15#0"});
  for (const auto& a : AlertsFor(v, rules_, wf_, D("2025-02-15"), D("2025-02-15"))) {
    EXPECT_EQ(a.dedupe_key, "r1/e2/verification_due/0");
    EXPECT_EQ(a.to, Names{"inspectorate"});
  }
}

TEST_F(AlertsForTest, VerificationDueUnlessAssessedFirst) {
  auto with_assess = [&](const char* day) {
    return View({{"2023-03-01", "issue", "issued"},
                 {"2024-08-15", "close", "closed"},
                 {day, "assess", "verified"}});
  };
  EXPECT_TRUE(Of(with_assess("2024-12-01"), "verification_due").empty());
  EXPECT_TRUE(Of(with_assess("2025-02-15"), "verification_due").empty());
  EXPECT_EQ(Of(with_assess("2025-02-16"), "verification_due"), Names{"2025-02-15#0"});
}

TEST_F(AlertsForTest, ResponseDueUnlessUpdated) {
  auto v = [&](std::vector<Ev> more) {
    more.insert(more.begin(), {"2025-12-19", "issue", "issued"});
    return Of(View(more, {}, "2027-01-01"), "response_due", "2025-01-01", "2026-12-31");
  };
  EXPECT_EQ(v({}), Names{"2026-01-21#0"});  // over Christmas and New Year
  EXPECT_TRUE(v({{"2026-01-21", "update", "issued"}}).empty());
  EXPECT_TRUE(v({{"2025-12-19", "update", "issued"}}).empty());  // same day, after the issue
  EXPECT_EQ(v({{"2026-01-22", "update", "issued"}}), Names{"2026-01-21#0"});
}

TEST_F(AlertsForTest, DedupeKeysAreStableAndUnique) {
  auto v = View({{"2025-02-11", "issue", "issued"}, {"2025-06-02", "update", "issued"}}, {},
                "2025-07-31");
  v.milestones.push_back({"implemented", D("2026-03-31"), D("2026-03-31"), false, {}, false});
  const auto all = AlertsFor(v, rules_, wf_, D("2025-01-01"), D("2026-12-31"));
  std::set<std::string> keys;
  for (const auto& a : all) keys.insert(a.dedupe_key);
  EXPECT_EQ(keys.size(), all.size());
  EXPECT_TRUE(keys.count("r1/due/overdue/0"));
  EXPECT_TRUE(keys.count("r1/implemented/overdue/0"));
  EXPECT_TRUE(keys.count("r1/implemented/due_soon/1"));
  // The same instances, with the same keys, whether asked for at once or in two windows.
  auto first = AlertsFor(v, rules_, wf_, D("2025-01-01"), D("2025-12-31"));
  const auto second = AlertsFor(v, rules_, wf_, D("2026-01-01"), D("2026-12-31"));
  first.insert(first.end(), second.begin(), second.end());
  ASSERT_EQ(first.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(first[i].dedupe_key, all[i].dedupe_key);
    EXPECT_EQ(first[i].due, all[i].due);
  }
}

// NextAlertDay is AlertsFor's first due date, found without building instances. Checked over
// every day of four years for views that exercise each kind of rule, closing and reopening,
// met milestones and two milestones.
TEST_F(AlertsForTest, NextAlertDayIsTheFirstOfAlertsFor) {
  std::vector<RecommendationView> views = {
      View({{"2023-03-01", "issue", "issued"}}),
      View({{"2023-03-01", "issue", "issued"}}, D("2023-10-01")),
      View({{"2023-07-10", "issue", "issued"}}),
      View({{"2023-03-01", "issue", "issued"},
            {"2024-08-15", "close", "closed"},
            {"2025-03-06", "assess", "reopened"}}),
      View({{"2023-03-01", "issue", "issued"},
            {"2024-08-15", "close", "closed"},
            {"2025-02-16", "assess", "verified"}}),
      View({{"2025-12-19", "issue", "issued"}, {"2026-01-22", "update", "issued"}}, {},
           "2027-01-01"),
  };
  auto two = View({{"2025-02-11", "issue", "issued"}, {"2025-06-02", "update", "issued"}}, {},
                  "2025-07-31");
  two.milestones.push_back({"implemented", D("2026-03-31"), D("2026-03-31"), false, {}, false});
  views.push_back(two);
  int found = 0;
  for (size_t i = 0; i < views.size(); ++i) {
    for (Date after = D("2023-01-01"); after <= D("2026-12-31"); after = after.AddDays(1)) {
      for (int horizon : {1, 45, 400}) {
        const Date limit = after.AddDays(horizon);
        const auto all = AlertsFor(views[i], rules_, wf_, after.AddDays(1), limit);
        const std::optional<Date> next = NextAlertDay(views[i], rules_, wf_, after, limit);
        ASSERT_EQ(next.has_value(), !all.empty())
            << "view " << i << " after " << after.ToString() << " horizon " << horizon;
        if (next) {
          ASSERT_EQ(*next, all.front().due)
              << "view " << i << " after " << after.ToString() << " horizon " << horizon;
          ++found;
        }
      }
    }
  }
  EXPECT_GT(found, 1000);
}

// An action "a1" of unit cps-sw under r1, due `due`, with the given timeline.
RecommendationView ActionView(const std::vector<Ev>& events, const char* due = "2025-06-30") {
  RecommendationView v = View(events, {}, due);
  v.id = "a1";
  v.kind = SubjectKind::kAction;
  v.action = ActionInfo{"r1", "cps-sw", ""};
  v.def.owners = {"CPS"};
  return v;
}

TEST_F(AlertsForTest, ActionsHaveTheirOwnRules) {
  auto of = [&](const RecommendationView& v, const std::string& kind) {
    Names out;
    for (const auto& a : AlertsFor(v, rules_, action_wf_, D("2025-01-01"), D("2025-09-30"))) {
      if (a.kind == kind) out.push_back(a.due.ToString() + "#" + std::to_string(a.occurrence));
    }
    return out;
  };
  const auto open = ActionView({{"2025-01-10", "plan", "planned"}});
  const auto all = AlertsFor(open, rules_, action_wf_, D("2025-01-01"), D("2025-09-30"));
  // Only the action rules: 14 days before, then the day after and every 30 days.
  for (const auto& a : all) EXPECT_EQ(a.kind.rfind("action_", 0), 0u) << a.kind;
  EXPECT_EQ(of(open, "action_due_soon"), Names{"2025-06-16#0"});
  EXPECT_EQ(of(open, "action_overdue"),
            (Names{"2025-07-01#0", "2025-07-31#1", "2025-08-30#2", "2025-09-29#3"}));
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().dedupe_key, "a1/due/action_due_soon/0");
  EXPECT_EQ(all.front().recommendation, "a1");
  EXPECT_EQ(all.front().milestone, "due");
  EXPECT_EQ(AudienceOf(all.front(), open.def.owners, open.action->unit), Names{"unit:cps-sw"});
  EXPECT_EQ(AudienceOf(all[1], open.def.owners, open.action->unit), (Names{"unit:cps-sw", "CPS"}));
  // Closed (done) on 15 July: nothing after; reopened on 1 September: overdue again.
  const auto done =
      ActionView({{"2025-01-10", "plan", "planned"}, {"2025-07-15", "close", "done"}});
  EXPECT_EQ(of(done, "action_overdue"), Names{"2025-07-01#0"});
  const auto reopened = ActionView({{"2025-01-10", "plan", "planned"},
                                    {"2025-07-15", "close", "done"},
                                    {"2025-09-01", "reopen", "in_progress"}});
  EXPECT_EQ(of(reopened, "action_overdue"), (Names{"2025-07-01#0", "2025-09-29#3"}));
  // A recommendation gets none of the action rules' alerts.
  const auto rec = View({{"2025-01-10", "issue", "issued"}}, {}, "2025-06-30");
  for (const auto& a : AlertsFor(rec, rules_, wf_, D("2025-01-01"), D("2025-09-30"))) {
    EXPECT_EQ(a.kind.rfind("action_", 0), std::string::npos) << a.kind;
  }
  // NextAlertDay and AlertsToRaise follow the same rules.
  EXPECT_EQ(NextAlertDay(open, rules_, action_wf_, D("2025-01-10"), D("2025-12-31")),
            D("2025-06-16"));
  EXPECT_EQ(NextAlertDay(done, rules_, action_wf_, D("2025-07-01"), D("2025-12-31")), std::nullopt);
  const auto raise = AlertsToRaise(open, rules_, action_wf_, D("2025-01-10"), D("2025-08-01"));
  ASSERT_EQ(raise.size(), 1u);
  EXPECT_EQ(raise[0].dedupe_key, "a1/due/action_overdue/1");
}

}  // namespace
}  // namespace rectrack
