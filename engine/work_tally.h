// WorkTally: how much work each body has, and each unit of it for actions, kept up to date as
// items change, so that the counts a dashboard or a metrics scrape shows as at today cost the
// bodies, units and due days, not a pass over every recommendation under the engine's lock.
//
// An item is counted from its head (its view through every event, before Finish): its state,
// whether that state is open, and the earliest due date among its milestones not met. As at a
// day on or after the item's last event, that head is its view, so the counts are what a walk
// over every item projected as at that day would give (Engine::CountWork falls back to such a
// walk when some item changed after the day asked about).
//
// Thread-safety: none of its own; the Ledger that holds it is guarded by the engine's lock.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>

#include "engine/model.h"

namespace rectrack {

// Whose work is counted: a recommendation counts for each body that owns it (unit ""), an
// action for its body and its unit ("" when the action is the body's as a whole).
struct WorkOwner {
  SubjectKind kind = SubjectKind::kRecommendation;
  std::string body;
  std::string unit;
  auto operator<=>(const WorkOwner&) const = default;
};

// One owner's work as at a day.
struct WorkCounts {
  int64_t open = 0;
  int64_t overdue = 0;   // open, with a milestone not met due before the day
  int64_t due_soon = 0;  // open, its next milestone not met due from the day to `within` days on
  std::map<std::string, int64_t> states;  // every item, open or not, by state
};

class WorkTally {
 public:
  // Counts `head` (`sign` +1) or stops counting it (-1): an item is taken out with the head it
  // was counted with before its head changes, and counted again after. `open` is whether the
  // workflow calls its state open.
  void Count(const RecommendationHead& head, bool open, int sign);
  // Every owner's counts as at `day` (a due date after `day + within` days is not due soon).
  // Owners with no items are not there.
  std::map<WorkOwner, WorkCounts> CountAsAt(Date day, int within) const;

 private:
  struct Kept {
    std::map<std::string, int64_t> states;
    int64_t open = 0;
    // Open items with a milestone not met: how many have their earliest such due on each day.
    std::map<Date, int64_t> next_due;
  };
  void CountFor(const WorkOwner& owner, const RecommendationHead& head, bool open, int sign);
  std::map<WorkOwner, Kept> kept_;
};

}  // namespace rectrack
