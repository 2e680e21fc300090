// ItemIndex: which events concern which item, kept beside the event log so that one
// recommendation's or action's history can be read without replaying the log.
//
// A row (kind, item, seq) says event `seq` concerns item `item` of kind `kind` (the engine's
// SubjectKind number): it is the item's own event, or another recommendation's or action's event
// that names it (an action's recommendation, a field naming a recommendation). Definitions of
// bodies, units and inspections have their own rows, so that they can be read without the log.
//
// The index is derived, never the truth: every row follows from the log, so it can be dropped and
// rebuilt at any time, and the engine checks it against a replay (Engine::Verify). It records how
// far it reaches (`through`, the seq of the last event it covers), which may be behind the log:
// readers take the events after it from the log. Rows and `through` are written inside a write
// transaction of the log (the engine indexes a batch of events at a time), so a crash leaves them
// as consistent as the log.
// Thread-safety: as the Database it wraps, one thread at a time.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

struct IndexRow {
  int kind = 0;
  std::string item;
  int64_t seq = 0;
  auto operator<=>(const IndexRow&) const = default;
};

class ItemIndex {
 public:
  explicit ItemIndex(Database* db) : db_(db) {}

  // The seq of the last event the index covers (0: none).
  Result<int64_t> Through();
  // Adds `rows` (already present ones are kept) and sets Through() to `through`.
  // REQUIRES: inside a kWrite transaction.
  Status Add(const std::vector<IndexRow>& rows, int64_t through);
  // Removes every row and sets Through() to 0. REQUIRES: inside a kWrite transaction.
  Status Clear();
  // The seqs of the events concerning `item` as an item of one of `kinds`, ascending.
  Result<std::vector<int64_t>> EventsOf(std::string_view item, const std::vector<int>& kinds);
  // The seqs of every event concerning an item of one of `kinds`, ascending.
  Result<std::vector<int64_t>> EventsOfKinds(const std::vector<int>& kinds);
  // The kind of the item `item` when the index has a row for it as one of `kinds`.
  Result<std::optional<int>> KindOf(std::string_view item, const std::vector<int>& kinds);
  // How many rows it has.
  Result<int64_t> Count();
  // Every row of an item of one of `kinds`, in (kind, item, seq) order.
  Result<std::vector<IndexRow>> RowsOfKinds(const std::vector<int>& kinds);
  // Every row, in (kind, item, seq) order.
  Result<std::vector<IndexRow>> All();

 private:
  Database* db_;
};

}  // namespace rectrack::storage
