#include "web/spoken.h"

#include <cstdint>
#include <optional>

#include "common/date.h"
#include "common/strings.h"
#include "engine/clock.h"

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

std::string_view Trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Day, month and year as typed: three parts between separators. False for more or fewer.
bool SplitDate(std::string_view text, std::string_view (&parts)[3]) {
  size_t count = 0;
  for (size_t i = 0; i < text.size();) {
    const auto separator = [](char c) { return c == '/' || c == '-' || c == '.' || c == ' '; };
    if (separator(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !separator(text[end])) ++end;
    if (count == 3) return false;
    parts[count++] = text.substr(i, end - i);
    i = end;
  }
  return count == 3;
}

}  // namespace

std::optional<Date> DateAsTyped(std::string_view text) {
  text = Trimmed(text);
  if (auto iso = Date::Parse(text)) return iso;
  std::string_view parts[3];
  if (!SplitDate(text, parts)) return std::nullopt;
  const std::optional<int64_t> day = ParseDigits(parts[0], 2);
  std::optional<int64_t> month = ParseDigits(parts[1], 2);
  if (!month) month = MonthFromName(parts[1]);
  const std::optional<int64_t> year =
      parts[2].size() == 4 ? ParseDigits(parts[2], 4) : std::nullopt;
  if (!day || !month || !year) return std::nullopt;
  return Date::FromYmd(static_cast<int>(*year), static_cast<unsigned>(*month),
                       static_cast<unsigned>(*day));
}

std::string TypedDateError(std::string_view text, const std::string& label,
                           const std::string& example) {
  if (Trimmed(text).empty() || DateAsTyped(text)) return "";
  std::string_view parts[3];
  // Day, month, then a short year: not ISO's year first ("2025-13-01", a month that is none).
  if (SplitDate(Trimmed(text), parts) && ParseDigits(parts[0], 2) &&
      (ParseDigits(parts[1], 2) || MonthFromName(parts[1])) && parts[2].size() < 4 &&
      ParseDigits(parts[2], 3)) {
    return "Year must include 4 numbers";
  }
  return label + " must be a real date, for example " + example;
}

std::string ImportErrorText(const std::string& message, const std::string& source) {
  // "SOURCE:LINE:COLUMN: what"
  const std::string prefix = source + ":";
  if (message.rfind(prefix, 0) != 0) return message;
  const size_t line_at = prefix.size();
  const size_t line_end = message.find(':', line_at);
  if (line_end == std::string::npos) return message;
  const size_t column_end = message.find(": ", line_end + 1);
  if (column_end == std::string::npos) return message;
  const std::string_view line = std::string_view(message).substr(line_at, line_end - line_at);
  const std::string_view column =
      std::string_view(message).substr(line_end + 1, column_end - line_end - 1);
  if (!ParseDigits(line, 9) || !ParseDigits(column, 9)) return message;
  return "Line " + std::string(line) + " of " + source + ": " + message.substr(column_end + 2);
}

std::string TypedDate(const Date& date) {
  return std::to_string(date.day()) + "/" + std::to_string(date.month()) + "/" +
         std::to_string(date.year());
}

namespace {

// "8am", "2:05pm", "midday", "midnight".
std::string ClockTime(int hour, int minute) {
  if (minute == 0 && (hour == 0 || hour == 12)) return hour == 0 ? "midnight" : "midday";
  std::string out = std::to_string(hour % 12 == 0 ? 12 : hour % 12);
  if (minute != 0) out += (minute < 10 ? ":0" : ":") + std::to_string(minute);
  return out + (hour < 12 ? "am" : "pm");
}

}  // namespace

std::string SpokenTime(std::string_view rfc3339) {
  namespace chr = std::chrono;
  // An instant, not a plain date (which ParseInstant reads as midnight UTC).
  const auto utc = rfc3339.size() > 10 ? ParseInstant(rfc3339) : std::nullopt;
  if (!utc) return std::string(rfc3339);
  const auto uk = chr::floor<chr::minutes>(UkCivil(*utc));
  const auto day = chr::floor<chr::days>(uk);
  const auto minutes = static_cast<int>((uk - day).count());
  return Date::FromDaysSinceEpoch(static_cast<int>(day.time_since_epoch().count())).LongString() +
         " at " + ClockTime(minutes / 60, minutes % 60);
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
