#include "engine/clock.h"

#include <gtest/gtest.h>

namespace rectrack {
namespace {

class At : public Clock {
 public:
  explicit At(const char* instant) : now_(*ParseInstant(instant)) {}
  TimePoint Now() const override { return now_; }

 private:
  TimePoint now_;
};

TEST(ClockTest, ParsesInstantsAndDatesWithinTheRangeTheClockCanHold) {
  EXPECT_TRUE(ParseInstant("2025-03-31T09:00:00Z"));
  EXPECT_TRUE(ParseInstant("2025-03-31"));
  EXPECT_FALSE(ParseInstant("2025-03-31T24:00:00Z"));
  EXPECT_FALSE(ParseInstant("2025-03-31T09:00:00"));
  EXPECT_FALSE(ParseInstant("2025-02-30"));
  // system_clock's nanoseconds overflow after 2262: such dates must be refused, not wrapped.
  EXPECT_FALSE(ParseInstant("2262-04-12"));
  EXPECT_FALSE(ParseInstant("2300-01-01"));
  EXPECT_FALSE(ParseInstant("1969-12-31"));
  EXPECT_EQ(At("2025-03-31T09:00:00Z").NowRfc3339(), "2025-03-31T09:00:00Z");
}

// Two clocks made apart in real time, from the same start, rate and real instant, read the same
// time: the command line beside a demo server whose clock runs fast agrees with it.
TEST(ClockTest, AShiftedClockFromARealInstantReadsTheSameInEveryProcess) {
  const Clock::TimePoint start = *ParseInstant("2025-12-01T08:00:00Z");
  const auto ten_seconds_ago = std::chrono::system_clock::now() - std::chrono::seconds(10);
  const ShiftedClock server(start, 3600, ten_seconds_ago);
  const ShiftedClock cli(start, 3600, ten_seconds_ago);
  // Ten real seconds at an hour a second: ten hours on (and a little for the test's own time).
  const auto on = server.Now() - start;
  EXPECT_GE(on, std::chrono::hours(10));
  EXPECT_LT(on, std::chrono::hours(11));
  EXPECT_LT(cli.Now() - server.Now(), std::chrono::hours(1));
  EXPECT_EQ(cli.Today().ToString(), "2025-12-01");
  // A fast clock run long enough stops at 2200 rather than overflow.
  const ShiftedClock stale(start, 3600,
                           std::chrono::system_clock::now() - std::chrono::hours(24 * 365));
  EXPECT_EQ(stale.Now(), ShiftedClock::kLatest);
  // Without the real instant, from when it was made.
  const ShiftedClock fresh(start, 3600);
  EXPECT_LT(fresh.Now() - start, std::chrono::hours(1));
}

TEST(ClockTest, TodayIsTheUkCalendarDay) {
  // Winter: GMT, so 23:30 UTC is still the same day.
  EXPECT_EQ(At("2025-01-15T23:30:00Z").Today().ToString(), "2025-01-15");
  // Summer: BST, so 23:30 UTC is already tomorrow in the UK.
  EXPECT_EQ(At("2025-06-30T23:30:00Z").Today().ToString(), "2025-07-01");
  // BST began at 01:00 UTC on Sunday 30 March 2025 and ended at 01:00 UTC on 26 October 2025.
  EXPECT_EQ(At("2025-03-30T00:59:59Z").Today().ToString(), "2025-03-30");
  EXPECT_EQ(At("2025-03-29T23:30:00Z").Today().ToString(), "2025-03-29");
  EXPECT_EQ(At("2025-10-25T23:30:00Z").Today().ToString(), "2025-10-26");
  EXPECT_EQ(At("2025-10-26T23:30:00Z").Today().ToString(), "2025-10-26");
}

}  // namespace
}  // namespace rectrack
