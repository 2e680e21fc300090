#include "common/date.h"

#include <gtest/gtest.h>

namespace rectrack {
namespace {

TEST(DateTest, ParsesStrictIsoDatesOnly) {
  ASSERT_TRUE(Date::Parse("2025-03-31"));
  EXPECT_EQ(Date::Parse("2025-03-31")->ToString(), "2025-03-31");
  EXPECT_TRUE(Date::Parse("2024-02-29"));   // leap year
  EXPECT_FALSE(Date::Parse("2023-02-29"));  // not a leap year
  EXPECT_FALSE(Date::Parse("2024-09-31"));
  EXPECT_FALSE(Date::Parse("2024-13-01"));
  EXPECT_FALSE(Date::Parse("2024-3-31"));
  EXPECT_FALSE(Date::Parse("31/03/2024"));
  EXPECT_FALSE(Date::Parse("2024-03-31T00:00"));
  EXPECT_FALSE(Date::Parse(""));
  EXPECT_FALSE(Date::Parse("0000-01-01"));
}

TEST(DateTest, EveryDateWritesAsItParses) {
  for (const char* text : {"1900-01-01", "1999-12-31", "2000-02-29", "2025-10-09", "9999-12-31"}) {
    ASSERT_TRUE(Date::Parse(text)) << text;
    EXPECT_EQ(Date::Parse(text)->ToString(), text);
  }
  // Every day of a leap year and the next, through the day count.
  const Date start = *Date::Parse("2024-01-01");
  for (int i = 0; i < 731; ++i) {
    const Date d = start.AddDays(i);
    EXPECT_EQ(Date::Parse(d.ToString()), d) << d.ToString();
  }
}

TEST(DateTest, MonthEndsAndOrdering) {
  EXPECT_EQ(Date::LastDayOfMonth(2024, 2).ToString(), "2024-02-29");
  EXPECT_EQ(Date::LastDayOfMonth(2023, 2).ToString(), "2023-02-28");
  EXPECT_EQ(Date::LastDayOfMonth(2023, 12).ToString(), "2023-12-31");
  EXPECT_LT(*Date::Parse("2025-03-31"), *Date::Parse("2025-04-01"));
  EXPECT_EQ(Date::Parse("2025-03-31")->AddDays(1).ToString(), "2025-04-01");
}

TEST(DateTest, FinancialYearsAndQuartersFollowTheUkConvention) {
  Date d = *Date::Parse("2024-08-15");
  EXPECT_EQ(d.FinancialYearLabel(), "2024-25");
  EXPECT_EQ(d.QuarterLabel(), "Q2 24/25");
  EXPECT_EQ(Date::Parse("2025-03-31")->FinancialYearLabel(), "2024-25");
  EXPECT_EQ(Date::Parse("2025-03-31")->QuarterLabel(), "Q4 24/25");
  EXPECT_EQ(Date::Parse("2024-04-01")->QuarterLabel(), "Q1 24/25");
  EXPECT_EQ(Date::Parse("2024-12-31")->QuarterLabel(), "Q3 24/25");
  EXPECT_EQ(Date::Parse("2025-04-01")->FinancialYearLabel(), "2025-26");
  EXPECT_EQ(Date::Parse("2099-06-01")->QuarterLabel(), "Q1 99/00");
  EXPECT_EQ(d.FinancialYearStart().ToString(), "2024-04-01");
  EXPECT_EQ(d.FinancialYearEnd().ToString(), "2025-03-31");
  // The financial years of the first and last years rectrack reads reach past them.
  const Date first = *Date::Parse("1900-02-15");
  EXPECT_EQ(first.FinancialYearStart().ToString(), "1899-04-01");
  EXPECT_EQ(first.FinancialYearEnd().ToString(), "1900-03-31");
  EXPECT_EQ(first.FinancialYearLabel(), "1899-00");
  EXPECT_EQ(first.QuarterLabel(), "Q4 99/00");
  const Date last = *Date::Parse("9999-12-31");
  EXPECT_EQ(last.FinancialYearStart().ToString(), "9999-04-01");
  EXPECT_EQ(last.FinancialYearEnd().ToString(), "10000-03-31");
  EXPECT_EQ(last.FinancialYearLabel(), "9999-00");
  EXPECT_EQ(Date::Parse("2023-03-01")->ShortMonthYear(), "Mar-23");
  EXPECT_EQ(Date::Parse("2025-03-06")->MonthYear(), "March 2025");
}

TEST(DateTest, MonthNames) {
  EXPECT_EQ(MonthFromName("March"), 3u);
  EXPECT_EQ(MonthFromName("dec"), 12u);
  EXPECT_EQ(MonthFromName("Sept"), 9u);
  EXPECT_FALSE(MonthFromName("Spring"));
  EXPECT_FALSE(MonthFromName("Ma"));
}

}  // namespace
}  // namespace rectrack
