#include "engine/engine.h"
#include "tests/test_support.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/importer.h"
#include "engine/render.h"
#include "storage/database.h"
#include "storage/item_heads.h"

extern char** environ;

namespace rectrack {

// The group commit's three steps are private to the Engine and its EngineHost; these tests
// drive them directly.
struct EngineTestPeer {
  static Engine::Prepared PrepareAll(Engine& engine, const std::vector<WriteBatch>& batches) {
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

namespace fs = std::filesystem;

const std::string kWorkflow = std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml";
const std::string kDemo = std::string(RECTRACK_SOURCE_DIR) + "/demo/domestic-abuse.yaml";

Date D(const char* iso) { return *Date::Parse(iso); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("engine_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "rectrack.db").string();
    engine_ = OpenEngine();
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Engine> OpenEngine() {
    auto engine = Engine::Open({db_path_, kWorkflow, &clock_, true, ""});
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  std::vector<Command> Parse(const std::string& yaml) {
    auto commands = ParseImport(yaml, "t.yaml", engine_->workflow());
    EXPECT_TRUE(commands.ok()) << commands.status().message();
    return commands.ok() ? *commands : std::vector<Command>{};
  }

  void ImportDemo() {
    auto commands = ParseImportFile(kDemo, engine_->workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    auto report = engine_->Apply(*commands, "test");
    ASSERT_TRUE(report.ok()) << report.status().message();
  }

  Result<ApplyReport> Record(const std::string& id, const std::string& transition,
                             const char* effective, const std::string& body = "",
                             Fields fields = {}) {
    RecordEvent e;
    e.subject_id = id;
    e.transition = transition;
    e.effective = D(effective);
    e.body = body;
    e.role = body.empty() ? "inspectorate" : "body_lead";
    e.fields = std::move(fields);
    return engine_->Apply({e}, "test");
  }

  // The CPS lead's close of `id`, effective today.
  static RecordEvent CpsLeadCloses(const std::string& id) {
    RecordEvent close;
    close.subject_id = id;
    close.transition = "close";
    close.role = "body_lead";
    close.body = "CPS";
    return close;
  }

  std::string State(const std::string& id, const char* as_of) {
    auto view = engine_->Show(id, D(as_of));
    return view.ok() ? view->state : "error: " + view.status().message();
  }

  int64_t EventCount() {
    auto v = engine_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? v->events : -1;
  }

  FixedClock clock_{"2026-11-22T10:00:00Z"};
  fs::path dir_;
  std::string db_path_;
  std::unique_ptr<Engine> engine_;
};

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
    EXPECT_EQ(ListAsJson(engine_->List(q)), ListAsJson((*other)->List(q))) << as_of;
  }
  auto verified = engine_->Verify();  // the log, and the index and heads written in place
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  const int64_t before = verified->events;
  const std::string listed = ListAsJson(engine_->List({}));

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
  EXPECT_EQ(ListAsJson(engine_->List({})), listed);
  EXPECT_EQ(EventCount(), before);
  // And the engine goes on: the good part applies.
  bad->pop_back();
  auto good = engine_->ApplyInPlace(*bad, "test");
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->appended, 2);
  EXPECT_EQ(State("new-r1", "2026-11-22"), "closed");
  EXPECT_EQ(EventCount(), before + 2);
}

// A batch's rows are encoded and appended a part at a time (4,096 rows each), and its items'
// heads written a part at a time (4,096 heads each), whether all of them are written again (the
// heads were worked out under other workflows) or those the batch changed: a batch of more
// parts keeps one unbroken hash chain, the seqs it reports, and every item's head.
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

// A list shows heads: its views carry no timelines (a list of 100,000 would copy every
// history), as at today and as at an earlier date; Show has the timeline.
TEST_F(EngineTest, AListsViewsAreHeadsWithoutTimelines) {
  ImportDemo();
  for (const char* as_of : {"2024-01-01", "2026-11-22"}) {
    ListQuery q;
    q.as_of = D(as_of);
    const auto views = engine_->List(q);
    ASSERT_FALSE(views.empty()) << as_of;
    for (const RecommendationView& v : views) {
      EXPECT_TRUE(v.timeline.empty()) << v.id << " as at " << as_of;
      auto shown = engine_->Show(v.id, D(as_of));
      ASSERT_TRUE(shown.ok()) << shown.status().message();
      EXPECT_FALSE(shown->timeline.empty()) << v.id;
      EXPECT_EQ(shown->state, v.state) << v.id;
      EXPECT_EQ(shown->version, v.version) << v.id;
    }
  }
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

TEST_F(EngineTest, AsOfFollowsTheRecommendationThroughCloseAndReopen) {
  ImportDemo();
  EXPECT_EQ(State("da23-r2", "2023-03-01"), "issued");
  EXPECT_EQ(State("da23-r2", "2024-08-14"), "issued");
  EXPECT_EQ(State("da23-r2", "2024-08-15"), "closed");
  EXPECT_EQ(State("da23-r2", "2025-03-05"), "closed");
  EXPECT_EQ(State("da23-r2", "2025-03-06"), "reopened");
  auto view = engine_->Show("da23-r2", D("2025-03-31"));
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->open);
  EXPECT_TRUE(view->overdue);
  ASSERT_EQ(view->timeline.size(), 4u);
  EXPECT_EQ(view->timeline[2].voice, "body");
  EXPECT_EQ(view->timeline[3].voice, "inspectorate");
  EXPECT_EQ(view->timeline[3].from_state, "closed");
  EXPECT_EQ(view->timeline[3].to_state, "reopened");
  auto before = engine_->Show("da23-r2", D("2024-09-01"));
  EXPECT_FALSE(before->open);
  EXPECT_FALSE(before->overdue);  // closed, so not overdue even though July 2023 has passed
  auto missing = engine_->Show("da23-r2", D("2023-02-28"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(EngineTest, SupersedingLinksBothWaysFromItsEffectiveDate) {
  ImportDemo();
  EXPECT_EQ(State("da23-r4", "2025-03-05"), "closed");
  auto old_rec = engine_->Show("da23-r4", D("2025-03-06"));
  ASSERT_TRUE(old_rec.ok());
  EXPECT_EQ(old_rec->state, "superseded");
  EXPECT_FALSE(old_rec->open);
  EXPECT_EQ(old_rec->superseded_by, std::vector<std::string>{"da25-n1"});
  auto new_rec = engine_->Show("da25-n1", D("2025-03-06"));
  ASSERT_TRUE(new_rec.ok());
  EXPECT_EQ(new_rec->supersedes, std::vector<std::string>{"da23-r4"});
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-03-05")).status().code(), Code::kNotFound);
}

TEST_F(EngineTest, AMilestoneIsOverdueFromTheDayAfterItIsDue) {
  ImportDemo();
  auto on_the_day = engine_->Show("da25-n1", D("2025-12-31"));
  EXPECT_FALSE(on_the_day->overdue);
  auto day_after = engine_->Show("da25-n1", D("2026-01-01"));
  EXPECT_TRUE(day_after->overdue);
  EXPECT_TRUE(day_after->milestones.at(0).overdue);
  // A met milestone is not overdue.
  auto r3 = engine_->Show("da23-r3", D("2024-01-15"));
  ASSERT_EQ(r3->milestones.size(), 2u);
  EXPECT_EQ(r3->milestones[0].label, "communicated");
  EXPECT_TRUE(r3->milestones[0].met);
  EXPECT_FALSE(r3->milestones[0].overdue);
  EXPECT_FALSE(r3->milestones[1].overdue);
  EXPECT_TRUE(engine_->Show("da23-r3", D("2024-04-01"))->milestones[1].overdue);
}

TEST_F(EngineTest, ExtendMovesTheDueDateAndKeepsTheOriginalInHistory) {
  ImportDemo();
  auto extended = Record("da25-n1", "extend", "2025-11-01", "",
                         {{"milestone", {"due"}}, {"due", {"2026-06-30"}}, {"reason", {"pilot"}}});
  ASSERT_TRUE(extended.ok()) << extended.status().message();
  auto view = engine_->Show("da25-n1", D("2026-03-01"));
  EXPECT_EQ(view->milestones[0].due, D("2026-06-30"));
  EXPECT_EQ(view->milestones[0].original_due, D("2025-12-31"));
  EXPECT_FALSE(view->overdue);
  // Before the extension took effect the old date stood.
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-10-31"))->milestones[0].due, D("2025-12-31"));
  // Only the inspectorate extends.
  auto by_body = Record("da25-n2", "extend", "2025-11-01", "CPS",
                        {{"milestone", {"due"}}, {"due", {"2026-06-30"}}, {"reason", {"x"}}});
  EXPECT_EQ(by_body.status().code(), Code::kPermissionDenied);
}

TEST_F(EngineTest, ABackDatedEventTakesItsPlaceInHistory) {
  ImportDemo();
  // Recorded now, effective before the closure of 15 August 2024: accepted, and as-of sees it.
  // (By the inspectorate: the CPS may not date a note behind the judgement of March 2025; see
  // ABodyMayNotRecordBehindTheInspectoratesJudgement.)
  ASSERT_TRUE(Record("da23-r2", "update", "2024-07-01").ok());
  auto view = engine_->Show("da23-r2", D("2024-07-01"));
  EXPECT_EQ(view->timeline.back().transition, "update");
  EXPECT_EQ(view->state, "issued");
}

// da23-r2 was due July 2023, closed by the CPS in August 2024 and found not achieved in March
// 2025. A CPS note dated July 2023 marking its milestone met would take it off the overdue lists
// of the years between: refused, naming the judgement; the inspectorate may still correct it.
TEST_F(EngineTest, ABodyMayNotRecordBehindTheInspectoratesJudgement) {
  ImportDemo();
  const int64_t before = EventCount();
  auto behind = Record("da23-r2", "update", "2023-07-01", "CPS", {{"met", {"due"}}});
  ASSERT_EQ(behind.status().code(), Code::kConflict) << behind.status().message();
  EXPECT_NE(behind.status().message().find(
                "it is dated before the inspectorate's 'assess' effective 2025-03-06, and a "
                "body_lead may not record behind it; date it 2025-03-06 or later"),
            std::string::npos)
      << behind.status().message();
  EXPECT_EQ(EventCount(), before);
  EXPECT_TRUE(engine_->Show("da23-r2", D("2024-03-31"))->overdue);
  // On or after the judgement, the body's voice is heard as before.
  EXPECT_TRUE(Record("da23-r2", "update", "2025-03-06", "CPS").ok());
  // The inspectorate may correct the history.
  EXPECT_TRUE(Record("da23-r2", "update", "2023-07-02", "", {{"met", {"due"}}}).ok());
  EXPECT_EQ(EventCount(), before + 2);
}

TEST_F(EngineTest, ABackDatedEventThatBreaksLaterHistoryIsRefused) {
  ImportDemo();
  const int64_t before = EventCount();
  // A second close before the real one would make the real close (closed -> close) invalid.
  auto result = Record("da23-r2", "close", "2024-08-01", "CPS");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kConflict);
  EXPECT_NE(result.status().message().find("'close' effective 2024-08-15"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(EventCount(), before);
}

TEST_F(EngineTest, EventsBeforeIssueOrInTheFutureAreRefused) {
  ImportDemo();
  auto early = Record("da25-n1", "update", "2025-01-01", "CPS");
  EXPECT_EQ(early.status().code(), Code::kConflict);
  EXPECT_NE(early.status().message().find("before the recommendation was created (2025-03-06)"),
            std::string::npos)
      << early.status().message();
  auto future = Record("da25-n1", "update", "2027-01-01", "CPS");
  EXPECT_EQ(future.status().code(), Code::kInvalidArgument);
  EXPECT_NE(future.status().message().find("in the future"), std::string::npos);
}

TEST_F(EngineTest, MissingReferencesAreRefusedWithWhatIsMissing) {
  ImportDemo();
  auto no_rec = Record("da99-r1", "update", "2025-01-01", "CPS");
  EXPECT_EQ(no_rec.status().code(), Code::kNotFound);
  auto no_transition = Record("da25-n1", "approve", "2025-06-01");
  EXPECT_EQ(no_transition.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_transition.status().message().find("has: update, close, assess"), std::string::npos);
  auto no_inspection =
      Record("da25-n1", "assess", "2025-06-01", "", {{"outcome", {"achieved"}}, {"in", {"nope"}}});
  EXPECT_EQ(no_inspection.status().code(), Code::kUnprocessable);
  EXPECT_NE(no_inspection.status().message().find("no inspection 'nope'"), std::string::npos);
  auto no_successor =
      Record("da23-r2", "supersede", "2025-06-01", "", {{"superseded_by", {"da25-n9"}}});
  EXPECT_EQ(no_successor.status().code(), Code::kUnprocessable);
  auto self = Record("da23-r2", "supersede", "2025-06-01", "", {{"superseded_by", {"da23-r2"}}});
  EXPECT_EQ(self.status().code(), Code::kUnprocessable);
  auto unknown_owner = engine_->Apply(Parse(R"(
recommendations:
  - {id: x1, inspection: da23, owners: [NOBODY], text: "By March 2024, to do it."}
)"),
                                      "test");
  EXPECT_EQ(unknown_owner.status().code(), Code::kUnprocessable);
  EXPECT_NE(unknown_owner.status().message().find("t.yaml:3:5"), std::string::npos);
}

TEST_F(EngineTest, ABodyLeadActsOnlyForABodyThatOwnsTheRecommendation) {
  ImportDemo();
  ASSERT_TRUE(engine_
                  ->Apply(Parse(R"(
bodies:
  - {id: SFO, name: Serious Fraud Office}
  - {id: NPCC, name: "National Police Chiefs' Council"}
recommendations:
  - {id: j1, inspection: da23, owners: [NPCC, CPS], text: "By 30 September 2024, agree."}
)"),
                          "test")
                  .ok());
  EXPECT_EQ(Record("da25-n1", "close", "2025-06-01", "SFO").status().code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(Record("j1", "update", "2024-05-01", "NPCC").ok());
  EXPECT_TRUE(Record("j1", "close", "2024-06-01", "CPS").ok());
  EXPECT_EQ(State("j1", "2024-06-01"), "closed");
}

TEST_F(EngineTest, DefinitionsCannotBeChangedSilently) {
  ImportDemo();
  auto renamed = engine_->Apply(Parse("bodies:\n  - {id: CPS, name: Crown Prosecutors}\n"), "t");
  EXPECT_EQ(renamed.status().code(), Code::kConflict);
  auto retexted = engine_->Apply(Parse(R"(
recommendations:
  - {id: da25-n1, inspection: da25, owners: [CPS], text: "By December 2025, something else."}
)"),
                                 "t");
  EXPECT_EQ(retexted.status().code(), Code::kConflict);
}

TEST_F(EngineTest, ATextNamingAnImpossibleDateIsRefused) {
  ImportDemo();
  auto result = engine_->Apply(Parse(R"(
recommendations:
  - {id: x1, inspection: da23, owners: [CPS], text: "By 31 September 2024, to do it."}
)"),
                               "test");
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("By 31 September 2024"), std::string::npos)
      << result.status().message();
}

TEST_F(EngineTest, AYearRectrackCannotHoldIsRefusedNotStored) {
  ImportDemo();
  const int64_t before = EventCount();
  for (const char* text : {"By March 0000 to do it.", "By 1 March 1850 to do it."}) {
    auto result = engine_->Apply(
        Parse(std::string("recommendations:\n  - {id: x1, inspection: da23, owners: [CPS], "
                          "text: \"") +
              text + "\"}\n"),
        "test");
    EXPECT_EQ(result.status().code(), Code::kInvalidArgument) << text;
  }
  EXPECT_EQ(EventCount(), before);
  engine_ = OpenEngine();  // and the database still opens
  ASSERT_NE(engine_, nullptr);
}

TEST_F(EngineTest, TextThatIsNotUtf8IsRefusedAndTheLogStaysReadable) {
  ImportDemo();
  const int64_t before = EventCount();
  // Built here: an import file with such bytes is refused before it is read (importer_test).
  DefineInspection bad;
  bad.inspection.id = "x1";
  bad.inspection.title = "bad \xff bytes";
  bad.inspection.published = D("2024-01-01");
  auto result = engine_->Apply({bad}, "test");
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("not valid UTF-8"), std::string::npos);
  RecordEvent e;
  e.subject_id = "da25-n1";
  e.transition = "update";
  e.effective = D("2025-06-02");
  e.role = "body_lead";
  e.body = "CPS";
  e.note = "caf\xc3";  // a sequence cut short
  EXPECT_EQ(engine_->Apply({e}, "t").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(EventCount(), before);
  engine_ = OpenEngine();
  ASSERT_NE(engine_, nullptr);
}

// Control characters would reach terminals and documents: refused wherever a command carries
// text, naming the field and the character; tab and newline are text.
TEST_F(EngineTest, ControlCharactersOtherThanTabAndNewlineAreRefusedNamingTheField) {
  ImportDemo();
  const int64_t before = EventCount();
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  e.effective = D("2025-06-02");
  struct Case {
    std::string note;
    std::string control;  // "" when allowed
  };
  for (const Case& c : std::vector<Case>{{"clears \x1b[2Jthe screen", "U+001B"},
                                         {"over\rwrites", "U+000D"},
                                         {"bell\x07", "U+0007"},
                                         {"del\x7f", "U+007F"},
                                         {"csi \xc2\x9b"
                                          "2J",
                                          "U+009B"}}) {
    e.note = c.note;
    auto refused = engine_->Apply({e}, "t");
    ASSERT_EQ(refused.status().code(), Code::kInvalidArgument) << c.control;
    EXPECT_NE(refused.status().message().find("note holds the control character " + c.control),
              std::string::npos)
        << refused.status().message();
  }
  e.note = "";
  e.fields["evidence"] = {"minutes\x1b]0;title\x07"};
  auto field = engine_->Apply({e}, "t");
  EXPECT_NE(field.status().message().find("field 'evidence' holds the control character U+001B"),
            std::string::npos)
      << field.status().message();
  EXPECT_EQ(EventCount(), before);
  e.fields.clear();
  e.note = "line one\n\tindented, and a no-break\xc2\xa0space";
  EXPECT_TRUE(engine_->Apply({e}, "t").ok());
  EXPECT_EQ(EventCount(), before + 1);
}

// No client can make one event huge: every text has a limit in bytes, named when exceeded.
TEST_F(EngineTest, TextOverItsLimitIsRefusedNamingTheFieldAndTheLimit) {
  ImportDemo();
  const int64_t before = EventCount();
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  e.effective = D("2025-06-02");
  e.note = std::string(TextLimits{}.note + 1, 'n');
  auto note = engine_->Apply({e}, "t");
  EXPECT_EQ(note.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(note.status().message(), "note is 8193 bytes long; at most 8192 are allowed");
  e.note = std::string(TextLimits{}.note, 'n');
  EXPECT_TRUE(engine_->Apply({e}, "t").ok()) << "the limit itself is allowed";
  e.note.clear();
  e.fields["evidence"] = std::vector<std::string>(kMaxFieldValues + 1, "a.pdf");
  EXPECT_NE(engine_->Apply({e}, "t").status().message().find("at most 100 values"),
            std::string::npos);
  e.fields["evidence"] = {std::string(TextLimits{}.field_value + 1, 'x')};
  EXPECT_NE(engine_->Apply({e}, "t").status().message().find("field 'evidence' is 4097 bytes"),
            std::string::npos);
  DefineRecommendation big;
  big.id = "x-big";
  big.def.inspection = "da23";
  big.def.owners = {"CPS"};
  big.def.text = std::string(TextLimits{}.text + 1, 't');
  auto text = engine_->Apply({big}, "t");
  EXPECT_NE(text.status().message().find("text is 32769 bytes long; at most 32768"),
            std::string::npos)
      << text.status().message();
  EXPECT_EQ(EventCount(), before + 1);
}

// The limits are the operator's (serve's config, RECTRACK_MAX_NOTE_BYTES): an engine opened with
// smaller ones refuses what the defaults allow, and the log is untouched.
TEST_F(EngineTest, TextLimitsComeFromTheEngineOptions) {
  ImportDemo();
  engine_.reset();
  Engine::Options options{db_path_, kWorkflow, &clock_, true, ""};
  options.text_limits.note = 100;
  options.text_limits.field_value = 10;
  auto opened = Engine::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  engine_ = std::move(opened).value();
  const int64_t before = EventCount();
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  e.effective = D("2025-06-02");
  e.note = std::string(101, 'n');
  EXPECT_EQ(engine_->Apply({e}, "t").status().message(),
            "note is 101 bytes long; at most 100 are allowed");
  e.note = "short";
  e.fields["evidence"] = {"policy-v2.pdf"};
  EXPECT_NE(engine_->Apply({e}, "t").status().message().find("at most 10 are allowed"),
            std::string::npos);
  EXPECT_EQ(EventCount(), before);
  e.fields.clear();
  e.note = std::string(100, 'n');
  EXPECT_TRUE(engine_->Apply({e}, "t").ok());
}

TEST_F(EngineTest, AnEmptyMilestoneListMeansNoneEvenWhenTheTextNamesADate) {
  ImportDemo();
  ASSERT_TRUE(engine_
                  ->Apply(Parse(R"(
recommendations:
  - {id: x1, inspection: da23, owners: [CPS], milestones: [],
     text: "The guidance issued by 3 May 2023 letters is to be followed."}
  - {id: x2, inspection: da23, owners: [CPS],
     text: "The guidance issued by 3 May 2023 letters is to be followed."}
)"),
                          "test")
                  .ok());
  EXPECT_TRUE(engine_->Show("x1", D("2025-01-01"))->milestones.empty());
  EXPECT_EQ(engine_->Show("x2", D("2025-01-01"))->milestones.size(), 1u);
}

TEST_F(EngineTest, RecordingTheSameNoteTwiceKeepsBothButImportsSkipRepeats) {
  ImportDemo();
  ASSERT_TRUE(Record("da25-n1", "update", "2025-06-01", "CPS").ok());
  ASSERT_EQ(Record("da25-n1", "update", "2025-06-01", "CPS")->appended, 1);
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-06-30"))->timeline.size(), 3u);
  const std::string yaml =
      "events:\n  - {rec: da25-n2, do: update, effective: 2025-06-01, by: CPS, note: x}\n";
  ASSERT_EQ(engine_->Apply(Parse(yaml), "t")->appended, 1);
  EXPECT_EQ(engine_->Apply(Parse(yaml), "t")->appended, 0);
}

TEST_F(EngineTest, AnEmptyReasonIsNoReason) {
  ImportDemo();
  auto result = Record("da25-n1", "withdraw", "2025-06-01", "", {{"reason", {""}}});
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("field 'reason' is empty"), std::string::npos);
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

TEST_F(EngineTest, ListFiltersByBodyStateOpennessAndOverdue) {
  ImportDemo();
  ListQuery q;
  q.as_of = D("2025-03-31");
  EXPECT_EQ(engine_->List(q).size(), 8u);
  q.open = true;
  EXPECT_EQ(engine_->List(q).size(), 3u);
  q.overdue_only = true;
  auto overdue = engine_->List(q);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].id, "da23-r2");
  q = ListQuery{};
  q.as_of = D("2025-03-31");
  q.state = "superseded";
  EXPECT_EQ(engine_->List(q).size(), 2u);
  q.state = "";
  q.body = "SFO";
  EXPECT_TRUE(engine_->List(q).empty());
  q.body = "";
  q.as_of = D("2024-01-01");
  EXPECT_EQ(engine_->List(q).size(), 6u);  // the follow-up's two were not issued yet
}

TEST_F(EngineTest, StateSurvivesReopeningTheDatabase) {
  ImportDemo();
  auto before = engine_->Show("da23-r2", D("2025-03-31"));
  engine_ = OpenEngine();
  auto after = engine_->Show("da23-r2", D("2025-03-31"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, before->state);
  EXPECT_EQ(after->timeline.size(), before->timeline.size());
  EXPECT_EQ(after->version, before->version);
}

TEST_F(EngineTest, TwoEnginesOnOneFileSeeEachOthersWrites) {
  ImportDemo();
  auto other = OpenEngine();
  ASSERT_TRUE(Record("da25-n1", "update", "2025-06-01", "CPS").ok());
  // `other` has not seen that update; its write catches up first and numbers after it.
  RecordEvent e;
  e.subject_id = "da25-n2";
  e.transition = "update";
  e.effective = D("2025-06-02");
  e.role = "body_lead";
  e.body = "CPS";
  auto result = other->Apply({e}, "other");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(other->Show("da25-n1", D("2025-06-30"))->timeline.size(), 2u);
  auto verify = other->Verify();
  ASSERT_TRUE(verify.ok()) << verify.status().message();
}

// A token another process revoked stops working once this engine takes in any of that process's
// commits, also when a write of its own is what took them in (a stream once read the command
// line's next event with a token the command line had just revoked).
TEST_F(EngineTest, ATokenRevokedElsewhereStopsWhenAWriteTakesInThatProcesssCommits) {
  ImportDemo();
  auto token = engine_->CreateToken("reader", "", std::nullopt, "stream");
  ASSERT_TRUE(token.ok()) << token.status().message();
  ASSERT_TRUE(engine_->Authenticate(token->second).ok());  // known, and kept in memory
  auto other = OpenEngine();
  ASSERT_TRUE(other->RevokeToken(token->first.id).ok());
  ASSERT_TRUE(other->Apply({CpsLeadCloses("da25-n2")}, "cli").ok());
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  ASSERT_TRUE(engine_->Apply({e}, "server").ok());  // catches up with `other` inside its write
  EXPECT_EQ(engine_->Show("da25-n2", std::nullopt)->state, "closed");
  EXPECT_FALSE(engine_->Authenticate(token->second).ok());
}

// Refresh asks SQLite only when the WAL-index header moved (storage/wal_watch.h), and so must
// still take in each of another engine's commits, one after another, the moment it is made.
TEST_F(EngineTest, RefreshTakesInEachOfAnotherEnginesCommitsAtOnce) {
  ImportDemo();
  auto other = OpenEngine();
  ASSERT_TRUE(engine_->Refresh().ok());
  for (int i = 0; i < 20; ++i) {
    const int64_t before = engine_->last_seq();
    ASSERT_TRUE(engine_->Refresh().ok());
    EXPECT_EQ(engine_->last_seq(), before) << "nothing new, at " << i;
    RecordEvent e = CpsLeadCloses("da25-n2");
    e.transition = "update";
    e.effective = D("2025-06-02");
    e.note = "note " + std::to_string(i);
    ASSERT_TRUE(other->Apply({e}, "other").ok());
    ASSERT_TRUE(engine_->Refresh().ok());
    EXPECT_EQ(engine_->last_seq(), other->last_seq()) << "at " << i;
  }
}

TEST_F(EngineTest, ALogThatNoLongerReplaysIsReportedAsCorruptionAtOpen) {
  ImportDemo();
  engine_.reset();
  {
    auto db = storage::Database::Open(db_path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER events_no_update").ok());
    ASSERT_TRUE((*db)->Exec("UPDATE events SET transition='vanish' WHERE seq=15").ok());
  }
  auto reopened = Engine::Open({db_path_, kWorkflow, &clock_, true, ""});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), Code::kCorruption);
  EXPECT_NE(reopened.status().message().find("event 15"), std::string::npos)
      << reopened.status().message();
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

}  // namespace
}  // namespace rectrack

namespace rectrack {
namespace {

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

}  // namespace
}  // namespace rectrack
