#include "engine/clock.h"

#include <algorithm>
#include <cstdio>

namespace rectrack {

namespace chr = std::chrono;

Clock::TimePoint UkCivil(Clock::TimePoint utc) {
  const chr::year year = chr::year_month_day(chr::floor<chr::days>(utc)).year();
  auto last_sunday = [&](chr::month m) {
    return chr::sys_days(chr::year_month_weekday_last(year, m, chr::Sunday[chr::last])) +
           chr::hours(1);
  };
  const bool summer = utc >= last_sunday(chr::March) && utc < last_sunday(chr::October);
  return summer ? utc + chr::hours(1) : utc;
}

Date Clock::Today() const {
  auto days = chr::floor<chr::days>(UkCivil(Now())).time_since_epoch().count();
  return Date::FromDaysSinceEpoch(static_cast<int>(days));
}

Clock::TimePoint UkDayStart(Date day) {
  const Clock::TimePoint midnight = chr::sys_days(chr::days(day.days_since_epoch()));
  // BST starts and ends at 01:00 UTC, so at 23:00 UTC the day before the offset is settled.
  const Clock::TimePoint bst_start = midnight - chr::hours(1);
  return UkCivil(bst_start) != bst_start ? bst_start : midnight;
}

std::string Clock::NowRfc3339() const { return FormatInstant(Now()); }

std::string FormatInstant(Clock::TimePoint t) {
  auto now = chr::floor<chr::seconds>(t);
  auto day = chr::floor<chr::days>(now);
  chr::hh_mm_ss hms(now - day);
  char buf[32];
  std::snprintf(
      buf, sizeof buf, "%sT%02d:%02d:%02dZ",
      Date::FromDaysSinceEpoch(static_cast<int>(day.time_since_epoch().count())).ToString().c_str(),
      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()));
  return buf;
}

ShiftedClock::ShiftedClock(TimePoint start, double rate, std::optional<TimePoint> since)
    : start_(start), since_(since), real_start_(chr::steady_clock::now()), rate_(rate) {}

Clock::TimePoint ShiftedClock::Now() const {
  // Without `since`, the steady clock: a change of the system's time does not move this one.
  const auto real =
      since_ ? chr::duration_cast<chr::steady_clock::duration>(chr::system_clock::now() - *since_)
             : chr::steady_clock::now() - real_start_;
  // In seconds as a double, held between 1970 and kLatest: a fast clock run long enough (a
  // `since` months old at an hour a second) would overflow system_clock's nanoseconds.
  const double offset = chr::duration<double>(real).count() * rate_;
  const double latest = chr::duration<double>(kLatest - start_).count();
  const double earliest = -chr::duration<double>(start_.time_since_epoch()).count();
  return start_ + chr::duration_cast<chr::system_clock::duration>(
                      chr::duration<double>(std::clamp(offset, earliest, latest)));
}

std::optional<Clock::TimePoint> ParseInstant(std::string_view text) {
  auto date = Date::Parse(text.substr(0, 10));
  // system_clock counts nanoseconds from 1970 in 64 bits: it cannot hold dates past 2262.
  if (!date || date->year() < 1970 || date->year() > 2200) return std::nullopt;
  auto midnight = chr::sys_days(chr::days(date->days_since_epoch()));
  if (text.size() == 10) return midnight;
  int h, m, s;
  char tail;
  if (text.size() != 20 || text[10] != 'T' ||
      std::sscanf(std::string(text.substr(11)).c_str(), "%2d:%2d:%2d%c", &h, &m, &s, &tail) != 4 ||
      tail != 'Z' || h > 23 || m > 59 || s > 59 || h < 0 || m < 0 || s < 0) {
    return std::nullopt;
  }
  return midnight + chr::hours(h) + chr::minutes(m) + chr::seconds(s);
}

}  // namespace rectrack
