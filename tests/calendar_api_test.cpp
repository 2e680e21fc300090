// Actions in the calendar: their all-day events, and GET /calendar.ics through the Api over the
// demo's CPS South West, to see which actions each body's and unit's calendar holds.
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "http/api.h"
#include "tests/feeds_fixture.h"

namespace rectrack::http::feeds_test {
namespace {

// Two open actions' due dates around a milestone of the same recommendation.
std::vector<CalendarItem> ActionItems() {
  std::vector<CalendarItem> items = {
      {"sw22-i1",
       "due",
       D("2023-03-31"),
       "Area inspection: CPS South West",
       {"CPS"},
       "Training and support for lawyers; case strategy, analysis",
       true},
      {"sw22-i1",
       "due",
       D("2023-03-31"),
       "Area inspection: CPS South West",
       {"CPS"},
       "The milestone itself",
       false},
      {"sw22-i3", "due", D("2023-12-31"), "", {"CPS"}, "Phase 3: piloting", false},
  };
  items[0].action = "sw22-i1-a2";
  items[0].unit = "CPS South West Crown Court unit (cps-sw-crown)";
  items[2].action = "sw22-i3-a3";  // owned by the body as a whole
  return items;
}

TEST(ICalendarTest, ActionsAreAllDayEventsWithTheirOwnUids) {
  const std::string ics = ICalendar(ActionItems(), Calendar());
  const std::vector<std::string> lines = LogicalLines(ics);
  EXPECT_EQ(WithPrefix(lines, "UID:"),
            (std::vector<std::string>{"sw22-i1-a2.due@actions.rectrack.example",
                                      "sw22-i1.due@rectrack.example",
                                      "sw22-i3-a3.due@actions.rectrack.example"}));
  EXPECT_EQ(WithPrefix(lines, "SUMMARY:"),
            (std::vector<std::string>{"OVERDUE: action sw22-i1-a2 due", "sw22-i1 due",
                                      "action sw22-i3-a3 due"}));
  EXPECT_EQ(WithPrefix(lines, "TRIGGER:"), std::vector<std::string>(3, "-P7D"));
  EXPECT_EQ(ICalendar(ActionItems(), Calendar()), ics) << "not stable";
  SKIP_WITHOUT_CHECKER();
  json::array expect = {
      {{"uid", "sw22-i1-a2.due@actions.rectrack.example"},
       {"summary", "OVERDUE: action sw22-i1-a2 due"},
       {"dtstart", "2023-03-31"},
       {"url", kBase + "/actions/sw22-i1-a2"},
       {"trigger_days", 7},
       {"description_contains",
        json::array{"Action sw22-i1-a2 under recommendation sw22-i1",
                    "Unit: CPS South West Crown Court unit (cps-sw-crown)",
                    "Training and support for lawyers; case strategy, analysis"}}},
      {{"uid", "sw22-i1.due@rectrack.example"}, {"summary", "sw22-i1 due"}},
      {{"uid", "sw22-i3-a3.due@actions.rectrack.example"},
       {"dtstart", "2023-12-31"},
       {"description_contains", json::array{"Action sw22-i3-a3 under recommendation sw22-i3"}}},
  };
  const CheckRun run = Check("ics", ics, 3, expect);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << ics;
}

// GET /calendar.ics through the Api (no sockets) over demo/cps-south-west.yaml on 30 June 2023,
// plus an SFO action, to see which actions each calendar holds.
class CalendarApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine =
        Engine::Open({":memory:", kSource + "/workflows/recommendation.yaml", &clock_, true, ""});
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    ASSERT_NE(engine_->action_workflow(), nullptr);
    auto demo = ParseImportFile(kSource + "/demo/cps-south-west.yaml", engine_->workflow(),
                                engine_->action_workflow());
    ASSERT_TRUE(demo.ok()) << demo.status().message();
    ASSERT_TRUE(engine_->Apply(*demo, "test").ok());
    auto sfo = ParseImport(R"(
bodies:
  - {id: SFO, name: Serious Fraud Office}
units:
  - {id: sfo-ops, body: SFO, name: SFO Operations}
inspections:
  - {id: sfo22, title: SFO case progression, published: 2022-09-01}
recommendations:
  - {id: sfo22-r1, inspection: sfo22, owners: [SFO], text: "By 31 December 2023, the SFO to act."}
actions:
  - {id: sfo22-r1-a1, rec: sfo22-r1, unit: sfo-ops, planned: 2022-10-01, by: SFO, due: 2023-08-31,
     title: A case progression panel}
)",
                           "sfo.yaml", engine_->workflow(), engine_->action_workflow());
    ASSERT_TRUE(sfo.ok()) << sfo.status().message();
    auto applied = engine_->Apply(*sfo, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
    for (auto [who, role, body] : {std::tuple{&reader_, "reader", ""},
                                   {&cps_, "body_lead", "CPS"},
                                   {&sfo_, "body_lead", "SFO"}}) {
      auto created = engine_->CreateToken(role, body, std::nullopt, role);
      ASSERT_TRUE(created.ok()) << created.status().message();
      *who = created->second;
    }
    host_ = std::make_unique<EngineHost>(engine_.get());
    api_ = std::make_unique<Api>(host_.get(), ApiOptions{});
  }

  Response Get(const std::string& target, const std::string& token) {
    Request req{"GET", target, {{"authorization", "Bearer " + token}}, "", "127.0.0.1"};
    return api_->Handle(req);
  }
  std::vector<std::string> Uids(const std::string& target, const std::string& token) {
    Response r = Get(target, token);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    if (r.status != 200) return {};
    std::vector<std::string> uids = WithPrefix(LogicalLines(r.body), "UID:");
    std::sort(uids.begin(), uids.end());
    return uids;
  }

  FixedClock clock_{"2023-06-30T10:00:00Z"};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<Api> api_;
  std::string reader_, cps_, sfo_;
};

using UidList = std::vector<std::string>;
std::string A(const char* id) { return std::string(id) + ".due@actions.rectrack"; }

TEST_F(CalendarApiTest, ABodysCalendarHasItsOpenDatedActions) {
  // Open with a due date: not the closed ones, not sw22-i2-a5 (no date); sw22-i2-a4 on its
  // rescheduled date; sw22-i3-a3 is the body's own. The recommendations have no milestones.
  const UidList cps = {A("sw22-i1-a2"), A("sw22-i1-a3"), A("sw22-i1-a4"),
                       A("sw22-i2-a3"), A("sw22-i2-a4"), A("sw22-i3-a3")};
  EXPECT_EQ(Uids("/calendar.ics?body=CPS", reader_), cps);
  EXPECT_EQ(Uids("/calendar.ics", cps_), cps) << "a CPS token sees CPS only";
  UidList all = cps;
  all.push_back("sfo22-r1.due@rectrack");
  all.push_back(A("sfo22-r1-a1"));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(Uids("/calendar.ics", reader_), all);

  Response r = Get("/calendar.ics?body=CPS", reader_);
  const std::vector<std::string> lines = LogicalLines(r.body);
  const std::vector<std::string> starts = WithPrefix(lines, "DTSTART;VALUE=DATE:");
  EXPECT_NE(std::find(starts.begin(), starts.end(), "20230930"), starts.end());
  const std::vector<std::string> summaries = WithPrefix(lines, "SUMMARY:");
  EXPECT_NE(std::find(summaries.begin(), summaries.end(), "OVERDUE: action sw22-i1-a2 due"),
            summaries.end());
  EXPECT_NE(std::find(summaries.begin(), summaries.end(), "action sw22-i1-a3 due"), summaries.end())
      << "due today is not yet overdue";
  const std::vector<std::string> descriptions = WithPrefix(lines, "DESCRIPTION:");
  EXPECT_TRUE(std::any_of(descriptions.begin(), descriptions.end(), [](const std::string& d) {
    return Contains(d, "Unit: CPS South West Crown Court unit (cps-sw-crown)");
  })) << r.body;
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("ics", r.body, cps.size());
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << r.body;
}

TEST_F(CalendarApiTest, AUnitsCalendarHasItsActionsOnly) {
  const UidList sw = {A("sw22-i1-a4"), A("sw22-i2-a4")};
  EXPECT_EQ(Uids("/calendar.ics?unit=cps-sw", reader_), sw);
  EXPECT_EQ(Uids("/calendar.ics?body=CPS&unit=cps-sw", reader_), sw);
  EXPECT_EQ(Uids("/calendar.ics?unit=cps-sw", cps_), sw);
  EXPECT_EQ(Uids("/calendar.ics?unit=sfo-ops", sfo_), UidList{A("sfo22-r1-a1")});
  EXPECT_TRUE(Uids("/calendar.ics?unit=cps-yh", reader_).empty());
  Response r = Get("/calendar.ics?unit=cps-sw", reader_);
  EXPECT_TRUE(Contains(r.body, "X-WR-CALNAME:rectrack: cps-sw deadlines")) << r.body;
  // Visibility: a unit outside the body asked for, or the token's body, is not there.
  EXPECT_EQ(Get("/calendar.ics?unit=cps-sw", sfo_).status, 404);
  EXPECT_EQ(Get("/calendar.ics?body=SFO&unit=cps-sw", reader_).status, 404);
  EXPECT_EQ(Get("/calendar.ics?unit=nowhere", reader_).status, 404);
  EXPECT_EQ(Get("/calendar.ics?body=SFO&unit=sfo-ops", cps_).status, 403);
  EXPECT_EQ(Get("/feed.atom?unit=cps-sw", reader_).status, 400) << "calendar only";
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("ics", r.body, sw.size());
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << r.body;
}

}  // namespace
}  // namespace rectrack::http::feeds_test
