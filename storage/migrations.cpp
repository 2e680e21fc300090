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
    // 3: the durable alert outbox (alert_store.h). Alerts are append-only; owners and audience
    // are JSON arrays of strings. Times are RFC 3339 UTC text ("2025-03-31T09:00:00Z"), which
    // orders correctly as text; '' in claimed_until means no claim. subscription_state.disabled
    // is when the receiver disabled the subscription.
    R"sql(
CREATE TABLE alerts (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  dedupe_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  recommendation TEXT NOT NULL,
  milestone TEXT NOT NULL DEFAULT '',
  occurrence INTEGER NOT NULL DEFAULT 0,
  due TEXT NOT NULL,
  raised TEXT NOT NULL,
  late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
  owners TEXT NOT NULL DEFAULT '[]',
  audience TEXT NOT NULL DEFAULT '[]',
  payload TEXT NOT NULL
);
CREATE INDEX alerts_by_recommendation ON alerts (recommendation);
CREATE TRIGGER alerts_no_update BEFORE UPDATE ON alerts
BEGIN
  SELECT RAISE(ABORT, 'alerts are append-only');
END;
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN
  SELECT RAISE(ABORT, 'alerts are append-only');
END;
CREATE TABLE deliveries (
  alert_id TEXT NOT NULL REFERENCES alerts (id),
  subscription TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt TEXT NOT NULL,
  claimed_until TEXT NOT NULL DEFAULT '',
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (alert_id, subscription)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt);
CREATE TABLE delivery_attempts (
  alert_id TEXT NOT NULL,
  subscription TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started TEXT NOT NULL,
  finished TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (alert_id, subscription, attempt),
  FOREIGN KEY (alert_id, subscription) REFERENCES deliveries (alert_id, subscription)
);
CREATE TABLE subscription_state (
  subscription TEXT PRIMARY KEY,
  disabled TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE scheduler_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
    // 4: a body lead's token may be scoped to one unit of its body ('' for the whole body).
    R"sql(
ALTER TABLE tokens ADD COLUMN unit TEXT NOT NULL DEFAULT '';
)sql",
    // 5: events.hash is no longer UNIQUE. Each hash is checked along the chain (Verify), and a
    // unique index costs every append a write to a random page of it. SQLite cannot drop a
    // constraint, so the table is rebuilt (its rows, index and append-only triggers as before).
    R"sql(
CREATE TABLE events_new (
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
  hash TEXT NOT NULL
);
INSERT INTO events_new (seq, kind, subject_id, transition, effective, recorded, actor, role, body,
                        note, payload, prev_hash, hash)
  SELECT seq, kind, subject_id, transition, effective, recorded, actor, role, body, note, payload,
         prev_hash, hash FROM events;
DROP TRIGGER events_no_update;
DROP TRIGGER events_no_delete;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
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
    // 6: no index on events by subject. Nothing reads through it (the engine keeps each item's
    // history in memory and reads the log in seq order only), and it cost every append a write
    // to a random page of it: half the pages, and so most of the fsync, of a group commit.
    R"sql(
DROP INDEX IF EXISTS events_by_subject;
)sql",
    // 7: people's accounts for the web workspace (passwords as Argon2id strings, an optional
    // TOTP secret), their server-side sessions (only the SHA-256 of a session id is kept;
    // `pending` while a second factor is awaited), one-time set-password links (by the SHA-256
    // of their token), and the audit list of
    // sign-ins and account changes. None of it is part of the log: the log records what was
    // done, naming the account; these record who may sign in.
    R"sql(
CREATE TABLE IF NOT EXISTS accounts (
  email TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  unit TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL,
  disabled TEXT NOT NULL DEFAULT '',
  totp_secret TEXT NOT NULL DEFAULT '',
  totp_last_step INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
  hash TEXT PRIMARY KEY,
  account TEXT NOT NULL REFERENCES accounts (email),
  csrf TEXT NOT NULL,
  started INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  pending INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  account TEXT NOT NULL,
  what TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS password_links (
  hash TEXT PRIMARY KEY,
  account TEXT NOT NULL REFERENCES accounts (email),
  expires INTEGER NOT NULL
);
)sql",
    // 8: evidence files attached to events, kept once each under the SHA-256 of their bytes.
    // Events name them (hash, name, media type, size) in their payload, so the hash chain covers
    // them; like the events they are never changed or removed.
    R"sql(
CREATE TABLE IF NOT EXISTS evidence (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  content BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS evidence_no_update BEFORE UPDATE ON evidence
BEGIN
  SELECT RAISE(ABORT, 'evidence is append-only');
END;
CREATE TRIGGER IF NOT EXISTS evidence_no_delete BEFORE DELETE ON evidence
BEGIN
  SELECT RAISE(ABORT, 'evidence is append-only');
END;
)sql",
    // 9: the item index (storage/item_index.h): which events concern which recommendation,
    // action or definition, so that one item's history is read without replaying the log.
    // Derived from the log and rebuilt from it; `derived` records how far it reaches. It starts
    // empty: the first engine that reads the whole log fills it in.
    R"sql(
CREATE TABLE IF NOT EXISTS item_events (
  kind INTEGER NOT NULL,
  item TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (kind, item, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS derived (
  name TEXT PRIMARY KEY,
  through INTEGER NOT NULL
);
INSERT OR IGNORE INTO derived (name, through) VALUES ('item_events', 0);
)sql",
    // 10: the item heads (storage/item_heads.h): each recommendation's and action's view at the
    // end of its history, so that a list reads rows, not the log. Derived like the item index;
    // `item_heads_mark` says to which event, and under which workflows (`basis`), they were
    // worked out. It starts empty: the first engine that reads the whole log fills it in.
    R"sql(
CREATE TABLE IF NOT EXISTS item_heads (
  kind INTEGER NOT NULL,
  item TEXT NOT NULL,
  issued TEXT NOT NULL,
  settled TEXT NOT NULL,
  owners TEXT NOT NULL,
  state TEXT NOT NULL,
  overdue_from TEXT NOT NULL,
  head TEXT NOT NULL,
  PRIMARY KEY (kind, item)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_heads_by_issue ON item_heads (kind, issued, item);
CREATE TABLE IF NOT EXISTS item_heads_mark (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  through INTEGER NOT NULL,
  basis TEXT NOT NULL
);
INSERT OR IGNORE INTO item_heads_mark (id, through, basis) VALUES (1, 0, '');
)sql",
    // 11: the heads' index covers every column a list or Annex A filters on, so that rows are
    // chosen from the index alone and only the heads wanted are read from the table.
    R"sql(
DROP INDEX IF EXISTS item_heads_by_issue;
CREATE INDEX item_heads_by_issue
  ON item_heads (kind, issued, item, settled, owners, state, overdue_from);
)sql",
    // 12: the heads kept once for each owning body, clustered by it, so that one body's rows
    // (its Annex A, its lists) are read together rather than looked up across every body's;
    // the first owner's copy is the item's lead row, which a list of every body reads through
    // item_heads_by_issue (`lead` among its columns too: SQLite reads a column from an index
    // only if the index has it, even one its WHERE fixes). The old rows are dropped and worked out
    // again by the first engine
    // that reads the whole log (the mark says there are none).
    R"sql(
DROP TABLE IF EXISTS item_heads;
CREATE TABLE item_heads (
  owner TEXT NOT NULL,
  kind INTEGER NOT NULL,
  issued TEXT NOT NULL,
  item TEXT NOT NULL,
  lead INTEGER NOT NULL,
  settled TEXT NOT NULL,
  owners TEXT NOT NULL,
  state TEXT NOT NULL,
  overdue_from TEXT NOT NULL,
  head TEXT NOT NULL,
  PRIMARY KEY (owner, kind, issued, item)
) WITHOUT ROWID;
CREATE INDEX item_heads_by_item ON item_heads (kind, item);
CREATE INDEX item_heads_by_issue
  ON item_heads (kind, issued, item, settled, owners, state, overdue_from, lead) WHERE lead = 1;
UPDATE item_heads_mark SET through = 0, basis = '';
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

Status CheckCurrent(Database& db, int* version) {
  ASSIGN_OR_RETURN(const int current, ReadVersion(db));
  RETURN_IF_ERROR(CheckKnown(current));
  if (current == 0) {
    return Status::FailedPrecondition(
        "it is not a rectrack database (it has no rectrack schema version, and opened read "
        "only it was not made one)");
  }
  if (current < kKnownVersions) {
    return Status::FailedPrecondition(
        "its schema is version " + std::to_string(current) + " and this rectrack's is " +
        std::to_string(kKnownVersions) +
        ": it is opened read only (this process may not write it or its directory, or it is a "
        "backup, which reading leaves as it is), so it cannot be upgraded here; copy it where "
        "you may write and open it there with a command that writes (rectrack rebuild "
        "upgrades it)");
  }
  *version = current;
  return Status();
}

}  // namespace rectrack::storage
