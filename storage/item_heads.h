// ItemHeads: each recommendation's and action's head (its view at the end of its history, less
// the timeline) kept beside the event log, so that a list reads rows, not the log.
//
// A row holds what a list filters on (kind, issued, owners, state, the earliest unmet milestone
// date) and the head itself, encoded by the engine (`head`, opaque here). `settled` is the latest
// effective date of any event the head depends on: a view as at that date or later is the head
// with only the as-at date and what follows from it (open, overdue) to work out, so a list as at
// such a date needs no history. Earlier dates need the item's events (storage/item_index.h), or,
// for Annex A, what the head keeps of them (its turns: the engine's TakeBack).
//
// The table keeps an item's row once for each body that owns it, clustered by that body, so
// that one body's rows (a list of its recommendations, its Annex A) are read together, heads
// and all, rather than looked up one by one across every body's; the first owner's copy is the
// item's lead row, which a list of every body reads. Put writes the copies and All checks that
// they agree.
//
// Like the item index, the heads are derived, never the truth: the engine writes them for the
// items a batch of events concerns, in that batch's write transaction, checks them against a
// replay (Engine::Verify) and rebuilds them from the log. Their mark (table item_heads_mark)
// says how far they reach: `through`, the seq of the last event they reflect, and `basis`, the
// workflows they were worked out under (a head is a replay through a workflow): heads of
// another basis are not read.
// Thread-safety: as the Database it wraps, one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

struct HeadRow {
  int kind = 0;  // the engine's SubjectKind number
  std::string item;
  std::string issued;   // ISO date
  std::string settled;  // ISO date
  std::string owners;   // the owning bodies' ids, each followed by a space: "CPS SFO "
  std::string state;
  std::string overdue_from;  // the earliest due date of a milestone not met; "" for none
  std::string head;          // the engine's encoding
  bool operator==(const HeadRow&) const = default;
};

struct HeadsMark {
  int64_t through = 0;  // 0: no heads
  std::string basis;
};

class ItemHeads {
 public:
  explicit ItemHeads(Database* db) : db_(db) {}

  Result<HeadsMark> Mark();
  // Writes `rows` (replacing an item's row) and sets the mark. REQUIRES: inside a kWrite
  // transaction.
  Status Put(const std::vector<HeadRow>& rows, const HeadsMark& mark);
  // Removes every row and sets the mark to 0. REQUIRES: inside a kWrite transaction.
  Status Clear();
  // Visits the rows of `kind` issued on or before `issued_by` (ISO date) and, unless `owner` is
  // "", owned by body `owner` (among `owners`), in (issued, item) order, until `visit` returns
  // false or an error. One body's rows come with their heads, read beside them; every body's
  // (owner "") come without (`head` empty), from the index alone, and Head reads the head of a
  // row wanted. With `after` (issued, item), only the rows after that place, found in the
  // index rather than read past: a page of a long list costs that page.
  using Place = std::pair<std::string, std::string>;
  Status Scan(int kind, const std::string& issued_by, const std::string& owner,
              const std::function<Result<bool>(const HeadRow&)>& visit,
              const std::optional<Place>& after = std::nullopt);
  // The head of the item of `row`, a row Scan gave: read by the table's key (its first owner,
  // kind, issue date and id). NotFound when it has no such row.
  Result<std::string> Head(const HeadRow& row);
  // Every item's row once, in (kind, item) order. Corruption, naming the item, when its copies
  // do not agree: one for each of its owners, each the same row.
  Status All(const std::function<Status(const HeadRow&)>& visit);
  // How many items have a row.
  Result<int64_t> Count();

 private:
  Database* db_;
};

}  // namespace rectrack::storage
