// The action workflow as a file: the shipped one loads as an action workflow, its guards and an
// action's own due dates are checked with their place, a recommendation workflow's guard takes
// only what it understands, and an engine refuses an action workflow whose roles disagree with
// the recommendation workflow's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/engine.h"
#include "engine/workflow.h"
#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

const std::string kSource = RECTRACK_SOURCE_DIR;
const std::string kWorkflow = kSource + "/workflows/recommendation.yaml";
const std::string kActionWorkflow = kSource + "/workflows/action.yaml";

TEST(ActionWorkflowTest, ShippedFileLoadsAsAnActionWorkflow) {
  auto wf = Workflow::LoadFile(kActionWorkflow);
  ASSERT_TRUE(wf.ok()) << wf.status().message();
  EXPECT_EQ(wf->subject(), "action");
  EXPECT_EQ(wf->creating().name, "plan");
  EXPECT_FALSE(wf->IsOpen("done"));
  EXPECT_FALSE(wf->IsOpen("dropped"));
  EXPECT_TRUE(wf->IsOpen("in_progress"));
  EXPECT_EQ(wf->FindTransition("reschedule")->effects.set_due_date, "due");
  auto rec = Workflow::LoadFile(kWorkflow);
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(rec->FindTransition("close")->guard.actions_closed);
  EXPECT_EQ(rec->FindTransition("close")->guard.unless, "override");
  // The body's voice may not be dated behind a judgement: close and update carry the guard.
  EXPECT_TRUE(rec->FindTransition("close")->guard.not_before_judgement);
  EXPECT_TRUE(rec->FindTransition("update")->guard.not_before_judgement);
  EXPECT_FALSE(rec->FindTransition("assess")->guard.not_before_judgement);
}

constexpr const char* kMiniAction = R"(workflow: a
subject: action
roles:
  lead: {acts_for: owner}
states:
  open: {open: true}
  done: {open: false}
fields:
  why: {type: text}
  due: {type: date}
transitions:
  - {name: plan, creates: true, to: open, roles: [lead]}
  - {name: finish, from: [open], to: done, roles: [lead]}
)";

std::string LoadError(const std::string& yaml) {
  auto wf = Workflow::Parse(yaml, "w.yaml");
  return wf.ok() ? "loaded" : wf.status().message();
}

TEST(ActionWorkflowTest, GuardsAndOwnDueDatesAreValidatedWithTheirPlace) {
  // A guard belongs to a recommendation workflow only.
  EXPECT_NE(LoadError(std::string(kMiniAction) +
                      "  - {name: close, from: [open], to: done, roles: [lead], optional: [why],\n"
                      "     guard: {actions: closed, unless: why}}\n")
                .find("w.yaml:15:"),
            std::string::npos);
  EXPECT_NE(LoadError(std::string(kMiniAction) +
                      "  - {name: close, from: [open], to: done, roles: [lead], optional: [why],\n"
                      "     guard: {actions: closed, unless: why}}\n")
                .find("only a recommendation workflow has guards"),
            std::string::npos);
  // An action's set_due needs only the date; it must be a date field of the transition.
  EXPECT_EQ(LoadError(std::string(kMiniAction) +
                      "  - {name: move, from: [open], roles: [lead], required: [due],\n"
                      "     effects: {set_due: {due: due}}}\n"),
            "loaded");
  // `later` (an extension's) is true or false, nothing else.
  EXPECT_EQ(LoadError(std::string(kMiniAction) +
                      "  - {name: move, from: [open], roles: [lead], required: [due],\n"
                      "     effects: {set_due: {due: due, later: true}}}\n"),
            "loaded");
  EXPECT_NE(LoadError(std::string(kMiniAction) +
                      "  - {name: move, from: [open], roles: [lead], required: [due],\n"
                      "     effects: {set_due: {due: due, later: maybe}}}\n")
                .find("set_due.later must be true or false, not 'maybe'"),
            std::string::npos);
  EXPECT_NE(LoadError(std::string(kMiniAction) +
                      "  - {name: move, from: [open], roles: [lead], required: [due],\n"
                      "     effects: {set_due: {later: true}}}\n")
                .find("effect set_due's `later` needs its `due`"),
            std::string::npos);
  EXPECT_NE(LoadError(std::string(kMiniAction) +
                      "  - {name: move, from: [open], roles: [lead], required: [why],\n"
                      "     effects: {set_due: {due: why}}}\n")
                .find("effect set_due needs a field of the transition"),
            std::string::npos);

  std::string rec = R"(workflow: r
subject: recommendation
roles:
  lead: {acts_for: owner}
states:
  open: {open: true}
  shut: {open: false}
fields:
  why: {type: text}
  list: {type: text, list: true}
transitions:
  - {name: issue, creates: true, to: open, roles: [lead]}
)";
  EXPECT_EQ(LoadError(rec + "  - {name: close, from: [open], to: shut, roles: [lead],\n"
                            "     optional: [why], guard: {actions: closed, unless: why}}\n"),
            "loaded");
  EXPECT_NE(LoadError(rec + "  - {name: close, from: [open], to: shut, roles: [lead],\n"
                            "     guard: {actions: open}}\n")
                .find("actions must be 'closed', not 'open'"),
            std::string::npos);
  EXPECT_NE(LoadError(rec + "  - {name: close, from: [open], to: shut, roles: [lead],\n"
                            "     guard: {actions: closed, unless: why}}\n")
                .find("unless needs an optional text field of the transition, not 'why'"),
            std::string::npos);
  EXPECT_NE(LoadError(rec + "  - {name: close, from: [open], to: shut, roles: [lead],\n"
                            "     optional: [list], guard: {actions: closed, unless: list}}\n")
                .find("not 'list'"),
            std::string::npos);
  EXPECT_NE(LoadError(rec + "  - {name: close, from: [open], to: shut, roles: [lead],\n"
                            "     optional: [why], guard: {unless: why}}\n")
                .find("needs `actions: closed`"),
            std::string::npos);
}

// The guard's words are checked where they are written.
TEST(RecommendationWorkflowTest, ANotBeforeGuardTakesOnlyJudgementAndUnlessNeedsTheActionsGuard) {
  std::string shipped;
  {
    std::ifstream in(kWorkflow);
    std::stringstream text;
    text << in.rdbuf();
    shipped = text.str();
  }
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string yaml = shipped;
    const size_t at = yaml.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) yaml.replace(at, from.size(), to);
    return LoadError(yaml);
  };
  EXPECT_NE(replaced("guard: {not_before: judgement}", "guard: {not_before: yesterday}")
                .find("not_before must be 'judgement', not 'yesterday'"),
            std::string::npos);
  EXPECT_NE(replaced("guard: {actions: closed, unless: override, not_before: judgement}",
                     "guard: {unless: override, not_before: judgement}")
                .find("unless goes with `actions: closed`"),
            std::string::npos);
}

TEST(ActionWorkflowTest, AnActionWorkflowWhoseRolesDisagreeIsRefusedAtOpen) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("actions_wf_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "action.yaml") << kMiniAction;  // `lead` is no recommendation role
  FixedClock clock("2025-11-22T10:00:00Z");
  auto engine = Engine::Open(
      {(dir / "r.db").string(), kWorkflow, &clock, true, "", (dir / "action.yaml").string()});
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("role 'lead' is not a role of"), std::string::npos)
      << engine.status().message();
  auto wrong_subject =
      Engine::Open({(dir / "r.db").string(), kWorkflow, &clock, true, "", kWorkflow});
  ASSERT_FALSE(wrong_subject.ok());
  EXPECT_NE(wrong_subject.status().message().find("expected a workflow whose subject is action"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rectrack
