#include "storage/database.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "storage/checkpointer.h"
#include "storage/event_store.h"
#include "storage/wal_watch.h"

namespace rectrack::storage {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = ::testing::TempDir() + "rectrack_database_test_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++) + ".db";
    RemoveFiles();
  }
  void TearDown() override { RemoveFiles(); }

  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

  static std::unique_ptr<Database> OpenOrDie(const std::string& path) {
    auto db = Database::Open(path);
    EXPECT_TRUE(db.ok()) << db.status().message();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static int64_t CountRows(Database& db, const char* table) {
    auto stmt = db.Prepare(std::string("SELECT COUNT(*) FROM ") + table);
    EXPECT_TRUE(stmt.ok()) << stmt.status().message();
    auto has_row = stmt->Step();
    EXPECT_TRUE(has_row.ok() && *has_row);
    return stmt->ColumnInt(0);
  }

  std::string path_;
};

TEST_F(DatabaseTest, OpenInMemoryCreatesSchemaAtTheNewestVersion) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->schema_version(), 12);
  EXPECT_EQ(db->path(), ":memory:");
  auto stmt = db->Prepare("SELECT name FROM sqlite_master WHERE type = ? ORDER BY name");
  ASSERT_TRUE(stmt.ok()) << stmt.status().message();
  stmt->Bind(1, "trigger");
  std::vector<std::string> triggers;
  while (*stmt->Step()) triggers.push_back(stmt->ColumnText(0));
  EXPECT_EQ(triggers, (std::vector<std::string>{"alerts_no_delete", "alerts_no_update",
                                                "events_no_delete", "events_no_update",
                                                "evidence_no_delete", "evidence_no_update"}));
  EXPECT_EQ(CountRows(*db, "events"), 0);
}

TEST_F(DatabaseTest, AHoldKeepsOtherThreadsOffTheConnectionAndLetsItsOwnThreadUseIt) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  std::atomic<bool> released{false};
  std::atomic<bool> answered_after_release{false};
  std::thread other;
  {
    const Database::Hold hold(*db);
    EXPECT_EQ(CountRows(*db, "events"), 0);  // its own thread: taken again, no deadlock
    other = std::thread([&] {
      CountRows(*db, "events");  // waits for the hold to go
      answered_after_release = released.load();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    released = true;
  }
  other.join();
  EXPECT_TRUE(answered_after_release);
}

TEST_F(DatabaseTest, OpenFileUsesWalAndReopeningKeepsData) {
  {
    auto db = OpenOrDie(path_);
    ASSERT_NE(db, nullptr);
    auto mode = db->Prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.ok() && *mode->Step());
    EXPECT_EQ(mode->ColumnText(0), "wal");
    ASSERT_TRUE(db->Exec("CREATE TABLE notes (text TEXT NOT NULL)").ok());
    auto insert = db->Prepare("INSERT INTO notes (text) VALUES (?)");
    ASSERT_TRUE(insert.ok());
    ASSERT_TRUE(insert->Bind(1, "kept").Run().ok());
  }
  auto db = OpenOrDie(path_);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->schema_version(), 12);
  auto select = db->Prepare("SELECT text FROM notes");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*select->Step());
  EXPECT_EQ(select->ColumnText(0), "kept");
}

TEST_F(DatabaseTest, OpenRefusesSchemaNewerThanKnownWithCorruption) {
  {
    auto db = OpenOrDie(path_);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 99").ok());
  }
  auto db = Database::Open(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kCorruption);
  EXPECT_NE(db.status().message().find(path_), std::string::npos) << db.status().message();
  EXPECT_NE(db.status().message().find("database schema version 99 is newer than this rectrack "
                                       "(knows 12)"),
            std::string::npos)
      << db.status().message();
}

// A backup is one file in rollback-journal mode (BackupTo); opened read only it stays one: no
// switch to WAL, no -wal or -shm beside it, reads answer and writes fail, changing nothing.
TEST_F(DatabaseTest, ABackupOpenedReadOnlyStaysOneFileAndTakesNoWrite) {
  const std::string copy = path_ + ".copy";
  {
    auto db = OpenOrDie(path_);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Exec("CREATE TABLE notes (text TEXT NOT NULL)").ok());
    ASSERT_TRUE(db->Exec("INSERT INTO notes (text) VALUES ('kept')").ok());
    ASSERT_TRUE(db->BackupTo(copy).ok());
  }
  {
    auto db = Database::Open(copy, Database::OpenMode::kReadOnly);
    ASSERT_TRUE(db.ok()) << db.status().message();
    EXPECT_EQ((*db)->schema_version(), 12);
    auto mode = (*db)->Prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.ok() && *mode->Step());
    EXPECT_EQ(mode->ColumnText(0), "delete");
    EXPECT_EQ(CountRows(**db, "notes"), 1);
    const Status write = (*db)->Exec("INSERT INTO notes (text) VALUES ('more')");
    EXPECT_FALSE(write.ok());
    EXPECT_NE(write.message().find("readonly"), std::string::npos) << write.message();
    EXPECT_EQ(CountRows(**db, "notes"), 1);
  }
  for (const char* beside : {"-wal", "-shm", "-journal", ".partial"}) {
    EXPECT_FALSE(std::filesystem::exists(copy + beside)) << beside;
  }
  std::remove(copy.c_str());
  // Not there is NotFound, as for kExisting, and nothing is made.
  auto missing = Database::Open(copy, Database::OpenMode::kReadOnly);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(copy));
}

// Read only, an older schema cannot be migrated: refused, saying how to upgrade, and left as it
// was (the previous rectrack's demo, schema 8).
TEST_F(DatabaseTest, AnOlderSchemaOpenedReadOnlyIsRefusedAndLeftAsItWas) {
  std::filesystem::copy_file(std::string(RECTRACK_TEST_DATA_DIR) + "/schema8-demo.db", path_);
  auto db = Database::Open(path_, Database::OpenMode::kReadOnly);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("its schema is version 8 and this rectrack's is 12: it is "
                                       "opened read only"),
            std::string::npos)
      << db.status().message();
  auto upgraded = Database::Open(path_, Database::OpenMode::kExisting);
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().message();
  EXPECT_EQ((*upgraded)->schema_version(), 12);
}

TEST_F(DatabaseTest, OpenInMissingDirectoryFailsWithIOErrorNamingPath) {
  const std::string path = ::testing::TempDir() + "no_such_dir_rectrack/x.db";
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kIOError);
  EXPECT_EQ(db.status().message().rfind("cannot open database '" + path + "': ", 0), 0u)
      << db.status().message();
}

TEST_F(DatabaseTest, TransactionDestroyedWithoutCommitRollsBack) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (x INTEGER)").ok());
  {
    auto txn = Transaction::Begin(*db, Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok()) << txn.status().message();
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
    EXPECT_EQ(CountRows(*db, "t"), 1);
  }
  EXPECT_EQ(CountRows(*db, "t"), 0);
  // The connection is back in autocommit mode: a new transaction can begin.
  EXPECT_TRUE(Transaction::Begin(*db, Transaction::Mode::kRead).ok());
}

TEST_F(DatabaseTest, TransactionCommitKeepsChangesAndDestructorDoesNotUndoThem) {
  auto db = OpenOrDie(path_);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (x INTEGER)").ok());
  {
    auto txn = Transaction::Begin(*db, Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok()) << txn.status().message();
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_FALSE(txn->Commit().ok());  // already finished
  }
  EXPECT_EQ(CountRows(*db, "t"), 1);
  db.reset();
  db = OpenOrDie(path_);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(CountRows(*db, "t"), 1);
}

TEST_F(DatabaseTest, MovedTransactionRollsBackOnlyOnce) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (x INTEGER)").ok());
  auto txn = Transaction::Begin(*db, Transaction::Mode::kWrite);
  ASSERT_TRUE(txn.ok());
  Transaction moved(std::move(*txn));
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
  EXPECT_TRUE(moved.Commit().ok());
  EXPECT_EQ(CountRows(*db, "t"), 1);
}

TEST_F(DatabaseTest, NestedBeginFailsWithIOError) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  auto outer = Transaction::Begin(*db, Transaction::Mode::kWrite);
  ASSERT_TRUE(outer.ok());
  auto inner = Transaction::Begin(*db, Transaction::Mode::kWrite);
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.status().code(), Code::kIOError);
  EXPECT_NE(inner.status().message().find("BEGIN IMMEDIATE"), std::string::npos);
}

TEST_F(DatabaseTest, StepMapsUniqueViolationToConflict) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (name TEXT UNIQUE)").ok());
  auto insert = db->Prepare("INSERT INTO t (name) VALUES (?)");
  ASSERT_TRUE(insert.ok());
  ASSERT_TRUE(insert->Bind(1, "a").Run().ok());
  insert->Reset();
  Result<bool> second = insert->Bind(1, "a").Step();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kConflict);
  EXPECT_NE(second.status().message().find("UNIQUE constraint failed: t.name"), std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find("INSERT INTO t"), std::string::npos);
}

TEST_F(DatabaseTest, StepReportsOtherFailuresAsIOErrorWithExtendedCode) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  auto select = db->Prepare("SELECT abs(?)");
  ASSERT_TRUE(select.ok());
  Result<bool> step = select->Bind(1, INT64_MIN).Step();  // abs() overflows
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().code(), Code::kIOError);
  EXPECT_NE(step.status().message().find("integer overflow (code "), std::string::npos)
      << step.status().message();
}

TEST_F(DatabaseTest, BindRoundTripsTextIntegersAndNull) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  auto select = db->Prepare("SELECT ?, ?, ?");
  ASSERT_TRUE(select.ok());
  const std::string with_nul("a\0b", 3);
  select->Bind(1, with_nul).Bind(2, int64_t{1} << 40).BindNull(3);
  ASSERT_TRUE(*select->Step());
  EXPECT_EQ(select->ColumnText(0), with_nul);
  EXPECT_EQ(select->ColumnInt(1), int64_t{1} << 40);
  EXPECT_TRUE(select->ColumnIsNull(2));
  EXPECT_FALSE(select->ColumnIsNull(0));
  EXPECT_EQ(select->ColumnText(2), "");
  EXPECT_FALSE(*select->Step());
}

TEST_F(DatabaseTest, BindOutOfRangeIsReportedByStep) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  auto select = db->Prepare("SELECT ?");
  ASSERT_TRUE(select.ok());
  Result<bool> step = select->Bind(2, "x").Step();
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("cannot bind parameter 2"), std::string::npos)
      << step.status().message();
  select->Reset();
  EXPECT_TRUE(select->Bind(1, "x").Step().ok());
}

TEST_F(DatabaseTest, PrepareAndExecReportBadSql) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  auto bad = db->Prepare("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kIOError);
  EXPECT_NE(bad.status().message().find("cannot prepare 'SELEC 1'"), std::string::npos);
  EXPECT_FALSE(db->Prepare("SELECT 1; SELECT 2").ok());
  EXPECT_TRUE(db->Prepare("SELECT 1;").ok());
  Status exec = db->Exec("DROP TABLE no_such_table");
  EXPECT_EQ(exec.code(), Code::kIOError);
  EXPECT_NE(exec.message().find("no such table: no_such_table"), std::string::npos);
}

TEST_F(DatabaseTest, StatementsAreRecycledResetAndWithoutBindings) {
  auto db = OpenOrDie(path_);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (n INTEGER)").ok());
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1), (2), (3)").ok());
  auto live_statements = [&] {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db->handle(), nullptr); s != nullptr;
         s = sqlite3_next_stmt(db->handle(), s)) {
      ++n;
    }
    return n;
  };
  const int before = live_statements();
  {
    auto select = db->Prepare("SELECT n FROM t WHERE n >= ? ORDER BY n");
    ASSERT_TRUE(select.ok());
    ASSERT_TRUE(*select->Bind(1, int64_t{2}).Step());  // left mid-result
    EXPECT_EQ(select->ColumnInt(0), 2);
  }
  EXPECT_EQ(live_statements(), before + 1);  // kept, not finalized
  // A statement left mid-result holds no read transaction once recycled: a write lock is free.
  auto other = Database::Open(path_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (4); COMMIT").ok());
  {
    auto again = db->Prepare("SELECT n FROM t WHERE n >= ? ORDER BY n  ;\n");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(live_statements(), before + 1);                    // the same one, handed back
    EXPECT_FALSE(*again->Step()) << "the old binding was kept";  // NULL matches nothing
    again->Reset();
    ASSERT_TRUE(*again->Bind(1, int64_t{1}).Step());  // from the first row again
    EXPECT_EQ(again->ColumnInt(0), 1);
  }
}

TEST_F(DatabaseTest, Migrations5And6DropTheIndexesOnEventsKeepingEventsAndTriggers) {
  auto unique_indexes = [](Database& db) {
    auto stmt = db.Prepare("SELECT count(*) FROM pragma_index_list('events') WHERE \"unique\"");
    EXPECT_TRUE(stmt.ok() && *stmt->Step());
    return stmt->ColumnInt(0);
  };
  std::string chain_head;
  {
    auto db = OpenOrDie(path_);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(unique_indexes(*db), 0);
    // Back to version 4's events table, with a chain of three events in it.
    ASSERT_TRUE(db->Exec("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; "
                         "DROP TABLE events; "
                         "CREATE TABLE events (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, "
                         "subject_id TEXT NOT NULL, transition TEXT NOT NULL, effective TEXT NOT "
                         "NULL, recorded TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL, "
                         "body TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', payload "
                         "TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL UNIQUE); "
                         "CREATE INDEX events_by_subject ON events (kind, subject_id); "
                         "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT "
                         "RAISE(ABORT, 'events are append-only'); END; "
                         "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT "
                         "RAISE(ABORT, 'events are append-only'); END; "
                         "PRAGMA user_version = 4")
                    .ok());
    EXPECT_EQ(unique_indexes(*db), 1);
    auto txn = Transaction::Begin(*db, Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok());
    std::vector<EventRow> rows(3);
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i].subject_id = "r" + std::to_string(i);
      rows[i].transition = "issue";
      rows[i].effective = "2025-01-06";
      rows[i].recorded = "2025-01-06T09:00:00Z";
      rows[i].actor = "test";
      rows[i].role = "inspectorate";
      rows[i].payload = "{}";
    }
    ASSERT_TRUE(EventStore(db.get()).Append(rows).ok());
    ASSERT_TRUE(txn->Commit().ok());
    auto report = EventStore(db.get()).Verify();
    ASSERT_TRUE(report.ok());
    chain_head = report->head_hash;
  }
  auto db = OpenOrDie(path_);  // migrates 4 -> 5 -> 6 -> 7 -> 8 -> 9
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->schema_version(), 12);
  EXPECT_EQ(unique_indexes(*db), 0);
  EXPECT_EQ(CountRows(*db, "events"), 3);
  auto report = EventStore(db.get()).Verify();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->events, 3);
  EXPECT_EQ(report->head_hash, chain_head);
  EXPECT_FALSE(db->Exec("UPDATE events SET note = 'x'").ok()) << "still append-only";
  EXPECT_FALSE(db->Exec("DELETE FROM events").ok()) << "still append-only";
  // Appends write the table alone: the rowid is the only key.
  auto indexes = db->Prepare("SELECT count(*) FROM pragma_index_list('events')");
  ASSERT_TRUE(indexes.ok() && *indexes->Step());
  EXPECT_EQ(indexes->ColumnInt(0), 0);
}

TEST_F(DatabaseTest, ACheckpointerMovesTheLogIntoTheFileSoCommitsNeedNot) {
  auto db = OpenOrDie(path_);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->SetAutoCheckpoint(0).ok());  // no commit checkpoints
  ASSERT_TRUE(db->Exec("CREATE TABLE blobs (b BLOB)").ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(db->Exec("INSERT INTO blobs VALUES (randomblob(4000))").ok());
  }
  // Everything is still in the log: the database file holds the schema only.
  const auto before = std::filesystem::file_size(path_);
  EXPECT_LT(before, 100u * 4000u);
  auto checkpointer = Checkpointer::Start(path_, std::chrono::milliseconds(10));
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status().message();
  for (int i = 0; i < 500 && (*checkpointer)->last_checkpointed() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT((*checkpointer)->rounds(), 0);
  EXPECT_GT((*checkpointer)->last_checkpointed(), 100);
  EXPECT_GE(std::filesystem::file_size(path_), 100u * 4000u) << "the rows are in the file now";
  EXPECT_EQ(CountRows(*db, "blobs"), 100);
}

TEST_F(DatabaseTest, ACheckpointerStopsAtOnceAndNeedsADatabase) {
  EXPECT_EQ(Checkpointer::Start(path_, std::chrono::milliseconds(10)).status().code(),
            Code::kNotFound);
  auto db = OpenOrDie(path_);
  ASSERT_NE(db, nullptr);
  auto checkpointer = Checkpointer::Start(path_, std::chrono::hours(1));
  ASSERT_TRUE(checkpointer.ok());
  const auto start = std::chrono::steady_clock::now();
  checkpointer->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// The WAL-index header changes with every commit, from any connection, and not with reads: what
// lets a server skip asking SQLite on each request. Nothing to watch in memory.
TEST_F(DatabaseTest, AWalWatchSeesEveryCommitOfAnyConnectionAndNoRead) {
  auto memory = OpenOrDie(":memory:");
  ASSERT_TRUE(memory);
  EXPECT_EQ(WalWatch::Open(*memory), nullptr);
  auto mine = OpenOrDie(path_);
  ASSERT_TRUE(mine);
  ASSERT_TRUE(mine->Exec("CREATE TABLE t (x INTEGER)").ok());
  auto watch = WalWatch::Open(*mine);
  ASSERT_NE(watch, nullptr);
  EXPECT_TRUE(watch->Changed()) << "nothing marked yet";
  watch->Mark();
  EXPECT_FALSE(watch->Changed());
  auto other = OpenOrDie(path_);  // another connection, as another process would have
  ASSERT_TRUE(other);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(other->Exec("INSERT INTO t VALUES (1)").ok());
    EXPECT_TRUE(watch->Changed()) << "commit " << i;
    watch->Mark();
    EXPECT_EQ(CountRows(*other, "t"), i + 1);
    EXPECT_EQ(CountRows(*mine, "t"), i + 1);
    EXPECT_FALSE(watch->Changed()) << "reads change nothing, at " << i;
  }
  ASSERT_TRUE(mine->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  watch->Mark();
  ASSERT_TRUE(other->Exec("INSERT INTO t VALUES (2)").ok());
  EXPECT_TRUE(watch->Changed()) << "the first commit after the log started over";
  watch->Forget();
  EXPECT_TRUE(watch->Changed());
}

// Watching must not cost SQLite its locks. A process that opens a WAL database finds out from the
// lock on the -shm file's "DMS" byte (offset 128: SQLite's unix VFS) whether anyone has it open;
// if no one has, it truncates the file and starts it afresh, and our next read of the mapping
// dies of SIGBUS. (Closing any descriptor of a file drops all of a process's POSIX locks on it,
// so opening the -shm file a second time to watch it did exactly that.)
TEST_F(DatabaseTest, AWalWatchLeavesSqlitesLocksInPlaceForOtherProcesses) {
  auto mine = OpenOrDie(path_);
  ASSERT_TRUE(mine);
  ASSERT_TRUE(mine->Exec("CREATE TABLE t (x INTEGER)").ok());
  auto watch = WalWatch::Open(*mine);
  ASSERT_NE(watch, nullptr);
  watch->Mark();
  const std::string shm = path_ + "-shm";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // another process: is the DMS byte held?
    const int fd = ::open(shm.c_str(), O_RDONLY);
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    probe.l_start = 128;
    probe.l_len = 1;
    const bool held = fd >= 0 && ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
    ::_exit(held ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "no process holds the -shm file's DMS lock";
  ASSERT_TRUE(mine->Exec("INSERT INTO t VALUES (2)").ok());
  EXPECT_TRUE(watch->Changed());
}

}  // namespace
}  // namespace rectrack::storage
