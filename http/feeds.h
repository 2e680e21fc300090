// Feeds a person or a system can subscribe to, rendered from engine data:
// - Atom (RFC 4287): one entry per recommendation event and per alert, newest first, with
//   stable ids;
// - iCalendar (RFC 5545): open milestones, and open actions' due dates, as all-day events with a
//   reminder, stable UIDs.
// Pure functions: no I/O, no engine access, so they are easy to test against real parsers.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace rectrack::http {

struct AtomOptions {
  std::string feed_id;                 // stable URI naming this feed, e.g. "urn:rectrack:feed:CPS"
  std::string title;                   // "rectrack: CPS"
  std::string self_url;                // absolute or root-relative URL of the feed itself
  std::string base_url;                // prefix for entry links, e.g. "http://127.0.0.1:8080"
  std::string updated;                 // RFC 3339; used when there are no entries
  std::set<std::string> actions = {};  // ids among the alerts' subjects that are actions
};
// Events and alerts merged newest first. REQUIRES: entries newest first (Engine::Feed's order),
// alerts too (by seq, which follows the time raised).
std::string AtomFeed(const std::vector<FeedEntry>& entries, const AtomOptions& options,
                     const std::vector<storage::AlertRecord>& alerts = {});

// A milestone of a recommendation, or (action set) an action's due date.
struct CalendarItem {
  std::string recommendation;  // for an action, the recommendation it answers
  std::string label;           // milestone label; "due" for an action
  Date due;
  std::string inspection_title;
  std::vector<std::string> owners;
  std::string text;  // the recommendation's text, or the action's title
  bool overdue = false;
  std::string action{};  // the action's id; "" for a milestone
  std::string unit{};    // the action's owning unit, as named; "" for the body as a whole
};
struct CalendarOptions {
  std::string name;  // X-WR-CALNAME
  // UIDs are "<rec>.<label>@<uid_domain>" for milestones, "<action>.due@actions.<uid_domain>"
  // for actions: never the same.
  std::string uid_domain;
  std::string dtstamp;  // RFC 5545 UTC form: 20250331T090000Z
  std::string base_url;
  int reminder_days = 7;  // VALARM trigger before the due day
};
std::string ICalendar(const std::vector<CalendarItem>& items, const CalendarOptions& options);

}  // namespace rectrack::http
