// Date: a calendar day (proleptic Gregorian, no time zone), the unit of every effective date,
// milestone due date and as-of query in rectrack. Financial years and quarters follow the UK
// government convention: the year 2024-25 runs 1 April 2024 - 31 March 2025, "Q1 24/25" is
// April-June 2024.
//
// Thread-safety: a value type.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace rectrack {

class Date {
 public:
  // Every Date rectrack makes or reads lies in these years, so whatever is written decodes.
  static constexpr int kMinYear = 1900;
  static constexpr int kMaxYear = 9999;

  Date() = default;  // 1970-01-01

  // Strict ISO 8601 "YYYY-MM-DD" (years kMinYear-kMaxYear); nullopt for anything else,
  // including impossible days such as 2023-02-29.
  static std::optional<Date> Parse(std::string_view iso);
  // nullopt when the day does not exist or the year is outside kMinYear-kMaxYear.
  static std::optional<Date> FromYmd(int year, unsigned month, unsigned day);
  // REQUIRES: 1 <= month <= 12 and kMinYear <= year <= kMaxYear.
  static Date LastDayOfMonth(int year, unsigned month);
  static Date FromDaysSinceEpoch(int days) { return Date(days); }

  int year() const;
  unsigned month() const;  // 1-12
  unsigned day() const;    // 1-31
  int days_since_epoch() const { return days_; }
  Date AddDays(int n) const { return Date(days_ + n); }

  std::string ToString() const;        // "2025-03-31"
  std::string MonthYear() const;       // "March 2025"
  std::string LongString() const;      // "31 March 2025", as the annual report and GOV.UK write it
  std::string ShortString() const;     // "31 Mar 2025", as GOV.UK writes a date where room is short
  std::string ShortMonthYear() const;  // "Mar-23", as Annex A writes a publication month

  // The financial year containing this date: its first day (1 April) and label ("2024-25").
  Date FinancialYearStart() const;
  Date FinancialYearEnd() const;  // 31 March
  std::string FinancialYearLabel() const;
  std::string QuarterLabel() const;  // "Q2 24/25"

  friend auto operator<=>(const Date&, const Date&) = default;

 private:
  explicit Date(int days) : days_(days) {}
  int days_ = 0;
};

// Full English month name to number ("March" -> 3, also "Mar", "Sept"); case-insensitive.
std::optional<unsigned> MonthFromName(std::string_view name);

}  // namespace rectrack
