// HistoryCache: the items' histories a Ledger that keeps them out of memory has read back
// (ledger.h: Ledger::HistoryOf), by item id, at most about `capacity` bytes of them; the least
// recently used is let go first, and the one read last is kept whatever its size (its reader
// holds it anyway).
//
// Thread-safety: every method may be called from several threads at once (Engine::StartAlerts
// replays on two); a read runs under the cache's lock, so reads are one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "engine/model.h"

namespace rectrack {

class HistoryCache {
 public:
  using History = std::shared_ptr<const std::vector<Event>>;
  explicit HistoryCache(size_t capacity) : capacity_(capacity) {}

  // Item `id`'s history: kept, or made by `read` (whose error is returned, and nothing kept).
  Result<History> Get(const std::string& id,
                      const std::function<Result<std::vector<Event>>()>& read);
  // Item `id`'s history if kept, else null; counts as used.
  History Find(const std::string& id);
  // Keeps `history` as `id`'s (replacing any), as the one used last: the events of an item
  // just let go, which are likely to be asked for again, so that they need no reading back.
  void Put(const std::string& id, History history);
  // Forgets `id`'s history: it is held by its item again, or let go anew.
  void Forget(const std::string& id);
  // How many histories `read` has made so far.
  int64_t read_back();

 private:
  struct Entry {
    std::list<std::string>::iterator place;
    History history;
    size_t bytes = 0;
  };
  void Evict(const std::string& id);
  // Keeps `history` as `id`'s, then lets go of the least recently used down to the capacity.
  // REQUIRES: mutex_ held; `id` not kept.
  void Keep(const std::string& id, History history);

  const size_t capacity_;
  std::mutex mutex_;
  std::list<std::string> order_;  // least recently used first
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
  int64_t read_back_ = 0;
};

}  // namespace rectrack
