#include "web/spoken.h"

#include <cstdint>
#include <optional>

#include "common/date.h"

namespace rectrack::web {

std::string LongDate(std::string_view iso) {
  const std::optional<Date> date = Date::Parse(iso);
  return date ? date->LongString() : std::string(iso);
}

std::string ShortDate(std::string_view iso) {
  const std::optional<Date> date = Date::Parse(iso);
  return date ? date->ShortString() : std::string(iso);
}

namespace {

// The last Sunday of `month` in `year` (1970-01-01 was a Thursday).
Date LastSunday(int year, unsigned month) {
  const Date last = Date::LastDayOfMonth(year, month);
  const int weekday = ((last.days_since_epoch() + 4) % 7 + 7) % 7;  // 0: Sunday
  return last.AddDays(-weekday);
}

// "8am", "2:05pm", "midday", "midnight".
std::string ClockTime(int hour, int minute) {
  if (minute == 0 && (hour == 0 || hour == 12)) return hour == 0 ? "midnight" : "midday";
  std::string out = std::to_string(hour % 12 == 0 ? 12 : hour % 12);
  if (minute != 0) out += (minute < 10 ? ":0" : ":") + std::to_string(minute);
  return out + (hour < 12 ? "am" : "pm");
}

}  // namespace

std::string SpokenTime(std::string_view rfc3339) {
  // "YYYY-MM-DDTHH:MM", then seconds and a zone this reads as UTC ("Z" is all rectrack writes).
  const std::optional<Date> date =
      rfc3339.size() >= 17 ? Date::Parse(rfc3339.substr(0, 10)) : std::nullopt;
  auto digits = [&](size_t at) {
    const char a = rfc3339[at], b = rfc3339[at + 1];
    return a >= '0' && a <= '9' && b >= '0' && b <= '9' ? (a - '0') * 10 + (b - '0') : -1;
  };
  if (!date || rfc3339[10] != 'T' || rfc3339[13] != ':' || rfc3339.back() != 'Z') {
    return std::string(rfc3339);
  }
  const int hour = digits(11), minute = digits(14);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return std::string(rfc3339);
  // Summer time moves the clock an hour on, and past midnight into the next day.
  constexpr int kDay = 24 * 60;
  const int64_t at = int64_t{date->days_since_epoch()} * kDay + hour * 60 + minute;
  const int64_t summer_from = int64_t{LastSunday(date->year(), 3).days_since_epoch()} * kDay + 60;
  const int64_t summer_to = int64_t{LastSunday(date->year(), 10).days_since_epoch()} * kDay + 60;
  int minutes = hour * 60 + minute + (at >= summer_from && at < summer_to ? 60 : 0);
  Date day = *date;
  if (minutes >= kDay) day = day.AddDays(1), minutes -= kDay;
  return day.LongString() + " at " + ClockTime(minutes / 60, minutes % 60);
}

std::string SpokenActor(const std::string& actor) {
  auto after = [&](std::string_view prefix) {
    return actor.size() > prefix.size() && actor.compare(0, prefix.size(), prefix) == 0
               ? actor.substr(prefix.size())
               : "";
  };
  if (std::string account = after("account:"); !account.empty()) return account;
  if (std::string token = after("token:"); !token.empty()) return "API token " + token;
  if (std::string user = after("cli:"); !user.empty()) return user + ", on the command line";
  return actor;
}

}  // namespace rectrack::web
