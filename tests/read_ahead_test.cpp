// ReadAhead (engine/read_ahead.h): the log's rows read and decoded on a thread of its own, in
// order, a bounded number of batches ahead, stopping when the reader is done with it.
#include "engine/read_ahead.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/model.h"
#include "storage/database.h"
#include "storage/event_store.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

class ReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "rectrack_read_ahead_test_" + std::to_string(getpid()) + ".db";
    fs::remove(path_);
    auto db = storage::Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(db).value();
    store_ = std::make_unique<storage::EventStore>(db_.get(),
                                                   [](int kind) { return SubjectKindName(kind); });
    // More rows than kBatchesAhead batches hold, and a part of a batch at the end.
    std::vector<storage::EventRow> rows(kRows);
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i].kind = static_cast<int>(SubjectKind::kRecommendation);
      rows[i].subject_id = "r" + std::to_string(i);
      rows[i].transition = "update";
      rows[i].effective = "2025-01-01";
      rows[i].recorded = "2025-01-01T00:00:00Z";
      rows[i].actor = "test";
      rows[i].role = "inspectorate";
      rows[i].payload = "{}";
    }
    rows[kBadRow - 1].payload = "not JSON";
    auto tx = storage::Transaction::Begin(*db_, storage::Transaction::Mode::kWrite);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    ASSERT_TRUE(store_->Append(rows).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path_ + suffix);
  }

  static constexpr size_t kRows = (ReadAhead::kBatchesAhead + 2) * ReadAhead::kBatchSize + 7;
  // The seq of a row that does not decode, in the second batch.
  static constexpr int64_t kBadRow = ReadAhead::kBatchSize + 3;
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::EventStore> store_;
};

// Every row is given, decoded; the one that does not decode as an error naming it, and the rows
// after it too (the caller decides to stop).
TEST_F(ReadAheadTest, GivesEveryRowAfterTheSeqInOrderABatchAtATime) {
  for (int64_t after :
       {int64_t{0}, int64_t{1}, static_cast<int64_t>(kRows) - 3, static_cast<int64_t>(kRows)}) {
    SCOPED_TRACE("after " + std::to_string(after));
    auto ahead = ReadAhead::Start(store_.get(), after);
    ASSERT_NE(ahead, nullptr);
    std::vector<ReadAhead::Decoded> batch;
    int64_t expected = after + 1;
    while (ahead->Next(&batch)) {
      EXPECT_FALSE(batch.empty());
      EXPECT_LE(batch.size(), ReadAhead::kBatchSize);
      for (const ReadAhead::Decoded& row : batch) {
        EXPECT_EQ(row.seq, expected);
        const std::string subject = "r" + std::to_string(expected - 1);
        if (expected == kBadRow) {
          ASSERT_FALSE(row.event.ok());
          EXPECT_EQ(row.event.status().code(), Code::kCorruption);
          EXPECT_NE(row.event.status().message().find("event " + std::to_string(kBadRow)),
                    std::string::npos)
              << row.event.status().message();
          EXPECT_EQ(row.subject_id, subject);
        } else {
          ASSERT_TRUE(row.event.ok()) << row.event.status().message();
          EXPECT_EQ(row.subject_id, "") << "the event has its own";
          EXPECT_EQ(row.event->seq, expected);
          EXPECT_EQ(row.event->subject_id, subject);
          EXPECT_EQ(row.event->transition, "update");
          EXPECT_EQ(row.event->recorded, "2025-01-01T00:00:00Z");
        }
        ++expected;
      }
    }
    EXPECT_EQ(expected, static_cast<int64_t>(kRows) + 1);
    EXPECT_TRUE(ahead->status().ok()) << ahead->status().message();
    EXPECT_FALSE(ahead->Next(&batch)) << "given twice";
  }
}

// A reader that stops early (an event that does not replay) leaves the thread waiting with its
// batches full, or still reading: the ReadAhead stops it, and the database is this thread's
// again.
TEST_F(ReadAheadTest, StopsReadingWhenLetGoEarly) {
  {
    auto ahead = ReadAhead::Start(store_.get(), 0);
    ASSERT_NE(ahead, nullptr);
    std::vector<ReadAhead::Decoded> batch;
    ASSERT_TRUE(ahead->Next(&batch));
    EXPECT_EQ(batch.front().seq, 1);
    // Time for the reader to fill every batch it may and wait for room.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  { auto never_asked = ReadAhead::Start(store_.get(), 0); }
  EXPECT_EQ(store_->LastSeq(), static_cast<int64_t>(kRows));
  auto again = ReadAhead::Start(store_.get(), 0);
  std::vector<ReadAhead::Decoded> batch;
  ASSERT_TRUE(again->Next(&batch));
  EXPECT_EQ(batch.front().seq, 1);
}

// A read that fails ends the rows given, and says why.
TEST_F(ReadAheadTest, AReadThatFailsSaysWhy) {
  ASSERT_TRUE(db_->Exec("ALTER TABLE events RENAME TO events_gone").ok());
  auto ahead = ReadAhead::Start(store_.get(), 0);
  ASSERT_NE(ahead, nullptr);
  std::vector<ReadAhead::Decoded> batch;
  EXPECT_FALSE(ahead->Next(&batch));
  EXPECT_FALSE(ahead->status().ok());
  EXPECT_NE(ahead->status().message().find("events"), std::string::npos)
      << ahead->status().message();
}

}  // namespace
}  // namespace rectrack
