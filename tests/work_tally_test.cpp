// Engine::CountWork: the work each body and unit has, counted by the ledger as items change
// (engine/work_tally.h), equals a count made here from every item projected as at the day, for
// random worlds (back-dated, reopened, superseded), after group commits in which some batches
// are refused (their changes undone), with histories held or let go, and in an engine that
// replayed the same log afresh. Real SQLite files.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "tests/item_store_fixture.h"

namespace rectrack {
namespace {

class WorkTallyTest : public ItemIndexTest {
 protected:
  // What CountWork should say, counted here from every recommendation and action as at `day`
  // (their views' own `open` and `overdue`), not by WorkTally.
  static std::map<WorkOwner, WorkCounts> Walked(const Engine& engine, Date day, int within) {
    std::map<WorkOwner, WorkCounts> out;
    auto count = [&](const RecommendationView& v, const WorkOwner& owner) {
      WorkCounts& c = out[owner];
      ++c.states[v.state];
      if (!v.open) return;
      ++c.open;
      if (v.overdue) ++c.overdue;
      std::optional<Date> next;
      for (const MilestoneView& m : v.milestones) {
        if (!m.met && (!next || m.due < *next)) next = m.due;
      }
      if (next && *next >= day && *next <= day.AddDays(within)) ++c.due_soon;
    };
    ListQuery recommendations;
    recommendations.as_of = day;
    for (const RecommendationView& v : engine.List(recommendations).value()) {
      for (const std::string& body : v.def.owners) {
        count(v, {SubjectKind::kRecommendation, body, ""});
      }
    }
    ActionQuery actions;
    actions.as_of = day;
    for (const RecommendationView& a : engine.ListActions(actions).value()) {
      count(a, {SubjectKind::kAction, a.def.owners.front(), a.action->unit});
    }
    return out;
  }

  static std::string Text(const std::map<WorkOwner, WorkCounts>& work) {
    std::ostringstream out;
    for (const auto& [owner, c] : work) {
      out << SubjectKindName(owner.kind) << " " << owner.body << "/" << owner.unit << ": open "
          << c.open << ", overdue " << c.overdue << ", due soon " << c.due_soon << ";";
      for (const auto& [state, n] : c.states) out << " " << state << " " << n;
      out << "\n";
    }
    return out.str();
  }

  static std::string Counted(const Engine& engine, Date day, int within) {
    auto work = engine.CountWork(day, within);
    return work.ok() ? Text(*work) : work.status().message();
  }
};

TEST_F(WorkTallyTest, WorkCountedAsItemsChangeEqualsAWalkOverEveryItemAtRandomDates) {
  int compared = 0;
  int64_t open = 0, overdue = 0, due_soon = 0;
  for (const unsigned seed : {71u, 72u, 73u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    for (const char* file : {"", "-wal", "-shm"}) fs::remove(db() + file);
    // As `serve` runs: histories let go, a back-dated event reading one back.
    histories_out_ = seed == 72;
    std::mt19937 rng(seed);
    std::unique_ptr<Engine> engine;
    EXPECT_GT(MakeRandomWorld(rng, 30, 300, false, &engine), 60);
    ASSERT_TRUE(engine);
    // Group commits in which some batches are refused: their events are undone, the others kept.
    for (int group = 0; group < 20; ++group) {
      std::vector<WriteBatch> batches;
      for (int b = 0; b < 4; ++b) {
        WriteBatch batch{{}, "test"};
        for (int i = 0; i < 3; ++i) {
          RecordEvent e;
          e.subject_id = "r" + std::to_string(rng() % 30);
          e.effective = RandomDay(rng);
          const bool close = rng() % 2;
          e.transition = close ? "close" : "assess";
          e.role = close ? "body_lead" : "inspectorate";
          if (close) e.body = "CPS";  // refused for the SFO's own recommendations
          if (!close) {
            e.fields["outcome"] = {rng() % 2 ? "achieved" : "not_achieved"};
            e.fields["in"] = {"f1"};
          }
          batch.commands.push_back(e);
        }
        batches.push_back(std::move(batch));
      }
      for (const auto& result : engine->ApplyAll(std::move(batches))) (void)result;
    }
    // Today, a day after every event (both counted as items changed), and days before some
    // (counted by a walk: a head is not the view then).
    std::vector<Date> days = {clock_.Today(), D("2026-06-01")};
    for (int i = 0; i < 3; ++i) days.push_back(RandomDay(rng));
    for (const Date day : days) {
      for (const int within : {0, 30, 400}) {
        const std::map<WorkOwner, WorkCounts> walked = Walked(*engine, day, within);
        EXPECT_EQ(Counted(*engine, day, within), Text(walked))
            << "as at " << day.ToString() << ", within " << within;
        ++compared;
        for (const auto& [owner, c] : walked) {
          open += c.open;
          overdue += c.overdue;
          due_soon += c.due_soon;
        }
      }
    }
    // An engine that replayed the same log counts the same.
    auto fresh = Open();
    ASSERT_TRUE(fresh.ok()) << fresh.status().message();
    EXPECT_EQ(Counted(**fresh, clock_.Today(), 30), Counted(*engine, clock_.Today(), 30));
  }
  EXPECT_EQ(compared, 3 * 5 * 3);
  // The worlds had work of every kind to count.
  EXPECT_GT(open, 100);
  EXPECT_GT(overdue, 50);
  EXPECT_GT(due_soon, 5);
}

// An engine that did not read the whole log cannot count every body's work, and says so.
TEST_F(WorkTallyTest, AnEngineThatReadPartOfTheLogRefusesToCountWork) {
  std::mt19937 rng(74);
  MakeRandomWorld(rng, 6, 20);
  auto scoped = Open({"r1"});
  ASSERT_TRUE(scoped.ok()) << scoped.status().message();
  EXPECT_EQ(Counted(**scoped, clock_.Today(), 30),
            "counting work needs an engine that read the whole log");
}

}  // namespace
}  // namespace rectrack
