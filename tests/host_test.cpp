// EngineHost (engine/host.h): the group commit, reads under the lock, listeners, and what
// happens to queued writes at shutdown, on a real SQLite file with the demo imported.
#include "engine/host.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/importer.h"
#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

const std::string kWorkflow = std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml";
const std::string kDemo = std::string(RECTRACK_SOURCE_DIR) + "/demo/domestic-abuse.yaml";

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("host_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "rectrack.db").string();
    engine_ = Open();
    ASSERT_NE(engine_, nullptr);
    auto commands = ParseImportFile(kDemo, engine_->workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    ASSERT_TRUE(engine_->Apply(*commands, "test").ok());
    host_ = std::make_unique<EngineHost>(engine_.get());
  }
  void TearDown() override {
    host_.reset();
    engine_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Engine> Open() {
    auto engine = Engine::Open({db_path_, kWorkflow, &clock_, true, ""});
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  // A CPS lead's progress note on da25-n1 (allowed any number of times), or with `transition`.
  static WriteBatch Note(const std::string& note, const std::string& transition = "update") {
    RecordEvent e;
    e.subject_id = "da25-n1";
    e.transition = transition;
    e.role = "body_lead";
    e.body = "CPS";
    e.note = note;
    return WriteBatch{{e}, "test"};
  }

  int64_t LastSeq() {
    int64_t seq = -1;
    EXPECT_TRUE(host_->Read([&](const Engine& e) { seq = e.last_seq(); }).ok());
    return seq;
  }

  FixedClock clock_{"2026-11-22T09:00:00Z"};
  fs::path dir_;
  std::string db_path_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineHost> host_;
};

TEST_F(HostTest, ApplyCommitsAndReadSeesTheEvent) {
  const int64_t before = LastSeq();
  auto report = host_->Apply(Note("first"));
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->appended, 1);
  EXPECT_EQ(report->seqs, std::vector<int64_t>{before + 1});
  EXPECT_EQ(LastSeq(), before + 1);
}

TEST_F(HostTest, ARefusedBatchIsAnsweredWithItsErrorAndWritesNothing) {
  const int64_t before = LastSeq();
  auto report = host_->Apply(Note("no", "reopen"));  // not from issued
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("reopen"), std::string::npos)
      << report.status().message();
  EXPECT_EQ(LastSeq(), before);
}

// Writes queued while a group is being answered all go into the next transaction, and a refused
// batch in that group costs the others nothing.
TEST_F(HostTest, WritesQueuedMeanwhileShareOneGroupAndEachIsAnsweredOnItsOwn) {
  std::mutex mutex;
  std::condition_variable changed;
  bool first_answered = false;
  bool release = false;
  std::vector<bool> ok;
  const int64_t before = LastSeq();
  host_->Submit({Note("holds the writer"), nullptr, [&] {
                   std::unique_lock<std::mutex> lock(mutex);
                   first_answered = true;
                   changed.notify_all();
                   changed.wait(lock, [&] { return release; });
                 }});
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return first_answered; }));
  }
  const EngineHost::WriteCounts counts = host_->write_counts();
  for (int i = 0; i < 10; ++i) {
    host_->Submit({Note(i == 4 ? "refused" : "queued", i == 4 ? "reopen" : "update"),
                   [&](const Result<ApplyReport>& r, const Engine&) {
                     std::lock_guard<std::mutex> lock(mutex);
                     ok.push_back(r.ok());
                   },
                   [&] { changed.notify_all(); }});
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    release = true;
    changed.notify_all();
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return ok.size() == 10; }));
  }
  host_->Drain();
  EXPECT_EQ(std::count(ok.begin(), ok.end(), true), 9);
  EXPECT_EQ(LastSeq(), before + 1 + 9);
  const EngineHost::WriteCounts after = host_->write_counts();
  EXPECT_EQ(after.groups - counts.groups, 1) << "the ten queued writes were not one group";
  EXPECT_EQ(after.batches - counts.batches, 10);
}

// `committed` runs with the group's events visible to the engine it is given.
TEST_F(HostTest, TheCommittedCallbackSeesTheGroupsEvents) {
  std::atomic<int64_t> seen{-1};
  std::atomic<int64_t> recorded{-1};
  host_->Submit({Note("visible"),
                 [&](const Result<ApplyReport>& r, const Engine& e) {
                   seen = e.last_seq();
                   if (r.ok()) recorded = r->seqs.front();
                 },
                 nullptr});
  host_->Drain();
  EXPECT_GT(recorded.load(), 0);
  EXPECT_EQ(seen.load(), recorded.load());
}

TEST_F(HostTest, ManyThreadsWritingAtOnceLoseNothing) {
  const int64_t before = LastSeq();
  std::atomic<int> answered{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (host_->Apply(Note("w")).ok()) ++answered;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(answered.load(), 200);
  EXPECT_EQ(LastSeq(), before + 200);
  auto verified = engine_->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->events, before + 200);
}

TEST_F(HostTest, DestroyingTheHostCommitsAndAnswersEveryQueuedWrite) {
  const int64_t before = LastSeq();
  std::atomic<int> answered{0};
  for (int i = 0; i < 20; ++i) {
    host_->Submit({Note("late"), nullptr, [&] { ++answered; }});
  }
  host_.reset();
  EXPECT_EQ(answered.load(), 20);
  EXPECT_EQ(engine_->last_seq(), before + 20);
}

// Another process's commit (here another Engine on the same file) is taken in by the next Read,
// which wakes the listeners; Poll does the same without a request.
TEST_F(HostTest, ReadAndPollTakeInAnotherProcesssCommitsAndWakeTheListeners) {
  std::atomic<int> woken{0};
  const int listener = host_->Subscribe([&] { ++woken; });
  std::unique_ptr<Engine> other = Open();
  ASSERT_NE(other, nullptr);
  const int64_t before = LastSeq();
  ASSERT_TRUE(other->Apply(Note("elsewhere").commands, "other").ok());
  EXPECT_EQ(woken.load(), 0);
  EXPECT_EQ(LastSeq(), before + 1);
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(LastSeq(), before + 1);
  EXPECT_EQ(woken.load(), 1) << "nothing new: no wake-up";
  ASSERT_TRUE(other->Apply(Note("again").commands, "other").ok());
  host_->Poll();
  EXPECT_EQ(woken.load(), 2);
  host_->Unsubscribe(listener);
  ASSERT_TRUE(host_->Apply(Note("here")).ok());
  EXPECT_EQ(woken.load(), 2) << "an unsubscribed listener was called";
}

TEST_F(HostTest, AWriteWakesTheListenersOnceItIsCommitted) {
  std::atomic<int> woken{0};
  host_->Subscribe([&] { ++woken; });
  ASSERT_TRUE(host_->Apply(Note("n")).ok());
  EXPECT_EQ(woken.load(), 1);
  ASSERT_FALSE(host_->Apply(Note("refused", "reopen")).ok());
  EXPECT_EQ(woken.load(), 1) << "a refused write grew nothing";
}

TEST_F(HostTest, UpdateTakesInOtherProcessesCommitsFirst) {
  std::atomic<int> woken{0};
  host_->Subscribe([&] { ++woken; });
  std::unique_ptr<Engine> other = Open();
  ASSERT_NE(other, nullptr);
  const int64_t before = engine_->last_seq();
  ASSERT_TRUE(other->Apply(Note("elsewhere").commands, "other").ok());
  int64_t seen = -1;
  ASSERT_TRUE(host_->Update([&](Engine& e) { seen = e.last_seq(); }).ok());
  EXPECT_EQ(seen, before + 1);
  EXPECT_EQ(woken.load(), 1);
}

// A host made kStarting (`serve` while it reads the log) has only the engine that reads the
// item heads: Read and Update are Unavailable without running their fn, ReadHeads runs on that
// engine, and a write waits in the queue until Start gives the host its engine.
TEST_F(HostTest, AStartingHostAnswersFromTheHeadsAndWritesWaitForItsEngine) {
  Engine::Options for_lists{db_path_, kWorkflow, &clock_, false, ""};
  for_lists.heads_only = true;
  auto heads = Engine::Open(for_lists);
  ASSERT_TRUE(heads.ok()) << heads.status().message();
  ASSERT_TRUE((*heads)->reads_heads());
  EngineHost starting(EngineHost::kStarting, heads->get());
  EXPECT_FALSE(starting.started());
  bool ran = false;
  Status read = starting.Read([&](const Engine&) { ran = true; });
  EXPECT_EQ(read.code(), Code::kUnavailable);
  EXPECT_NE(read.message().find("rectrack is starting"), std::string::npos) << read.message();
  EXPECT_EQ(starting.Update([&](Engine&) { ran = true; }).code(), Code::kUnavailable);
  starting.Poll();
  EXPECT_FALSE(ran);
  const Engine* answered = nullptr;
  ASSERT_TRUE(starting.ReadHeads([&](const Engine& e) { answered = &e; }).ok());
  EXPECT_EQ(answered, heads->get());
  // A write before the start is held, not refused, and lands once the engine is given.
  const int64_t before = engine_->last_seq();
  std::atomic<bool> answered_write{false};
  Result<ApplyReport> result = Status::IOError("not answered");
  starting.Submit({Note("while starting"),
                   [&](const Result<ApplyReport>& r, const Engine&) { result = r; },
                   [&] { answered_write = true; }});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(answered_write.load());
  starting.Start(engine_.get());
  starting.Drain();
  EXPECT_TRUE(answered_write.load());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->seqs, std::vector<int64_t>{before + 1});
  EXPECT_TRUE(starting.started());
  ASSERT_TRUE(starting.ReadHeads([&](const Engine& e) { answered = &e; }).ok());
  EXPECT_EQ(answered, engine_.get());
  ASSERT_TRUE(starting.Read([&](const Engine& e) { answered = &e; }).ok());
  EXPECT_EQ(answered, engine_.get());
}

// A server stopped before it read the log: what was queued is answered Unavailable, nothing
// is written, and the host's end does not wait for an engine that never comes.
TEST_F(HostTest, AHostStoppedWhileStartingAnswersItsQueuedWritesUnavailable) {
  Engine::Options for_lists{db_path_, kWorkflow, &clock_, false, ""};
  for_lists.heads_only = true;
  auto heads = Engine::Open(for_lists);
  ASSERT_TRUE(heads.ok()) << heads.status().message();
  const int64_t before = engine_->last_seq();
  Result<ApplyReport> result = Status::IOError("not answered");
  bool then_ran = false;
  {
    EngineHost starting(EngineHost::kStarting, heads->get());
    starting.Submit({Note("never written"),
                     [&](const Result<ApplyReport>& r, const Engine&) { result = r; },
                     [&] { then_ran = true; }});
  }
  EXPECT_TRUE(then_ran);
  EXPECT_EQ(result.status().code(), Code::kUnavailable);
  ASSERT_TRUE(engine_->Refresh().ok());
  EXPECT_EQ(engine_->last_seq(), before);
}

}  // namespace
}  // namespace rectrack
