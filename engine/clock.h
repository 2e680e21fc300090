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
  // How many clock seconds pass per real second (1 for the system clock): timers divide by it.
  virtual double Rate() const { return 1.0; }

  Date Today() const;              // the calendar day of Now() in the UK (GMT or BST)
  std::string NowRfc3339() const;  // "2025-03-31T09:00:00Z"
};

class SystemClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// Runs as if it were `start` when constructed, advancing `rate` times faster than real time
// (rate 0 stands still). With `since`, a real (system clock) instant, it was `start` then
// instead: every process given the same three reads the same time, so the command line and a
// demo server whose clock runs fast agree on the day.
class ShiftedClock : public Clock {
 public:
  // Where it stops: the start of 2200, the last year ParseInstant reads.
  static constexpr TimePoint kLatest =
      TimePoint(std::chrono::sys_days(std::chrono::year(2200) / 1 / 1).time_since_epoch());
  ShiftedClock(TimePoint start, double rate, std::optional<TimePoint> since = std::nullopt);
  TimePoint Now() const override;
  double Rate() const override { return rate_; }

 private:
  TimePoint start_;
  std::optional<TimePoint> since_;
  std::chrono::steady_clock::time_point real_start_;
  double rate_;
};

// UK civil time: GMT, or BST (GMT+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC on
// the last Sunday of October (Summer Time Order 2002): `utc` as a UK clock shows it (the time
// point whose UTC reading is the UK wall-clock time). Deadlines are UK calendar days.
Clock::TimePoint UkCivil(Clock::TimePoint utc);
// The instant `day` begins in the UK (00:00 GMT, or 00:00 BST = 23:00 UTC the day before).
Clock::TimePoint UkDayStart(Date day);
// RFC 3339 in UTC, to the second: "2025-03-31T09:00:00Z".
std::string FormatInstant(Clock::TimePoint t);

// "2025-03-31T09:00:00Z" or a plain date "2025-03-31" (midnight UTC), years 1970-2200;
// nullopt otherwise.
std::optional<Clock::TimePoint> ParseInstant(std::string_view text);

}  // namespace rectrack
