// Tests of rules: offsets, the shipped rules and calendar, working days and month arithmetic, the
// loader's refusals (each with its file:line:col), and the alerts of hand-built recommendations.
#include "engine/rules.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rectrack {
namespace {

namespace fs = std::filesystem;
using Names = std::vector<std::string>;

const std::string kSourceDir = RECTRACK_SOURCE_DIR;

Date D(const char* iso) { return *Date::Parse(iso); }

Workflow ShippedWorkflow() {
  auto wf = Workflow::LoadFile(kSourceDir + "/workflows/recommendation.yaml");
  EXPECT_TRUE(wf.ok()) << wf.status().message();
  return std::move(wf).value();
}

Workflow ShippedActionWorkflow() {
  auto wf = Workflow::LoadFile(kSourceDir + "/workflows/action.yaml");
  EXPECT_TRUE(wf.ok()) << wf.status().message();
  return std::move(wf).value();
}

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

class RulesTest : public testing::Test {
 protected:
  void SetUp() override {
    auto rules = Rules::LoadDir(kSourceDir + "/rules", wf_, &action_wf_);
    ASSERT_TRUE(rules.ok()) << rules.status().message();
    rules_ = std::move(rules).value();
    ASSERT_NE(rules_.calendar(), nullptr);
  }
  const Calendar& cal() const { return *rules_.calendar(); }
  Date Shift(const char* day, const char* offset, int sign = 1) const {
    auto moved = rules_.Shift(D(day), *ParseOffset(offset), sign);
    EXPECT_TRUE(moved.ok()) << moved.status().message();
    return moved.ok() ? *moved : Date();
  }

  Workflow wf_ = ShippedWorkflow();
  Workflow action_wf_ = ShippedActionWorkflow();
  Rules rules_;
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
  for (auto [day, n] : {std::pair{"2030-12-20", 20}, {"2020-01-02", -5}, {"2030-12-31", 1}}) {
    auto out = cal().AddWorkingDays(D(day), n);
    ASSERT_FALSE(out.ok()) << day << " " << n;
    EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
    EXPECT_NE(out.status().message().find("england-and-wales"), std::string::npos);
  }
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
  EXPECT_FALSE(rules_.Shift(D("2030-12-31"), *ParseOffset("1 working day"), 1).ok());
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
