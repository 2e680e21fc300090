// AlertQueue: for each recommendation and action, the day its next alert falls due, earliest
// first. It is
// what lets `rectrack serve` sleep until the next alert instead of scanning every recommendation
// on a period: the scheduler looks only at the head.
//
// A binary heap with lazy deletion: Set() pushes a new entry and marks older entries of the same
// recommendation stale; stale entries are dropped when they reach the head, and the heap is
// rebuilt when they outnumber the live ones. Each id is held once (ids_, a deque so that the
// views index_ keys by stay put); bench/alerts_bench.cpp measures the bytes per recommendation.
//
// Thread-safety: none; the Engine serialises access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/date.h"

namespace rectrack {

class AlertQueue {
 public:
  // Queues `id` for `day`, replacing any earlier entry for it.
  void Set(const std::string& id, Date day);
  void Erase(const std::string& id);
  std::optional<Date> Earliest();
  // Removes and returns, earliest first, the recommendations queued for `day` or before: every
  // one, or at most `most`.
  std::vector<std::string> PopThrough(Date day, size_t most = SIZE_MAX);
  // The same recommendations as PopThrough(day) would return, in no particular order, leaving
  // the queue as it is.
  std::vector<std::string> PeekThrough(Date day) const;
  size_t size() const { return live_; }

 private:
  struct Entry {
    int day;
    uint32_t index;
  };
  static bool Later(const Entry& a, const Entry& b) { return a.day > b.day; }
  void DropStaleHead();
  void Compact();

  static constexpr int kNone = INT32_MIN;
  std::vector<Entry> heap_;
  std::vector<int> day_of_;  // by index; kNone when not queued
  std::deque<std::string> ids_;
  std::unordered_map<std::string_view, uint32_t> index_;  // views into ids_
  size_t live_ = 0;
};

}  // namespace rectrack
