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

#include "tests/item_store_fixture.h"

namespace rectrack {
namespace {

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
  EXPECT_LE((*scoped)->List({}).value().size(), 3u);
  EXPECT_LT((*scoped)->Inspections().size(), 5u);
  EXPECT_EQ((*scoped)->Bodies().size(), 2u);
  RecordEvent e{"r3", "update", D("2025-01-01"), "inspectorate"};
  e.note = "noted";
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

// A whole engine indexes the events it has just appended from memory (Engine::RowsSince), not
// by reading them back from the log: the rows must be those the log gives, which a rebuild reads.
// A group commit whose middle batch fails; events naming, in a text field, an item defined later
// in the group, one defined earlier in it, and one that never was; an index lagging the log.
TEST_F(ItemIndexTest, TheIndexRowsOfAppendedEventsAreThoseTheLogGives) {
  std::mt19937 rng(5);
  MakeRandomWorld(rng, 10, 60);
  index_batch_ = 4;
  auto engine = Open().value();
  auto parse = [&](const std::string& yaml) {
    auto commands = ParseImport(yaml, "t.yaml", engine->workflow());
    EXPECT_TRUE(commands.ok()) << commands.status().message();
    return commands.ok() ? *commands : std::vector<Command>{};
  };
  auto define = [](const std::string& id, const std::string& issued) {
    return "recommendations:\n  - {id: " + id + ", inspection: i1, owners: [CPS], text: t, " +
           "issued: " + issued + "}\n";
  };
  auto close = [](const std::string& id, const std::string& on, const std::string& evidence) {
    return "  - {rec: " + id + ", do: close, effective: " + on + ", by: CPS, evidence: [" +
           evidence + "]}\n";
  };
  // One event first, so that the index lags the log by one when the group is written.
  ASSERT_TRUE(engine->Apply(parse(define("g0", "2025-01-01")), "a").ok());
  std::vector<WriteBatch> batches = {
      {parse(define("g1", "2025-01-01") + "events:\n" + close("g1", "2025-06-01", "later1, r2")),
       "a"},
      {parse(define("g2", "2025-01-01") + "events:\n" + close("g2", "2024-01-01", "g1")), "b"},
      {parse(define("later1", "2025-02-01") + "events:\n" +
             close("later1", "2025-07-01", "g1, g2, g0")),
       "c"}};
  const auto results = engine->ApplyAll(batches);
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().message();
  ASSERT_FALSE(results[1].ok());
  ASSERT_TRUE(results[2].ok()) << results[2].status().message();
  EXPECT_EQ(Through(), results[2]->seqs.back());  // indexed by this group's write

  auto rows = [&] {
    auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting);
    auto stmt = (*raw)->Prepare("SELECT kind, item, seq FROM item_events ORDER BY 1, 2, 3");
    std::vector<std::string> out;
    while (stmt.ok() && *stmt->Step()) {
      out.push_back(std::to_string(stmt->ColumnInt(0)) + " " + stmt->ColumnText(1) + " " +
                    std::to_string(stmt->ColumnInt(2)));
    }
    return out;
  };
  const auto written = rows();
  // g1's close names later1, not yet defined then: no row; later1's names g1 and g0: rows.
  const std::string g1_close = std::to_string(results[0]->seqs.back());
  const std::string later1_close = std::to_string(results[2]->seqs.back());
  EXPECT_EQ(std::count(written.begin(), written.end(), "3 later1 " + g1_close), 0);
  EXPECT_EQ(std::count(written.begin(), written.end(), "3 g1 " + later1_close), 1);
  EXPECT_EQ(std::count(written.begin(), written.end(), "3 g0 " + later1_close), 1);
  ASSERT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""}).ok());
  engine.reset();
  ASSERT_TRUE(Open().value()->Rebuild().ok());
  EXPECT_EQ(rows(), written);
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
  e.note = "noted";
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
    for (const auto& view : (*whole)->List({}).value()) ids.push_back(view.id);
    for (const auto& action : (*whole)->ListActions({}).value()) ids.push_back(action.id);
  }
  auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ((*raw)->schema_version(), 12);
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
    EXPECT_EQ(ListedFromHeads(q, &read_heads), ListAsJson(whole->List(q).value())) << as_of;
    EXPECT_TRUE(read_heads);
    EXPECT_EQ(AnnexedFromHeads("CPS", D(as_of), &read_heads),
              AnnexAsJson(whole->Annex("CPS", D(as_of)).value()))
        << as_of;
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
    const auto all = engine->EvidenceUses("").value();
    std::set<std::string> files;
    for (const auto& use : all) files.insert(use.file.sha256);
    EXPECT_GE(files.size(), 5u);
    for (const auto& sha256 : files) {
      std::vector<int64_t> walked, looked_up;
      for (const auto& use : all) {
        if (use.file.sha256 == sha256) walked.push_back(use.seq);
      }
      for (const auto& use : engine->EvidenceUses(sha256).value()) looked_up.push_back(use.seq);
      EXPECT_EQ(looked_up, walked) << sha256;
    }
    for (const auto& sha256 : refused) EXPECT_TRUE(engine->EvidenceUses(sha256).value().empty());
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

}  // namespace
}  // namespace rectrack
