#include "storage/event_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/model.h"

namespace rectrack::storage {
namespace {

const std::string kZeroHash(64, '0');
// The store keeps an event's kind as a number; these are the engine's (engine/model.h).
constexpr int kRecommendation = static_cast<int>(SubjectKind::kRecommendation);
constexpr int kAction = static_cast<int>(SubjectKind::kAction);
// How the engine names them in Verify's messages.
std::string NameKind(int kind) { return SubjectKindName(kind); }

EventRow MakeRow(std::string subject_id, std::string transition, std::string note = "") {
  EventRow row;
  row.kind = kRecommendation;
  row.subject_id = std::move(subject_id);
  row.transition = std::move(transition);
  row.effective = "2024-08-15";
  row.recorded = "2024-08-16T09:30:00Z";
  row.actor = "alice";
  row.role = "owner";
  row.body = "CPX";
  row.note = std::move(note);
  row.payload = R"({"priority":"high"})";
  return row;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = ::testing::TempDir() + "rectrack_event_store_test_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++) + ".db";
    RemoveFiles();
    auto db = Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(db).value();
    store_ = std::make_unique<EventStore>(db_.get(), NameKind);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    RemoveFiles();
  }

  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

  // Appends da23-r1 'open', da23-r2 'close', da23-r3 'open' in one committed transaction.
  std::vector<EventRow> AppendThree() {
    std::vector<EventRow> rows = {MakeRow("da23-r1", "open"), MakeRow("da23-r2", "close"),
                                  MakeRow("da23-r3", "open")};
    auto txn = Transaction::Begin(*db_, Transaction::Mode::kWrite);
    EXPECT_TRUE(txn.ok()) << txn.status().message();
    Status s = store_->Append(rows);
    EXPECT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(txn->Commit().ok());
    return rows;
  }

  std::string path_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(EventStoreTest, AppendAssignsSequentialSeqsAndChainsPrevHash) {
  EXPECT_EQ(store_->LastSeq(), 0);
  std::vector<EventRow> rows = AppendThree();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].seq, 1);
  EXPECT_EQ(rows[1].seq, 2);
  EXPECT_EQ(rows[2].seq, 3);
  EXPECT_EQ(rows[0].prev_hash, kZeroHash);
  EXPECT_EQ(rows[1].prev_hash, rows[0].hash);
  EXPECT_EQ(rows[2].prev_hash, rows[1].hash);
  for (const EventRow& row : rows) EXPECT_EQ(row.hash, ChainHash(row));
  EXPECT_EQ(store_->LastSeq(), 3);

  // A second batch continues the chain where the first ended.
  std::vector<EventRow> more = {MakeRow("da23-r1", "close")};
  ASSERT_TRUE(store_->Append(more).ok());
  EXPECT_EQ(more[0].seq, 4);
  EXPECT_EQ(more[0].prev_hash, rows[2].hash);
}

TEST_F(EventStoreTest, LoadSinceReturnsRowsAfterSeqInOrder) {
  std::vector<EventRow> appended = AppendThree();
  auto all = store_->LoadSince(0);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 3u);
  const EventRow& first = (*all)[0];
  EXPECT_EQ(first.seq, 1);
  EXPECT_EQ(first.kind, kRecommendation);
  EXPECT_EQ(first.subject_id, "da23-r1");
  EXPECT_EQ(first.transition, "open");
  EXPECT_EQ(first.effective, "2024-08-15");
  EXPECT_EQ(first.recorded, "2024-08-16T09:30:00Z");
  EXPECT_EQ(first.actor, "alice");
  EXPECT_EQ(first.role, "owner");
  EXPECT_EQ(first.body, "CPX");
  EXPECT_EQ(first.payload, R"({"priority":"high"})");
  EXPECT_EQ(first.prev_hash, kZeroHash);
  EXPECT_EQ(first.hash, appended[0].hash);

  auto tail = store_->LoadSince(1);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].seq, 2);
  EXPECT_EQ((*tail)[1].seq, 3);
  EXPECT_TRUE(store_->LoadSince(3)->empty());
}

// Scan shows the same rows as LoadSince, as views, without the hashes, and stops at the first
// error its visitor returns.
TEST_F(EventStoreTest, ScanShowsEachRowAfterSeqAsAView) {
  AppendThree();
  auto rows = store_->LoadSince(0);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  for (int64_t after : {0, 1, 3}) {
    SCOPED_TRACE("after " + std::to_string(after));
    size_t i = static_cast<size_t>(after);
    Status scanned = store_->Scan(after, [&](const EventRowView& view) -> Status {
      EXPECT_LT(i, rows->size());
      if (i >= rows->size()) return Status::Corruption("too many rows");
      const EventRow& row = (*rows)[i++];
      EXPECT_EQ(view.seq, row.seq);
      EXPECT_EQ(view.kind, row.kind);
      EXPECT_EQ(view.subject_id, row.subject_id);
      EXPECT_EQ(view.transition, row.transition);
      EXPECT_EQ(view.effective, row.effective);
      EXPECT_EQ(view.recorded, row.recorded);
      EXPECT_EQ(view.actor, row.actor);
      EXPECT_EQ(view.role, row.role);
      EXPECT_EQ(view.body, row.body);
      EXPECT_EQ(view.note, row.note);
      EXPECT_EQ(view.payload, row.payload);
      return Status();
    });
    EXPECT_TRUE(scanned.ok()) << scanned.message();
    EXPECT_EQ(i, rows->size());
  }
  int visits = 0;
  Status stopped = store_->Scan(0, [&](const EventRowView&) {
    ++visits;
    return Status::Conflict("enough");
  });
  EXPECT_EQ(stopped.code(), Code::kConflict);
  EXPECT_EQ(visits, 1);
}

TEST_F(EventStoreTest, ChainHashIsDeterministicAndCoversEveryField) {
  EventRow base = MakeRow("da23-r2", "close", "done");
  base.seq = 2;
  base.prev_hash = std::string(64, 'a');
  const std::string hash = ChainHash(base);
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(ChainHash(base), hash);

  std::vector<void (*)(EventRow&)> edits = {
      [](EventRow& r) { r.prev_hash[0] = 'b'; },
      [](EventRow& r) { r.seq = 3; },
      [](EventRow& r) { r.kind = kAction; },
      [](EventRow& r) { r.subject_id += "x"; },
      [](EventRow& r) { r.transition = "reopen"; },
      [](EventRow& r) { r.effective = "2024-08-16"; },
      [](EventRow& r) { r.recorded = "2024-08-16T09:30:01Z"; },
      [](EventRow& r) { r.actor = "bob"; },
      [](EventRow& r) { r.role = "auditor"; },
      [](EventRow& r) { r.body = "CPY"; },
      [](EventRow& r) { r.note = "done."; },
      [](EventRow& r) { r.payload = "{}"; },
      // Moving a byte across a field boundary must change the hash too.
      [](EventRow& r) {
        r.note = "xdone";
        r.body = "CP";
        r.role = "ownerX";
      },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    EventRow changed = base;
    edits[i](changed);
    EXPECT_NE(ChainHash(changed), hash) << "edit " << i;
  }
  EventRow with_hash = base;
  with_hash.hash = "ignored";
  EXPECT_EQ(ChainHash(with_hash), hash);
}

// Stored hashes must stay verifiable by every later version: this pins the exact input format,
// each field as "<byte length>:<bytes>\n" (the digest was computed with sha256sum).
TEST_F(EventStoreTest, ChainHashMatchesKnownAnswerForDocumentedFormat) {
  EventRow row = MakeRow("da23-r2", "close", "done");
  row.seq = 2;
  row.prev_hash = std::string(64, 'a');
  EXPECT_EQ(ChainHash(row), "ec72e9ca4d7b947810e8b9dffe7b45d91d567fa057877b0f44f2ea8e8ae501b7");
}

TEST_F(EventStoreTest, TriggersRefuseUpdateAndDelete) {
  AppendThree();
  Status update = db_->Exec("UPDATE events SET note = 'x' WHERE seq = 2");
  EXPECT_EQ(update.code(), Code::kConflict);
  EXPECT_NE(update.message().find("events are append-only"), std::string::npos);
  auto del = db_->Prepare("DELETE FROM events WHERE seq = ?");
  ASSERT_TRUE(del.ok());
  Status deleted = del->Bind(1, int64_t{2}).Run();
  EXPECT_EQ(deleted.code(), Code::kConflict);
  EXPECT_NE(deleted.message().find("events are append-only"), std::string::npos);
  EXPECT_TRUE(store_->Verify().ok());
}

TEST_F(EventStoreTest, UncommittedAppendLeavesLastSeqUnchanged) {
  AppendThree();
  {
    auto txn = Transaction::Begin(*db_, Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok());
    std::vector<EventRow> rows = {MakeRow("da23-r4", "open"), MakeRow("da23-r5", "open")};
    ASSERT_TRUE(store_->Append(rows).ok());
    EXPECT_EQ(store_->LastSeq(), 5);
  }
  EXPECT_EQ(store_->LastSeq(), 3);
  auto report = store_->Verify();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->events, 3);
}

TEST_F(EventStoreTest, VerifyAcceptsUntouchedLogAndReportsHead) {
  std::vector<EventRow> rows = AppendThree();
  auto report = store_->Verify();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->events, 3);
  EXPECT_EQ(report->head_hash, rows[2].hash);
}

TEST_F(EventStoreTest, VerifyAcceptsEmptyLog) {
  auto report = store_->Verify();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->events, 0);
  EXPECT_EQ(report->head_hash, kZeroHash);
}

TEST_F(EventStoreTest, VerifyNamesRowEditedBehindTriggers) {
  AppendThree();
  ASSERT_TRUE(db_->Exec("DROP TRIGGER events_no_update").ok());
  ASSERT_TRUE(db_->Exec("UPDATE events SET note = 'quietly closed' WHERE seq = 2").ok());
  auto report = store_->Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kCorruption);
  EXPECT_EQ(report.status().message(),
            "event 2 (recommendation da23-r2 'close', effective 2024-08-15): its content does not "
            "match its hash; it was changed after it was written");
}

TEST_F(EventStoreTest, VerifyNamesGapLeftByDeletedRow) {
  AppendThree();
  ASSERT_TRUE(db_->Exec("DROP TRIGGER events_no_delete").ok());
  ASSERT_TRUE(db_->Exec("DELETE FROM events WHERE seq = 2").ok());
  auto report = store_->Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kCorruption);
  EXPECT_EQ(report.status().message(), "event 3 follows event 1: event 2 is missing");
}

TEST_F(EventStoreTest, VerifyNamesMissingFirstRows) {
  AppendThree();
  ASSERT_TRUE(db_->Exec("DROP TRIGGER events_no_delete").ok());
  ASSERT_TRUE(db_->Exec("DELETE FROM events WHERE seq < 3").ok());
  auto report = store_->Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "event 3 is the first event: events 1 to 2 are missing");
}

TEST_F(EventStoreTest, VerifyNamesRowWithRewrittenPrevHash) {
  AppendThree();
  ASSERT_TRUE(db_->Exec("DROP TRIGGER events_no_update").ok());
  auto update = db_->Prepare("UPDATE events SET prev_hash = ? WHERE seq = 3");
  ASSERT_TRUE(update.ok());
  ASSERT_TRUE(update->Bind(1, std::string(64, 'f')).Run().ok());
  auto report = store_->Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kCorruption);
  EXPECT_EQ(report.status().message(), "event 3 does not link to event 2");
}

TEST_F(EventStoreTest, VerifyNamesFirstRowNotStartingChain) {
  AppendThree();
  ASSERT_TRUE(db_->Exec("DROP TRIGGER events_no_update").ok());
  auto update = db_->Prepare("UPDATE events SET prev_hash = ? WHERE seq = 1");
  ASSERT_TRUE(update.ok());
  ASSERT_TRUE(update->Bind(1, std::string(64, '1')).Run().ok());
  auto report = store_->Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("event 1 does not start the chain"), std::string::npos)
      << report.status().message();
}

TEST_F(EventStoreTest, LogSurvivesReopenAndStillVerifies) {
  std::vector<EventRow> rows = AppendThree();
  store_.reset();
  db_.reset();
  auto db = Database::Open(path_);
  ASSERT_TRUE(db.ok()) << db.status().message();
  db_ = std::move(db).value();
  store_ = std::make_unique<EventStore>(db_.get(), NameKind);
  EXPECT_EQ(store_->LastSeq(), 3);
  auto report = store_->Verify();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->head_hash, rows[2].hash);
}

}  // namespace
}  // namespace rectrack::storage
