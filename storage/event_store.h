// EventStore: the append-only, hash-chained event log, the single source of truth of rectrack.
//
// Every change to a body, unit, inspection, recommendation or action is one EventRow. Rows are
// never updated or deleted: triggers refuse UPDATE and DELETE on the table, and each row carries
// SHA-256(previous row's hash, this row's content), so an edit made behind rectrack's back (with
// the sqlite3 shell, say, after dropping the triggers) is found by Verify().
//
// The store knows nothing of workflows or recommendations: it stores, chains and returns rows
// (an event's kind is a number it does not interpret).
// Thread-safety: as the Database it wraps, one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

// How a caller names an event's `kind` in messages ("recommendation"); the store only keeps the
// number.
using KindNamer = std::function<std::string(int kind)>;

struct EventRow {
  int64_t seq = 0;  // 1, 2, 3, ... in append order; assigned by Append
  int kind = 0;     // what it is about, as the engine numbers it (engine/model.h); never reused
  std::string subject_id;
  std::string transition;  // "define" for bodies/inspections, else the workflow transition name
  std::string effective;   // YYYY-MM-DD: when it happened in the world
  std::string recorded;    // RFC 3339 UTC instant: when rectrack learnt it
  std::string actor;       // who recorded it (user, token holder, "import:file")
  std::string role;        // the workflow role it was recorded under
  std::string body;        // the body the actor acted for; "" for none
  std::string note;
  std::string payload;    // JSON object text, hashed byte for byte
  std::string prev_hash;  // hex; 64 zeros for the first event. Assigned by Append
  std::string hash;       // hex SHA-256; assigned by Append
};

// A row as Scan shows it: its texts are views into SQLite's copy, valid only during the visit
// (copy what you keep), and without the hashes (a replay does not read them; Verify walks the
// chain). No row is made of it, so reading the log allocates nothing per row.
struct EventRowView {
  int64_t seq = 0;
  int kind = 0;
  std::string_view subject_id, transition, effective, recorded, actor, role, body, note, payload;
};

// The chain hash of `row` given row.prev_hash: SHA-256 over every field but `hash`, each
// length-prefixed so no two different rows share an input.
std::string ChainHash(const EventRow& row);

struct VerifyReport {
  int64_t events = 0;
  std::string head_hash;  // publish this to detect truncation of the log's tail later
};

class EventStore {
 public:
  // `name_kind` names an event's kind in error messages ("kind 3" without it).
  explicit EventStore(Database* db, KindNamer name_kind = nullptr)
      : db_(db), name_kind_(std::move(name_kind)) {}

  // Rows with seq > after_seq in seq order. Call inside a transaction for a consistent snapshot.
  Result<std::vector<EventRow>> LoadSince(int64_t after_seq);
  // Calls `visit` with each row with seq > after_seq in seq order, one row at a time (see
  // EventRowView); stops at the first error `visit` returns. Call inside a transaction.
  Status Scan(int64_t after_seq, const std::function<Status(const EventRowView&)>& visit);
  // The rows with the given seqs (ascending, no repeats), in seq order; a seq with no row is
  // Corruption (an index named an event the log does not have).
  Result<std::vector<EventRow>> LoadSeqs(const std::vector<int64_t>& seqs);
  // Appends `rows` in order after the current last row, filling in seq, prev_hash and hash.
  // REQUIRES: inside a kWrite transaction; on error nothing is visible once it rolls back.
  Status Append(std::vector<EventRow>& rows);
  // Walks the whole chain from the first row: OK with a report, or Corruption naming the first
  // row whose seq, link or hash does not match ("event 7 (recommendation da23-r2 close ...)").
  Result<VerifyReport> Verify();
  // The seq of the last row: 0 for an empty log, -1 when the database cannot be read.
  int64_t LastSeq();

 private:
  Database* db_;
  KindNamer name_kind_;
};

}  // namespace rectrack::storage
