#include "http/feeds.h"
#include "common/strings.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace rectrack::http {
namespace {

// --- Text hygiene shared by both formats.

// Code points neither XML 1.0 nor RFC 5545 TEXT should carry: C0 controls other than tab and
// newline (CR is normalised away before this is asked), DEL, C1 controls, surrogates and the
// non-characters U+FFFE and U+FFFF.
bool Unwanted(char32_t c) {
  if (c == U'\t' || c == U'\n') return false;
  if (c < 0x20) return true;
  if (c >= 0x7F && c <= 0x9F) return true;
  if (c >= 0xD800 && c <= 0xDFFF) return true;
  return c == 0xFFFE || c == 0xFFFF || c > 0x10FFFF;
}

// Decodes the UTF-8 sequence starting at s[i]; returns its length, or 0 when it is not a valid,
// shortest-form sequence.
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* out) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char lead = b(0);
  size_t len;
  char32_t c;
  if (lead < 0x80) {
    *out = lead;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
    c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    c = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    c = lead & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b(k) & 0x3F);
  }
  if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF))) return 0;
  *out = c;
  return len;
}

// `s` as valid UTF-8 with line breaks normalised to "\n" (CRLF and lone CR alike), invalid bytes
// replaced by U+FFFD and unwanted code points dropped.
std::string Clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\r') {
      out += '\n';
      i += (i + 1 < s.size() && s[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    char32_t c = 0;
    const size_t len = DecodeUtf8(s, i, &c);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (!Unwanted(c)) out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

// Clean() on one line: line breaks and tabs become spaces.
std::string CleanLine(std::string_view s) {
  std::string out = Clean(s);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\t', ' ');
  return out;
}

// One path segment of a URL: everything but RFC 3986 unreserved characters percent-encoded, so
// a valid id ([A-Za-z0-9._-]) passes through unchanged.
std::string PathSegment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// An item's page in the web workspace (what a person who clicks is sent to: the API answers a
// browser without a token 401), and its resource in the API (for programs).
std::string PageUrl(const std::string& base_url, bool action, const std::string& id) {
  return base_url + (action ? "/actions/" : "/recommendations/") + PathSegment(id);
}

std::string ApiUrl(const std::string& base_url, bool action, const std::string& id) {
  return base_url + (action ? "/api/v1/actions/" : "/api/v1/recommendations/") + PathSegment(id);
}

// --- Atom.

std::string Xml(std::string_view s) {
  std::string out;
  for (char c : Clean(s)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// An entry's links: the page as the alternate (readers open it), the API resource as related.
std::string AtomLinks(const std::string& base_url, bool action, const std::string& id) {
  return "    <link rel=\"alternate\" type=\"text/html\" href=\"" +
         Xml(PageUrl(base_url, action, id)) + "\"/>\n" +
         "    <link rel=\"related\" type=\"application/json\" href=\"" +
         Xml(ApiUrl(base_url, action, id)) + "\"/>\n";
}

// Who spoke: the inspectorate, or the body the actor acted for.
std::string Speaker(const TimelineEntry& e) {
  if (e.voice == "inspectorate") return "the inspectorate";
  if (!e.body.empty()) return e.body + (e.unit.empty() ? "" : "/" + e.unit);
  if (e.voice == "body") return "the body";
  return e.actor.empty() ? "rectrack" : e.actor;
}

// "issued -> closed"; "-> issued" for the creating event; "issued" when the state stays.
std::string StateChange(const TimelineEntry& e) {
  if (e.from_state.empty()) return "-> " + e.to_state;
  if (e.from_state == e.to_state) return e.to_state;
  return e.from_state + " -> " + e.to_state;
}

std::string EntryTitle(const FeedEntry& f) {
  const std::string what =
      f.action.empty() ? f.recommendation : "action " + f.action + " of " + f.recommendation;
  return what + ": " + f.event.transition + " (" + StateChange(f.event) + ") by " +
         Speaker(f.event);
}

std::string EntrySummary(const FeedEntry& f) {
  const TimelineEntry& e = f.event;
  std::string out = "Effective: " + e.effective.ToString() + "\nState: " + StateChange(e);
  if (!e.fields.empty()) {
    std::vector<std::string> parts;
    for (const auto& [name, values] : e.fields) parts.push_back(name + "=" + Join(values, ","));
    out += "\nFields: " + Join(parts, "; ");
  }
  if (!e.note.empty()) out += "\nNote: " + e.note;
  return out;
}

// An RFC 3339 instant for the event: when it was recorded, or the start of its effective day.
std::string EntryUpdated(const TimelineEntry& e) {
  return e.recorded.empty() ? e.effective.ToString() + "T00:00:00Z" : e.recorded;
}

// --- iCalendar.

constexpr size_t kMaxLineOctets = 75;

// RFC 5545 TEXT: backslash, semicolon and comma escaped, line breaks as "\n".
std::string IcsText(std::string_view s) {
  std::string out;
  for (char c : Clean(s)) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case ';':
        out += "\\;";
        break;
      case ',':
        out += "\\,";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Appends one content line, folded so no physical line exceeds 75 octets (the leading space of a
// continuation counts), never inside a UTF-8 sequence, each ended by CRLF.
void AppendFolded(std::string& out, std::string_view line) {
  size_t pos = 0;
  bool first = true;
  do {
    const size_t room = first ? kMaxLineOctets : kMaxLineOctets - 1;
    size_t len = std::min(room, line.size() - pos);
    // Back off to the start of a UTF-8 sequence (at most 4 octets long, so one lies within the
    // room of valid text).
    while (pos + len < line.size() && len > 0 &&
           (static_cast<unsigned char>(line[pos + len]) & 0xC0) == 0x80) {
      --len;
    }
    if (len == 0) len = std::min(room, line.size() - pos);  // not UTF-8: cut anywhere
    if (!first) out += ' ';
    out.append(line.substr(pos, len));
    out += "\r\n";
    pos += len;
    first = false;
  } while (pos < line.size());
}

std::string IcsDate(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", d.year(), d.month(), d.day());
  return buf;
}

std::string EventDescription(const CalendarItem& item) {
  std::vector<std::string> parts;
  if (!item.action.empty()) {
    parts.push_back("Action " + item.action + " under recommendation " + item.recommendation);
    if (!item.unit.empty()) parts.push_back("Unit: " + item.unit);
  }
  if (!item.inspection_title.empty()) parts.push_back("Inspection: " + item.inspection_title);
  if (!item.owners.empty()) parts.push_back("Owners: " + Join(item.owners, ", "));
  if (!item.text.empty()) parts.push_back(item.text);
  return Join(parts, "\n");
}

}  // namespace

std::string AtomFeed(const std::vector<FeedEntry>& entries, const AtomOptions& options,
                     const std::vector<storage::AlertRecord>& alerts) {
  // RFC 3339 UTC instants in one format compare as strings.
  std::string updated;
  for (const FeedEntry& f : entries) updated = std::max(updated, EntryUpdated(f.event));
  for (const auto& a : alerts) updated = std::max(updated, a.raised);
  if (updated.empty()) updated = options.updated;
  if (updated.empty()) updated = "1970-01-01T00:00:00Z";

  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  out += "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  out += "  <id>" + Xml(options.feed_id) + "</id>\n";
  out += "  <title type=\"text\">" + Xml(options.title) + "</title>\n";
  out += "  <updated>" + Xml(updated) + "</updated>\n";
  out += "  <link rel=\"self\" type=\"application/atom+xml\" href=\"" + Xml(options.self_url) +
         "\"/>\n";
  out += "  <author><name>rectrack</name></author>\n";
  out += "  <generator>rectrack</generator>\n";
  auto event_entry = [&](const FeedEntry& f) {
    const TimelineEntry& e = f.event;
    const std::string when = Xml(EntryUpdated(e));
    out += "  <entry>\n";
    out += "    <id>urn:rectrack:event:" + std::to_string(e.seq) + "</id>\n";
    out += "    <title type=\"text\">" + Xml(EntryTitle(f)) + "</title>\n";
    out += "    <updated>" + when + "</updated>\n";
    out += "    <published>" + when + "</published>\n";
    out += f.action.empty() ? AtomLinks(options.base_url, false, f.recommendation)
                            : AtomLinks(options.base_url, true, f.action);
    out += "    <category term=\"" +
           Xml(f.action.empty() ? e.transition : "action:" + e.transition) + "\"/>\n";
    out += "    <summary type=\"text\">" + Xml(EntrySummary(f)) + "</summary>\n";
    out += "    <content type=\"text\">" + Xml(f.text) + "</content>\n";
    out += "  </entry>\n";
  };
  auto alert_entry = [&](const storage::AlertRecord& a) {
    const std::string what = a.recommendation + (a.milestone.empty() ? "" : " " + a.milestone);
    std::string owners;
    for (const auto& o : a.owners) owners += (owners.empty() ? "" : ", ") + o;
    out += "  <entry>\n";
    out += "    <id>urn:rectrack:alert:" + Xml(a.id) + "</id>\n";
    out += "    <title type=\"text\">" + Xml("Alert " + a.kind + ": " + what) + "</title>\n";
    out += "    <updated>" + Xml(a.raised) + "</updated>\n";
    out += "    <published>" + Xml(a.raised) + "</published>\n";
    out +=
        AtomLinks(options.base_url, options.actions.count(a.recommendation) > 0, a.recommendation);
    out += "    <category term=\"alert:" + Xml(a.kind) + "\"/>\n";
    const std::string summary = a.kind + " alert for " + what + " (" + owners + "), due " + a.due +
                                (a.late ? "; raised late, after the day it fell due" : "");
    out += "    <summary type=\"text\">" + Xml(summary) + "</summary>\n";
    out += "    <content type=\"text\">" +
           Xml(summary + ". Alert " + a.id + ", raised " + a.raised) + "</content>\n";
    out += "  </entry>\n";
  };
  // Merge by time, newest first; an event and an alert at the same instant: the alert first.
  size_t i = 0, j = 0;
  while (i < entries.size() || j < alerts.size()) {
    if (j < alerts.size() &&
        (i == entries.size() || alerts[j].raised >= EntryUpdated(entries[i].event))) {
      alert_entry(alerts[j++]);
    } else {
      event_entry(entries[i++]);
    }
  }
  out += "</feed>\n";
  return out;
}

std::string ICalendar(const std::vector<CalendarItem>& items, const CalendarOptions& options) {
  const std::string dtstamp =
      options.dtstamp.empty() ? "19700101T000000Z" : CleanLine(options.dtstamp);
  const int reminder_days = std::max(options.reminder_days, 0);
  std::string out;
  const auto line = [&out](std::string_view l) { AppendFolded(out, l); };
  line("BEGIN:VCALENDAR");
  line("VERSION:2.0");
  line("PRODID:-//rectrack//rectrack//EN");
  line("CALSCALE:GREGORIAN");
  line("METHOD:PUBLISH");
  line("X-WR-CALNAME:" + IcsText(options.name));
  for (const CalendarItem& item : items) {
    // "da23-r2 due", or "iqa25-r1 designed due" when a milestone has a name of its own; "action
    // sw22-i1-a2 due" for an action.
    const bool action = !item.action.empty();
    const std::string what =
        action ? "action " + item.action + " due"
               : item.recommendation + (item.label == "due" ? "" : " " + item.label) + " due";
    const std::string uid = action
                                ? item.action + ".due@actions." + options.uid_domain
                                : item.recommendation + "." + item.label + "@" + options.uid_domain;
    line("BEGIN:VEVENT");
    line("UID:" + IcsText(uid));
    line("DTSTAMP:" + dtstamp);
    line("DTSTART;VALUE=DATE:" + IcsDate(item.due));
    // An all-day event ends the next day; without DTEND it lasts that one day (RFC 5545
    // 3.6.1), which is how a deadline on 31 December 9999 says it: its next day's year has
    // five digits, which iCalendar's dates cannot write.
    if (const Date end = item.due.AddDays(1); end.year() <= Date::kMaxYear) {
      line("DTEND;VALUE=DATE:" + IcsDate(end));
    }
    line("SUMMARY:" + IcsText((item.overdue ? "OVERDUE: " : "") + what));
    line("DESCRIPTION:" + IcsText(EventDescription(item)));
    line("URL:" + CleanLine(item.action.empty()
                                ? PageUrl(options.base_url, false, item.recommendation)
                                : PageUrl(options.base_url, true, item.action)));
    line("TRANSP:TRANSPARENT");
    line("BEGIN:VALARM");
    line("ACTION:DISPLAY");
    line("DESCRIPTION:" + IcsText(what + " on " + item.due.ToString()));
    line("TRIGGER:-P" + std::to_string(reminder_days) + "D");
    line("END:VALARM");
    line("END:VEVENT");
  }
  line("END:VCALENDAR");
  return out;
}

}  // namespace rectrack::http
