#include "engine/history_cache.h"

namespace rectrack {
namespace {

// About the bytes `e` holds, with its strings' and containers' (a cache's measure, not malloc's).
size_t ApproxBytes(const Event& e) {
  size_t bytes = sizeof(Event);
  for (const std::string* s :
       {&e.subject_id, &e.transition, &e.recorded, &e.actor, &e.role, &e.body, &e.unit, &e.note}) {
    if (s->size() > 15) bytes += s->capacity();
  }
  for (const auto& [name, values] : e.fields) {
    bytes += 64 + name.size();
    for (const auto& value : values) bytes += sizeof(std::string) + value.size();
  }
  bytes += e.attachments.size() * (sizeof(Attachment) + 128);
  if (e.recommendation_def) bytes += sizeof(RecommendationDef) + e.recommendation_def->text.size();
  if (e.action_def) bytes += sizeof(ActionDef) + e.action_def->title.size();
  return bytes;
}

}  // namespace

Result<HistoryCache::History> HistoryCache::Get(
    const std::string& id, const std::function<Result<std::vector<Event>>()>& read) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto found = entries_.find(id); found != entries_.end()) {
    order_.splice(order_.end(), order_, found->second.place);
    return found->second.history;
  }
  ASSIGN_OR_RETURN(std::vector<Event> events, read());
  ++read_back_;
  auto history = std::make_shared<const std::vector<Event>>(std::move(events));
  Keep(id, history);
  return history;
}

HistoryCache::History HistoryCache::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(id);
  if (found == entries_.end()) return nullptr;
  order_.splice(order_.end(), order_, found->second.place);
  return found->second.history;
}

void HistoryCache::Put(const std::string& id, History history) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.count(id)) Evict(id);
  Keep(id, std::move(history));
}

void HistoryCache::Keep(const std::string& id, History history) {
  size_t bytes = 0;
  for (const Event& e : *history) bytes += ApproxBytes(e);
  order_.push_back(id);
  entries_[id] = Entry{std::prev(order_.end()), std::move(history), bytes};
  bytes_ += bytes;
  while (bytes_ > capacity_ && order_.size() > 1) Evict(order_.front());
}

void HistoryCache::Forget(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.count(id)) Evict(id);
}

int64_t HistoryCache::read_back() {
  std::lock_guard<std::mutex> lock(mutex_);
  return read_back_;
}

void HistoryCache::Evict(const std::string& id) {
  auto found = entries_.find(id);
  bytes_ -= found->second.bytes;
  order_.erase(found->second.place);
  entries_.erase(found);
}

}  // namespace rectrack
