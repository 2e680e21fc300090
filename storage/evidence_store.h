// EvidenceStore: the evidence files attached to events (a revised policy, a dip-sample report),
// each kept once under the SHA-256 of its bytes, in the same database as the log.
//
// Why in SQLite and not a directory beside it: a file is written in the same transaction as the
// event that names it, so there is never an event without its file nor a stray file without its
// event, whatever crashes; one file (and one online backup) holds everything; and the append-only
// triggers guard the files as they guard the log. Files are bounded in size by the engine
// (EvidenceLimits), so they sit well within SQLite's blobs.
//
// The store knows nothing of events; the engine checks that every file an event names is here
// and hashes to its name (Engine::VerifyDatabase).
// Thread-safety: as the Database it wraps, one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

class EvidenceStore {
 public:
  explicit EvidenceStore(Database* db) : db_(db) {}

  // Keeps `content` under `sha256` unless a file is kept under it already (the same bytes: the
  // same file attached again is kept once). REQUIRES: sha256 == Sha256Hex(content), inside a
  // kWrite transaction.
  Status Put(const std::string& sha256, std::string_view content);
  // The bytes kept under `sha256`; NotFound when there are none.
  Result<std::string> Get(const std::string& sha256);
  // OK when the bytes kept under `sha256` hash to it and are `size` long; NotFound when none are
  // kept; Corruption saying how they differ (altered behind rectrack's back).
  Status Check(const std::string& sha256, int64_t size);

 private:
  Database* db_;
};

}  // namespace rectrack::storage
