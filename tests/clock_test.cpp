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
