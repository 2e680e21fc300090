// The item index (storage/item_index.h) and the scoped engine that reads one item's history
// from it: answers equal a whole replay's, a damaged index is found by verify and repaired by
// rebuild, a database of the previous schema is upgraded in place, and a process killed while
// writing the index leaves a database that opens and answers correctly. Real SQLite files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "engine/engine.h"
#include "engine/importer.h"
#include "engine/render.h"
#include "storage/database.h"
#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

const std::string kSource = RECTRACK_SOURCE_DIR;
const std::string kWorkflow = kSource + "/workflows/recommendation.yaml";

Date D(const std::string& iso) { return *Date::Parse(iso); }

// A day between 2020-03-01 and 2025-12-31.
Date RandomDay(std::mt19937& rng) {
  std::uniform_int_distribution<int> days(0, 2131);
  return D("2020-03-01").AddDays(days(rng));
}

class ItemIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("item_index_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string db() const { return (dir_ / db_name_).string(); }

  Result<std::unique_ptr<Engine>> Open(std::vector<std::string> scope = {}) {
    Engine::Options options{db(), kWorkflow, &clock_, true, ""};
    options.scope = std::move(scope);
    options.index_batch = index_batch_;
    options.heads_batch = heads_batch_;
    return Engine::Open(options);
  }

  // Raw SQL on the database file, behind the engine's back.
  void Sql(const char* sql) {
    auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting);
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    ASSERT_TRUE((*raw)->Exec(sql).ok()) << sql;
  }
  int64_t Through() {
    auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting);
    auto stmt = (*raw)->Prepare("SELECT through FROM derived WHERE name = 'item_events'");
    return stmt.ok() && *stmt->Step() ? stmt->ColumnInt(0) : -1;
  }

  // A world of `recommendations` recommendations under two bodies, some with actions, then
  // `events` random events (back-dated, reopened, superseded, extended, ...). Events the
  // workflow refuses are simply not written; returns how many were.
  // With `scoped_writes`, each event is recorded by an engine scoped to its item and what its
  // fields name, as `rectrack record` does.
  int MakeRandomWorld(std::mt19937& rng, int recommendations, int events,
                      bool scoped_writes = false) {
    auto engine = Open();
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    std::string yaml = R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service}
  - {id: SFO, name: Serious Fraud Office}
units:
  - {id: sw, body: CPS, name: CPS South West}
inspections:
  - {id: i1, title: Disclosure, published: 2020-01-10}
  - {id: i2, title: Case progression, published: 2020-01-20}
  - {id: i3, title: Witness care, published: 2020-01-25}
  - {id: f1, title: Disclosure follow-up, published: 2020-02-01, kind: follow_up, follow_up_of: i1}
  - {id: f2, title: Progression follow-up, published: 2020-02-05, kind: follow_up, follow_up_of: i2}
recommendations:
)";
    for (int r = 0; r < recommendations; ++r) {
      const std::string owners = r % 5 == 0 ? "[CPS, SFO]" : (r % 2 ? "[SFO]" : "[CPS]");
      yaml += "  - {id: r" + std::to_string(r) + ", inspection: i" + std::to_string(1 + r % 3) +
              ", owners: " + owners + ", text: \"Improve case " + std::to_string(r) +
              ".\", milestones: [{label: m1, due: 2022-06-30}]}\n";
    }
    yaml += "actions:\n";
    std::vector<std::pair<std::string, std::string>> actions;  // id, body
    for (int r = 0; r < recommendations; r += 2) {
      const std::string id = "a" + std::to_string(r);
      yaml += "  - {id: " + id + ", rec: r" + std::to_string(r) + ", body: CPS" +
              (r % 4 == 0 ? ", unit: sw" : "") + ", title: Plan " + id +
              ", due: 2021-03-31, planned: 2020-02-15}\n";
      actions.emplace_back(id, "CPS");
    }
    auto commands =
        ParseImport(yaml, "world.yaml", (*engine)->workflow(), (*engine)->action_workflow());
    EXPECT_TRUE(commands.ok()) << commands.status().message();
    auto imported = (*engine)->Apply(*commands, "test");
    EXPECT_TRUE(imported.ok()) << imported.status().message();

    const char* rec_transitions[] = {"update",    "close",  "assess",   "assess", "reopen",
                                     "supersede", "extend", "withdraw", "close"};
    const char* action_transitions[] = {"start",  "update",     "close",  "drop",
                                        "reopen", "reschedule", "comment"};
    const char* outcomes[] = {"achieved", "partially_achieved", "not_achieved"};
    int written = 0;
    for (int i = 0; i < events; ++i) {
      RecordEvent e;
      e.effective = RandomDay(rng);
      if (rng() % 3 == 0 && !actions.empty()) {
        const auto& [id, body] = actions[rng() % actions.size()];
        e.subject_id = id;
        e.transition = action_transitions[rng() % std::size(action_transitions)];
        e.role = e.transition == "comment" && rng() % 2 ? "inspectorate" : "body_lead";
        if (e.role == "body_lead") e.body = body;
        if (e.transition == "drop" || e.transition == "reschedule") e.fields["reason"] = {"why"};
        if (e.transition == "reschedule") e.fields["due"] = {RandomDay(rng).ToString()};
      } else {
        const int r = static_cast<int>(rng() % recommendations);
        e.subject_id = "r" + std::to_string(r);
        e.transition = rec_transitions[rng() % std::size(rec_transitions)];
        const bool body_voice = e.transition == "close" || (e.transition == "update" && rng() % 2);
        e.role = body_voice ? "body_lead" : "inspectorate";
        if (body_voice) e.body = r % 2 && r % 5 ? "SFO" : "CPS";
        if (e.transition == "close" && rng() % 2) e.fields["override"] = {"agreed"};
        if (e.transition == "assess") {
          e.fields["outcome"] = {outcomes[rng() % 3]};
          e.fields["in"] = {rng() % 2 ? "f1" : "f2"};
        }
        if (e.transition == "reopen" || e.transition == "withdraw" || e.transition == "extend") {
          e.fields["reason"] = {"as the follow-up found"};
        }
        if (e.transition == "extend") {
          e.fields["milestone"] = {"m1"};
          e.fields["due"] = {RandomDay(rng).ToString()};
        }
        if (e.transition == "supersede") {
          e.fields["superseded_by"] = {"r" + std::to_string(rng() % recommendations)};
        }
      }
      if (!scoped_writes) {
        if ((*engine)->Apply({e}, "test").ok()) ++written;
        continue;
      }
      std::vector<std::string> scope = {e.subject_id};
      for (const auto& [field, values] : e.fields) {
        scope.insert(scope.end(), values.begin(), values.end());
      }
      auto scoped = Open(scope);
      EXPECT_TRUE(scoped.ok()) << scoped.status().message();
      if ((*scoped)->Apply({e}, "test").ok()) ++written;
    }
    return written;
  }

  // What `show` prints for `id` at `as_of`, as JSON, from `engine`; or the error.
  static std::string Shown(Engine& engine, const std::string& id, Date as_of) {
    const auto kind = engine.KindOf(id);
    if (!kind) return "none";
    if (*kind == SubjectKind::kAction) {
      auto action = engine.ShowAction(id, as_of);
      return action.ok() ? ActionAsJson(*action) : action.status().message();
    }
    auto view = engine.Show(id, as_of);
    if (!view.ok()) return view.status().message();
    ActionQuery of;
    of.as_of = as_of;
    of.recommendation = id;
    return ShowAsJson(*view, engine.ListActions(of));
  }

  // Every item, at each of `dates`, shown by a scoped engine as by the whole one.
  void ExpectScopedAnswersEqualReplay(const std::vector<Date>& dates, int* compared) {
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    std::vector<std::string> ids;
    for (int r = 0; r < 40; ++r) {
      for (const char* prefix : {"r", "a"}) ids.push_back(prefix + std::to_string(r));
    }
    for (const auto& id : ids) {
      auto scoped = Open({id});
      ASSERT_TRUE(scoped.ok()) << id << ": " << scoped.status().message();
      for (Date as_of : dates) {
        EXPECT_EQ(Shown(**scoped, id, as_of), Shown(**whole, id, as_of))
            << id << " as at " << as_of.ToString();
        ++*compared;
      }
    }
  }

  // What `list` gives for `q` (as JSON), read from the item heads by an engine opened for
  // lists as `rectrack list` opens one; `read_heads` is set to whether it read them (rather than
  // falling back to the whole log).
  std::string ListedFromHeads(const ListQuery& q, bool* read_heads = nullptr) {
    Engine::Options options{db(), kWorkflow, &clock_, true, ""};
    options.heads_only = true;
    options.index_batch = index_batch_;
    options.heads_batch = heads_batch_;
    auto engine = Engine::Open(options);
    if (!engine.ok()) return engine.status().message();
    auto views = (*engine)->ListFromHeads(q);
    if (read_heads) *read_heads = (*engine)->reads_heads();
    return views.ok() ? ListAsJson(*views) : views.status().message();
  }

  // Lists of every kind (bodies, open or closed, states, overdue, limits) at each of `dates`,
  // read from the heads as by a whole replay.
  void ExpectListsFromHeadsEqualReplay(const std::vector<Date>& dates, int* compared) {
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    std::vector<ListQuery> queries;
    for (const char* body : {"", "CPS", "SFO"}) {
      for (std::optional<bool> open :
           {std::optional<bool>(), std::optional(true), std::optional(false)}) {
        for (size_t limit : {0, 1, 5}) {
          ListQuery q;
          q.body = body;
          q.open = open;
          q.limit = limit;
          queries.push_back(q);
        }
      }
      for (const char* state : {"open", "closed", "superseded"}) {
        ListQuery q;
        q.body = body;
        q.state = state;
        queries.push_back(q);
      }
      ListQuery overdue;
      overdue.body = body;
      overdue.overdue_only = true;
      queries.push_back(overdue);
      overdue.limit = 2;
      queries.push_back(overdue);
    }
    for (Date as_of : dates) {
      for (ListQuery q : queries) {
        q.as_of = as_of;
        bool read_heads = false;
        EXPECT_EQ(ListedFromHeads(q, &read_heads), ListAsJson((*whole)->List(q)))
            << "as at " << as_of.ToString() << " body '" << q.body << "' state '" << q.state
            << "' limit " << q.limit;
        EXPECT_TRUE(read_heads);
        ++*compared;
      }
    }
  }

  fs::path dir_;
  std::string db_name_ = "rectrack.db";
  int64_t index_batch_ = 1;  // Engine::Options::index_batch of the engines Open makes
  int64_t heads_batch_ = 1;  // and their Options::heads_batch
  FixedClock clock_{"2026-01-15T10:00:00Z"};
};

TEST_F(ItemIndexTest, ScopedAnswersEqualAWholeReplayAtRandomDates) {
  int compared = 0;
  // Indexed with every write; every 7 events (the last few read from the log); not at all (the
  // whole log read as the index's tail).
  for (auto [seed, batch] : {std::pair{1u, 1}, std::pair{2u, 7}, std::pair{3u, 100000}}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    fs::remove(db());
    fs::remove(db() + "-wal");
    fs::remove(db() + "-shm");
    index_batch_ = batch;
    heads_batch_ = batch;
    std::mt19937 rng(seed);
    const int written = MakeRandomWorld(rng, 24, 400);
    EXPECT_GT(written, 100);  // enough of the random events fit the workflow to mean something
    std::vector<Date> dates = {D("2020-01-31"), D("2026-01-15")};
    for (int i = 0; i < 4; ++i) dates.push_back(RandomDay(rng));
    const int64_t last = Open().value()->last_seq();
    EXPECT_LE(last - Through(), batch - 1);
    EXPECT_EQ(Through() == 0, batch > last);
    ExpectScopedAnswersEqualReplay(dates, &compared);
    // The rows written from the log and the index alone are those a whole replay names.
    auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(verified.ok()) << verified.status().message();
  }
  EXPECT_GT(compared, 500);
}

TEST_F(ItemIndexTest, ListsFromTheItemHeadsEqualAWholeReplayAtRandomDates) {
  int compared = 0;
  // Heads written with every event, every 7 (the recommendations changed since are read whole),
  // never after the first (all of them read whole); and written by scoped engines, one event
  // each, as `rectrack record` writes them. And heads written less often than the index (the
  // recommendations changed since read whole).
  struct Run {
    unsigned seed;
    int64_t batch;
    bool scoped_writes;
    int64_t heads_batch;
  };
  for (const Run& run : {Run{61, 1, false, 1}, Run{62, 7, false, 7}, Run{63, 100000, false, 1},
                         Run{64, 5, true, 5}, Run{69, 3, false, 40}, Run{70, 2, true, 25}}) {
    SCOPED_TRACE("seed " + std::to_string(run.seed));
    fs::remove(db());
    fs::remove(db() + "-wal");
    fs::remove(db() + "-shm");
    index_batch_ = run.batch;
    heads_batch_ = run.heads_batch;
    std::mt19937 rng(run.seed);
    EXPECT_GT(MakeRandomWorld(rng, 30, run.scoped_writes ? 250 : 400, run.scoped_writes), 80);
    // Today (every recommendation settled: read from its head), before any event, after
    // some, and random dates (the recommendations changed after them read whole).
    std::vector<Date> dates = {D("2026-01-15"), D("2020-01-31"), D("2021-06-30")};
    for (int i = 0; i < 3; ++i) dates.push_back(RandomDay(rng));
    ExpectListsFromHeadsEqualReplay(dates, &compared);
    auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(verified.ok()) << verified.status().message();
    EXPECT_TRUE(verified->heads_current);
    // Every recommendation and action has its row, checked, but those changed since the heads'
    // last event (read whole by a list).
    EXPECT_GT(verified->head_rows, run.batch == 100000 ? -1 : 30);
  }
  EXPECT_GT(compared, 1000);
}

TEST_F(ItemIndexTest, VerifyFindsDamagedHeadsAndRebuildRepairsThem) {
  std::mt19937 rng(65);
  MakeRandomWorld(rng, 12, 150);
  ListQuery open_cps;
  open_cps.body = "CPS";
  open_cps.open = true;
  const std::string listed = ListedFromHeads(open_cps);
  auto verify_says = [&](const std::string& what) {
    auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_FALSE(verified.ok()) << what;
    EXPECT_EQ(verified.status().code(), Code::kCorruption);
    EXPECT_NE(verified.status().message().find(what), std::string::npos)
        << verified.status().message();
    EXPECT_NE(verified.status().message().find("`rectrack rebuild` rebuilds them"),
              std::string::npos);
    auto rebuilt = Open().value()->Rebuild();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().message();
    auto again = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_TRUE(again->heads_current);
    EXPECT_EQ(ListedFromHeads(open_cps), listed);
  };
  Sql("UPDATE item_heads SET state = 'draft' WHERE kind = 3 AND item = 'r4'");
  verify_says("the item heads' row for recommendation 'r4' has state 'draft' where the log gives");
  Sql(R"(UPDATE item_heads SET head = replace(head, '"version":', '"version":1')
         WHERE kind = 4 AND item = 'a2')");
  verify_says("the item heads' row for action 'a2' has head");
  Sql("DELETE FROM item_heads WHERE kind = 3 AND item = 'r7'");
  verify_says("the item heads lack the row for recommendation 'r7', which the log has");
  Sql("INSERT INTO item_heads SELECT kind, 'r99', issued, settled, owners, state, overdue_from, "
      "head FROM item_heads WHERE item = 'r1'");
  verify_says("the item heads have a row for recommendation 'r99', which the log does not have");
  // A head that no longer decodes: a list says so, and verify names it.
  Sql(R"(UPDATE item_heads SET head = '{"id": 1}' WHERE kind = 3 AND item = 'r2')");
  EXPECT_NE(ListedFromHeads({}).find("the item heads' row for 'r2' does not decode"),
            std::string::npos);
  verify_says("the item heads' row for recommendation 'r2' has head");
  // A head of another kind in a recommendation's row: refused, not read as an action.
  Sql(R"(UPDATE item_heads SET head = replace(head, '"kind":3', '"kind":4')
         WHERE kind = 3 AND item = 'r5')");
  EXPECT_NE(ListedFromHeads({}).find("the item heads' row for 'r5' does not decode: it is the "
                                     "head of another item"),
            std::string::npos);
  verify_says("the item heads' row for recommendation 'r5' has head");
}

TEST_F(ItemIndexTest, AnEngineOpenedForListsAnswersListsOnly) {
  std::mt19937 rng(68);
  MakeRandomWorld(rng, 6, 40);
  Engine::Options options{db(), kWorkflow, &clock_, true, ""};
  options.heads_only = true;
  auto engine = Engine::Open(options).value();
  ASSERT_TRUE(engine->reads_heads());
  EXPECT_EQ(engine->Verify().status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(engine->Rebuild().status().code(), Code::kFailedPrecondition);
  RecordEvent e{"r1", "update", D("2025-01-01"), "inspectorate"};
  EXPECT_EQ(engine->Apply({e}, "test").status().code(), Code::kFailedPrecondition);
  // Another process writes: Refresh leaves it as it is (it reads the heads afresh each list).
  ASSERT_TRUE(Open().value()->Apply({e}, "test").ok());
  EXPECT_TRUE(engine->Refresh().ok());
  auto listed = engine->ListFromHeads({});
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(ListAsJson(*listed), ListAsJson(Open().value()->List({})));
  // A body id that no row can hold matches nothing.
  ListQuery spaced;
  spaced.body = "CPS SFO";
  EXPECT_EQ(ListAsJson(engine->ListFromHeads(spaced).value()), "[]");
}

TEST_F(ItemIndexTest, HeadsWorkedOutUnderAnotherWorkflowAreNotReadUntilWorkedOutAgain) {
  std::mt19937 rng(66);
  MakeRandomWorld(rng, 12, 150);
  // As if the workflow file had changed since the heads were written: their basis is another.
  Sql("UPDATE item_heads_mark SET basis = 'another workflow'");
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_FALSE(verified->heads_current);
  EXPECT_EQ(verified->head_rows, 0);
  // A scoped write cannot work them all out again, and leaves them as they are ...
  RecordEvent e{"r3", "update", D("2025-01-01"), "inspectorate"};
  index_batch_ = 1;
  ASSERT_TRUE(Open({"r3"}).value()->Apply({e}, "test").ok());
  EXPECT_FALSE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""})->heads_current);
  // ... the next list reads the whole log, and works them out for the lists after it.
  Engine::Options writes_nothing{db(), kWorkflow, &clock_, false, ""};
  writes_nothing.index_if_behind = false;
  const std::string after = ListAsJson(Engine::Open(writes_nothing).value()->List({}));
  EXPECT_FALSE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""})->heads_current);
  bool read_heads = true;
  EXPECT_EQ(ListedFromHeads({}, &read_heads), after);
  EXPECT_FALSE(read_heads);
  verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_EQ(ListedFromHeads({}, &read_heads), after);
  EXPECT_TRUE(read_heads);
  // So does any engine that reads the whole log.
  Sql("UPDATE item_heads_mark SET basis = 'another workflow'");
  Open().value();
  EXPECT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""})->heads_current);
}

TEST_F(ItemIndexTest, ScopedWritesAcceptAndRefuseExactlyWhatAWholeEngineDoes) {
  index_batch_ = 3;  // indexed every few writes, by whichever engine makes the third
  for (unsigned seed : {21u, 22u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 whole_rng(seed), scoped_rng(seed);
    db_name_ = "whole" + std::to_string(seed) + ".db";
    const int whole_written = MakeRandomWorld(whole_rng, 16, 300);
    db_name_ = "scoped" + std::to_string(seed) + ".db";
    const int scoped_written = MakeRandomWorld(scoped_rng, 16, 300, /*scoped_writes=*/true);
    EXPECT_GT(whole_written, 80);
    EXPECT_EQ(scoped_written, whole_written);
    // The same clock and actor: the same events make the same hash chain, and the index of
    // the scoped writes is the one a rebuild makes.
    auto scoped = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(scoped.ok()) << scoped.status().message();
    db_name_ = "whole" + std::to_string(seed) + ".db";
    auto whole = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    EXPECT_EQ(scoped->head_hash, whole->head_hash);
    EXPECT_EQ(scoped->index_rows, whole->index_rows);
  }
}

TEST_F(ItemIndexTest, AScopedWriteReadsItsItemsAfreshWhenAnotherProcessWroteMeanwhile) {
  std::mt19937 rng(9);
  MakeRandomWorld(rng, 4, 0);
  auto scoped = Open({"r1"});
  ASSERT_TRUE(scoped.ok()) << scoped.status().message();
  // Another engine (another process, as far as this one knows) closes r1.
  RecordEvent close{"r1", "close", D("2025-01-10"), "body_lead", "SFO"};
  ASSERT_TRUE(Open().value()->Apply({close}, "other").ok());
  // Reopening needs r1 closed: the scoped engine must see the close to accept it.
  RecordEvent reopen{"r1", "reopen", D("2025-02-10"), "inspectorate"};
  reopen.fields["reason"] = {"not done"};
  auto applied = (*scoped)->Apply({reopen}, "test");
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ((*scoped)->Show("r1", std::nullopt)->state, "reopened");
  EXPECT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""}).ok());
}

TEST_F(ItemIndexTest, AScopedEngineReadsOnlyWhatItsItemsNeedAndWritesNothingElse) {
  std::mt19937 rng(7);
  MakeRandomWorld(rng, 10, 100);
  auto scoped = Open({"r2"});
  ASSERT_TRUE(scoped.ok()) << scoped.status().message();
  EXPECT_TRUE((*scoped)->Show("r2", std::nullopt).ok());
  EXPECT_TRUE((*scoped)->ShowAction("a2", std::nullopt).status().code() ==
              Code::kFailedPrecondition);
  EXPECT_EQ((*scoped)->Show("r3", std::nullopt).status().code(), Code::kFailedPrecondition);
  // r3 and the other unrelated items were never read, nor every inspection.
  EXPECT_LE((*scoped)->List({}).size(), 3u);
  EXPECT_LT((*scoped)->Inspections().size(), 5u);
  EXPECT_EQ((*scoped)->Bodies().size(), 2u);
  RecordEvent e{"r3", "update", D("2025-01-01"), "inspectorate"};
  EXPECT_EQ((*scoped)->Apply({e}, "test").status().code(), Code::kFailedPrecondition);
  DefineBody body{Body{"HMCTS", "HM Courts and Tribunals Service", "HMCTS"}};
  EXPECT_EQ((*scoped)->Apply({body}, "test").status().code(), Code::kFailedPrecondition);
  e.subject_id = "r2";
  e.files.push_back(EvidenceFile("note.txt", "evidence"));
  EXPECT_EQ((*scoped)->Apply({e}, "test").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ((*scoped)->Rebuild().status().code(), Code::kFailedPrecondition);
}

TEST_F(ItemIndexTest, VerifyFindsADamagedIndexAndRebuildRepairsIt) {
  std::mt19937 rng(11);
  MakeRandomWorld(rng, 12, 150);
  ASSERT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""}).ok());
  const std::string before = Shown(*Open().value(), "r4", D("2026-01-15"));

  // A row lost: r4's own creating event. The scoped engine cannot replay r4; verify says why.
  Sql("DELETE FROM item_events WHERE kind = 3 AND item = 'r4' AND seq = "
      "(SELECT MIN(seq) FROM item_events WHERE kind = 3 AND item = 'r4')");
  auto damaged = Open({"r4"});
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.status().message().find("`rectrack verify` checks the item index"),
            std::string::npos)
      << damaged.status().message();
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), Code::kCorruption);
  EXPECT_NE(verified.status().message().find("lacks the row for recommendation 'r4'"),
            std::string::npos)
      << verified.status().message();
  EXPECT_NE(verified.status().message().find("rectrack rebuild"), std::string::npos);

  auto rebuilt = Open().value()->Rebuild();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().message();
  EXPECT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""}).ok());
  EXPECT_EQ(Shown(*Open({"r4"}).value(), "r4", D("2026-01-15")), before);

  // A row added that no event justifies.
  Sql("INSERT INTO item_events (kind, item, seq) VALUES (3, 'r5', 1)");
  verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.status().message().find(
                "has a row for recommendation 'r5' and event 1, which the log does not have"),
            std::string::npos)
      << verified.status().message();
  ASSERT_TRUE(Open().value()->Rebuild().ok());

  // A row naming an event the log does not have: a clear error, not a crash.
  Sql("INSERT INTO item_events (kind, item, seq) VALUES (3, 'r6', 999999)");
  auto scoped = Open({"r6"});
  ASSERT_FALSE(scoped.ok());
  EXPECT_NE(scoped.status().message().find("names event 999999"), std::string::npos)
      << scoped.status().message();
  ASSERT_TRUE(Open().value()->Rebuild().ok());
  EXPECT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""}).ok());
}

TEST_F(ItemIndexTest, ADatabaseOfThePreviousSchemaIsUpgradedInPlace) {
  std::mt19937 rng(5);
  MakeRandomWorld(rng, 12, 150);
  std::string expected;
  {
    auto whole = Open().value();
    for (const char* id : {"r0", "r3", "a4"}) expected += Shown(*whole, id, D("2024-06-30"));
  }
  // Schema 8, as the rectrack before the previous wrote it: no item index, no heads.
  Sql("DROP TABLE item_events; DROP TABLE derived; DROP TABLE item_heads; "
      "DROP TABLE item_heads_mark; PRAGMA user_version = 8;");

  // A scoped engine on it reads the whole log (the index is empty) and answers the same.
  std::string scoped;
  for (const char* id : {"r0", "r3", "a4"}) {
    scoped += Shown(*Open({id}).value(), id, D("2024-06-30"));
  }
  EXPECT_EQ(scoped, expected);
  // A whole engine fills the index in; verify agrees with it.
  const int64_t last = Open().value()->last_seq();
  EXPECT_EQ(Through(), last);
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_GT(verified->index_rows, last);
  EXPECT_TRUE(verified->heads_current);
  scoped.clear();
  for (const char* id : {"r0", "r3", "a4"}) {
    scoped += Shown(*Open({id}).value(), id, D("2024-06-30"));
  }
  EXPECT_EQ(scoped, expected);
}

// A superseded recommendation that still takes notes (a workflow other than the bundled one):
// a note on it after the supersede does not change what it says of the recommendation that
// supersedes it, so that one's head is not out of date, and verify agrees.
TEST_F(ItemIndexTest, AHeadDependsOnlyOnTheEventsThatNameIt) {
  std::ifstream in(kWorkflow);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string bundled =
      "  - name: update       # a progress note; no `to`: the state does "
      "not change\n    from: [issued, reopened, closed]";
  ASSERT_NE(text.find(bundled), std::string::npos);
  text.replace(text.find(bundled), bundled.size(),
               "  - name: update\n    from: [issued, reopened, closed, superseded]");
  const std::string workflow = (dir_ / "notes-after-supersede.yaml").string();
  std::ofstream(workflow) << text;
  Engine::Options options{db(), workflow, &clock_, true, ""};
  options.index_batch = 1;
  options.heads_batch = 1;
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    auto commands = ParseImport(R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service}
inspections:
  - {id: i1, title: Disclosure, published: 2025-01-01}
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "Improve disclosure."}
  - {id: r2, inspection: i1, owners: [CPS], text: "Improve disclosure, again."}
)",
                                "world.yaml", (*engine)->workflow(), nullptr);
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    ASSERT_TRUE((*engine)->Apply(*commands, "test").ok());
    RecordEvent supersede{"r1", "supersede", D("2025-02-01"), "inspectorate"};
    supersede.fields["superseded_by"] = {"r2"};
    auto applied = (*engine)->Apply({supersede}, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
    RecordEvent note{"r1", "update", D("2025-03-01"), "inspectorate"};
    note.note = "still referred to";
    applied = (*engine)->Apply({note}, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
  }
  options.index_if_behind = false;
  auto verified = Engine::VerifyDatabase(options);
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_EQ(verified->head_rows, 2);
  auto whole = Engine::Open(options).value();
  options.heads_only = true;
  for (const char* as_of : {"2025-01-15", "2025-02-15", "2025-03-15"}) {
    ListQuery q;
    q.as_of = D(as_of);
    auto listed = Engine::Open(options).value()->ListFromHeads(q);
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    EXPECT_EQ(ListAsJson(*listed), ListAsJson(whole->List(q))) << as_of;
  }
}

TEST_F(ItemIndexTest, ADatabaseOfSchema9GetsItsHeadsFromTheFirstWholeRead) {
  std::mt19937 rng(67);
  MakeRandomWorld(rng, 12, 150);
  ListQuery open_sfo;
  open_sfo.body = "SFO";
  open_sfo.open = true;
  const std::string expected = ListAsJson(Open().value()->List(open_sfo));
  // Schema 9, as the previous rectrack wrote it: the item index, no heads.
  Sql("DROP TABLE item_heads; DROP TABLE item_heads_mark; PRAGMA user_version = 9;");
  bool read_heads = true;
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();  // migrated, writing nothing else
  EXPECT_FALSE(verified->heads_current);
  // The first list reads the whole log and works them out.
  EXPECT_EQ(ListedFromHeads(open_sfo, &read_heads), expected);
  EXPECT_FALSE(read_heads);
  verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_GE(verified->head_rows, 18);  // 12 recommendations and 6 actions
  EXPECT_EQ(ListedFromHeads(open_sfo, &read_heads), expected);
  EXPECT_TRUE(read_heads);
}

TEST_F(ItemIndexTest, AnIndexThatCoversMoreThanTheLogIsStartedAgainByTheNextWrite) {
  std::mt19937 rng(41);
  MakeRandomWorld(rng, 6, 60);
  auto engine = Open().value();
  const int64_t last = engine->last_seq();
  std::string open_id;  // a recommendation that still takes an update
  for (int r = 0; r < 6 && open_id.empty(); ++r) {
    auto view = engine->Show("r" + std::to_string(r), std::nullopt);
    if (view.ok() && view->state != "superseded" && view->state != "withdrawn" &&
        view->state != "verified") {
      open_id = view->id;
    }
  }
  ASSERT_FALSE(open_id.empty());
  // As if the log were restored from an older copy: the index claims events it does not have.
  Sql(("UPDATE derived SET through = " + std::to_string(last + 1)).c_str());
  RecordEvent first{open_id, "update", D("2026-01-01"), "inspectorate"};
  first.note = "first";
  RecordEvent second = first;
  second.note = "second";
  auto applied = engine->Apply({first, second}, "test");
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->index_through, last + 2);
  EXPECT_EQ(Shown(*Open({open_id}).value(), open_id, D("2026-01-15")),
            Shown(*Open().value(), open_id, D("2026-01-15")));
}

TEST_F(ItemIndexTest, AScopedWriteOnAnIndexBehindTheLogIsCheckedAndIndexedWhole) {
  std::mt19937 rng(43);
  MakeRandomWorld(rng, 6, 60);
  auto scoped = Open({"r2"}).value();
  const int64_t last = scoped->last_seq();
  // The index loses its last event behind the engine's back; the log is unchanged.
  Sql(("DELETE FROM item_events WHERE seq = " + std::to_string(last) +
       "; UPDATE derived SET through = " + std::to_string(last - 1))
          .c_str());
  RecordEvent e{"r2", "update", D("2025-01-01"), "inspectorate"};
  ASSERT_TRUE(scoped->Apply({e}, "test").ok());
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->index_through, last + 1);
}

TEST_F(ItemIndexTest, VerifyWritesNothingAndTheFirstReadOfAnUnindexedLogIndexesIt) {
  std::mt19937 rng(47);
  MakeRandomWorld(rng, 6, 60);
  const int64_t last = Open().value()->last_seq();
  Sql("DELETE FROM item_events; UPDATE derived SET through = 0");
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->index_through, 0);
  EXPECT_EQ(verified->index_rows, 0);
  EXPECT_EQ(Through(), 0);
  CliRun verify = Rectrack("--db " + db() + " verify");
  EXPECT_NE(verify.out.find("up to event 0 (the events after it are read from the log"),
            std::string::npos)
      << verify.out;
  // show reads the log after the index's last event (here all of it) and writes nothing; a whole
  // engine indexes it; show then answers the same from the index.
  const std::string shown = Shown(*Open({"r3"}).value(), "r3", D("2026-01-15"));
  EXPECT_EQ(Through(), 0);
  EXPECT_EQ(Shown(*Open().value(), "r3", D("2026-01-15")), shown);
  EXPECT_EQ(Through(), last);
  EXPECT_EQ(Shown(*Open({"r3"}).value(), "r3", D("2026-01-15")), shown);
  EXPECT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""}).ok());
}

// tests/data/schema8-demo.db was written by the previous rectrack (772bfb4, schema 8): the demo
// imported, then `record da23-r2 update` on 2026-12-02. The first open upgrades it in place and
// indexes it.
TEST_F(ItemIndexTest, ADatabaseWrittenByThePreviousVersionIsUpgradedInPlace) {
  fs::copy_file(std::string(RECTRACK_TEST_DATA_DIR) + "/schema8-demo.db", db());
  std::vector<std::string> ids;
  {
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    EXPECT_EQ((*whole)->last_seq(), 77);
    for (const auto& view : (*whole)->List({})) ids.push_back(view.id);
    for (const auto& action : (*whole)->ListActions({})) ids.push_back(action.id);
  }
  auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ((*raw)->schema_version(), 10);
  raw->reset();
  EXPECT_EQ(Through(), 77);
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->events, 77);
  ASSERT_GE(ids.size(), 20u);
  auto whole = Open().value();
  for (const auto& id : ids) {
    auto scoped = Open({id});
    ASSERT_TRUE(scoped.ok()) << id << ": " << scoped.status().message();
    for (const char* as_of : {"2023-06-30", "2025-03-31", "2026-01-15"}) {
      EXPECT_EQ(Shown(**scoped, id, D(as_of)), Shown(*whole, id, D(as_of))) << id << " " << as_of;
    }
  }
  EXPECT_NE(Shown(*whole, "da23-r2", D("2026-12-31")).find("recorded by rectrack at schema 8"),
            std::string::npos);
  EXPECT_TRUE(verified->heads_current);
  for (const char* as_of : {"2023-06-30", "2025-03-31", "2026-01-15"}) {
    ListQuery q;
    q.as_of = D(as_of);
    bool read_heads = false;
    EXPECT_EQ(ListedFromHeads(q, &read_heads), ListAsJson(whole->List(q))) << as_of;
    EXPECT_TRUE(read_heads);
  }
}

// Kills a child process, with SIGKILL, at a random instant while it writes: `work` runs in
// the child until it is killed. Then the database must open, verify and answer as before.
void KillWhileWriting(const std::function<void()>& work, std::mt19937& rng) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    work();
    ::_exit(0);
  }
  std::uniform_int_distribution<int> ms(20, 250);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the child finished before it was killed";
}

TEST_F(ItemIndexTest, AKillWhileTheIndexIsWrittenLeavesADatabaseThatAnswersCorrectly) {
  std::mt19937 rng(13);
  MakeRandomWorld(rng, 40, 800);
  const std::string expected = Shown(*Open().value(), "r8", D("2026-01-15"));
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Rebuilding the index over and over; and writing events, each with its index rows.
    KillWhileWriting(
        [&] {
          auto engine = Open();
          while (engine.ok() && (*engine)->Rebuild().ok()) {
          }
        },
        rng);
    KillWhileWriting(
        [&] {
          auto engine = Open();
          for (int i = 0; engine.ok(); ++i) {
            RecordEvent e{"r9", "update", D("2025-01-01"), "inspectorate"};
            e.note = "note " + std::to_string(i);
            (void)(*engine)->Apply({e}, "test");
          }
        },
        rng);
    auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(verified.ok()) << verified.status().message();
    EXPECT_EQ(Shown(*Open({"r8"}).value(), "r8", D("2026-01-15")), expected);
    EXPECT_EQ(Shown(*Open({"r9"}).value(), "r9", D("2026-01-15")),
              Shown(*Open().value(), "r9", D("2026-01-15")));
  }
}

// An evidence download looks up the events that attach the file, not every event: the answer
// is the same as a walk over the log's, also for a batch that failed and a reopened engine.
TEST_F(ItemIndexTest, EvidenceUsesOfOneFileEqualTheWalkOverTheLog) {
  std::mt19937 rng(31);
  MakeRandomWorld(rng, 8, 0);
  auto engine = Open().value();
  std::set<std::string> refused;
  for (int i = 0; i < 40; ++i) {
    const int r = static_cast<int>(rng() % 8);
    const std::string id = "r" + std::to_string(r);
    // Dated one after another: a body may not date its close behind the last judgement.
    const Date day = D("2024-01-01").AddDays(3 * i);
    RecordEvent close{id, "close", day, "body_lead", r % 2 && r % 5 ? "SFO" : "CPS"};
    close.fields["override"] = {"agreed"};
    close.files.push_back(EvidenceFile("f" + std::to_string(rng() % 12) + ".txt",
                                       "evidence " + std::to_string(rng() % 12)));
    auto applied = engine->Apply({close}, "test");
    if (!applied.ok()) continue;
    // Reopen it, so that the next close can attach again; now and then in a batch that fails.
    RecordEvent reopen{id, "reopen", day.AddDays(1), "inspectorate"};
    reopen.fields["reason"] = {"again"};
    RecordEvent failing = close;
    failing.files = {EvidenceFile("x.txt", "refused " + std::to_string(i))};
    failing.effective = day.AddDays(2);
    if (i % 5 == 0) {
      EXPECT_FALSE(engine->Apply({reopen, failing, failing}, "test").ok());
      refused.insert(failing.files[0].sha256);
    }
    ASSERT_TRUE(engine->Apply({reopen}, "test").ok());
  }
  for (int pass = 0; pass < 2; ++pass) {
    const auto all = engine->EvidenceUses("");
    std::set<std::string> files;
    for (const auto& use : all) files.insert(use.file.sha256);
    EXPECT_GE(files.size(), 5u);
    for (const auto& sha256 : files) {
      std::vector<int64_t> walked, looked_up;
      for (const auto& use : all) {
        if (use.file.sha256 == sha256) walked.push_back(use.seq);
      }
      for (const auto& use : engine->EvidenceUses(sha256)) looked_up.push_back(use.seq);
      EXPECT_EQ(looked_up, walked) << sha256;
    }
    for (const auto& sha256 : refused) EXPECT_TRUE(engine->EvidenceUses(sha256).empty());
    engine = Open().value();  // the second pass on the log replayed
  }
}

TEST_F(ItemIndexTest, TheCommandLineShowsFromTheIndexAndVerifiesAndRebuildsIt) {
  std::mt19937 rng(17);
  MakeRandomWorld(rng, 6, 40);
  const std::string flags = "--db " + db() + " --clock 2026-01-15 ";
  CliRun shown = Rectrack(flags + "show r1");
  ASSERT_EQ(shown.status, 0) << shown.out;
  // Read from the index (and at the end, the index dropped, from the whole log: the same).
  CliRun actions = Rectrack(flags + "actions --rec r0");
  CliRun alerts = Rectrack(flags + "rules r0");
  ASSERT_EQ(actions.status, 0) << actions.out;
  ASSERT_EQ(alerts.status, 0) << alerts.out;
  EXPECT_NE(actions.out.find("a0"), std::string::npos) << actions.out;
  // With r1's rows gone from the index, `show` cannot find it: it reads the index, not the log.
  Sql("DELETE FROM item_events WHERE item = 'r1'");
  CliRun lost = Rectrack(flags + "show r1");
  EXPECT_EQ(lost.status, 1);
  EXPECT_NE(lost.out.find("no recommendation or action 'r1'"), std::string::npos) << lost.out;
  CliRun verify = Rectrack(flags + "verify");
  EXPECT_EQ(verify.status, 1);
  EXPECT_NE(verify.out.find("the item index lacks the row for recommendation 'r1'"),
            std::string::npos)
      << verify.out;
  // So do the other commands about one item: its actions, its alerts.
  EXPECT_NE(Rectrack(flags + "actions --rec r1").out.find("no recommendation 'r1'"),
            std::string::npos);
  EXPECT_NE(Rectrack(flags + "rules r1").out.find("no recommendation 'r1'"), std::string::npos);
  CliRun rebuild = Rectrack(flags + "rebuild");
  ASSERT_EQ(rebuild.status, 0) << rebuild.out;
  EXPECT_NE(rebuild.out.find("OK: rebuilt the item index from the log"), std::string::npos);
  EXPECT_EQ(Rectrack(flags + "show r1").out, shown.out);
  EXPECT_EQ(Rectrack(flags + "actions --rec r0").out, actions.out);
  EXPECT_EQ(Rectrack(flags + "rules r0").out, alerts.out);
  Sql("DELETE FROM item_events; UPDATE derived SET through = 0");
  EXPECT_EQ(Rectrack(flags + "actions --rec r0").out, actions.out);
  Sql("DELETE FROM item_events; UPDATE derived SET through = 0");
  EXPECT_EQ(Rectrack(flags + "rules r0").out, alerts.out);
  verify = Rectrack(flags + "verify");
  EXPECT_EQ(verify.status, 0) << verify.out;
  EXPECT_NE(verify.out.find("the item index ("), std::string::npos) << verify.out;
}

TEST_F(ItemIndexTest, TheCommandLineListsFromTheItemHeads) {
  std::mt19937 rng(18);
  MakeRandomWorld(rng, 10, 60);
  const std::string flags = "--db " + db() + " --clock 2026-01-15 ";
  CliRun all = Rectrack(flags + "list --format csv");
  ASSERT_EQ(all.status, 0) << all.out;
  CliRun first = Rectrack(flags + "list --format csv --limit 3");
  ASSERT_EQ(first.status, 0) << first.out;
  std::istringstream lines(all.out);
  std::string line, expected;
  for (int i = 0; i < 4 && std::getline(lines, line); ++i) expected += line + "\n";
  EXPECT_EQ(first.out, expected);
  // It reads the heads: one altered behind rectrack's back is what it shows, and verify finds.
  const std::string listed = Rectrack(flags + "list --format json").out;
  EXPECT_NE(listed.find("Improve case 1."), std::string::npos) << listed;
  Sql("UPDATE item_heads SET head = replace(head, 'Improve case 1.', 'Altered.') "
      "WHERE item = 'r1'");
  EXPECT_NE(Rectrack(flags + "list --format json").out.find("Altered."), std::string::npos);
  CliRun verify = Rectrack(flags + "verify");
  EXPECT_EQ(verify.status, 1);
  EXPECT_NE(verify.out.find("the item heads' row for recommendation 'r1' has head"),
            std::string::npos)
      << verify.out;
  CliRun rebuild = Rectrack(flags + "rebuild");
  ASSERT_EQ(rebuild.status, 0) << rebuild.out;
  EXPECT_NE(rebuild.out.find("and the item heads"), std::string::npos) << rebuild.out;
  EXPECT_EQ(Rectrack(flags + "list --format json").out, listed);
  verify = Rectrack(flags + "verify");
  EXPECT_EQ(verify.status, 0) << verify.out;
  EXPECT_NE(verify.out.find("the item heads ("), std::string::npos) << verify.out;
  for (const char* bad : {"0", "-1", "x", "10000000000"}) {
    CliRun refused = Rectrack(flags + "list --limit " + bad);
    EXPECT_EQ(refused.status, 1) << bad;
    EXPECT_NE(refused.out.find("--limit must be a whole number from 1 to 999999999, not '" +
                               std::string(bad) + "'"),
              std::string::npos)
        << refused.out;
  }
}

}  // namespace
}  // namespace rectrack
