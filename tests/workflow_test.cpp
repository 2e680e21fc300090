// Tests of the workflow interpreter: the shipped recommendation lifecycle driven through every
// transition and refusal, field checks, and a second, unrelated workflow run by the same code.
// Loader errors and their positions are in workflow_loader_test.cpp.
#include "engine/workflow.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "common/strings.h"

namespace rectrack {
namespace {

using Names = std::vector<std::string>;

bool Has(const Names& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Join(const Names& names) { return rectrack::Join(names, ", ", "nothing"); }

// ---------------------------------------------------------------------------------------------
// The shipped recommendation workflow, described here independently of the workflow object.

const Names kStates = {"issued", "closed", "verified", "reopened", "superseded", "withdrawn"};
const Names kRoles = {"inspectorate", "body_lead", "reader"};

struct ExpectedTransition {
  std::string name;
  Names from;   // states it may be fired from
  Names roles;  // roles that may fire it
};

// In file order; `issue` creates and is never fired from a state.
const std::vector<ExpectedTransition> kTransitions = {
    {"issue", {}, {"inspectorate"}},
    {"update", {"issued", "reopened", "closed"}, {"body_lead", "inspectorate"}},
    {"close", {"issued", "reopened"}, {"body_lead"}},
    {"assess", {"issued", "reopened", "closed"}, {"inspectorate"}},
    {"reopen", {"closed", "verified"}, {"inspectorate"}},
    {"supersede", {"issued", "reopened", "closed"}, {"inspectorate"}},
    {"extend", {"issued", "reopened"}, {"inspectorate"}},
    {"withdraw", {"issued", "reopened", "closed"}, {"inspectorate"}},
};

Names ExpectedAllowed(const std::string& state, const std::string& role) {
  Names out;
  for (const auto& t : kTransitions) {
    if (Has(t.from, state) && Has(t.roles, role)) out.push_back(t.name);
  }
  return out;
}

Fields Assess(const std::string& outcome) { return {{"outcome", {outcome}}, {"in", {"INS-2"}}}; }
Fields AssessSuperseded(const std::string& outcome) {
  Fields f = Assess(outcome);
  f["superseded_by"] = {"R-9"};
  return f;
}

// Fields that pass CheckFields for each shipped transition.
Fields ValidFields(const std::string& transition) {
  if (transition == "assess") return Assess("achieved");
  if (transition == "reopen" || transition == "withdraw") return {{"reason", {"because"}}};
  if (transition == "supersede") return {{"superseded_by", {"R-9"}}};
  if (transition == "extend") {
    return {{"milestone", {"M1"}}, {"due", {"2025-06-30"}}, {"reason", {"delay"}}};
  }
  return {};
}

class ShippedWorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded =
        Workflow::LoadFile(std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    wf_ = std::move(loaded).value();
  }

  const Transition& T(const std::string& name) {
    const Transition* t = wf_->FindTransition(name);
    EXPECT_NE(t, nullptr) << name;
    return t ? *t : wf_->creating();
  }

  // Checks the fields, then decides; returns the target state or the error message.
  std::string Fire(const std::string& state, const std::string& transition, const std::string& role,
                   const Fields& fields) {
    Status checked = wf_->CheckFields(T(transition), fields);
    if (!checked.ok()) return "fields refused: " + checked.message();
    auto to = wf_->Decide(state, T(transition), role, fields);
    return to.ok() ? *to : "refused: " + to.status().message();
  }

  Status Refusal(const std::string& state, const std::string& transition, const std::string& role,
                 const Fields& fields) {
    auto to = wf_->Decide(state, T(transition), role, fields);
    if (to.ok()) return Status::InvalidArgument("unexpectedly allowed, to '" + *to + "'");
    return to.status();
  }

  std::optional<Workflow> wf_;
};

TEST_F(ShippedWorkflowTest, ShippedWorkflowLoadsWithItsNameAndSubject) {
  EXPECT_EQ(wf_->name(), "recommendation");
  EXPECT_EQ(wf_->subject(), "recommendation");
  EXPECT_NE(wf_->source().find("recommendation.yaml"), std::string::npos);
  ASSERT_NE(wf_->FindRole("body_lead"), nullptr);
  EXPECT_TRUE(wf_->FindRole("body_lead")->acts_for_owner);
  EXPECT_FALSE(wf_->FindRole("inspectorate")->acts_for_owner);
}

TEST_F(ShippedWorkflowTest, StatesAreInFileOrderWithTheirOpenFlags) {
  Names names;
  for (const auto& s : wf_->states()) names.push_back(s.name);
  EXPECT_EQ(names, kStates);
  EXPECT_TRUE(wf_->IsOpen("issued"));
  EXPECT_FALSE(wf_->IsOpen("closed"));
  EXPECT_FALSE(wf_->IsOpen("verified"));
  EXPECT_TRUE(wf_->IsOpen("reopened"));
  EXPECT_FALSE(wf_->IsOpen("superseded"));
  EXPECT_FALSE(wf_->IsOpen("withdrawn"));
  EXPECT_FALSE(wf_->IsOpen("no_such_state"));
}

TEST_F(ShippedWorkflowTest, TransitionNamesMatchTheTableOfThisTest) {
  Names names, expected;
  for (const auto& t : wf_->transitions()) names.push_back(t.name);
  for (const auto& t : kTransitions) expected.push_back(t.name);
  EXPECT_EQ(names, expected);
}

TEST_F(ShippedWorkflowTest, CreatingTransitionIsIssueIntoIssued) {
  const Transition& issue = wf_->creating();
  EXPECT_EQ(issue.name, "issue");
  EXPECT_TRUE(issue.creates);
  ASSERT_EQ(issue.cases.size(), 1u);
  EXPECT_EQ(issue.cases[0].to, "issued");
  EXPECT_EQ(issue.roles, Names{"inspectorate"});
}

TEST_F(ShippedWorkflowTest, UpdateStaysInIssuedReopenedAndClosed) {
  for (const std::string state : {"issued", "reopened", "closed"}) {
    for (const std::string role : {"body_lead", "inspectorate"}) {
      EXPECT_EQ(Fire(state, "update", role, {}), state) << role;
      EXPECT_EQ(Fire(state, "update", role, {{"met", {"M1"}}}), state) << role;
    }
  }
  EXPECT_EQ(T("update").effects.mark_met, "met");
}

TEST_F(ShippedWorkflowTest,
       WithdrawnAndSupersededAreFinalAndOnlyWithdrawAndSupersedeAlwaysEndALife) {
  for (const std::string state : {"withdrawn", "superseded"}) EXPECT_TRUE(wf_->IsFinal(state));
  for (const std::string state : {"issued", "closed", "verified", "reopened"}) {
    EXPECT_FALSE(wf_->IsFinal(state)) << state;
  }
  Names ending;
  for (const auto& t : wf_->transitions()) {
    if (wf_->EndsLife(t)) ending.push_back(t.name);
  }
  // assess ends it only with superseded_by; issue creates.
  EXPECT_EQ(ending, (Names{"supersede", "withdraw"}));
}

TEST_F(ShippedWorkflowTest, OnlyUpdateMaySayNothing) {
  Names quiet;
  for (const auto& t : wf_->transitions()) {
    if (t.MaySayNothing()) quiet.push_back(t.name);
  }
  // close moves the state; assess keeps it in some cases but requires an outcome.
  EXPECT_EQ(quiet, Names{"update"});
}

TEST_F(ShippedWorkflowTest, CloseFromIssuedAndReopenedIsClosed) {
  EXPECT_EQ(Fire("issued", "close", "body_lead", {}), "closed");
  EXPECT_EQ(Fire("reopened", "close", "body_lead", {{"evidence", {"E1", "E2"}}}), "closed");
}

TEST_F(ShippedWorkflowTest, AssessAchievedOnClosedIsVerified) {
  EXPECT_EQ(Fire("closed", "assess", "inspectorate", Assess("achieved")), "verified");
}

TEST_F(ShippedWorkflowTest, AssessNotAchievedOnClosedIsReopened) {
  EXPECT_EQ(Fire("closed", "assess", "inspectorate", Assess("not_achieved")), "reopened");
}

TEST_F(ShippedWorkflowTest, AssessPartiallyAchievedOnClosedIsReopened) {
  EXPECT_EQ(Fire("closed", "assess", "inspectorate", Assess("partially_achieved")), "reopened");
}

TEST_F(ShippedWorkflowTest, AssessNotAchievedWithSupersededByOnClosedIsSuperseded) {
  EXPECT_EQ(Fire("closed", "assess", "inspectorate", AssessSuperseded("not_achieved")),
            "superseded");
}

TEST_F(ShippedWorkflowTest, AssessPartiallyAchievedWithSupersededByOnClosedIsSuperseded) {
  EXPECT_EQ(Fire("closed", "assess", "inspectorate", AssessSuperseded("partially_achieved")),
            "superseded");
}

TEST_F(ShippedWorkflowTest, AssessOnIssuedOrReopenedWithoutSupersededByStays) {
  for (const std::string state : {"issued", "reopened"}) {
    for (const std::string outcome : {"achieved", "partially_achieved", "not_achieved"}) {
      EXPECT_EQ(Fire(state, "assess", "inspectorate", Assess(outcome)), state) << outcome;
    }
  }
}

TEST_F(ShippedWorkflowTest, AssessNotAchievedWithSupersededByOnIssuedOrReopenedIsSuperseded) {
  for (const std::string state : {"issued", "reopened"}) {
    EXPECT_EQ(Fire(state, "assess", "inspectorate", AssessSuperseded("not_achieved")),
              "superseded");
    EXPECT_EQ(Fire(state, "assess", "inspectorate", AssessSuperseded("partially_achieved")),
              "superseded");
  }
  EXPECT_EQ(T("assess").effects.supersede, "superseded_by");
}

TEST_F(ShippedWorkflowTest, AssessAchievedWithSupersededByMatchesNoCaseAndNamesTheFields) {
  for (const std::string state : {"closed", "issued", "reopened"}) {
    Status s = Refusal(state, "assess", "inspectorate", AssessSuperseded("achieved"));
    EXPECT_EQ(s.code(), Code::kConflict) << s.message();
    EXPECT_NE(s.message().find("outcome=achieved"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("superseded_by=R-9"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("in=INS-2"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("from '" + state + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("as inspectorate you may: " +
                               Join(ExpectedAllowed(state, "inspectorate"))),
              std::string::npos)
        << s.message();
  }
}

TEST_F(ShippedWorkflowTest, ReopenFromClosedAndVerifiedIsReopened) {
  EXPECT_EQ(Fire("closed", "reopen", "inspectorate", {{"reason", {"r"}}}), "reopened");
  EXPECT_EQ(Fire("verified", "reopen", "inspectorate", {{"reason", {"r"}}}), "reopened");
}

TEST_F(ShippedWorkflowTest, SupersedeFromIssuedReopenedAndClosedIsSuperseded) {
  for (const std::string state : {"issued", "reopened", "closed"}) {
    EXPECT_EQ(Fire(state, "supersede", "inspectorate", {{"superseded_by", {"R-8", "R-9"}}}),
              "superseded");
  }
}

TEST_F(ShippedWorkflowTest, ExtendInIssuedAndReopenedStays) {
  for (const std::string state : {"issued", "reopened"}) {
    EXPECT_EQ(Fire(state, "extend", "inspectorate", ValidFields("extend")), state);
  }
  EXPECT_EQ(T("extend").effects.set_due_milestone, "milestone");
  EXPECT_EQ(T("extend").effects.set_due_date, "due");
}

TEST_F(ShippedWorkflowTest, WithdrawFromIssuedReopenedAndClosedIsWithdrawn) {
  for (const std::string state : {"issued", "reopened", "closed"}) {
    EXPECT_EQ(Fire(state, "withdraw", "inspectorate", {{"reason", {"r"}}}), "withdrawn");
  }
}

TEST_F(ShippedWorkflowTest, EveryTransitionFromAStateItDoesNotAllowIsConflict) {
  int refusals = 0;
  for (const auto& t : kTransitions) {
    for (const auto& role : t.roles) {
      for (const auto& state : kStates) {
        if (Has(t.from, state)) continue;
        SCOPED_TRACE(t.name + " from " + state + " as " + role);
        Status s = Refusal(state, t.name, role, ValidFields(t.name));
        EXPECT_EQ(s.code(), Code::kConflict) << s.message();
        EXPECT_NE(s.message().find("'" + t.name + "' is not allowed"), std::string::npos)
            << s.message();
        EXPECT_NE(s.message().find("it is '" + state + "'"), std::string::npos) << s.message();
        EXPECT_NE(
            s.message().find("as " + role + " you may: " + Join(ExpectedAllowed(state, role))),
            std::string::npos)
            << s.message();
        ++refusals;
      }
    }
  }
  EXPECT_EQ(refusals, 33);
}

TEST_F(ShippedWorkflowTest, ConflictMessagesSpellOutWhatTheRoleMayDo) {
  Status s = Refusal("superseded", "close", "body_lead", {});
  EXPECT_EQ(s.message(),
            "'close' is not allowed: it is 'superseded'; as body_lead you may: nothing");
  s = Refusal("closed", "extend", "inspectorate", ValidFields("extend"));
  EXPECT_EQ(s.message(),
            "'extend' is not allowed: it is 'closed'; as inspectorate you may: update, assess, "
            "reopen, supersede, withdraw");
}

TEST_F(ShippedWorkflowTest, RolesNotListedForATransitionArePermissionDenied) {
  int refusals = 0;
  for (const auto& t : kTransitions) {
    for (const auto& role : kRoles) {
      if (Has(t.roles, role)) continue;
      for (const auto& state : kStates) {
        SCOPED_TRACE(t.name + " from " + state + " as " + role);
        Status s = Refusal(state, t.name, role, ValidFields(t.name));
        EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.message();
        EXPECT_NE(s.message().find("role '" + role + "' may not '" + t.name + "'"),
                  std::string::npos)
            << s.message();
        EXPECT_NE(s.message().find("it is '" + state + "'"), std::string::npos) << s.message();
        EXPECT_NE(s.message().find("you may: " + Join(ExpectedAllowed(state, role))),
                  std::string::npos)
            << s.message();
        ++refusals;
      }
    }
  }
  // reader: 8 transitions; body_lead: all but update and close; inspectorate: close.
  EXPECT_EQ(refusals, (8 + 6 + 1) * 6);
}

TEST_F(ShippedWorkflowTest, BodyLeadMayNotAssessReopenSupersedeExtendOrWithdraw) {
  EXPECT_EQ(Refusal("closed", "assess", "body_lead", Assess("achieved")).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(Refusal("verified", "reopen", "body_lead", ValidFields("reopen")).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(Refusal("issued", "supersede", "body_lead", ValidFields("supersede")).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(Refusal("issued", "extend", "body_lead", ValidFields("extend")).code(),
            Code::kPermissionDenied);
  Status s = Refusal("reopened", "withdraw", "body_lead", ValidFields("withdraw"));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "role 'body_lead' may not 'withdraw' (inspectorate may); it is 'reopened'; as "
            "body_lead you may: update, close");
}

TEST_F(ShippedWorkflowTest, InspectorateMayNotCloseAndReaderMayDoNothing) {
  Status s = Refusal("issued", "close", "inspectorate", {});
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("(body_lead may)"), std::string::npos) << s.message();
  for (const auto& state : kStates) EXPECT_TRUE(wf_->Allowed(state, "reader").empty()) << state;
  EXPECT_EQ(Refusal("issued", "update", "reader", {}).code(), Code::kPermissionDenied);
}

TEST_F(ShippedWorkflowTest, AllowedListsTransitionsInFileOrder) {
  for (const auto& state : kStates) {
    for (const auto& role : kRoles) {
      EXPECT_EQ(wf_->Allowed(state, role), ExpectedAllowed(state, role)) << state << " " << role;
    }
  }
  EXPECT_EQ(wf_->Allowed("issued", "inspectorate"),
            (Names{"update", "assess", "supersede", "extend", "withdraw"}));
  EXPECT_EQ(wf_->Allowed("closed", "body_lead"), Names{"update"});
  EXPECT_EQ(wf_->Allowed("verified", "inspectorate"), Names{"reopen"});
  EXPECT_TRUE(wf_->Allowed("withdrawn", "inspectorate").empty());
}

// ---------------------------------------------------------------------------------------------
// CheckFields

TEST_F(ShippedWorkflowTest, CheckFieldsRefusesAnUnknownFieldNamingItAndWhatTheTransitionTakes) {
  Status s = wf_->CheckFields(T("assess"), {{"outcome", {"achieved"}}, {"reason", {"x"}}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "'assess' takes no field 'reason' (it takes: outcome, in, superseded_by)");
  s = wf_->CheckFields(T("close"), {{"met", {"M1"}}});
  EXPECT_EQ(s.message(), "'close' takes no field 'met' (it takes: evidence, override)");
}

TEST_F(ShippedWorkflowTest, CheckFieldsRefusesAMissingRequiredField) {
  Status s = wf_->CheckFields(T("assess"), {{"outcome", {"achieved"}}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "'assess' needs field 'in'");
  EXPECT_EQ(wf_->CheckFields(T("reopen"), {}).message(), "'reopen' needs field 'reason'");
}

TEST_F(ShippedWorkflowTest, CheckFieldsRefusesTwoValuesForAScalarField) {
  Status s = wf_->CheckFields(T("withdraw"), {{"reason", {"a", "b"}}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'reason' of 'withdraw' takes exactly one value");
}

TEST_F(ShippedWorkflowTest, CheckFieldsRefusesAnImpossibleDueDate) {
  Fields f = ValidFields("extend");
  f["due"] = {"2025-02-30"};
  Status s = wf_->CheckFields(T("extend"), f);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'due': '2025-02-30' is not a real date (YYYY-MM-DD)");
}

TEST_F(ShippedWorkflowTest, CheckFieldsRefusesAnOutcomeOutsideTheEnum) {
  Status s = wf_->CheckFields(T("assess"), Assess("done"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "field 'outcome': 'done' is not one of: achieved, partially_achieved, not_achieved");
}

TEST_F(ShippedWorkflowTest, CheckFieldsRefusesAnEmptyListAndAnEmptyReference) {
  Status s = wf_->CheckFields(T("supersede"), {{"superseded_by", {}}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "field 'superseded_by' of 'supersede' is an empty list; leave it out instead");
  s = wf_->CheckFields(T("update"), {{"met", {""}}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'met' is empty");
}

TEST_F(ShippedWorkflowTest, CheckFieldsAcceptsListsOptionalFieldsLeftOutAndEveryValidSet) {
  EXPECT_TRUE(wf_->CheckFields(T("supersede"), {{"superseded_by", {"R-8", "R-9"}}}).ok());
  EXPECT_TRUE(wf_->CheckFields(T("close"), {{"evidence", {"E1", "E2", "E3"}}}).ok());
  EXPECT_TRUE(wf_->CheckFields(T("update"), {}).ok());
  EXPECT_TRUE(wf_->CheckFields(T("assess"), AssessSuperseded("not_achieved")).ok());
  for (const auto& t : kTransitions) {
    EXPECT_TRUE(wf_->CheckFields(T(t.name), ValidFields(t.name)).ok()) << t.name;
  }
}

// ---------------------------------------------------------------------------------------------
// A different lifecycle, run by the same interpreter.

const std::string kActionWorkflow = R"(workflow: action
subject: action
roles:
  owner: {acts_for: owner}
  manager: {}
states:
  planned: {open: true}
  in_progress: {open: true}
  done: {open: false}
  dropped: {open: false}
fields:
  note: {type: text}
  result: {type: enum, values: [complete, abandoned]}
transitions:
  - name: plan
    creates: true
    to: planned
    roles: [manager]
  - name: start
    from: [planned]
    to: in_progress
    roles: [owner, manager]
  - name: finish
    roles: [owner]
    required: [result]
    optional: [note]
    cases:
      - from: [in_progress]
        when: {result: complete}
        to: done
      - from: [planned, in_progress]
        when: {result: abandoned}
        to: dropped
  - name: reopen
    from: [done, dropped]
    to: in_progress
    roles: [manager]
    required: [note]
)";

class ActionWorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = Workflow::Parse(kActionWorkflow, "action.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    wf_ = std::move(loaded).value();
  }
  Result<std::string> Decide(const std::string& state, const std::string& t,
                             const std::string& role, const Fields& fields) {
    const Transition* tr = wf_->FindTransition(t);
    EXPECT_NE(tr, nullptr);
    EXPECT_TRUE(wf_->CheckFields(*tr, fields).ok());
    return wf_->Decide(state, *tr, role, fields);
  }
  std::optional<Workflow> wf_;
};

TEST_F(ActionWorkflowTest, LoadsWithItsOwnStatesRolesAndCreatingTransition) {
  EXPECT_EQ(wf_->name(), "action");
  EXPECT_EQ(wf_->subject(), "action");
  EXPECT_EQ(wf_->creating().name, "plan");
  EXPECT_EQ(wf_->creating().cases[0].to, "planned");
  EXPECT_TRUE(wf_->IsOpen("in_progress"));
  EXPECT_FALSE(wf_->IsOpen("dropped"));
  EXPECT_TRUE(wf_->FindRole("owner")->acts_for_owner);
  EXPECT_EQ(wf_->FindState("issued"), nullptr);
}

TEST_F(ActionWorkflowTest, RunsPlannedToDoneThenReopenedThenDropped) {
  std::string state = wf_->creating().cases[0].to.value();
  auto step = [&](const std::string& t, const std::string& role, const Fields& fields) {
    auto to = Decide(state, t, role, fields);
    EXPECT_TRUE(to.ok()) << to.status().message();
    if (to.ok()) state = *to;
    return state;
  };
  EXPECT_EQ(step("start", "owner", {}), "in_progress");
  EXPECT_EQ(step("finish", "owner", {{"result", {"complete"}}}), "done");
  EXPECT_EQ(step("reopen", "manager", {{"note", {"not really"}}}), "in_progress");
  EXPECT_EQ(step("finish", "owner", {{"result", {"abandoned"}}, {"note", {"n"}}}), "dropped");
  EXPECT_EQ(*Decide("planned", "finish", "owner", {{"result", {"abandoned"}}}), "dropped");
}

TEST_F(ActionWorkflowTest, RefusesWhatItsOwnTablesForbid) {
  auto no_case = Decide("planned", "finish", "owner", {{"result", {"complete"}}});
  EXPECT_EQ(no_case.status().code(), Code::kConflict);
  EXPECT_NE(no_case.status().message().find("result=complete"), std::string::npos);
  EXPECT_NE(no_case.status().message().find("as owner you may: start, finish"), std::string::npos)
      << no_case.status().message();
  auto wrong_state = Decide("done", "start", "manager", {});
  EXPECT_EQ(wrong_state.status().code(), Code::kConflict);
  EXPECT_EQ(wrong_state.status().message(),
            "'start' is not allowed: it is 'done'; as manager you may: reopen");
  EXPECT_EQ(Decide("in_progress", "finish", "manager", {{"result", {"complete"}}}).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(wf_->Allowed("in_progress", "owner"), Names{"finish"});
  EXPECT_EQ(wf_->Allowed("planned", "manager"), Names{"start"});
  EXPECT_EQ(wf_->CheckFields(*wf_->FindTransition("finish"), {{"result", {"maybe"}}}).message(),
            "field 'result': 'maybe' is not one of: complete, abandoned");
}

}  // namespace
}  // namespace rectrack
