// Clock: where rectrack learns what time it is. Injected everywhere time matters (recorded
// timestamps, "today" for as-of defaults and overdue), so tests and demos can run as if it were
// any date.
//
// Thread-safety: Now() may be called from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/date.h"

namespace rectrack {

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;

  Date Today() const;              // the calendar day of Now() in the UK (GMT or BST)
  std::string NowRfc3339() const;  // "2025-03-31T09:00:00Z"
};

class SystemClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// Runs as if it were `start` when constructed, advancing `rate` times faster than real time
// (rate 0 stands still).
class ShiftedClock : public Clock {
 public:
  ShiftedClock(TimePoint start, double rate);
  TimePoint Now() const override;

 private:
  TimePoint start_;
  std::chrono::steady_clock::time_point real_start_;
  double rate_;
};

// "2025-03-31T09:00:00Z" or a plain date "2025-03-31" (midnight UTC), years 1970-2200;
// nullopt otherwise.
std::optional<Clock::TimePoint> ParseInstant(std::string_view text);

}  // namespace rectrack
