// Dates, times and the log's names for people as the workspace's pages write them, after the
// GOV.UK style guide: what a page shows, never what it stores or sends to machines (a CSV, a
// <time datetime> attribute and the API keep ISO 8601 and the log's own names).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/date.h"

namespace rectrack::web {

// A date as GOV.UK writes it, "3 December 2025"; in a table, where room is short, "3 Dec 2025".
// Given as an ISO date ("2025-12-03"), one that does not parse is shown as it is; "" stays "".
std::string LongDate(std::string_view iso);
std::string ShortDate(std::string_view iso);
// A date as a person types it into a one-field date (a filter's "as at", a report's
// publication date): "31/3/2025" as the hints show it, "31 3 2025", "31-3-2025", "31.3.2025",
// "31 March 2025", "31 Mar 2025", or ISO "2025-03-31" (as links and the address bar carry it).
// Nullopt for anything else, a two-digit year included (which century is a guess).
std::optional<Date> DateAsTyped(std::string_view text);
// What such an input says of `text`, in GOV.UK's words: "" when DateAsTyped reads it or nothing
// was typed; "Year must include 4 numbers" for a day and month with a year of 1 to 3 numbers
// ("1/3/25"); else "`label` must be a real date, for example `example`".
std::string TypedDateError(std::string_view text, const std::string& label,
                           const std::string& example);
// An import's error as a page says it: the position the engine gives as a compiler would
// ("the pasted text:2:38: ...") as "Line 2 of the pasted text: ..."; any other message as it is.
std::string ImportErrorText(const std::string& message, const std::string& source);
// A date as those inputs show it: "31/3/2025".
std::string TypedDate(const Date& date);

// A moment the log or the server recorded (RFC 3339 in UTC, "2025-06-03T13:05:00Z") in UK time as
// GOV.UK writes it: "3 June 2025 at 2:05pm", "1 December 2025 at 8am", "midday", "midnight".
// British Summer Time as engine/clock.h's UkCivil keeps it. A string that does not parse (as
// engine/clock.h's ParseInstant reads an instant, to the second) is shown as it is.
std::string SpokenTime(std::string_view rfc3339);
// Who recorded an event, as the log names them (engine/access.h's ActorOf, the command line's
// "cli:" user), as people read it: "lead@cps.example", "API token 3f2a", "root, on the command
// line". Any other name is shown as it is.
std::string SpokenActor(const std::string& actor);

}  // namespace rectrack::web
