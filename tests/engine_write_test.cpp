// The engine's write path: imports applied all or nothing (by Apply and, for the command line,
// in place) and again unchanged, a group commit's three steps, batches of many parts, a kill at
// any instant, and who may be named as a write's actor.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/event_codec.h"
#include "engine/render.h"
#include "storage/database.h"
#include "storage/event_store.h"
#include "storage/item_heads.h"
#include "tests/engine_fixture.h"

extern char** environ;

namespace rectrack {

// The group commit's three steps are private to the Engine and its EngineHost; these tests
// drive them directly.
struct EngineTestPeer {
  static Engine::Prepared PrepareAll(Engine& engine, std::vector<WriteBatch> batches) {
    return engine.PrepareAll(batches);
  }
  static Status CommitPrepared(Engine& engine, Engine::PreparedGroup& group) {
    return engine.CommitPrepared(group);
  }
  static std::vector<Result<ApplyReport>> FinishPrepared(Engine& engine, Engine::Prepared group,
                                                         Status committed) {
    return engine.FinishPrepared(std::move(group), committed);
  }
};

namespace {

TEST_F(EngineTest, ImportingTheSameFileTwiceChangesNothingTheSecondTime) {
  auto commands = ParseImportFile(kDemo, engine_->workflow());
  ASSERT_TRUE(commands.ok());
  auto first = engine_->Apply(*commands, "test");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_GT(first->appended, 20);
  const int64_t events = EventCount();
  auto second = engine_->Apply(*commands, "test");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->appended, 0);
  EXPECT_EQ(second->unchanged, static_cast<int>(commands->size()));
  EXPECT_EQ(EventCount(), events);
}

// ApplyInPlace (the CLI's import) applies once, keeping no undo records: the world Apply makes,
// and after a failure, the world as before it, in memory as on disk.
TEST_F(EngineTest, AnImportAppliedInPlaceIsAnApplyAndAFailedOneChangesNothing) {
  auto commands = ParseImportFile(kDemo, engine_->workflow());
  ASSERT_TRUE(commands.ok()) << commands.status().message();
  // The index and heads written with every write: the in-place world indexes them.
  auto open = [&](const std::string& path) {
    Engine::Options options{path, kWorkflow, &clock_, true, ""};
    options.index_batch = 1;
    options.heads_batch = 1;
    return Engine::Open(options);
  };
  engine_ = open(db_path_).value();
  auto other = open((dir_ / "other.db").string());
  ASSERT_TRUE(other.ok()) << other.status().message();
  auto applied = (*other)->Apply(*commands, "test");
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  auto in_place = engine_->ApplyInPlace(*commands, "test");
  ASSERT_TRUE(in_place.ok()) << in_place.status().message();
  EXPECT_EQ(in_place->seqs, applied->seqs);
  for (const char* as_of : {"2023-06-01", "2025-03-31", "2026-11-22"}) {
    ListQuery q;
    q.as_of = D(as_of);
    EXPECT_EQ(ListAsJson(engine_->List(q).value()), ListAsJson((*other)->List(q).value())) << as_of;
  }
  auto verified = engine_->Verify();  // the log, and the index and heads written in place
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  const int64_t before = verified->events;
  const std::string listed = ListAsJson(engine_->List({}).value());

  // A new recommendation, then an event no workflow allows: nothing of it stays.
  auto bad = ParseImport(
      "recommendations:\n"
      "  - {id: new-r1, inspection: da25, owners: [CPS], text: \"By 2027, a plan\"}\n"
      "events:\n"
      "  - {rec: new-r1, do: close, effective: 2026-01-05, by: CPS}\n"
      "  - {rec: new-r1, do: close, effective: 2026-01-06, by: CPS}\n",
      "bad.yaml", engine_->workflow());
  ASSERT_TRUE(bad.ok()) << bad.status().message();
  auto failed = engine_->ApplyInPlace(*bad, "test");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message().rfind("bad.yaml:5:5: ", 0), 0u) << failed.status().message();
  EXPECT_EQ(engine_->Show("new-r1", std::nullopt).status().code(), Code::kNotFound);
  EXPECT_EQ(ListAsJson(engine_->List({}).value()), listed);
  EXPECT_EQ(EventCount(), before);
  // And the engine goes on: the good part applies.
  bad->pop_back();
  auto good = engine_->ApplyInPlace(*bad, "test");
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->appended, 2);
  EXPECT_EQ(State("new-r1", "2026-11-22"), "closed");
  EXPECT_EQ(EventCount(), before + 2);
}

// Applied in place, a command is dropped once its event is made (a quarter of what is held at a
// time): the evidence files of one dropped long before the batch is written are kept with it,
// and a guard refusing an event after the drops names that event's line.
TEST_F(EngineTest, AnImportInPlaceKeepsTheEvidenceOfCommandsItHasDropped) {
  ImportDemo();
  std::vector<Command> batch;
  RecordEvent close = CpsLeadCloses("da25-n1");
  close.effective = D("2025-06-02");
  close.fields["evidence"] = {"minutes of the board"};
  close.files.push_back(EvidenceFile("minutes.txt", "the board agreed the plan"));
  close.where = "t.yaml:1:1";
  const std::string sha256 = close.files.front().sha256;
  batch.push_back(close);
  for (int i = 0; i < 11; ++i) {
    RecordEvent note{"da25-n1", "update", D("2025-06-03"), "inspectorate"};
    note.note = "progress " + std::to_string(i);
    note.where = "t.yaml:" + std::to_string(i + 2) + ":1";
    batch.push_back(note);
  }
  auto refused = batch;
  // A body dating a note behind the inspectorate's notes before it: the guard, checked once the
  // batch is whole, refuses it, long after its command was dropped.
  RecordEvent behind{"da25-n1", "update", D("2025-06-01"), "body_lead"};
  behind.note = "noted";
  behind.body = "CPS";
  behind.where = "t.yaml:13:1";
  refused.insert(refused.begin() + 7, behind);
  const int64_t before = EventCount();
  auto failed = engine_->ApplyInPlace(refused, "test");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message().rfind("t.yaml:13:1: ", 0), 0u) << failed.status().message();
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(engine_->EvidenceContent(sha256).status().code(), Code::kNotFound);

  auto applied = engine_->ApplyInPlace(batch, "test");
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(applied->appended, 12);
  auto kept = engine_->EvidenceContent(sha256);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ(*kept, "the board agreed the plan");
  EXPECT_EQ(EventCount(), before + 12);  // and verify finds every file the events name
}

// A batch's rows are encoded and appended a part at a time (4,096 rows each), its index rows
// worked out and written 4,096 events at a time, and its items' heads written a part at a time
// (4,096 heads each), whether all of them are written again (the heads were worked out under
// other workflows) or those the batch changed: a batch of more parts keeps one unbroken hash
// chain, the seqs it reports, every index row and every item's head.
TEST_F(EngineTest, ABatchOfManyPartsIsOneChainWithEveryHead) {
  Engine::Options options{db_path_, kWorkflow, &clock_, true, ""};
  options.index_batch = 1;  // the index and heads written with the batch
  options.heads_batch = 1;
  engine_ = Engine::Open(options).value();
  {
    // Heads of another basis: the first batch writes every head again.
    auto db = storage::Database::Open(db_path_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    auto tx = storage::Transaction::Begin(**db, storage::Transaction::Mode::kWrite);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    ASSERT_TRUE(storage::ItemHeads(db->get()).Put({}, {0, "another basis"}).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  constexpr int kRecommendations = 4500;
  std::string defined =
      "bodies:\n  - {id: CPS, name: Crown Prosecution Service}\n"
      "inspections:\n  - {id: i1, title: T, published: 2024-01-01}\nrecommendations:\n";
  std::string closed = "events:\n";
  for (int i = 0; i < kRecommendations; ++i) {
    const std::string id = "r" + std::to_string(i);
    defined += "  - {id: " + id + ", inspection: i1, owners: [CPS], text: t, milestones: []}\n";
    closed += "  - {rec: " + id + ", do: close, effective: 2024-06-01, by: CPS}\n";
  }
  auto check = [&](int64_t events) {
    auto verified = engine_->Verify();  // the chain is whole, and every head is the log's
    ASSERT_TRUE(verified.ok()) << verified.status().message();
    EXPECT_EQ(verified->events, events);
    EXPECT_TRUE(verified->heads_current);
    auto db = storage::Database::Open(db_path_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    auto count = storage::ItemHeads(db->get()).Count();
    ASSERT_TRUE(count.ok()) << count.status().message();
    EXPECT_EQ(*count, kRecommendations);
  };
  auto report = engine_->ApplyInPlace(Parse(defined), "test");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->appended, kRecommendations + 2);
  for (size_t i = 0; i < report->seqs.size(); ++i) EXPECT_EQ(report->seqs[i], int64_t(i) + 1);
  check(kRecommendations + 2);
  // Then those the batch changed: every one.
  report = engine_->ApplyInPlace(Parse(closed), "test");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->appended, kRecommendations);
  check(2 * kRecommendations + 2);
  engine_ = OpenEngine();
  ASSERT_NE(engine_, nullptr);
  EXPECT_EQ(State("r4499", "2024-06-02"), "closed");
}

TEST_F(EngineTest, ABadEventInTheMiddleOfAnImportLeavesTheDatabaseUnchanged) {
  ImportDemo();
  const int64_t before = EventCount();
  auto commands = Parse(R"(
bodies:
  - {id: SFO, name: Serious Fraud Office}
events:
  - {rec: da25-n1, do: update, effective: 2025-06-01, by: CPS, note: fine}
  - {rec: da23-r4, do: close, effective: 2025-06-02, by: CPS}
  - {rec: da25-n2, do: update, effective: 2025-06-03, by: CPS, note: never written}
)");
  auto result = engine_->Apply(commands, "test");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kConflict);
  EXPECT_NE(result.status().message().find("t.yaml:6:5: da23-r4"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("it is 'superseded'"), std::string::npos);
  EXPECT_EQ(EventCount(), before);
  // Nothing leaked into memory either, and a fresh process sees the same.
  EXPECT_EQ(engine_->Bodies().size(), 1u);
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-12-01"))->timeline.size(), 1u);
  engine_ = OpenEngine();
  EXPECT_EQ(engine_->Bodies().size(), 1u);
  EXPECT_EQ(EventCount(), before);
}

TEST_F(EngineTest, ManyEventsOnOneRecommendationAppendOneStepAtATime) {
  ImportDemo();
  std::string yaml = "events:\n";
  for (int i = 0; i < 3000; ++i) {
    yaml += "  - {rec: da25-n1, do: update, effective: 2025-06-01, by: CPS, note: n" +
            std::to_string(i) + "}\n";
  }
  auto result = engine_->Apply(Parse(yaml), "t");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->appended, 3000);
  engine_ = OpenEngine();
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-06-30"))->timeline.size(), 3001u);
  // A back-dated event still goes through a whole replay and lands in its place.
  ASSERT_TRUE(Record("da25-n1", "update", "2025-04-01", "CPS").ok());
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-04-30"))->timeline.size(), 2u);
}

TEST_F(EngineTest, APreparedGroupIsSeenOnlyOnceItIsDurable) {
  ImportDemo();
  const int64_t seq = engine_->last_seq();
  const RecordEvent close = CpsLeadCloses("da25-n1");
  RecordEvent refused = close;
  refused.transition = "reopen";  // not from issued
  auto group = EngineTestPeer::PrepareAll(*engine_, {{{close}, "a"}, {{refused}, "b"}});
  // Written in the open transaction, but queries still see the world before it.
  EXPECT_EQ(engine_->last_seq(), seq);
  EXPECT_EQ(State("da25-n1", "2026-11-22"), "issued");
  EXPECT_TRUE(engine_->Refresh().ok()) << "Refresh must leave a prepared group alone";
  EXPECT_EQ(State("da25-n1", "2026-11-22"), "issued");
  ASSERT_TRUE(EngineTestPeer::CommitPrepared(*engine_, *group).ok());
  EXPECT_EQ(State("da25-n1", "2026-11-22"), "issued") << "shown before FinishPrepared";
  auto results = EngineTestPeer::FinishPrepared(*engine_, std::move(group), Status());
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().message();
  EXPECT_EQ(results[0]->seqs, std::vector<int64_t>{seq + 1});
  EXPECT_FALSE(results[1].ok());
  EXPECT_EQ(engine_->last_seq(), seq + 1);
  EXPECT_EQ(State("da25-n1", "2026-11-22"), "closed");
  EXPECT_EQ(EventCount(), seq + 1);
  // And the next write is numbered on.
  ASSERT_TRUE(Record("da25-n2", "update", "2026-11-22", "CPS").ok());
  EXPECT_EQ(EventCount(), seq + 2);
}

TEST_F(EngineTest, APreparedGroupWhoseCommitFailsLeavesNoTrace) {
  ImportDemo();
  const int64_t seq = engine_->last_seq();
  const RecordEvent close = CpsLeadCloses("da25-n1");
  auto group = EngineTestPeer::PrepareAll(*engine_, {{{close}, "a"}});
  // As if the fsync had failed: the transaction is rolled back, every batch fails with it.
  auto results =
      EngineTestPeer::FinishPrepared(*engine_, std::move(group), Status::IOError("disk full"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].status().message(), "disk full");
  EXPECT_EQ(engine_->last_seq(), seq);
  EXPECT_EQ(State("da25-n1", "2026-11-22"), "issued");
  EXPECT_EQ(EventCount(), seq);
  ASSERT_TRUE(Record("da25-n1", "close", "2026-11-22", "CPS").ok());
  EXPECT_EQ(EventCount(), seq + 1);
  EXPECT_EQ(State("da25-n1", "2026-11-22"), "closed");
}

// Kills `rectrack import` at assorted instants: the database must hold the whole import or none
// of it, and its chain must verify.
TEST_F(EngineTest, KillingAnImportAtAnyInstantLeavesAllOrNothing) {
  engine_.reset();
  const std::string big = (dir_ / "big.yaml").string();
  {
    std::ofstream out(big);
    out << "bodies:\n  - {id: CPS, name: Crown Prosecution Service}\n"
        << "inspections:\n  - {id: i1, title: Big, published: 2024-01-10}\n"
        << "recommendations:\n";
    for (int i = 0; i < 3000; ++i) {
      out << "  - {id: r" << i << ", inspection: i1, owners: [CPS], text: \"By March 2025, "
          << "step " << i << ".\"}\n";
    }
  }
  const int64_t expected = 2 + 3000;
  int saw_none = 0, saw_all = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    fs::remove(db_path_);
    fs::remove(db_path_ + "-wal");
    fs::remove(db_path_ + "-shm");
    std::vector<std::string> args = {RECTRACK_BINARY, "--db", db_path_, "import", big};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, RECTRACK_BINARY, nullptr, nullptr, argv.data(), environ), 0);
    ::usleep(static_cast<useconds_t>(20000 * attempt + 5000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto engine = Engine::Open({db_path_, kWorkflow, &clock_, true, ""});
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    auto verify = (*engine)->Verify();
    ASSERT_TRUE(verify.ok()) << verify.status().message();
    EXPECT_TRUE(verify->events == 0 || verify->events == expected) << verify->events;
    (verify->events == 0 ? saw_none : saw_all)++;
  }
  EXPECT_EQ(saw_none + saw_all, 6);
}

TEST_F(EngineTest, AGroupCommitKeepsEachBatchAllOrNothingAndWritesTheRestTogether) {
  ImportDemo();
  const int64_t before = EventCount();
  auto update = [](const char* rec, const char* note) {
    RecordEvent e{rec,  "update", D("2025-06-01"), "body_lead",  "CPS",
                  note, {},       false,           std::nullopt, ""};
    return e;
  };
  RecordEvent bad = update("da23-r4", "superseded: not allowed");
  bad.transition = "close";
  std::vector<WriteBatch> batches = {
      {{update("da25-n1", "a")}, "one"},
      {{update("da25-n2", "b"), bad}, "two"},  // fails as a whole
      {{update("da25-n1", "c")}, "three"},
  };
  auto results = engine_->ApplyAll(batches);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].status().code(), Code::kConflict);
  ASSERT_TRUE(results[2].ok());
  EXPECT_EQ(results[0]->seqs, std::vector<int64_t>{before + 1});
  EXPECT_EQ(results[2]->seqs, std::vector<int64_t>{before + 2});
  EXPECT_EQ(EventCount(), before + 2);
  EXPECT_EQ(engine_->Show("da25-n2", D("2025-06-30"))->timeline.size(), 1u);
  auto n1 = engine_->Show("da25-n1", D("2025-06-30"));
  ASSERT_EQ(n1->timeline.size(), 3u);
  EXPECT_EQ(n1->timeline[2].actor, "three");
}

TEST_F(EngineTest, AnExpectedVersionThatIsStaleIsAFailedPrecondition) {
  ImportDemo();
  const int64_t version = engine_->Show("da25-n1", std::nullopt)->version;
  RecordEvent e{"da25-n1", "update", D("2025-06-01"), "body_lead", "CPS",
                "x",       {},       false,           version,     ""};
  ASSERT_TRUE(engine_->Apply({e}, "t").ok());
  auto stale = engine_->Apply({e}, "t");
  EXPECT_EQ(stale.status().code(), Code::kFailedPrecondition);
}

// A file imported again changes nothing, also when it holds what a new definition may no longer
// hold: a database an older rectrack wrote (here a milestone due before its recommendation's
// issue, which is now refused for a new one) takes its own import file again.
TEST_F(EngineTest, AFileImportedAgainChangesNothingThoughANewOneWouldBeRefused) {
  ImportDemo();
  const std::string yaml = R"(recommendations:
  - {id: da23-r9, inspection: da23, owners: [CPS], text: "Do it.",
     milestones: [{label: due, due: 2022-12-31}]}
)";
  auto refused = engine_->Apply(Parse(yaml), "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("before it is issued (2023-03-01)"), std::string::npos)
      << refused.status().message();
  // The definition as an older rectrack recorded it, straight into the log.
  Event old;
  old.kind = SubjectKind::kRecommendation;
  old.effective = D("2023-03-01");
  old.subject_id = "da23-r9";
  old.transition = engine_->workflow().creating().name;
  old.recorded = "2025-01-01T00:00:00Z";
  old.actor = "import:old.yaml";
  old.role = "inspectorate";
  old.recommendation_def = RecommendationDef{"da23", {"CPS"}, "Do it.", {{"due", D("2022-12-31")}}};
  std::vector<storage::EventRow> rows = {EncodeEvent(old, engine_->workflow())};
  engine_.reset();
  {
    auto db = storage::Database::Open(db_path_);
    ASSERT_TRUE(db.ok());
    auto txn = storage::Transaction::Begin(**db, storage::Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(storage::EventStore(db->get()).Append(rows).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  engine_ = OpenEngine();
  ASSERT_NE(engine_, nullptr);
  const int64_t before = engine_->last_seq();
  auto again = engine_->Apply(Parse(yaml), "t");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(engine_->last_seq(), before);
}

// `extend` (set_due's `later: true`) moves a due date later: to an earlier date, or the same,
// it is refused at the date field, and changes nothing. What it replaces is the due date as at
// its effective date, after the events before it in effective order (the same day's too).
TEST_F(EngineTest, AnExtensionMustMoveTheDueDateLater) {
  ImportDemo();
  auto extend = [&](const char* effective, const char* due) {
    return Record("da23-r2", "extend", effective, "",
                  {{"milestone", {"due"}}, {"due", {due}}, {"reason", {"agreed"}}});
  };
  const int64_t before = EventCount();
  for (const char* due : {"2023-07-31", "2023-06-30"}) {
    auto refused = extend("2025-12-01", due);
    ASSERT_FALSE(refused.ok()) << due;
    EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(refused.status().field(), "due");
    EXPECT_NE(
        refused.status().message().find("'extend' moves a due date later: " + std::string(due) +
                                        " is not after 2023-07-31, the due date of "
                                        "milestone 'due' it replaces"),
        std::string::npos)
        << refused.status().message();
  }
  EXPECT_EQ(EventCount(), before);
  ASSERT_TRUE(extend("2025-12-01", "2026-03-31").ok());
  // Now 31 March 2026 is what a later extension replaces, on the same day or after.
  for (const char* effective : {"2025-12-01", "2025-12-02"}) {
    auto refused = extend(effective, "2026-01-31");
    ASSERT_FALSE(refused.ok()) << effective;
    EXPECT_NE(refused.status().message().find("is not after 2026-03-31, the due date of "
                                              "milestone 'due' it replaces"),
              std::string::npos)
        << refused.status().message();
  }
  ASSERT_TRUE(extend("2025-12-02", "2026-06-30").ok());
  // Back-dated before the first extension, it extends what was due then (31 July 2023), and
  // only so far that the extensions after it still move the date later.
  auto beyond = extend("2025-11-03", "2026-04-30");
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().field(), "due");
  EXPECT_NE(beyond.status().message().find("2026-04-30 is not before 2026-03-31, the date the "
                                           "'extend' effective 2025-12-01 moves it to after "
                                           "this one"),
            std::string::npos)
      << beyond.status().message();
  auto back = extend("2025-11-03", "2025-12-31");
  EXPECT_TRUE(back.ok()) << back.status().message();
  auto view = engine_->Show("da23-r2", std::nullopt);
  ASSERT_TRUE(view.ok()) << view.status().message();
  ASSERT_EQ(view->milestones.size(), 1u);
  EXPECT_EQ(view->milestones[0].due.ToString(), "2026-06-30");
}

// Who records an event goes into it for good, and out in every feed and answer: an actor that
// is empty, not UTF-8, not one line or too long is refused, and nothing is written.
TEST_F(EngineTest, AnActorThatIsNotOneLineOfTextIsRefused) {
  ImportDemo();
  const int64_t before = engine_->last_seq();
  RecordEvent note;
  note.subject_id = "da23-r2";
  note.transition = "update";
  note.note = "noted";
  note.role = "inspectorate";
  for (const std::string& actor :
       {std::string(""),
        std::string("a\xff"
                    "b"),
        std::string("cli:\x1b[2Jx"), std::string("a\nb"), std::string(501, 'a')}) {
    auto refused = engine_->Apply({note}, actor);
    ASSERT_FALSE(refused.ok()) << actor;
    EXPECT_EQ(refused.status().message().rfind("the actor ", 0), 0u) << refused.status().message();
  }
  EXPECT_EQ(engine_->last_seq(), before);
  EXPECT_TRUE(engine_->Apply({note}, "cli:someone").ok());
}

}  // namespace
}  // namespace rectrack
