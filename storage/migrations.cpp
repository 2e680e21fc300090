#include "storage/migrations.h"

#include <iterator>
#include <string>

namespace rectrack::storage {
namespace {

// Migration N (1-based) is kMigrations[N - 1] and takes the schema from version N - 1 to N.
// Once released, a migration is never edited, reordered or removed, and its number is never
// reused: databases in the field record in PRAGMA user_version which ones they have run. Change
// the schema by appending a new entry.
constexpr const char* kMigrations[] = {
    // 1: the append-only, hash-chained event log.
    R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  subject_id TEXT NOT NULL,
  transition TEXT NOT NULL,
  effective TEXT NOT NULL,
  recorded TEXT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE
);
CREATE INDEX events_by_subject ON events (kind, subject_id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
)sql",
    // 2: bearer tokens, stored only as SHA-256 of the secret.
    R"sql(
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  label TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL,
  expires TEXT NOT NULL DEFAULT '',
  revoked TEXT NOT NULL DEFAULT ''
);
)sql",
};

constexpr int kKnownVersions = static_cast<int>(std::size(kMigrations));

Result<int> ReadVersion(Database& db) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return Status::IOError("PRAGMA user_version returned no row");
  return static_cast<int>(stmt.ColumnInt(0));
}

Status CheckKnown(int version) {
  if (version > kKnownVersions) {
    return Status::Corruption("database schema version " + std::to_string(version) +
                              " is newer than this rectrack (knows " +
                              std::to_string(kKnownVersions) + ")");
  }
  return Status();
}

}  // namespace

Status Migrate(Database& db, int* version) {
  // The common case, an up-to-date database, needs no write lock.
  ASSIGN_OR_RETURN(int current, ReadVersion(db));
  RETURN_IF_ERROR(CheckKnown(current));
  if (current == 0) {
    // Version 0 with tables of its own is some other application's database: leave it alone.
    ASSIGN_OR_RETURN(
        Statement tables,
        db.Prepare("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"));
    ASSIGN_OR_RETURN(bool has_row, tables.Step());
    if (has_row && tables.ColumnInt(0) > 0) {
      return Status::Corruption(
          "it is not a rectrack database (it has tables but no rectrack "
          "schema version)");
    }
  }
  while (current < kKnownVersions) {
    ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db, Transaction::Mode::kWrite));
    // Re-read under the write lock: another process may have migrated since the first read.
    ASSIGN_OR_RETURN(current, ReadVersion(db));
    RETURN_IF_ERROR(CheckKnown(current));
    if (current == kKnownVersions) break;
    const int next = current + 1;
    const std::string where = "schema migration " + std::to_string(next);
    RETURN_IF_ERROR(db.Exec(kMigrations[current]).WithContext(where));
    const std::string bump = "PRAGMA user_version = " + std::to_string(next);
    RETURN_IF_ERROR(db.Exec(bump.c_str()).WithContext(where));
    RETURN_IF_ERROR(txn.Commit().WithContext(where));
    current = next;
  }
  *version = current;
  return Status();
}

}  // namespace rectrack::storage
