// Ledger's histories out of memory (ledger.h: SetHistorySource, DropHistories, HistoryOf): which
// items' events are let go, how they are read back and checked, and how an item is made whole
// again for a back-dated event.
#include <algorithm>

#include "engine/history_cache.h"
#include "engine/ledger.h"

namespace rectrack {

Result<History> Ledger::HistoryOf(const Item& item) const {
  if (item.whole) return History(nullptr, &item.events);
  ASSIGN_OR_RETURN(HistoryCache::History let_go,
                   history_cache_->Get(item.id, [&] { return ReadBack(item); }));
  return History(std::move(let_go), &item.events);
}

Result<std::vector<Event>> Ledger::ReadBack(const Item& item) const {
  ASSIGN_OR_RETURN(std::vector<Event> events, history_source_(item));
  // The events added since the drop are held, and may be in the source already.
  const int64_t newest = item.outline.newest_seq;
  events.erase(std::remove_if(events.begin(), events.end(),
                              [newest](const Event& e) { return e.seq > newest; }),
               events.end());
  std::sort(events.begin(), events.end(), EffectiveOrder);
  // The source must give back the events that were let go: the same first and last.
  if (events.empty() || events.front().seq != item.outline.creation_seq ||
      events.back().seq != item.outline.last_seq ||
      events.back().effective != item.outline.last_effective) {
    return Status::Corruption("the history of '" + item.id + "' read back has " +
                              std::to_string(events.size()) +
                              " events that do not begin and end as it did; `rectrack rebuild` "
                              "rebuilds the item index it is read from");
  }
  return events;
}

int64_t Ledger::histories_read_back() const {
  return history_cache_ ? history_cache_->read_back() : 0;
}

void Ledger::SetHistorySource(HistorySource source, size_t cache_bytes, size_t turn) {
  history_source_ = std::move(source);
  history_cache_ = std::make_unique<HistoryCache>(cache_bytes);
  holding_events_.clear();
  every_item_from_ = "";
  every_item_turn_ = std::max<size_t>(turn, 1);
  every_item_looked_ = 0;
}

size_t Ledger::DropHistories(int64_t through) {
  if (!history_cache_ || !undo_.empty()) return 0;
  // Whether `item`'s events were let go; false when it keeps them (none to let go, or not all
  // of them where the source reaches yet). `cache` keeps them in the cache.
  auto drop = [&](Item& item, bool cache) {
    // The head's version is its newest event's seq.
    if (item.events.empty() || !item.tail || item.tail->version > through) return false;
    Item::Outline& outline = item.outline;
    if (item.whole) {
      outline.issued = item.events.front().effective;
      outline.creation_seq = item.events.front().seq;
      if (item.kind == SubjectKind::kAction) outline.action = item.events.front().action_def;
    }
    // The last in effective order is held: those held come after every one let go before.
    outline.last_effective = item.events.back().effective;
    outline.last_seq = item.events.back().seq;
    outline.newest_seq = item.tail->version;
    HistoryCache::History let_go;
    if (item.whole) {
      let_go = std::make_shared<const std::vector<Event>>(std::move(item.events));
    } else if (HistoryCache::History before = history_cache_->Find(item.id)) {
      auto joined = std::make_shared<std::vector<Event>>(*before);
      std::move(item.events.begin(), item.events.end(), std::back_inserter(*joined));
      let_go = std::move(joined);
    }
    std::vector<Event>().swap(item.events);
    item.whole = false;
    if (cache && let_go) {
      history_cache_->Put(item.id, std::move(let_go));
    } else {
      history_cache_->Forget(item.id);
    }
    return true;
  };
  size_t dropped = 0;
  if (every_item_from_) {
    // Every item, a turn at a time (not cached: the cache would keep an arbitrary few). Those
    // changed meanwhile are among holding_events_ below, whether looked at yet or not.
    auto it = items_.lower_bound(*every_item_from_);
    size_t looked = 0;
    for (; it != items_.end() && looked < every_item_turn_; ++it, ++looked) {
      if (drop(it->second, /*cache=*/false)) {
        ++dropped;
      } else if (!it->second.events.empty()) {
        holding_events_.insert(it->first);
      }
    }
    every_item_looked_ += looked;
    every_item_from_.reset();
    if (it != items_.end()) every_item_from_ = it->first;
  }
  for (auto it = holding_events_.begin(); it != holding_events_.end();) {
    auto found = items_.find(*it);
    if (found != items_.end() && !found->second.events.empty()) {
      if (!drop(found->second, /*cache=*/true)) {
        ++it;  // not yet where the source reaches
        continue;
      }
      ++dropped;
    }
    it = holding_events_.erase(it);
  }
  return dropped;
}

Status Ledger::MakeWhole(Item& item) {
  if (item.whole) return Status();
  ASSIGN_OR_RETURN(const History history, HistoryOf(item));
  std::vector<Event> events(history.begin(), history.end());
  item.events = std::move(events);
  item.whole = true;
  item.outline = Item::Outline();
  history_cache_->Forget(item.id);
  return Status();
}

}  // namespace rectrack
