#include "common/date.h"

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace rectrack {
namespace {

namespace chr = std::chrono;

constexpr std::array<const char*, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

chr::year_month_day Ymd(int days) { return chr::year_month_day(chr::sys_days(chr::days(days))); }

}  // namespace

std::optional<Date> Date::FromYmd(int year, unsigned month, unsigned day) {
  if (year < kMinYear || year > kMaxYear) return std::nullopt;
  chr::year_month_day ymd{chr::year(year), chr::month(month), chr::day(day)};
  if (!ymd.ok()) return std::nullopt;
  return Date(chr::sys_days(ymd).time_since_epoch().count());
}

std::optional<Date> Date::Parse(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  return FromYmd(num(0, 4), static_cast<unsigned>(num(5, 2)), static_cast<unsigned>(num(8, 2)));
}

Date Date::LastDayOfMonth(int year, unsigned month) {
  chr::year_month_day_last last{chr::year(year), chr::month_day_last(chr::month(month))};
  return Date(chr::sys_days(last).time_since_epoch().count());
}

int Date::year() const { return static_cast<int>(Ymd(days_).year()); }
unsigned Date::month() const { return static_cast<unsigned>(Ymd(days_).month()); }
unsigned Date::day() const { return static_cast<unsigned>(Ymd(days_).day()); }

std::string Date::ToString() const {
  const chr::year_month_day ymd = Ymd(days_);  // once, not once for each part
  const int y = static_cast<int>(ymd.year());
  const unsigned m = static_cast<unsigned>(ymd.month());
  const unsigned d = static_cast<unsigned>(ymd.day());
  if (y < 0 || y > 9999) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
    return buf;
  }
  // By hand: it is in every cache key and ETag, and snprintf costs more than the date.
  std::string out = "0000-00-00";
  const auto digits = [&out](size_t end, unsigned value) {
    for (size_t i = end; value > 0; value /= 10) out[--i] = static_cast<char>('0' + value % 10);
  };
  digits(4, static_cast<unsigned>(y));
  digits(7, m);
  digits(10, d);
  return out;
}

std::string Date::LongString() const { return std::to_string(day()) + " " + MonthYear(); }

std::string Date::ShortString() const {
  return std::to_string(day()) + " " + std::string(kMonthNames[month() - 1]).substr(0, 3) + " " +
         std::to_string(year());
}

std::string Date::MonthYear() const {
  return std::string(kMonthNames[month() - 1]) + " " + std::to_string(year());
}

std::string Date::ShortMonthYear() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3s-%02d", kMonthNames[month() - 1], year() % 100);
  return buf;
}

// Not FromYmd: a financial year reaches past the years rectrack reads (the one of 15 February
// 1900 began in 1899; the one of 31 December 9999 ends in 10000), and a day is a day.
Date Date::FinancialYearStart() const {
  const int y = month() >= 4 ? year() : year() - 1;
  return Date(chr::sys_days(chr::year(y) / 4 / 1).time_since_epoch().count());
}

Date Date::FinancialYearEnd() const {
  const int y = FinancialYearStart().year() + 1;
  return Date(chr::sys_days(chr::year(y) / 3 / 31).time_since_epoch().count());
}

std::string Date::FinancialYearLabel() const {
  int y = FinancialYearStart().year();
  char buf[16];
  std::snprintf(buf, sizeof buf, "%d-%02d", y, (y + 1) % 100);
  return buf;
}

std::string Date::QuarterLabel() const {
  int y = FinancialYearStart().year();
  unsigned q = month() >= 4 ? (month() - 4) / 3 + 1 : 4;
  char buf[24];
  std::snprintf(buf, sizeof buf, "Q%u %02d/%02d", q, y % 100, (y + 1) % 100);
  return buf;
}

std::optional<unsigned> MonthFromName(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "sept") return 9;
  for (unsigned i = 0; i < kMonthNames.size(); ++i) {
    std::string full;
    for (const char* p = kMonthNames[i]; *p; ++p) {
      full += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    }
    if (lower == full || (lower.size() == 3 && full.compare(0, 3, lower) == 0)) return i + 1;
  }
  return std::nullopt;
}

}  // namespace rectrack
