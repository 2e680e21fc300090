// Database, Statement, Transaction: a thin RAII layer over one SQLite connection.
//
// <sqlite3.h> stays out of this header. Every statement is prepared and bound; there is no way to
// splice a value into SQL text. A Database is opened in WAL mode with foreign keys on, FULL
// synchronous commits (a committed command survives power loss) and a busy timeout, and the schema
// migrations (migrations.cpp) are applied before Open returns.
//
// Prepared statements are recycled: when a Statement goes away, the Database keeps it (reset,
// bindings cleared) and the next Prepare of the same SQL text takes it back instead of compiling
// the SQL again. The same few statements run on every write, and compiling them cost more than
// running them.
//
// Thread-safety: a Database and its Statements belong to one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace rectrack::storage {

class Statement;

class Database {
 public:
  enum class OpenMode { kCreate, kExisting, kReadOnly };
  // The mode for a file that must exist already, read only or not.
  static OpenMode Existing(bool read_only) {
    return read_only ? OpenMode::kReadOnly : OpenMode::kExisting;
  }
  // Opens `path` (":memory:" for a private in-memory database), creating it in kCreate mode,
  // and migrates its schema to the newest version. kReadOnly opens an existing file for
  // reading only, as a process that may not write it or its directory can (a backup, which is
  // in rollback-journal mode, needs no -shm file beside it): no switch to WAL, no migration
  // (FailedPrecondition when its schema is older than this binary's), and every write fails.
  // Errors: NotFound for a missing file in kExisting or kReadOnly mode; IOError naming the path
  // and SQLite's message; Corruption when the file's schema is newer than this binary knows or
  // the file belongs to another application.
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                OpenMode mode = OpenMode::kCreate);
  // Whether the file at `path` is a SQLite database in rollback-journal mode (its header's
  // read and write versions 1, not WAL's 2), as a backup is: a reader that opened it read-write
  // would switch it to WAL. False when it is not there or not a database.
  static bool InRollbackJournalMode(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs SQL that takes no parameters (DDL, transaction control). Never for user data.
  Status Exec(const char* sql);
  // How many log pages a commit may leave before it checkpoints them itself (SQLite's
  // wal_autocheckpoint; 0 never). Raise it when a Checkpointer does the work.
  Status SetAutoCheckpoint(int pages);
  // Prepares one statement, or hands back a recycled one for the same text.
  // REQUIRES: the Database outlives the Statement.
  Result<Statement> Prepare(std::string_view sql);

  // Writes a consistent copy of the whole database to `path` (SQLite's online backup, page by
  // page, while other connections go on writing): the copy is as the database was at one
  // commit. The copy is made beside `path` and renamed onto it, so `path` is never half
  // written. IOError naming the path.
  Status BackupTo(const std::string& path);
  // Whether a transaction is open on this connection.
  bool InTransaction() const;
  // Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  int64_t Changes() const;
  // The rowid of the most recent successful INSERT on this connection.
  int64_t LastInsertRowid() const;

  int schema_version() const { return schema_version_; }
  const std::string& path() const { return path_; }
  // The raw connection, for storage's own tests only; code uses the methods above.
  sqlite3* handle() { return db_; }

  // While one lives, this thread holds the connection: another thread's call on it waits.
  // SQLite takes the connection's lock (a recursive one) in every call, a step or a column
  // read alike; a read that holds it around a row's step and column reads takes it again
  // cheaply in each, where each call would otherwise lock and unlock it afresh (7% of reading
  // the log). Hold it only around calls on the connection, never while waiting for another
  // thread, which might be waiting for the connection.
  class Hold {
   public:
    explicit Hold(Database& db);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    void* mutex_;  // sqlite3_mutex
  };

 private:
  friend class Statement;
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // At most this many idle statements are kept; SQL built from a request's filters comes in a
  // bounded number of shapes, but a bound keeps it so.
  static constexpr size_t kMaxIdle = 64;

  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void Recycle(sqlite3_stmt* stmt);

  sqlite3* db_;
  std::string path_;
  int schema_version_ = 0;
  std::unordered_multimap<std::string, sqlite3_stmt*, TextHash, std::equal_to<>> idle_;
};

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindNull(int index);
  Statement& BindBlob(int index, std::string_view bytes);
  // Advances: true when a row is available, false when done; IOError/Conflict on failure
  // (a constraint violation is Conflict).
  Result<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();
  // Makes the statement ready to run again; bindings are cleared.
  void Reset();

  std::string ColumnText(int index) const;  // "" for NULL
  // The text without a copy: valid until the next Step or Reset, or the statement's end.
  std::string_view ColumnView(int index) const;  // "" for NULL
  std::string ColumnBlob(int index) const;       // the bytes as stored; "" for NULL
  int64_t ColumnInt(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, Database* owner) : stmt_(stmt), owner_(owner) {}
  void NoteBind(int index, int rc);
  void Release();
  sqlite3_stmt* stmt_;
  Database* owner_;
  Status bind_status_;  // the first failed Bind since the last Reset; Step reports it
};

// A transaction that rolls back in its destructor unless Commit() succeeded.
class Transaction {
 public:
  // kWrite takes the write lock at once (BEGIN IMMEDIATE), so a command that validates and then
  // writes never sees the database change under it. kRead is a consistent snapshot (BEGIN).
  enum class Mode { kRead, kWrite };
  static Result<Transaction> Begin(Database& db, Mode mode);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed, rolled back or moved from
};

}  // namespace rectrack::storage
