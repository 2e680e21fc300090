#include "engine/work_tally.h"

#include <optional>

namespace rectrack {

namespace {

// Adds `n` to `map[key]`, dropping the key at zero, so a tally holds only what is there.
template <typename Key>
void AddTo(std::map<Key, int64_t>& map, const Key& key, int64_t n) {
  auto [it, fresh] = map.try_emplace(key, 0);
  it->second += n;
  if (it->second == 0) map.erase(it);
}

}  // namespace

void WorkTally::Count(const RecommendationHead& head, bool open, int sign) {
  if (head.kind == SubjectKind::kAction) {
    if (head.def.owners.empty()) return;
    CountFor({head.kind, head.def.owners.front(), head.action ? head.action->unit : ""}, head, open,
             sign);
    return;
  }
  for (const std::string& body : head.def.owners) CountFor({head.kind, body, ""}, head, open, sign);
}

void WorkTally::CountFor(const WorkOwner& owner, const RecommendationHead& head, bool open,
                         int sign) {
  Kept& kept = kept_[owner];
  AddTo(kept.states, head.state, sign);
  if (open) {
    kept.open += sign;
    if (const std::optional<Date> next = NextDueNotMet(head)) AddTo(kept.next_due, *next, sign);
  }
  if (kept.states.empty()) kept_.erase(owner);
}

std::map<WorkOwner, WorkCounts> WorkTally::CountAsAt(Date day, int within) const {
  std::map<WorkOwner, WorkCounts> out;
  const Date last_soon = day.AddDays(within);
  for (const auto& [owner, kept] : kept_) {
    WorkCounts& counts = out[owner];
    counts.states = kept.states;
    counts.open = kept.open;
    // Overdue: the earliest milestone not met is due before the day (then at least one is).
    auto soon = kept.next_due.lower_bound(day);
    for (auto it = kept.next_due.begin(); it != soon; ++it) counts.overdue += it->second;
    for (; soon != kept.next_due.end() && soon->first <= last_soon; ++soon) {
      counts.due_soon += soon->second;
    }
  }
  return out;
}

}  // namespace rectrack
