// Tests of rules: offsets, the shipped rules and calendar, working days and month arithmetic,
// and the loader's refusals (each with its file:line:col). The alerts the rules give for
// recommendations and actions: alerts_for_test.cpp.
#include "engine/rules.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/rules_fixture.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system's temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "rules_test.XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) const {
    fs::create_directories((fs::path(dir_) / rel).parent_path());
    std::ofstream(fs::path(dir_) / rel) << text;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

TEST(ParseOffsetTest, ReadsTheThreeUnits) {
  auto o = ParseOffset("20 working days");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->amount, 20);
  EXPECT_EQ(o->unit, Offset::Unit::kWorkingDays);
  EXPECT_EQ(o->text, "20 working days");
  EXPECT_EQ(ParseOffset("1 day")->unit, Offset::Unit::kDays);
  EXPECT_EQ(ParseOffset("6 months")->unit, Offset::Unit::kMonths);
  EXPECT_EQ(ParseOffset("1 month")->amount, 1);
  EXPECT_EQ(ParseOffset("1 working day")->amount, 1);
  EXPECT_EQ(ParseOffset("0 days")->amount, 0);
  EXPECT_EQ(ParseOffset("10000 days")->amount, 10000);
}

TEST(ParseOffsetTest, RefusesAnythingElse) {
  auto bad = ParseOffset("3 weeks");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "bad offset '3 weeks' (use N days, N months or N working days)");
  for (const char* text : {"", "30", "days", "30  days", " 30 days", "30 days ", "30 Days",
                           "-1 days", "+1 days", "10001 days", "030 days", "1.5 days",
                           "20 workingdays", "20 working  days", "99999999999 days"}) {
    EXPECT_FALSE(ParseOffset(text).ok()) << "'" << text << "'";
  }
}

TEST_F(RulesTest, ShippedRulesLoad) {
  Names kinds;
  for (const auto& a : rules_.alerts()) kinds.push_back(a.kind);
  EXPECT_EQ(kinds, (Names{"due_soon", "overdue", "escalation", "verification_due", "response_due",
                          "action_due_soon", "action_overdue"}));
  for (size_t i = 0; i < rules_.alerts().size(); ++i) {
    EXPECT_EQ(rules_.alerts()[i].subject,
              i < 5 ? SubjectKind::kRecommendation : SubjectKind::kAction)
        << rules_.alerts()[i].kind;
  }
  EXPECT_EQ(rules_.alerts()[5].before_due[0].text, "14 days");
  EXPECT_EQ(rules_.alerts()[5].to, Names{"unit"});
  EXPECT_EQ(rules_.alerts()[6].after_due->text, "1 day");
  EXPECT_EQ(rules_.alerts()[6].to, (Names{"unit", "owners"}));
  const AlertRule& soon = rules_.alerts()[0];
  ASSERT_EQ(soon.before_due.size(), 2u);
  EXPECT_EQ(soon.before_due[1].text, "7 days");
  EXPECT_EQ(soon.where, kSourceDir + "/rules/alerts.yaml:10:5");
  EXPECT_EQ(rules_.alerts()[1].repeat->amount, 30);
  EXPECT_EQ(rules_.alerts()[3].until,
            (std::vector<std::string>{"assess", "reopen", "supersede", "withdraw"}));
  EXPECT_EQ(rules_.alerts()[3].offset->unit, Offset::Unit::kMonths);
  EXPECT_EQ(rules_.alerts()[4].to, Names{"owners"});
  EXPECT_EQ(cal().name(), "england-and-wales");
  EXPECT_EQ(cal().covers_from(), D("2020-01-01"));
  EXPECT_EQ(cal().covers_to(), D("2030-12-31"));
}

TEST_F(RulesTest, CalendarKnowsHolidaysAndWeekends) {
  for (const char* day : {"2025-12-25", "2025-12-26", "2026-12-28", "2025-12-20", "2025-12-21",
                          "2026-01-01", "1970-01-03"}) {
    EXPECT_FALSE(cal().IsWorkingDay(D(day))) << day;
  }
  // 1970-01-01, day 0 of the epoch, was a Thursday; outside the coverage only weekends count.
  for (const char* day : {"2026-12-29", "2025-12-19", "2025-12-22", "1970-01-01"}) {
    EXPECT_TRUE(cal().IsWorkingDay(D(day))) << day;
  }
}

TEST_F(RulesTest, AddWorkingDaysSkipsWeekendsAndHolidays) {
  // From Friday 19 December 2025: Mon 22 - Wed 24 (3), Christmas and Boxing Day, the weekend,
  // Mon 29 - Wed 31 (6), New Year's Day, Fri 2 (7), then 13 more weekdays: Wed 21 January.
  EXPECT_EQ(*cal().AddWorkingDays(D("2025-12-19"), 20), D("2026-01-21"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2025-12-19"), 0), D("2025-12-19"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2025-12-20"), 1), D("2025-12-22"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2025-12-29"), -1), D("2025-12-24"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2026-01-05"), -3), D("2025-12-30"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2026-01-21"), -20), D("2025-12-19"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2026-12-24"), 2), D("2026-12-30"));
  // Across the coverage's ends only weekends count beyond it (New Year's Day 2031 is a working
  // day: no holiday is known there), so no alert is lost there.
  EXPECT_EQ(*cal().AddWorkingDays(D("2030-12-20"), 20), D("2031-01-21"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2020-01-02"), -5), D("2019-12-25"));
  EXPECT_EQ(*cal().AddWorkingDays(D("2030-12-31"), 1), D("2031-01-01"));
}

TEST_F(RulesTest, ShiftByDaysMonthsAndWorkingDays) {
  EXPECT_EQ(Shift("2024-01-31", "1 month"), D("2024-02-29"));
  EXPECT_EQ(Shift("2023-01-31", "1 month"), D("2023-02-28"));
  EXPECT_EQ(Shift("2025-03-31", "1 month", -1), D("2025-02-28"));
  EXPECT_EQ(Shift("2024-03-31", "1 month", -1), D("2024-02-29"));
  EXPECT_EQ(Shift("2024-02-29", "12 months"), D("2025-02-28"));
  EXPECT_EQ(Shift("2024-02-29", "48 months"), D("2028-02-29"));
  EXPECT_EQ(Shift("2024-02-29", "1 month"), D("2024-03-29"));
  EXPECT_EQ(Shift("2023-11-30", "3 months"), D("2024-02-29"));
  EXPECT_EQ(Shift("2025-01-15", "13 months", -1), D("2023-12-15"));
  EXPECT_EQ(Shift("2024-08-15", "6 months"), D("2025-02-15"));
  EXPECT_EQ(Shift("2024-02-28", "1 day"), D("2024-02-29"));
  EXPECT_EQ(Shift("2025-03-01", "1 day", -1), D("2025-02-28"));
  EXPECT_EQ(Shift("2023-07-31", "0 days"), D("2023-07-31"));
  EXPECT_EQ(Shift("2025-12-19", "20 working days"), D("2026-01-21"));
  EXPECT_EQ(Shift("2026-01-21", "20 working days", -1), D("2025-12-19"));
  EXPECT_FALSE(rules_.Shift(D("9999-12-01"), *ParseOffset("1 month"), 1).ok());
  EXPECT_EQ(Shift("2030-12-31", "1 working day"), D("2031-01-01"));  // beyond: weekends only
  EXPECT_FALSE(rules_.Shift(D("9999-12-31"), *ParseOffset("1 working day"), 1).ok());
}

TEST(RulesLoadTest, MissingDirIsNotFoundAndEmptyDirLoadsNothing) {
  const Workflow wf = ShippedWorkflow();
  auto missing = Rules::LoadDir("/nonexistent/rules", wf);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  TempDir tmp;
  auto empty = Rules::LoadDir(tmp.dir(), wf);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->alerts().empty());
  EXPECT_EQ(empty->calendar(), nullptr);
  EXPECT_FALSE(empty->Shift(D("2025-01-01"), *ParseOffset("1 working day"), 1).ok());
}

// A small valid rules directory; each case below changes one file and expects one refusal.
const std::string kCalendar =                       // line
    "calendar: test\n"                              // 1
    "weekend: [saturday, sunday]\n"                 // 2
    "covers: {from: 2025-01-01, to: 2025-12-31}\n"  // 3
    "holidays:\n"                                   // 4
    "  - {date: 2025-12-25, name: Christmas}\n";    // 5
const std::string kAlerts =                         //
    "calendar: test\n"                              // 1
    "alerts:\n"                                     // 2
    "  - kind: soon\n"                              // 3
    "    before_due: [7 days]\n"                    // 4
    "    to: [owners]\n";                           // 5
const std::string kVerify =                         // appended to kAlerts, from line 6
    "  - kind: verify\n"                            // 6
    "    after_event: close\n"                      // 7
    "    offset: 6 months\n"                        // 8
    "    until: assess\n"                           // 9
    "    to: [inspectorate]\n";                     // 10

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Each case writes one file over the valid directory; the error names that file first.
struct LoadErrorCase {
  std::string where;  // "alerts.yaml:4:5": the file written and the position of the error
  std::string text;   // the file's new text
  Names words;
};

TEST(RulesLoadTest, RefusesBadRulesWithPositions) {
  const Workflow wf = ShippedWorkflow();
  const std::string a = "alerts.yaml:", c = "calendars/cal.yaml:";
  const std::vector<LoadErrorCase> cases = {
      {a + "4:5", Replace(kAlerts, "before_due", "befor_due"), {"unknown key 'befor_due'"}},
      {a + "2:1", Replace(kAlerts, "alerts:", "alert:"), {"unknown key 'alert'"}},
      {a + "4:26",
       Replace(kAlerts, "[7 days]", "[7 days, 3 weeks]"),
       {"bad offset '3 weeks' (use N days, N months or N working days)"}},
      {a + "4:26", Replace(kAlerts, "[7 days]", "[7 days, 7 days]"), {"'7 days' is listed twice"}},
      {a + "9:12",
       kAlerts + Replace(kVerify, "until: assess", "until: asses"),
       {"unknown transition 'asses' in until", "assess"}},
      {a + "7:18",
       kAlerts + Replace(kVerify, "after_event: close", "after_event: shut"),
       {"unknown transition 'shut' in after_event"}},
      {a + "6:5",
       kAlerts + Replace(kVerify, "    offset: 6 months\n", ""),
       {"after_event needs an offset"}},
      {a + "5:5",
       Replace(kAlerts, "    to:", "    after_due: 1 day\n    to:"),
       {"two anchors (before_due and after_due)"}},
      {a + "3:5",
       Replace(kAlerts, "    before_due: [7 days]\n", ""),
       {"alert 'soon' needs one anchor"}},
      {a + "5:13",
       Replace(kAlerts, "    to:", "    repeat: 30 days\n    to:"),
       {"repeat goes with after_due"}},
      {a + "5:13",
       Replace(kAlerts, "before_due: [7 days]", "after_due: 1 day\n    repeat: 0 days"),
       {"repeat must be more than 0"}},
      {a + "5:9", Replace(kAlerts, "[owners]", "[]"), {"at least one audience"}},
      {a + "5:9", Replace(kAlerts, "[owners]", "[owners, 'a b']"), {"bad audience 'a b'"}},
      {a + "6:11",
       kAlerts + "  - kind: soon\n    after_due: 1 day\n    to: [owners]\n",
       {"duplicate alert kind 'soon'", "alerts.yaml:3:5"}},
      {"more.yaml:2:12",
       "alerts:\n  - {kind: soon, after_due: 1 day, to: [owners]}\n",
       {"duplicate alert kind 'soon'"}},
      {a + "1:11",
       Replace(kAlerts, "calendar: test", "calendar: uk"),
       {"unknown calendar 'uk'", "test"}},
      {"more.yaml:1:11", "calendar: test\n", {"already chosen at", "alerts.yaml:1:11"}},
      {a + "3:18",
       Replace(Replace(kAlerts, "calendar: test\n", ""), "7 days", "5 working days"),
       {"'5 working days' needs a calendar"}},
      {a + "4:18",
       Replace(kAlerts, "7 days", "300 working days"),
       {"more than calendar 'test' covers"}},
      {a + "6:1", Replace(kAlerts, "[owners]", "[owners"), {"malformed YAML"}},
      {c + "5:12",
       Replace(kCalendar, "2025-12-25", "2026-12-25"),
       {"holiday 2026-12-25 is outside", "2025-01-01 to 2025-12-31"}},
      {c + "6:12", kCalendar + "  - {date: 2025-12-25, name: Again}\n", {"listed twice"}},
      {c + "5:12", Replace(kCalendar, "2025-12-25", "2025-02-30"), {"must be a real date"}},
      {c + "2:21", Replace(kCalendar, "sunday", "sundy"), {"unknown weekday 'sundy'"}},
      {c + "3:32",
       Replace(kCalendar, "to: 2025-12-31", "to: 2024-12-31"),
       {"covers.to is before covers.from"}},
      {c + "1:1", Replace(kCalendar, "weekend: [saturday, sunday]\n", ""), {"missing 'weekend'"}},
      {"calendars/zz.yaml:1:11", kCalendar, {"duplicate calendar 'test'", "cal.yaml:1:11"}},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.where + " " + bad.words[0]);
    TempDir tmp;
    tmp.Write("calendars/cal.yaml", kCalendar);
    tmp.Write("alerts.yaml", kAlerts);
    tmp.Write(bad.where.substr(0, bad.where.find(':')), bad.text);
    auto loaded = Rules::LoadDir(tmp.dir(), wf);
    ASSERT_FALSE(loaded.ok());
    const std::string& msg = loaded.status().message();
    EXPECT_EQ(loaded.status().code(), Code::kInvalidArgument) << msg;
    EXPECT_EQ(msg.rfind(tmp.dir() + "/" + bad.where + ": ", 0), 0u) << msg;
    for (const auto& w : bad.words)
      EXPECT_NE(msg.find(w), std::string::npos) << w << " in: " << msg;
  }
}

// An action rule appended to kAlerts, from line 6.
const std::string kActionRule =    //
    "  - kind: act\n"              // 6
    "    subject: action\n"        // 7
    "    after_event: plan\n"      // 8
    "    offset: 30 days\n"        // 9
    "    until: [start, close]\n"  // 10
    "    to: [unit, owners]\n";    // 11

Result<Rules> LoadWith(const std::string& alerts, const Workflow& wf, const Workflow* action_wf,
                       const std::string& more = "") {
  TempDir tmp;
  tmp.Write("calendars/cal.yaml", kCalendar);
  tmp.Write("alerts.yaml", alerts);
  if (!more.empty()) tmp.Write("more.yaml", more);
  auto loaded = Rules::LoadDir(tmp.dir(), wf, action_wf);
  if (!loaded.ok()) {
    // Without the temporary directory, so that positions compare.
    std::string msg = loaded.status().message();
    if (msg.rfind(tmp.dir() + "/", 0) == 0) msg = msg.substr(tmp.dir().size() + 1);
    return Status::InvalidArgument(msg);
  }
  return loaded;
}

TEST(RulesLoadTest, ActionRulesNameTheActionWorkflowsTransitions) {
  const Workflow wf = ShippedWorkflow();
  const Workflow action_wf = ShippedActionWorkflow();
  auto loaded = LoadWith(kAlerts + kActionRule, wf, &action_wf);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->alerts().size(), 2u);
  EXPECT_EQ(loaded->alerts()[0].subject, SubjectKind::kRecommendation);  // the default
  const AlertRule& act = loaded->alerts()[1];
  EXPECT_EQ(act.subject, SubjectKind::kAction);
  EXPECT_EQ(act.after_event, "plan");
  EXPECT_EQ(act.until, (Names{"start", "close"}));
  EXPECT_EQ(act.to, (Names{"unit", "owners"}));
  // `subject: recommendation` may be said out loud.
  auto explicit_rec =
      LoadWith(Replace(kAlerts, "    to:", "    subject: recommendation\n    to:"), wf, nullptr);
  ASSERT_TRUE(explicit_rec.ok()) << explicit_rec.status().message();
  EXPECT_EQ(explicit_rec->alerts()[0].subject, SubjectKind::kRecommendation);
  // Due-date rules for actions need no action workflow; event rules do.
  auto due_only = LoadWith(
      kAlerts + "  - {kind: act, subject: action, after_due: 1 day, to: [unit]}\n", wf, nullptr);
  ASSERT_TRUE(due_only.ok()) << due_only.status().message();
  EXPECT_EQ(due_only->alerts()[1].subject, SubjectKind::kAction);
}

TEST(RulesLoadTest, RefusesBadSubjectsAndUnitsWithPositions) {
  const Workflow wf = ShippedWorkflow();
  const Workflow action_wf = ShippedActionWorkflow();
  struct Case {
    std::string where;
    std::string alerts;
    Names words;
    bool with_action_workflow = true;
    std::string more{};
  };
  const std::vector<Case> cases = {
      {"alerts.yaml:7:14",
       kAlerts + Replace(kActionRule, "subject: action", "subject: actions"),
       {"alert 'act': unknown subject 'actions' (use recommendation or action)"}},
      {"alerts.yaml:8:18",
       kAlerts + Replace(kActionRule, "after_event: plan", "after_event: issue"),
       {"unknown transition 'issue' in after_event", "workflow 'action' has:", "reschedule"}},
      {"alerts.yaml:10:20",
       kAlerts + Replace(kActionRule, "[start, close]", "[start, assess]"),
       {"unknown transition 'assess' in until", "workflow 'action'"}},
      {"alerts.yaml:5:9",
       Replace(kAlerts, "[owners]", "[unit]"),
       {"alert 'soon': audience 'unit' is for actions only (add subject: action)"}},
      {"alerts.yaml:8:18",
       kAlerts + kActionRule,
       {"alert 'act': after_event on actions needs the action workflow"},
       false},
      {"more.yaml:2:40",
       kAlerts,
       {"subscription 's1': a unit belongs to a body, not to the inspectorate"},
       true,
       "subscriptions:\n  - {id: s1, body: inspectorate, unit: cps-sw, email: a@b.example}\n"},
      {"more.yaml:2:31",
       kAlerts,
       {"subscription 's1': bad unit 'a b'"},
       true,
       "subscriptions:\n  - {id: s1, body: CPS, unit: 'a b', email: a@b.example}\n"},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.where + " " + bad.words[0]);
    auto loaded =
        LoadWith(bad.alerts, wf, bad.with_action_workflow ? &action_wf : nullptr, bad.more);
    ASSERT_FALSE(loaded.ok());
    const std::string& msg = loaded.status().message();
    EXPECT_EQ(msg.rfind(bad.where + ": ", 0), 0u) << msg;
    for (const auto& w : bad.words)
      EXPECT_NE(msg.find(w), std::string::npos) << w << " in: " << msg;
  }
}

// A webhook secret follows Standard Webhooks (whsec_ and the base64 of 24 to 64 bytes), or the
// rules are refused at their line: receivers decode it, so anything else fails every delivery.
TEST(RulesLoadTest, AWebhookSecretMustBeWhsecAndTheBase64Of24To64Bytes) {
  const Workflow wf = ShippedWorkflow();
  auto with = [&](const std::string& secret) {
    return LoadWith(kAlerts, wf, nullptr,
                    "subscriptions:\n  - {id: hook, body: CPS, webhook: \"https://h.example/x\", "
                    "secret: \"" +
                        secret + "\"}\n");
  };
  EXPECT_TRUE(with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok());    // 24 bytes
  EXPECT_TRUE(with("whsec_" + std::string(86, 'A') + "==").ok());      // 64 bytes
  for (const std::string& bad : {std::string("0123456789abcdef0123"),  // no prefix
                                 std::string("whsec_not base64 at all!"),
                                 std::string("whsec_MfKQ9r8GKYqrTwjU"),  // 15 bytes
                                 "whsec_" + std::string(88, 'A')}) {     // 66 bytes
    auto loaded = with(bad);
    ASSERT_FALSE(loaded.ok()) << bad;
    const std::string& msg = loaded.status().message();
    EXPECT_EQ(msg.rfind("more.yaml:2:", 0), 0u) << msg;
    EXPECT_NE(msg.find("subscription 'hook': a webhook secret is whsec_ followed by the base64 "
                       "of 24 to 64 random bytes"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("rectrack webhook-secret"), std::string::npos) << msg;
  }
}

TEST(RulesLoadTest, UnitSubscriptionsHearTheirUnitOnly) {
  const Workflow wf = ShippedWorkflow();
  auto loaded = LoadWith(kAlerts, wf, nullptr,
                         "subscriptions:\n"
                         "  - {id: sw, body: CPS, unit: cps-sw, email: sw@cps.example}\n"
                         "  - {id: cps, body: CPS, email: hq@cps.example}\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->subscriptions().size(), 2u);
  const Subscription& sw = loaded->subscriptions()[0];
  const Subscription& cps = loaded->subscriptions()[1];
  EXPECT_EQ(sw.unit, "cps-sw");
  EXPECT_EQ(cps.unit, "");
  EXPECT_TRUE(sw.Hears({"unit:cps-sw"}));
  EXPECT_FALSE(sw.Hears({"CPS"}));
  EXPECT_FALSE(sw.Hears({"unit:cps-yh", "inspectorate"}));
  EXPECT_TRUE(cps.Hears({"unit:cps-sw", "CPS"}));
  EXPECT_FALSE(cps.Hears({"unit:cps-sw"}));
}

TEST(AudienceOfTest, UnitIsTheOwningUnitOrElseTheBody) {
  AlertInstance instance;
  instance.to = {"unit", "owners", "inspectorate"};
  EXPECT_EQ(AudienceOf(instance, {"CPS"}, "cps-sw"), (Names{"unit:cps-sw", "CPS", "inspectorate"}));
  EXPECT_EQ(AudienceOf(instance, {"CPS"}, ""), (Names{"CPS", "inspectorate"}));
  instance.to = {"owners"};
  EXPECT_EQ(AudienceOf(instance, {"CPS", "SFO"}, "cps-sw"), (Names{"CPS", "SFO"}));
}

}  // namespace
}  // namespace rectrack
