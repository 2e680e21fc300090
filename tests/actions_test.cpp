// Actions and units: the action workflow's transitions, the close guard, unit-scoped leads,
// as-of, import, the progress report, and the CPS South West example end to end. Real SQLite in
// a temp directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/engine.h"
#include "engine/importer.h"
#include "engine/render.h"
#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

const std::string kSource = RECTRACK_SOURCE_DIR;
const std::string kWorkflow = kSource + "/workflows/recommendation.yaml";
const std::string kActionWorkflow = kSource + "/workflows/action.yaml";
const std::string kSouthWest = kSource + "/demo/cps-south-west.yaml";

Date D(const char* iso) { return *Date::Parse(iso); }

ActionQuery Query(const char* as_of, std::string body = "", std::string unit = "",
                  std::optional<bool> open = std::nullopt, bool overdue_only = false) {
  return ActionQuery{D(as_of), std::move(body), std::move(unit), "", open, overdue_only};
}

class ActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("actions_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    engine_ = Open();
    ASSERT_NE(engine_, nullptr);
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Engine> Open(const std::string& db = "rectrack.db") {
    auto engine = Engine::Open({(dir_ / db).string(), kWorkflow, &clock_, true, ""});
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  std::vector<Command> Parse(const std::string& yaml) {
    auto commands = ParseImport(yaml, "t.yaml", engine_->workflow(), engine_->action_workflow());
    EXPECT_TRUE(commands.ok()) << commands.status().message();
    return commands.ok() ? *commands : std::vector<Command>{};
  }

  void ImportSouthWest() {
    auto commands = ParseImportFile(kSouthWest, engine_->workflow(), engine_->action_workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    auto report = engine_->Apply(*commands, "test");
    ASSERT_TRUE(report.ok()) << report.status().message();
  }

  // A small world: CPS with two Areas, SFO with one unit, one recommendation owned by the CPS
  // with a milestone, and three actions: one per CPS Area and one for the CPS as a whole.
  void ImportSmall() {
    auto report = engine_->Apply(Parse(R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service}
  - {id: SFO, name: Serious Fraud Office}
units:
  - {id: sw, body: CPS, name: CPS South West, kind: area}
  - {id: yh, body: CPS, name: CPS Yorkshire and Humberside, kind: area}
  - {id: sfo-ops, body: SFO, name: SFO Operations}
inspections:
  - {id: i1, title: Disclosure, published: 2025-01-10}
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "By June 2025, improve disclosure.",
     milestones: [{label: m1, due: 2025-06-30}]}
actions:
  - {id: a-sw, rec: r1, unit: sw, title: Champions, due: 2025-03-31, planned: 2025-01-20,
     milestone: m1}
  - {id: a-yh, rec: r1, unit: yh, title: Workshops, due: 2025-04-30, planned: 2025-01-20}
  - {id: a-cps, rec: r1, title: National guidance, planned: 2025-01-20}
)"),
                                 "test");
    ASSERT_TRUE(report.ok()) << report.status().message();
  }

  Result<ApplyReport> Act(const std::string& id, const std::string& transition,
                          const char* effective, const std::string& role,
                          const std::string& body = "", const std::string& unit = "",
                          Fields fields = {}) {
    RecordEvent e;
    e.subject_id = id;
    e.transition = transition;
    e.effective = D(effective);
    e.role = role;
    e.body = body;
    e.unit = unit;
    e.fields = std::move(fields);
    // A note-only transition with nothing in it is refused (it would record nothing).
    if ((transition == "update" || transition == "comment") && e.fields.empty()) e.note = "noted";
    return engine_->Apply({e}, "test");
  }

  std::string StateOf(const std::string& id, const char* as_of = "2025-11-22") {
    auto view = engine_->ShowAction(id, D(as_of));
    return view.ok() ? view->state : "error: " + view.status().message();
  }

  fs::path dir_;
  FixedClock clock_{"2025-11-22T10:00:00Z"};
  std::unique_ptr<Engine> engine_;
};

// --- Transitions, refusals and who may act (the workflow file itself: action_workflow_test)

TEST_F(ActionsTest, EveryTransitionOfTheActionWorkflowMovesTheStateAsItSays) {
  ImportSmall();
  EXPECT_EQ(StateOf("a-sw"), "planned");
  ASSERT_TRUE(Act("a-sw", "start", "2025-02-01", "body_lead", "CPS", "sw").ok());
  EXPECT_EQ(StateOf("a-sw"), "in_progress");
  ASSERT_TRUE(Act("a-sw", "update", "2025-02-10", "body_lead", "CPS", "sw").ok());
  ASSERT_TRUE(Act("a-sw", "reschedule", "2025-03-01", "body_lead", "CPS", "sw",
                  {{"due", {"2025-05-31"}}, {"reason", {"police sign-off"}}})
                  .ok());
  ASSERT_TRUE(
      Act("a-sw", "close", "2025-05-20", "body_lead", "CPS", "sw", {{"evidence", {"list.pdf"}}})
          .ok());
  EXPECT_EQ(StateOf("a-sw"), "done");
  ASSERT_TRUE(Act("a-sw", "reopen", "2025-06-02", "body_lead", "CPS", "sw",
                  {{"reason", {"champions left"}}})
                  .ok());
  EXPECT_EQ(StateOf("a-sw"), "in_progress");
  ASSERT_TRUE(Act("a-sw", "drop", "2025-07-01", "body_lead", "CPS", "sw",
                  {{"reason", {"replaced by national scheme"}}})
                  .ok());
  EXPECT_EQ(StateOf("a-sw"), "dropped");
  ASSERT_TRUE(Act("a-sw", "comment", "2025-07-02", "inspectorate").ok());

  // As of each date, the action is as it was then; the due date moved only from 1 March.
  EXPECT_EQ(StateOf("a-sw", "2025-01-31"), "planned");
  EXPECT_EQ(StateOf("a-sw", "2025-05-20"), "done");
  auto before = engine_->ShowAction("a-sw", D("2025-02-28"));
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->milestones.at(0).due, D("2025-03-31"));
  auto after = engine_->ShowAction("a-sw", D("2025-04-01"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->milestones.at(0).due, D("2025-05-31"));
  EXPECT_EQ(after->milestones.at(0).original_due, D("2025-03-31"));
  EXPECT_FALSE(after->overdue);
  auto planned = engine_->ShowAction("a-sw", D("2025-01-19"));
  EXPECT_EQ(planned.status().code(), Code::kNotFound);  // not yet planned
}

TEST_F(ActionsTest, RefusedTransitionsSayWhyAndWriteNothing) {
  ImportSmall();
  const int64_t seq = engine_->last_seq();
  auto unknown = Act("a-sw", "assess", "2025-02-01", "inspectorate");
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("workflow 'action' has: start, update, close"),
            std::string::npos)
      << unknown.status().message();
  // The inspectorate comments on a body's actions but does not close them.
  auto inspectorate = Act("a-sw", "close", "2025-02-01", "inspectorate");
  EXPECT_EQ(inspectorate.status().code(), Code::kPermissionDenied);
  auto reader = Act("a-sw", "comment", "2025-02-01", "reader");
  EXPECT_EQ(reader.status().code(), Code::kPermissionDenied);
  auto no_reason = Act("a-sw", "drop", "2025-02-01", "body_lead", "CPS");
  EXPECT_EQ(no_reason.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_reason.status().message().find("reason"), std::string::npos);
  auto not_from_planned =
      Act("a-sw", "reopen", "2025-02-01", "body_lead", "CPS", "", {{"reason", {"x"}}});
  EXPECT_EQ(not_from_planned.status().code(), Code::kConflict);
  EXPECT_NE(not_from_planned.status().message().find("planned"), std::string::npos);
  auto other_body = Act("a-sw", "start", "2025-02-01", "body_lead", "SFO");
  EXPECT_EQ(other_body.status().code(), Code::kPermissionDenied);
  EXPECT_NE(other_body.status().message().find("owns the action"), std::string::npos);
  auto before_planned = Act("a-sw", "start", "2025-01-15", "body_lead", "CPS");
  EXPECT_EQ(before_planned.status().code(), Code::kConflict);
  // The route's kind is kept: an action id is no recommendation.
  RecordEvent wrong_kind;
  wrong_kind.subject_id = "a-sw";
  wrong_kind.transition = "start";
  wrong_kind.role = "body_lead";
  wrong_kind.body = "CPS";
  wrong_kind.kind = SubjectKind::kRecommendation;
  auto wrong = engine_->Apply({wrong_kind}, "test");
  EXPECT_EQ(wrong.status().code(), Code::kNotFound);
  EXPECT_NE(wrong.status().message().find("no recommendation 'a-sw'"), std::string::npos);
  EXPECT_EQ(engine_->last_seq(), seq);
  EXPECT_EQ(StateOf("a-sw"), "planned");
}

TEST_F(ActionsTest, AUnitLeadActsOnlyOnItsUnitsActions) {
  ImportSmall();
  EXPECT_TRUE(Act("a-sw", "start", "2025-02-01", "body_lead", "CPS", "sw").ok());
  auto other_area = Act("a-yh", "start", "2025-02-01", "body_lead", "CPS", "sw");
  EXPECT_EQ(other_area.status().code(), Code::kPermissionDenied);
  EXPECT_NE(other_area.status().message().find("owned by unit 'yh'"), std::string::npos)
      << other_area.status().message();
  auto body_wide = Act("a-cps", "start", "2025-02-01", "body_lead", "CPS", "sw");
  EXPECT_EQ(body_wide.status().code(), Code::kPermissionDenied);
  EXPECT_NE(body_wide.status().message().find("the body as a whole"), std::string::npos);
  auto recommendation = Act("r1", "update", "2025-02-01", "body_lead", "CPS", "sw");
  EXPECT_EQ(recommendation.status().code(), Code::kPermissionDenied);
  EXPECT_NE(recommendation.status().message().find("is a recommendation"), std::string::npos);
  // A lead of the whole body acts on every action of the body.
  EXPECT_TRUE(Act("a-yh", "start", "2025-02-01", "body_lead", "CPS").ok());
  EXPECT_TRUE(Act("a-cps", "start", "2025-02-01", "body_lead", "CPS").ok());
  // The unit is kept in the history.
  auto view = engine_->ShowAction("a-sw", std::nullopt);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->timeline.back().unit, "sw");
  // A unit lead plans only its own unit's actions.
  DefineAction plan;
  plan.id = "a-new";
  plan.def.recommendation = "r1";
  plan.def.title = "More";
  plan.def.unit = "yh";
  plan.role = "body_lead";
  plan.body = "CPS";
  plan.unit = "sw";
  EXPECT_EQ(engine_->Apply({plan}, "test").status().code(), Code::kPermissionDenied);
  plan.def.unit = "sw";
  EXPECT_TRUE(engine_->Apply({plan}, "test").ok());
}

TEST_F(ActionsTest, ClosingARecommendationWithOpenActionsNeedsAnOverrideReason) {
  ImportSmall();
  const int64_t seq = engine_->last_seq();
  auto refused = Act("r1", "close", "2025-03-01", "body_lead", "CPS");
  ASSERT_EQ(refused.status().code(), Code::kConflict);
  EXPECT_NE(refused.status().message().find(
                "3 actions are still open: a-cps (planned), a-sw (planned), a-yh (planned); "
                "close them first, or give 'override' saying why it closes anyway"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(engine_->last_seq(), seq);

  // Closing the actions (or dropping them) lets the close through, as at its effective date.
  ASSERT_TRUE(Act("a-sw", "close", "2025-02-01", "body_lead", "CPS", "sw").ok());
  ASSERT_TRUE(Act("a-yh", "drop", "2025-02-01", "body_lead", "CPS", "yh",
                  {{"reason", {"merged into a-sw"}}})
                  .ok());
  auto one_left = Act("r1", "close", "2025-03-01", "body_lead", "CPS");
  EXPECT_NE(one_left.status().message().find("1 action is still open: a-cps (planned)"),
            std::string::npos)
      << one_left.status().message();
  auto overridden = Act("r1", "close", "2025-03-01", "body_lead", "CPS", "",
                        {{"override", {"guidance is a national task"}}});
  ASSERT_TRUE(overridden.ok()) << overridden.status().message();
  auto view = engine_->Show("r1", std::nullopt);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, "closed");
  EXPECT_EQ(view->timeline.back().fields.at("override"),
            std::vector<std::string>{"guidance is a national task"});
}

TEST_F(ActionsTest, TheGuardCountsActionsOpenAtTheCloseDateOrNow) {
  ImportSmall();
  // The actions were planned on 20 January: back-dating the close to before then does not get
  // round them while they are open now.
  auto back_dated = Act("r1", "close", "2025-01-15", "body_lead", "CPS");
  EXPECT_EQ(back_dated.status().code(), Code::kConflict);
  EXPECT_NE(back_dated.status().message().find("3 actions are still open"), std::string::npos)
      << back_dated.status().message();
  ASSERT_TRUE(Act("a-sw", "close", "2025-03-01", "body_lead", "CPS").ok());
  ASSERT_TRUE(Act("a-yh", "close", "2025-03-01", "body_lead", "CPS").ok());
  ASSERT_TRUE(Act("a-cps", "close", "2025-03-01", "body_lead", "CPS").ok());
  // All closed now, but open on 1 February: a close effective then is refused ...
  auto open_then = Act("r1", "close", "2025-02-01", "body_lead", "CPS");
  EXPECT_NE(open_then.status().message().find("a-sw (planned)"), std::string::npos)
      << open_then.status().message();
  // ... and one effective after they closed, or before any was planned, is not.
  EXPECT_TRUE(Act("r1", "close", "2025-01-15", "body_lead", "CPS").ok());
  // The guard is the rule when an event is recorded: reopening the database replays the log.
  engine_.reset();
  engine_ = Open();
  ASSERT_NE(engine_, nullptr);
  EXPECT_EQ(engine_->Show("r1", std::nullopt)->state, "closed");
}

// With histories out of memory (as `serve` keeps them), an action whose history cannot be read
// back cannot be judged open or closed at a back-dated close: the close fails naming it, where
// the guard once counted it closed and let the close through on the others' say.
TEST_F(ActionsTest, TheGuardFailsWhenAnActionsHistoryCannotBeReadBack) {
  ImportSmall();
  for (const char* id : {"a-sw", "a-yh", "a-cps"}) {
    ASSERT_TRUE(Act(id, "close", "2025-03-01", "body_lead", "CPS").ok()) << id;
  }
  engine_.reset();
  Engine::Options options{(dir_ / "rectrack.db").string(), kWorkflow, &clock_, true, ""};
  options.index_batch = options.heads_batch = 1;  // the index covers every event
  auto opened = Engine::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  engine_ = std::move(opened).value();
  ASSERT_TRUE(engine_->KeepHistoriesOut(1).ok());
  ASSERT_TRUE(DamageHistoryOf((dir_ / "rectrack.db").string(), "a-sw").ok());
  const int64_t seq = engine_->last_seq();
  auto closed = Act("r1", "close", "2025-02-01", "body_lead", "CPS");
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.status().code(), Code::kCorruption) << closed.status().message();
  EXPECT_NE(closed.status().message().find("'a-sw'"), std::string::npos)
      << closed.status().message();
  EXPECT_EQ(engine_->last_seq(), seq);
}

// As Apply does it and as the CLI's import does (ApplyInPlace: the events checked where the
// ledger keeps them).
TEST_F(ActionsTest, TheGuardLooksAtAnImportAsAWhole) {
  for (const bool in_place : {false, true}) {
    SCOPED_TRACE(in_place ? "ApplyInPlace" : "Apply");
    auto import = [&](std::vector<Command> commands) {
      return in_place ? engine_->ApplyInPlace(std::move(commands), "test")
                      : engine_->Apply(commands, "test");
    };
    engine_.reset();
    fs::remove(dir_ / "rectrack.db");
    engine_ = Open();
    ImportSmall();
    // The close comes first in the file, the events closing the actions after it.
    auto report = import(Parse(R"(
events:
  - {rec: r1, do: close, effective: 2025-04-01, by: CPS}
  - {action: a-sw, do: close, effective: 2025-03-01, by: CPS}
  - {action: a-yh, do: drop, effective: 2025-03-01, by: CPS, reason: merged}
  - {action: a-cps, do: close, effective: 2025-03-02, by: CPS}
)"));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->appended, 4);
    EXPECT_EQ(engine_->Show("r1", std::nullopt)->state, "closed");
    // A file that leaves one open is refused as a whole, naming the close's line.
    engine_.reset();
    fs::remove(dir_ / "rectrack.db");
    engine_ = Open();
    ImportSmall();
    const int64_t seq = engine_->last_seq();
    auto refused = import(Parse(R"(
events:
  - {rec: r1, do: close, effective: 2025-04-01, by: CPS}
  - {action: a-sw, do: close, effective: 2025-03-01, by: CPS}
)"));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().message().rfind("t.yaml:3:5: r1: 'close' effective 2025-04-01: 2 "
                                               "actions are still open",
                                               0),
              0u)
        << refused.status().message();
    EXPECT_EQ(engine_->last_seq(), seq);
    EXPECT_EQ(engine_->Show("r1", std::nullopt)->state, "issued");
    EXPECT_EQ(engine_->ShowAction("a-sw", std::nullopt)->state, "planned");
  }
}

TEST_F(ActionsTest, AClosedRecommendationTakesNoNewActions) {
  ImportSmall();
  ASSERT_TRUE(
      Act("r1", "close", "2025-03-01", "body_lead", "CPS", "", {{"override", {"plan superseded"}}})
          .ok());
  auto report = engine_->Apply(
      Parse("actions: [{id: late, rec: r1, title: T, planned: 2025-02-01}]"), "test");
  ASSERT_FALSE(report.ok());
  EXPECT_NE(
      report.status().message().find(
          "'r1' is closed as at 2025-11-22, and a closed recommendation takes no new actions"),
      std::string::npos)
      << report.status().message();
  // Importing the actions it already has is still a no-op.
  ImportSmall();
}

TEST_F(ActionsTest, AJointOwnersLeadIsToldOnlyHowManyOfTheOtherOwnersActionsAreOpen) {
  ASSERT_TRUE(engine_
                  ->Apply(Parse(R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service}
  - {id: NPCC, name: "National Police Chiefs' Council"}
inspections:
  - {id: i1, title: Case files, published: 2025-01-10}
recommendations:
  - {id: r1, inspection: i1, owners: [NPCC, CPS], text: A joint standard., milestones: []}
actions:
  - {id: cps-1, rec: r1, body: CPS, title: Draft, planned: 2025-01-20}
  - {id: npcc-1, rec: r1, body: NPCC, title: Consult forces, planned: 2025-01-20}
)"),
                          "test")
                  .ok());
  auto refused = Act("r1", "close", "2025-03-01", "body_lead", "CPS");
  EXPECT_NE(refused.status().message().find(
                "2 actions are still open: cps-1 (planned), and 1 of another owner"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("npcc-1"), std::string::npos);
}

TEST_F(ActionsTest, ActionDefinitionsAreCheckedAgainstTheWorld) {
  ImportSmall();
  auto error_of = [&](const std::string& yaml) {
    auto report = engine_->Apply(Parse(yaml), "test");
    return report.ok() ? std::string("ok") : report.status().message();
  };
  EXPECT_NE(error_of("actions: [{id: x, rec: nope, title: T, planned: 2025-02-01}]")
                .find("no recommendation 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of("actions: [{id: x, rec: r1, title: T, unit: sfo-ops, planned: 2025-02-01}]")
                .find("unit 'sfo-ops' belongs to SFO, not CPS"),
            std::string::npos);
  EXPECT_NE(error_of("actions: [{id: x, rec: r1, title: T, body: SFO, planned: 2025-02-01}]")
                .find("body 'SFO' does not own 'r1'"),
            std::string::npos);
  EXPECT_NE(error_of("actions: [{id: x, rec: r1, title: T, milestone: m9, planned: 2025-02-01}]")
                .find("'r1' has no milestone 'm9' (it has: m1)"),
            std::string::npos);
  EXPECT_NE(error_of("actions: [{id: x, rec: r1, title: T, planned: 2025-01-01}]")
                .find("must be between its recommendation's issue (2025-01-10) and today"),
            std::string::npos);
  EXPECT_NE(error_of("actions: [{id: r1, rec: r1, title: T, planned: 2025-02-01}]")
                .find("already the id of a recommendation"),
            std::string::npos);
  EXPECT_NE(error_of("actions: [{id: a-sw, rec: r1, title: Other, planned: 2025-01-20}]")
                .find("already exists with a different definition"),
            std::string::npos);
  EXPECT_NE(error_of("units: [{id: u9, body: NOPE, name: X}]").find("no body 'NOPE'"),
            std::string::npos);
  EXPECT_NE(error_of("units: [{id: sw, body: CPS, name: Renamed}]")
                .find("already defined as 'CPS South West'"),
            std::string::npos);
}

TEST_F(ActionsTest, TokensMayBeNarrowedToAUnitOfTheirBody) {
  ImportSmall();
  auto token = engine_->CreateToken("body_lead", "CPS", std::nullopt, "sw lead", "sw");
  ASSERT_TRUE(token.ok()) << token.status().message();
  auto who = engine_->Authenticate(token->second);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->body, "CPS");
  EXPECT_EQ(who->unit, "sw");
  EXPECT_EQ(engine_->CreateToken("body_lead", "CPS", std::nullopt, "", "sfo-ops").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(engine_->CreateToken("body_lead", "CPS", std::nullopt, "", "nope").status().code(),
            Code::kNotFound);
  EXPECT_EQ(engine_->CreateToken("reader", "CPS", std::nullopt, "", "sw").status().code(),
            Code::kInvalidArgument);
  // Kept across a reopen: the unit is stored with the token.
  engine_.reset();
  engine_ = Open();
  EXPECT_EQ(engine_->Authenticate(token->second)->unit, "sw");
}

// --- CPS South West, end to end

TEST_F(ActionsTest, SouthWestActionPlanAsAtMidsummer2023) {
  ImportSouthWest();
  const auto open = engine_->ListActions(Query("2023-06-30", "CPS", "", true)).value();
  std::vector<std::string> ids;
  for (const auto& a : open) ids.push_back(a.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"sw22-i1-a2", "sw22-i1-a3", "sw22-i1-a4", "sw22-i2-a3",
                                           "sw22-i2-a4", "sw22-i2-a5", "sw22-i3-a3"}));
  const auto overdue =
      engine_->ListActions(Query("2023-06-30", "CPS", "", std::nullopt, true)).value();
  ids.clear();
  for (const auto& a : overdue) ids.push_back(a.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"sw22-i1-a2", "sw22-i2-a3"}));
  // The rescheduled escalation process is not overdue in June, but is by October.
  EXPECT_FALSE(engine_->ShowAction("sw22-i2-a4", D("2023-06-30"))->overdue);
  EXPECT_TRUE(engine_->ShowAction("sw22-i2-a4", D("2023-10-01"))->overdue);
  // The workshops closed late: overdue from 1 February until closed on 10 February.
  EXPECT_FALSE(engine_->ShowAction("sw22-i2-a2", D("2023-01-31"))->overdue);
  EXPECT_TRUE(engine_->ShowAction("sw22-i2-a2", D("2023-02-01"))->overdue);
  EXPECT_EQ(engine_->ShowAction("sw22-i2-a2", D("2023-02-10"))->state, "done");
  const auto unit = engine_->ListActions(Query("2023-06-30", "", "cps-sw-crown")).value();
  EXPECT_EQ(unit.size(), 2u);

  // The VCL issue was closed with an override while the national pilot ran on.
  auto vcl = engine_->Show("sw22-i3", D("2023-06-30"));
  ASSERT_TRUE(vcl.ok());
  EXPECT_EQ(vcl->state, "closed");
  EXPECT_TRUE(vcl->timeline.back().fields.count("override"));
  // The disclosure issue cannot be closed while its actions are open.
  auto refused = Act("sw22-i2", "close", "2025-11-01", "body_lead", "CPS");
  EXPECT_EQ(refused.status().code(), Code::kConflict);

  // Importing the same file again changes nothing.
  auto again = ParseImportFile(kSouthWest, engine_->workflow(), engine_->action_workflow());
  ASSERT_TRUE(again.ok());
  auto report = engine_->Apply(*again, "test");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->appended, 0);

  // The whole log replays to the same views after a reopen, and its chain holds.
  const std::string before = ActionsAsJson(engine_->ListActions(Query("2023-06-30")).value());
  engine_.reset();
  engine_ = Open();
  ASSERT_NE(engine_, nullptr);
  EXPECT_EQ(ActionsAsJson(engine_->ListActions(Query("2023-06-30")).value()), before);
  EXPECT_TRUE(engine_->Verify().ok());
}

TEST_F(ActionsTest, TheFeedCarriesActionEventsToWhoMaySeeTheirBody) {
  ImportSmall();
  ASSERT_TRUE(Act("a-sw", "start", "2025-02-01", "body_lead", "CPS", "sw").ok());
  const auto feed = engine_->Feed(Principal{"", "reader", ""}, "CPS", 0, 100).value();
  ASSERT_FALSE(feed.empty());
  EXPECT_EQ(feed.front().action, "a-sw");  // newest first
  EXPECT_EQ(feed.front().recommendation, "r1");
  EXPECT_EQ(feed.front().unit, "sw");
  EXPECT_EQ(feed.front().text, "Champions");
  EXPECT_EQ(feed.front().event.transition, "start");
  EXPECT_EQ(feed.front().event.unit, "sw");
  EXPECT_TRUE(engine_->Feed(Principal{"", "body_lead", "SFO"}, "", 0, 100).value().empty());
}

// Paging forward (a stream resuming) gives the feed's events oldest first, every one once, and a
// page looks at a bounded number of events even when few are visible; a rolled-back event
// leaves no trace in the index.
TEST_F(ActionsTest, FeedAfterPagesForwardThroughTheSameEvents) {
  ImportSouthWest();
  const Principal reader{"", "reader", ""};
  auto newest_first = engine_->Feed(reader, "", 0, 1000).value();
  ASSERT_GT(newest_first.size(), 6u);
  std::vector<int64_t> expected;
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) {
    expected.push_back(it->event.seq);
  }
  std::vector<int64_t> paged;
  Engine::FeedPage page;
  int64_t after = 0;
  do {
    page = engine_->FeedAfter(reader, "", after, 3).value();
    EXPECT_LE(page.entries.size(), 3u);
    for (const FeedEntry& e : page.entries) paged.push_back(e.event.seq);
    ASSERT_GT(page.scanned_to, after) << "a page must move on";
    after = page.scanned_to;
  } while (page.more);
  EXPECT_EQ(paged, expected);
  EXPECT_EQ(after, engine_->last_seq());
  // A principal who sees nothing still moves through the log, a bounded stretch at a time.
  const Principal sfo{"", "body_lead", "SFO"};
  Engine::FeedPage nothing = engine_->FeedAfter(sfo, "", 0, 1).value();
  EXPECT_TRUE(nothing.entries.empty());
  EXPECT_GT(nothing.scanned_to, 0);
  // A refused write adds nothing to the index.
  const size_t before = engine_->Feed(reader, "", 0, 1000).value().size();
  EXPECT_FALSE(Act("no-such-action", "start", "2025-02-01", "body_lead", "CPS", "sw").ok());
  EXPECT_EQ(engine_->Feed(reader, "", 0, 1000).value().size(), before);
}

TEST_F(ActionsTest, ProgressPutsTheUnitsFurthestBehindFirst) {
  ImportSouthWest();
  auto report = engine_->Progress("CPS", D("2023-06-30"));
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->units.empty());
  EXPECT_EQ(report->units.front().unit, "cps-sw-crown");  // two overdue
  EXPECT_EQ(report->units.front().overdue, 2);
  ASSERT_EQ(report->recommendations.size(), 3u);
  const RecommendationProgress& i1 = report->recommendations[0];
  EXPECT_EQ(i1.id, "sw22-i1");
  EXPECT_EQ(i1.all.closed, 1);
  EXPECT_EQ(i1.all.open, 3);
  EXPECT_EQ(i1.all.overdue, 1);
  std::vector<std::string> order;
  for (const auto& u : i1.units) order.push_back(u.unit);
  EXPECT_EQ(order, (std::vector<std::string>{"cps-sw-crown", "cps-sw-mags", "cps-sw"}));
  EXPECT_EQ(engine_->Progress("NOPE", std::nullopt).status().code(), Code::kNotFound);
  const std::string json = ProgressAsJson(*report);
  EXPECT_NE(json.find("\"unit\":\"cps-sw-crown\",\"name\":\"CPS South West Crown Court unit\","
                      "\"closed\":0,\"open\":2,\"overdue\":2,\"total\":2"),
            std::string::npos)
      << json;
}

TEST_F(ActionsTest, ActionsDoNotChangeAnnexA) {
  ImportSouthWest();
  auto without = Open("without.db");
  ASSERT_NE(without, nullptr);
  auto commands = ParseImportFile(kSouthWest, without->workflow(), without->action_workflow());
  ASSERT_TRUE(commands.ok());
  std::vector<Command> no_actions;
  for (const Command& c : *commands) {
    if (std::holds_alternative<DefineAction>(c) || std::holds_alternative<DefineUnit>(c)) continue;
    if (auto* e = std::get_if<RecordEvent>(&c); e && e->kind == SubjectKind::kAction) continue;
    no_actions.push_back(c);
  }
  ASSERT_TRUE(without->Apply(no_actions, "test").ok());
  for (const char* as_of : {"2023-03-31", "2024-03-31"}) {
    auto with_actions = engine_->Annex("CPS", D(as_of));
    auto plain = without->Annex("CPS", D(as_of));
    ASSERT_TRUE(with_actions.ok() && plain.ok());
    EXPECT_EQ(AnnexAsJson(*with_actions), AnnexAsJson(*plain)) << as_of;
    EXPECT_FALSE(with_actions->open.empty());
  }
}

// --- The command line, as a user runs it

TEST_F(ActionsTest, CommandLineListsActionsReportsProgressAndKeepsUnitLeadsToTheirUnit) {
  const std::string db = "--db " + (dir_ / "cli.db").string() + " --clock 2025-11-22 ";
  CliRun imported = Rectrack(db + "import " + kSouthWest);
  ASSERT_EQ(imported.status, 0) << imported.out;

  CliRun csv = Rectrack(db + "actions --body CPS --overdue --as-of 2023-06-30 --format csv");
  ASSERT_EQ(csv.status, 0) << csv.out;
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')),
            "id,recommendation,body,unit,state,open,overdue,due,original_due,milestone,title");
  EXPECT_NE(csv.out.find("\nsw22-i1-a2,sw22-i1,CPS,cps-sw-crown,in_progress,true,true,2023-03-31,"),
            std::string::npos)
      << csv.out;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 3) << csv.out;

  CliRun progress = Rectrack(db + "report progress --body CPS --as-of 2023-06-30 --format json");
  ASSERT_EQ(progress.status, 0) << progress.out;
  const boost::json::object report = boost::json::parse(progress.out).as_object();
  EXPECT_EQ(report.at("units").as_array().at(0).at("unit").as_string(), "cps-sw-crown");
  CliRun text = Rectrack(db + "report progress --body CPS --as-of 2023-06-30");
  EXPECT_NE(text.out.find("sw22-i1  issued  1/4 closed, 3 open, 1 overdue"), std::string::npos)
      << text.out;

  CliRun show = Rectrack(db + "show sw22-i2 --as-of 2023-06-30");
  EXPECT_NE(show.out.find("\nActions\n  sw22-i2-a1  cps-sw        done"), std::string::npos)
      << show.out;
  CliRun action = Rectrack(db + "show sw22-i2-a4 --format json");
  ASSERT_EQ(action.status, 0) << action.out;
  EXPECT_EQ(boost::json::parse(action.out).at("original_due").as_string(), "2023-04-30");

  CliRun own = Rectrack(db + "record sw22-i2-a3 start --by CPS --unit cps-sw-crown");
  EXPECT_EQ(own.status, 0) << own.out;
  EXPECT_NE(own.out.find("sw22-i2-a3 is now in_progress"), std::string::npos) << own.out;
  CliRun other = Rectrack(db + "record sw22-i2-a5 close --by CPS --unit cps-sw-crown");
  EXPECT_EQ(other.status, 1);
  EXPECT_NE(other.out.find("acts only on its unit's actions"), std::string::npos) << other.out;
  CliRun guarded = Rectrack(db + "record sw22-i2 close --by CPS");
  EXPECT_EQ(guarded.status, 1);
  EXPECT_NE(guarded.out.find("3 actions are still open"), std::string::npos) << guarded.out;
  CliRun overridden =
      Rectrack(db + "record sw22-i2 close --by CPS --field 'override=Moved to the national plan'");
  EXPECT_EQ(overridden.status, 0) << overridden.out;

  EXPECT_EQ(Rectrack(db + "report progress").status, 2);
  // HTML as --help offers it: the page the PDF is printed from.
  CliRun html = Rectrack(db + "report progress --body CPS --as-of 2023-06-30 --format html");
  EXPECT_EQ(html.status, 0) << html.out;
  EXPECT_NE(html.out.find("<caption>Actions by unit</caption>"), std::string::npos) << html.out;
  CliRun unknown_unit = Rectrack(db + "actions --unit nope");
  EXPECT_EQ(unknown_unit.status, 1);
  EXPECT_NE(unknown_unit.out.find("no unit 'nope'"), std::string::npos);
  // A unit of another body than the one asked for is not there either (SFO from more-bodies).
  ASSERT_EQ(
      Rectrack(db + "import " + std::string(RECTRACK_SOURCE_DIR) + "/demo/more-bodies.yaml").status,
      0);
  CliRun other_body = Rectrack(db + "actions --unit cps-sw --body SFO");
  EXPECT_EQ(other_body.status, 1) << other_body.out;
  EXPECT_NE(other_body.out.find("no unit 'cps-sw' in SFO (it is CPS's)"), std::string::npos)
      << other_body.out;
  CliRun nothing = Rectrack(db + "show nope");
  EXPECT_NE(nothing.out.find("no recommendation or action 'nope'"), std::string::npos);
  CliRun units = Rectrack(db + "units --body CPS");
  EXPECT_NE(units.out.find("cps-sw        CPS   area           CPS South West"), std::string::npos)
      << units.out;
}

}  // namespace
}  // namespace rectrack
