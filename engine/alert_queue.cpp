#include "engine/alert_queue.h"

#include <algorithm>

namespace rectrack {

void AlertQueue::Set(const std::string& id, Date day) {
  auto it = index_.find(id);
  if (it == index_.end()) {
    ids_.push_back(id);
    day_of_.push_back(kNone);
    it = index_.emplace(ids_.back(), static_cast<uint32_t>(ids_.size() - 1)).first;
  }
  const uint32_t index = it->second;
  if (day_of_[index] == kNone) ++live_;
  day_of_[index] = day.days_since_epoch();
  heap_.push_back({day.days_since_epoch(), index});
  std::push_heap(heap_.begin(), heap_.end(), Later);
  if (heap_.size() > 2 * live_ + 1024) Compact();
}

void AlertQueue::Erase(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end() || day_of_[it->second] == kNone) return;
  day_of_[it->second] = kNone;
  --live_;
}

void AlertQueue::DropStaleHead() {
  while (!heap_.empty() && heap_.front().day != day_of_[heap_.front().index]) {
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    heap_.pop_back();
  }
}

std::optional<Date> AlertQueue::Earliest() {
  DropStaleHead();
  if (heap_.empty()) return std::nullopt;
  return Date::FromDaysSinceEpoch(heap_.front().day);
}

std::vector<std::string> AlertQueue::PopThrough(Date day, size_t most) {
  std::vector<std::string> out;
  for (DropStaleHead();
       out.size() < most && !heap_.empty() && heap_.front().day <= day.days_since_epoch();
       DropStaleHead()) {
    const uint32_t index = heap_.front().index;
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    heap_.pop_back();
    day_of_[index] = kNone;
    --live_;
    out.push_back(ids_[index]);
  }
  return out;
}

std::vector<std::string> AlertQueue::PeekThrough(Date day) const {
  // The heap's entries for `day` or before form a subtree at its root: walk just that.
  std::vector<std::string> out;
  std::vector<uint32_t> seen;  // indexes already listed (a recommendation set twice, same day)
  std::vector<size_t> todo;
  if (!heap_.empty()) todo.push_back(0);
  while (!todo.empty()) {
    const size_t at = todo.back();
    todo.pop_back();
    const Entry& e = heap_[at];
    if (e.day > day.days_since_epoch()) continue;
    if (e.day == day_of_[e.index]) seen.push_back(e.index);
    for (size_t child : {2 * at + 1, 2 * at + 2}) {
      if (child < heap_.size()) todo.push_back(child);
    }
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  out.reserve(seen.size());
  for (uint32_t index : seen) out.push_back(ids_[index]);
  return out;
}

void AlertQueue::Compact() {
  std::vector<Entry> live;
  live.reserve(live_);
  for (uint32_t i = 0; i < day_of_.size(); ++i) {
    if (day_of_[i] != kNone) live.push_back({day_of_[i], i});
  }
  heap_ = std::move(live);
  std::make_heap(heap_.begin(), heap_.end(), Later);
}

}  // namespace rectrack
