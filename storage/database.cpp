#include "storage/database.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sqlite3.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/strings.h"
#include "storage/migrations.h"

namespace rectrack::storage {
namespace {

// SQL quoted in an error message: long migration scripts would bury the actual error.
std::string Abbreviate(std::string_view sql) {
  constexpr size_t kMaxChars = 60;
  std::string out;
  for (char c : sql) {
    if (out.size() >= kMaxChars) return out + "...";
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && (out.empty() || out.back() == ' ')) continue;
    out.push_back(space ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// What may explain an I/O error whose cause SQLite did not keep (a write to the WAL that failed:
// its errno is gone by the time the error reaches us), said as facts: the free space where the
// database is, and this process's file-size limit. "" when neither is remarkable.
std::string IoErrorFacts(sqlite3* db) {
  std::string facts;
  const char* file = sqlite3_db_filename(db, "main");
  struct statvfs fs;
  if (file != nullptr && *file != '\0' && ::statvfs(file, &fs) == 0) {
    const unsigned long long free_bytes =
        static_cast<unsigned long long>(fs.f_bavail) * static_cast<unsigned long long>(fs.f_frsize);
    constexpr unsigned long long kLittle = 16ull << 20;
    if (free_bytes < kLittle) {
      facts += "; the file system holding the database has " + std::to_string(free_bytes >> 10) +
               " KiB free";
    }
  }
  struct rlimit limit;
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    facts += "; this process may write files of at most " +
             std::to_string(static_cast<unsigned long long>(limit.rlim_cur)) + " bytes (ulimit -f)";
  }
  return facts;
}

// A constraint violation (UNIQUE, NOT NULL, the append-only triggers) is the caller's conflict,
// not a broken database, so it maps to Conflict; anything else is an I/O failure.
Status SqliteError(sqlite3* db, int rc, const std::string& what) {
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string msg = what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                    " (code " + std::to_string(extended) + ")";
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return Status::Conflict(std::move(msg));
  if (extended == SQLITE_READONLY_DIRECTORY) {
    msg +=
        ": this user may not write the database's directory, where SQLite keeps the files it "
        "needs beside a database in WAL mode (-wal, -shm); run it as a user who may (the "
        "service's), or read a backup that user makes (rectrack backup DIR), which needs none";
  }
  // Said plainly, without the statement: the caller's transaction rolls back, and a person
  // needs to know that nothing was written and why, not which INSERT it was.
  if ((rc & 0xff) == SQLITE_FULL) {
    return Status::StorageFull("the storage is full (" + std::string(sqlite3_errstr(rc)) +
                               "): nothing was written; free space and try again");
  }
  // An I/O error says why only in the system's error number: a full disk is an I/O error to
  // SQLite when a write (not an allocation of its own) fails.
  // (The number SQLite read when the error happened; a write to the WAL may leave none.)
  const int os_error = db != nullptr && (rc & 0xff) == SQLITE_IOERR ? sqlite3_system_errno(db) : 0;
  if (os_error == ENOSPC || os_error == EDQUOT) {
    return Status::StorageFull("the storage is full (" + std::string(std::strerror(os_error)) +
                               "): nothing was written; free space and try again");
  }
  if (os_error == EFBIG) {
    return Status::StorageFull(
        "the database cannot grow: the file is at the largest size this process may write "
        "(File too large: its ulimit -f, or the file system's largest file): nothing was "
        "written");
  }
  msg += os_error != 0 ? SystemReason(os_error) : IoErrorFacts(db);
  return Status::IOError(std::move(msg));
}

// Runs one PRAGMA and returns its first column, e.g. the journal mode SQLite actually chose.
Result<std::string> QueryPragma(Database& db, const char* sql) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  std::string value = has_row ? stmt.ColumnText(0) : "";
  while (has_row) {
    ASSIGN_OR_RETURN(has_row, stmt.Step());
  }
  return value;
}

Status Configure(Database& db, Database::OpenMode open_mode) {
  // The busy timeout goes first so that switching to WAL also waits for a concurrent opener.
  RETURN_IF_ERROR(db.Exec("PRAGMA busy_timeout = 5000"));
  // Read only: the file stays in the journal mode it has (a live database's WAL, a backup's
  // rollback journal); switching would write.
  if (open_mode == Database::OpenMode::kReadOnly) return Status();
  ASSIGN_OR_RETURN(std::string mode, QueryPragma(db, "PRAGMA journal_mode = WAL"));
  // An in-memory database reports "memory" and cannot use WAL; it has no readers to protect.
  const bool in_memory = db.path() == ":memory:" || db.path().empty();
  if (!in_memory && mode != "wal") {
    return Status::IOError("cannot switch to WAL journal mode (journal mode is '" + mode + "')");
  }
  RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON"));
  RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL"));
  return Status();
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, OpenMode mode) {
  const std::string where = "cannot open database '" + path + "'";
  if (path.empty()) return Status::InvalidArgument("the database path is empty");
  if (mode != OpenMode::kCreate && path != ":memory:") {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return Status::NotFound("no database at '" + path + "' (rectrack import creates one)");
    }
    // An empty file is no database either: only a command that may create one makes it one.
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
      return Status::NotFound("'" + path +
                              "' is an empty file, not a database (rectrack import creates one)");
    }
    // Read only, SQLite would make the WAL's -shm (and -wal) beside a database in WAL mode that
    // has none, owned by this user, whom the database's owner may not be: its owner could then
    // no longer write it. None beside it means no one has it open; a running server has them.
    if (mode == OpenMode::kReadOnly && !InRollbackJournalMode(path) &&
        ::access((path + "-shm").c_str(), F_OK) != 0) {
      return Status::FailedPrecondition(
          "cannot open database '" + path +
          "' read only: it is in WAL mode with no -shm file beside it, and reading it as this "
          "user (who may not write it) would leave one, owned by this user, that would stop its "
          "owner writing it; run the command as its owner, or read a backup (rectrack backup)");
    }
  }
  sqlite3* handle = nullptr;
  // FULLMUTEX costs little and turns a thread-safety slip into contention rather than corruption.
  const int flags = SQLITE_OPEN_FULLMUTEX |
                    (mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                    (mode == OpenMode::kCreate ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close_v2(handle);  // a handle is allocated even when opening fails
    return Status::IOError(where + ": " + msg);
  }
  sqlite3_extended_result_codes(handle, 1);
  std::unique_ptr<Database> db(new Database(handle, path));
  RETURN_IF_ERROR(Configure(*db, mode).WithContext(where));
  int version = 0;
  if (mode == OpenMode::kReadOnly) {
    RETURN_IF_ERROR(CheckCurrent(*db, &version).WithContext(where));
  } else {
    RETURN_IF_ERROR(Migrate(*db, &version).WithContext(where));
  }
  db->schema_version_ = version;
  return db;
}

bool Database::InRollbackJournalMode(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  unsigned char header[20] = {};
  const bool read = std::fread(header, 1, sizeof header, file) == sizeof header;
  std::fclose(file);
  static constexpr char kMagic[] = "SQLite format 3";  // and its NUL: 16 bytes
  return read && std::memcmp(header, kMagic, sizeof kMagic) == 0 && header[18] == 1 &&
         header[19] == 1;
}

Database::Hold::Hold(Database& db) : mutex_(sqlite3_db_mutex(db.db_)) {
  sqlite3_mutex_enter(static_cast<sqlite3_mutex*>(mutex_));  // none (null): nothing to hold
}

Database::Hold::~Hold() { sqlite3_mutex_leave(static_cast<sqlite3_mutex*>(mutex_)); }

Database::~Database() {
  for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Database::Recycle(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (idle_.size() >= kMaxIdle) {
    sqlite3_finalize(stmt);
    return;
  }
  idle_.emplace(sqlite3_sql(stmt), stmt);
}

Status Database::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "cannot run '" + Abbreviate(sql) + "'");
  return Status();
}

Status Database::BackupTo(const std::string& path) {
  const std::string partial = path + ".partial";
  std::remove(partial.c_str());
  sqlite3* copy = nullptr;
  int rc =
      sqlite3_open_v2(partial.c_str(), &copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  auto fail = [&](const std::string& what) {
    std::string message = what + ": " + (copy ? sqlite3_errmsg(copy) : "out of memory");
    const int failed = copy != nullptr ? sqlite3_errcode(copy) : SQLITE_NOMEM;
    if (failed == SQLITE_IOERR || failed == SQLITE_FULL) message += IoErrorFacts(copy);
    sqlite3_close(copy);
    // The copy, and what SQLite made beside it: its journal, or (a WAL source's header copied
    // before the switch to a rollback journal) its -wal and -shm.
    for (const char* beside : {"", "-journal", "-wal", "-shm"}) {
      std::remove((partial + beside).c_str());
    }
    return Status::IOError("cannot back up to '" + path + "': " + message);
  };
  if (rc != SQLITE_OK) return fail("cannot create the copy");
  sqlite3_backup* backup = sqlite3_backup_init(copy, "main", db_, "main");
  if (backup == nullptr) return fail("cannot start");
  // All pages in one step: the copy is of one snapshot, whatever other connections commit.
  rc = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return fail("cannot copy");
  // The copy is a plain file (no -wal beside it) that can be moved or archived as it is.
  if (sqlite3_exec(copy, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("cannot finish");
  }
  if (sqlite3_close(copy) != SQLITE_OK) return fail("cannot close");
  copy = nullptr;
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(partial.c_str());
    return Status::IOError("cannot back up to '" + path + "': cannot rename the copy onto it" +
                           SystemReason(error));
  }
  return Status();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  // Trailing separators would make the text differ from sqlite3_sql(), the key a recycled
  // statement is kept under.
  while (!sql.empty() &&
         (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';'))
    sql.remove_suffix(1);
  if (auto it = idle_.find(sql); it != idle_.end()) {
    Statement recycled(it->second, this);
    idle_.erase(it);
    return recycled;
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) {
    return SqliteError(db_, rc, "cannot prepare '" + Abbreviate(sql) + "'");
  }
  Statement result(stmt, this);
  // Only the first statement would ever run; refuse rather than silently drop the rest.
  for (const char* p = tail; p != nullptr && p < sql.data() + sql.size(); ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';') {
      return Status::IOError("cannot prepare '" + Abbreviate(sql) +
                             "': it holds more than one statement");
    }
  }
  if (stmt == nullptr) {
    return Status::IOError("cannot prepare '" + Abbreviate(sql) + "': it holds no statement");
  }
  return result;
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      owner_(other.owner_),
      bind_status_(std::move(other.bind_status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Release();
    stmt_ = std::exchange(other.stmt_, nullptr);
    owner_ = other.owner_;
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

Statement::~Statement() { Release(); }

void Statement::Release() {
  if (stmt_ != nullptr) owner_->Recycle(std::exchange(stmt_, nullptr));
}

void Statement::NoteBind(int index, int rc) {
  if (rc == SQLITE_OK || !bind_status_.ok()) return;
  bind_status_ = SqliteError(owner_->handle(), rc,
                             "cannot bind parameter " + std::to_string(index) + " of '" +
                                 Abbreviate(sqlite3_sql(stmt_)) + "'");
}

Statement& Statement::Bind(int index, std::string_view text) {
  NoteBind(index, sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                      SQLITE_UTF8));
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  NoteBind(index, sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  NoteBind(index, sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::BindNull(int index) {
  NoteBind(index, sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> Statement::Step() {
  // Running with a parameter left unbound would store NULL where the caller meant a value.
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(owner_->handle(), rc, "cannot run '" + Abbreviate(sqlite3_sql(stmt_)) + "'");
}

Status Statement::Run() {
  bool has_row = true;
  while (has_row) {
    ASSIGN_OR_RETURN(has_row, Step());
  }
  return Status();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = Status();
}

std::string Statement::ColumnText(int index) const {
  // sqlite3_column_text before sqlite3_column_bytes, so the length is that of the UTF-8 text.
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

std::string_view Statement::ColumnView(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);  // then the length, as above
  if (text == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(text),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

std::string Statement::ColumnBlob(int index) const {
  const void* bytes = sqlite3_column_blob(stmt_, index);
  if (bytes == nullptr) return "";
  return std::string(static_cast<const char*>(bytes),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Result<Transaction> Transaction::Begin(Database& db, Mode mode) {
  RETURN_IF_ERROR(db.Exec(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

bool Database::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

int64_t Database::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

Status Database::SetAutoCheckpoint(int pages) {
  if (pages < 0) return Status::InvalidArgument("wal_autocheckpoint cannot be negative");
  const std::string sql = "PRAGMA wal_autocheckpoint = " + std::to_string(pages);
  return Exec(sql.c_str());
}

Transaction::~Transaction() {
  // Nothing to report to from a destructor; a failed ROLLBACK leaves the transaction to be
  // discarded when the connection closes, which is the same outcome.
  if (db_ != nullptr) db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (db_ == nullptr) return Status::IOError("cannot commit: the transaction is no longer open");
  // On failure db_ stays set, so the destructor rolls back whatever COMMIT left open.
  RETURN_IF_ERROR(db_->Exec("COMMIT"));
  db_ = nullptr;
  return Status();
}

}  // namespace rectrack::storage
