#include "engine/alert_queue.h"

#include <algorithm>

namespace rectrack {

void AlertQueue::Set(const std::string& id, Date day) {
  auto [it, inserted] = index_.try_emplace(id, static_cast<uint32_t>(ids_.size()));
  if (inserted) {
    ids_.push_back(id);
    day_of_.push_back(kNone);
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

std::vector<std::string> AlertQueue::PopThrough(Date day) {
  std::vector<std::string> out;
  for (DropStaleHead(); !heap_.empty() && heap_.front().day <= day.days_since_epoch();
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
