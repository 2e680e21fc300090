// Engine::KeepHistoriesOut and what goes with it: letting the items' histories go once the item
// index and the heads cover them, and reading them back (engine.h; the plan and its measures:
// docs/lazy-histories.md).
#include <algorithm>
#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "engine/engine.h"
#include "engine/event_codec.h"
#include "engine/ledger.h"
#include "storage/event_store.h"
#include "storage/item_heads.h"
#include "storage/item_index.h"

namespace rectrack {

Status Engine::KeepHistoriesOut(size_t cache_bytes, size_t turn) {
  if (!HoldsWholeLog()) {
    return Status::FailedPrecondition(
        "an engine that read only some of the log holds no histories");
  }
  history_cache_bytes_ = std::max<size_t>(cache_bytes, 1);
  history_turn_ = turn;
  ledger_->SetHistorySource([this](const Item& item) { return ReadHistory(item.id, item.kind); },
                            history_cache_bytes_, history_turn_);
  RETURN_IF_ERROR(DropHistoriesIfDue(/*now=*/true));
  // The events let go were most of the heap, in small blocks among those kept: hand the whole
  // pages among them back. In turns, the caller does once they are done, without the lock.
  if (turn == std::numeric_limits<size_t>::max()) ReturnFreeMemory();
  return Status();
}

Result<bool> Engine::LetHistoriesGo() {
  if (!history_cache_bytes_) {
    return Status::FailedPrecondition("histories are held: KeepHistoriesOut first");
  }
  // A ledger read afresh (the whole log again) holds every history: the drop starts over.
  if (!ledger_->keeps_histories_out() || !ledger_->looked_at_every_item()) {
    RETURN_IF_ERROR(DropHistoriesIfDue(/*now=*/true));
  }
  return ledger_->keeps_histories_out() && ledger_->looked_at_every_item();
}

int64_t Engine::histories_read_back() const { return ledger_->histories_read_back(); }

void Engine::ReturnFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

size_t Engine::histories_left_to_look_at() const { return ledger_->items_left_to_look_at(); }

Status Engine::DropHistoriesIfDue(bool now) {
  if (!history_cache_bytes_) return Status();
  // The alerts' first pass, and the raise of what it found due, replay the whole histories of
  // the items they look at: they go once both are done.
  if (alerts_hold_histories_) return Status();
  if (!now && last_seq_ - histories_dropped_at_ < index_batch_) return Status();
  // A ledger read afresh (the whole log again) holds every history: keep them out again.
  if (!ledger_->keeps_histories_out()) {
    ledger_->SetHistorySource([this](const Item& item) { return ReadHistory(item.id, item.kind); },
                              history_cache_bytes_, history_turn_);
  }
  // What the index covers can be read back; what the heads do not cover yet, their next batch
  // reads from the ledger, so it is kept until then.
  ASSIGN_OR_RETURN(const int64_t indexed, storage::ItemIndex(db_.get()).Through());
  ASSIGN_OR_RETURN(const storage::HeadsMark heads, storage::ItemHeads(db_.get()).Mark());
  const int64_t through = heads.basis == HeadsBasis() ? std::min(indexed, heads.through) : indexed;
  ledger_->DropHistories(std::min(through, last_seq_));
  histories_dropped_at_ = last_seq_;
  return Status();
}

Result<std::vector<Event>> Engine::ReadHistory(const std::string& id, SubjectKind kind) {
  ASSIGN_OR_RETURN(const std::vector<int64_t> seqs,
                   storage::ItemIndex(db_.get()).EventsOf(id, {static_cast<int>(kind)}));
  ASSIGN_OR_RETURN(const std::vector<storage::EventRow> rows, store_->LoadSeqs(seqs));
  std::vector<Event> events;
  events.reserve(rows.size());
  for (const storage::EventRow& row : rows) {
    // The index also lists the events of other items that name this one, and may reach past
    // what this engine has taken in (another process's commit, this group's rows).
    if (row.subject_id != id || row.seq > last_seq_) continue;
    ASSIGN_OR_RETURN(Event event, DecodeEvent(row));
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace rectrack
