// Ledger savepoints: rolling back leaves the world exactly as it was before, for every kind of
// change (definitions, new items, appended and back-dated events, the supersede and action
// indexes), however the savepoints nest. The world is compared as everything a query can see.
#include "engine/ledger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <tuple>

#include "engine/command_builder.h"
#include "engine/importer.h"
#include "engine/render.h"

namespace rectrack {
namespace {

const std::string kSource = RECTRACK_SOURCE_DIR;

Date D(const char* iso) { return *Date::Parse(iso); }

// A body, an inspection and one recommendation, r1, issued 6 January 2025.
constexpr const char* kOneRecommendation = R"(
bodies: [{id: CPS, name: Crown Prosecution Service}]
inspections: [{id: i1, title: An inspection, published: 2025-01-06}]
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "By 31 March 2025, the CPS to act."}
)";

class LedgerTest : public ::testing::Test {
 protected:
  // Adds the events `commands` ask for, numbered on from the last; stops at the first error.
  Status Apply(const std::vector<Command>& commands, Ledger::Undo undo = Ledger::Undo::kRecord) {
    for (const Command& command : commands) {
      auto built = BuildEvent(command, workflow_, *ledger_, today_, TextLimits{});
      if (!built.ok()) return built.status();
      if (!built->has_value()) continue;
      Event event = std::move(**built);
      event.seq = ++seq_;
      event.recorded = "2026-11-22T10:00:00Z";
      event.actor = "test";
      RETURN_IF_ERROR(ledger_->Add(std::move(event), undo));
    }
    return Status();
  }
  Status ApplyFile(const std::string& name, Ledger::Undo undo = Ledger::Undo::kRecord) {
    auto commands = ParseImportFile(kSource + "/demo/" + name, workflow_, &action_workflow_);
    if (!commands.ok()) return commands.status();
    return Apply(*commands, undo);
  }
  Status ApplyYaml(const char* yaml) {
    auto commands = ParseImport(yaml, "test.yaml", workflow_, &action_workflow_);
    if (!commands.ok()) return commands.status();
    return Apply(*commands);
  }

  // Everything the ledger answers, as text: definitions, and every item as shown on three
  // dates, with its actions.
  std::string World() const {
    std::string out;
    for (const auto& [id, b] : ledger_->bodies()) out += "body " + id + ": " + b.name + "\n";
    for (const auto& [id, u] : ledger_->units()) out += "unit " + id + ": " + u.name + "\n";
    for (const auto& [id, i] : ledger_->inspections())
      out += "inspection " + id + ": " + i.title + "\n";
    for (const auto& [id, item] : ledger_->items()) {
      out += "item " + id + " (" + std::to_string(item.events.size()) + " events)\n";
      for (Date as_of : {D("2023-06-30"), D("2025-03-31"), today_}) {
        auto view = ledger_->Project(item, as_of);
        out += !view.ok()                          ? view.status().message()
               : item.kind == SubjectKind::kAction ? ActionAsJson(*view)
                                                   : ShowAsJson(*view);
        out += "\n";
      }
      out += "actions:";
      for (const auto& action : ledger_->ActionsOf(id)) out += " " + action;
      out += "\n";
    }
    out += "list order:";
    for (const Item* item : ledger_->recommendations_in_list_order()) out += " " + item->id;
    return out + "\n";
  }

  Workflow workflow_ = *Workflow::LoadFile(kSource + "/workflows/recommendation.yaml");
  Workflow action_workflow_ = *Workflow::LoadFile(kSource + "/workflows/action.yaml");
  std::unique_ptr<Ledger> ledger_ = std::make_unique<Ledger>(&workflow_, &action_workflow_);
  int64_t seq_ = 0;
  const Date today_ = D("2026-11-22");
};

TEST_F(LedgerTest, RollingBackEachDemoFileLeavesTheWorldAsItWas) {
  // Recommendations, supersession, several bodies, units and action plans.
  for (const char* file : {"domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml"}) {
    SCOPED_TRACE(file);
    const std::string before = World();
    const int64_t seq = seq_;
    const Ledger::Mark mark = ledger_->Savepoint();
    ASSERT_TRUE(ApplyFile(file).ok());
    const std::string applied = World();
    ASSERT_NE(applied, before);
    ledger_->RollbackTo(mark);
    EXPECT_EQ(World(), before);
    // And the same file applies again to the same world: nothing of it was left behind.
    seq_ = seq;
    ASSERT_TRUE(ApplyFile(file).ok());
    EXPECT_EQ(World(), applied);
    ledger_->Release();
  }
  // The supersede links survived the round trips: da25-n1 supersedes da23-r4.
  auto n1 = ledger_->Project(*ledger_->FindItem("da25-n1"), today_);
  ASSERT_TRUE(n1.ok());
  EXPECT_EQ(n1->supersedes, std::vector<std::string>{"da23-r4"});
}

// Lists walk the recommendations in list order (issue date, then id) as the ledger keeps it:
// the order a sort of every recommendation gives, kept as recommendations are made, and undone.
TEST_F(LedgerTest, RecommendationsAreKeptInListOrder) {
  for (const char* file : {"domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml"}) {
    ASSERT_TRUE(ApplyFile(file).ok()) << file;
  }
  std::vector<const Item*> sorted;
  for (const auto& [id, item] : ledger_->items()) {
    if (item.kind == SubjectKind::kRecommendation) sorted.push_back(&item);
  }
  std::sort(sorted.begin(), sorted.end(), [](const Item* a, const Item* b) {
    return std::pair(a->issued(), a->id) < std::pair(b->issued(), b->id);
  });
  ASSERT_GT(sorted.size(), 10u);
  ASSERT_NE(sorted.front()->issued(), sorted.back()->issued());
  const auto& kept = ledger_->recommendations_in_list_order();
  EXPECT_EQ(std::vector<const Item*>(kept.begin(), kept.end()), sorted);
  // One issued before every other, then undone.
  const Ledger::Mark mark = ledger_->Savepoint();
  ASSERT_TRUE(ApplyYaml(R"(
inspections: [{id: early, title: An early inspection, published: 2001-01-05}]
recommendations:
  - {id: zz-early, inspection: early, owners: [CPS], text: "By 31 March 2001, the CPS to act."}
)")
                  .ok());
  EXPECT_EQ((*kept.begin())->id, "zz-early");
  EXPECT_EQ(kept.size(), sorted.size() + 1);
  ledger_->RollbackTo(mark);
  EXPECT_EQ(std::vector<const Item*>(kept.begin(), kept.end()), sorted);
}

// The world holds each event once: an item's tail is its head, without a timeline, after an
// appended event and after a back-dated one alike. WholeHistory makes the timeline, the one a
// full projection after the last event has, and each of its entries says the states around it;
// with kStates, the same entries without their text.
TEST_F(LedgerTest, ATailHoldsNoTimelineAndWholeHistoryMakesIt) {
  for (const char* file : {"domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml"}) {
    ASSERT_TRUE(ApplyFile(file, Ledger::Undo::kSkip).ok()) << file;
  }
  ASSERT_TRUE(ApplyYaml(R"(
events:
  - {rec: da25-n1, do: update, effective: 2025-05-01, by: CPS, note: "back-dated"}
)")
                  .ok());
  size_t items = 0, entries = 0;
  for (const auto& [id, item] : ledger_->items()) {
    SCOPED_TRACE(id);
    ASSERT_TRUE(item.tail.has_value());
    EXPECT_TRUE(item.tail->timeline.empty());
    auto whole = ledger_->WholeHistory(item);
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    auto shown = ledger_->Project(item, today_);
    ASSERT_TRUE(shown.ok()) << shown.status().message();
    ASSERT_EQ(whole->timeline.size(), item.events.size());
    ASSERT_EQ(shown->timeline.size(), item.events.size());
    std::string state;
    for (size_t i = 0; i < item.events.size(); ++i) {
      const TimelineEntry& entry = whole->timeline[i];
      EXPECT_EQ(entry.seq, item.events[i].seq);
      EXPECT_EQ(entry.note, item.events[i].note);
      EXPECT_EQ(entry.seq, shown->timeline[i].seq);
      EXPECT_EQ(entry.from_state, state);
      EXPECT_EQ(entry.to_state, shown->timeline[i].to_state);
      state = entry.to_state;
    }
    EXPECT_EQ(state, item.tail->state);
    // What the alert rules read (kStates) is the same timeline, without its text.
    auto states = ledger_->WholeHistory(item, Detail::kStates);
    ASSERT_TRUE(states.ok()) << states.status().message();
    ASSERT_EQ(states->timeline.size(), whole->timeline.size());
    for (size_t i = 0; i < whole->timeline.size(); ++i) {
      const TimelineEntry& full = whole->timeline[i];
      const TimelineEntry& brief = states->timeline[i];
      EXPECT_EQ(std::tie(brief.seq, brief.effective, brief.transition, brief.voice,
                         brief.from_state, brief.to_state),
                std::tie(full.seq, full.effective, full.transition, full.voice, full.from_state,
                         full.to_state));
      EXPECT_TRUE(brief.note.empty() && brief.fields.empty() && brief.actor.empty());
    }
    EXPECT_EQ(states->state, whole->state);
    // The last event's entry, without a replay, is the timeline's.
    const TimelineEntry last = *ledger_->LastEntry(item);
    EXPECT_EQ(last.seq, whole->timeline.back().seq);
    EXPECT_EQ(last.from_state, whole->timeline.back().from_state);
    EXPECT_EQ(last.to_state, whole->timeline.back().to_state);
    EXPECT_EQ(last.voice, whole->timeline.back().voice);
    ++items;
    entries += item.events.size();
  }
  EXPECT_GT(items, 20u);
  EXPECT_GT(entries, items);

  // A close appended, then undone: the states around the last event are those before it.
  ASSERT_TRUE(ApplyYaml(kOneRecommendation).ok());
  ledger_->Release();
  const Ledger::Mark mark = ledger_->Savepoint();
  ASSERT_TRUE(
      ApplyYaml("events:\n  - {rec: r1, do: close, effective: 2025-03-20, by: CPS}\n").ok());
  const Item& r1 = *ledger_->FindItem("r1");
  EXPECT_EQ(ledger_->LastEntry(r1)->from_state, "issued");
  EXPECT_EQ(ledger_->LastEntry(r1)->to_state, "closed");
  EXPECT_EQ(ledger_->WholeHistory(r1)->timeline.front().to_state, "issued");
  ledger_->RollbackTo(mark);
  EXPECT_EQ(ledger_->LastEntry(r1)->from_state, "");
  EXPECT_EQ(ledger_->LastEntry(r1)->to_state, "issued");
  EXPECT_EQ(ledger_->LastEntry(r1)->transition, "issue");
}

TEST_F(LedgerTest, ABackDatedEventIsUndoneToTheHistoryBeforeIt) {
  ASSERT_TRUE(ApplyYaml(kOneRecommendation).ok());
  ASSERT_TRUE(ApplyYaml(R"(
events:
  - {rec: r1, do: update, effective: 2025-03-01, by: CPS, note: "later"}
  - {rec: r1, do: close, effective: 2025-03-20, by: CPS}
)")
                  .ok());
  ledger_->Release();
  const std::string before = World();
  const Ledger::Mark mark = ledger_->Savepoint();
  // Before both events: the whole history is replayed with it in its place.
  ASSERT_TRUE(ApplyYaml(R"(
events:
  - {rec: r1, do: update, effective: 2025-02-01, by: CPS, met: due, note: "earlier"}
)")
                  .ok());
  const Item* r1 = ledger_->FindItem("r1");
  ASSERT_EQ(r1->events.size(), 4u);
  EXPECT_EQ(r1->events[1].note, "earlier");
  ledger_->RollbackTo(mark);
  EXPECT_EQ(World(), before);
  EXPECT_EQ(ledger_->FindItem("r1")->events[1].note, "later");
}

TEST_F(LedgerTest, SavepointsNest) {
  ASSERT_TRUE(ApplyYaml(kOneRecommendation).ok());
  ledger_->Release();
  const std::string start = World();
  const Ledger::Mark outer = ledger_->Savepoint();
  ASSERT_TRUE(
      ApplyYaml("events: [{rec: r1, do: update, effective: 2025-02-01, by: CPS, note: x}]").ok());
  const std::string after_first = World();
  const Ledger::Mark inner = ledger_->Savepoint();
  ASSERT_TRUE(ApplyYaml(R"(
recommendations:
  - {id: r2, inspection: i1, owners: [CPS], text: "By 30 June 2025, the CPS to act."}
events: [{rec: r1, do: close, effective: 2025-03-01, by: CPS}]
)")
                  .ok());
  ledger_->RollbackTo(inner);
  EXPECT_EQ(World(), after_first);
  EXPECT_EQ(ledger_->FindItem("r2"), nullptr);
  ledger_->RollbackTo(outer);
  EXPECT_EQ(World(), start);
}

TEST_F(LedgerTest, ARedefinitionIsUndoneToThePreviousDefinition) {
  ASSERT_TRUE(ApplyYaml("bodies: [{id: CPS, name: Crown Prosecution Service}]").ok());
  ledger_->Release();
  // The Engine refuses to change a definition; the ledger itself keeps whatever it is given,
  // and must give the old one back.
  Event renamed;
  renamed.seq = ++seq_;
  renamed.kind = SubjectKind::kBody;
  renamed.subject_id = "CPS";
  renamed.transition = kDefineTransition;
  renamed.body_def = Body{"CPS", "Renamed", ""};
  const Ledger::Mark mark = ledger_->Savepoint();
  ASSERT_TRUE(ledger_->Add(renamed).ok());
  EXPECT_EQ(ledger_->FindBody("CPS")->name, "Renamed");
  ledger_->RollbackTo(mark);
  EXPECT_EQ(ledger_->FindBody("CPS")->name, "Crown Prosecution Service");
}

TEST_F(LedgerTest, ARefusedEventChangesNothingAndLeavesNothingToUndo) {
  ASSERT_TRUE(ApplyYaml(kOneRecommendation).ok());
  ledger_->Release();
  const std::string before = World();
  const Ledger::Mark mark = ledger_->Savepoint();
  // An issued recommendation cannot be reopened.
  EXPECT_FALSE(ApplyYaml("events: [{rec: r1, do: reopen, effective: 2025-02-01, reason: x}]").ok());
  EXPECT_EQ(ledger_->Savepoint(), mark);
  EXPECT_EQ(World(), before);
}

TEST_F(LedgerTest, ReplayingWithoutUndoKeepsNothingToUndoAndGivesTheSameWorld) {
  ASSERT_TRUE(ApplyFile("domestic-abuse.yaml").ok());
  const std::string recorded = World();
  EXPECT_GT(ledger_->Savepoint(), 0u);
  ledger_->Release();

  ledger_ = std::make_unique<Ledger>(&workflow_, &action_workflow_);
  seq_ = 0;
  ASSERT_TRUE(ApplyFile("domestic-abuse.yaml", Ledger::Undo::kSkip).ok());
  EXPECT_EQ(ledger_->Savepoint(), 0u) << "the log's replay must not hold an undo per event";
  EXPECT_EQ(World(), recorded);
}

}  // namespace
}  // namespace rectrack
