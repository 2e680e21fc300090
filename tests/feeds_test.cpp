// The Atom and iCalendar feeds, rendered from hand-built entries full of awkward text (markup,
// quotes, commas, semicolons, line breaks, a control character, long multi-byte UTF-8) and checked
// twice: here, byte by byte, and by real parsers (feedparser, icalendar) through
// tests/feeds_check.py.
#include "http/feeds.h"
#include "tests/test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "http/api.h"

namespace rectrack::http {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kSource = RECTRACK_SOURCE_DIR;
const std::string kChecker = kSource + "/tests/feeds_check.py";
const std::string kBase = "http://127.0.0.1:8080";

Date D(const char* iso) { return *Date::Parse(iso); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Over 200 characters, with two- and three-octet UTF-8 ("é", "—") and everything XML and RFC 5545
// escape, plus a control character (\x01) that neither format may carry.
const std::string kLongText =
    "By July 2023, the CPS should ensure that all communications with victims of domestic "
    "abuse — letters, calls & texts — are marked \"STL\" <urgent>; the café's review, "
    "led by the Chief Crown Prosecutor, should report quarterly\nto the board\x01 — and "
    "publish its findings: é, É, ü, “quotes”, 'apostrophes' & more; end.";
// kLongText as a parser reads it back: the control character gone.
const std::string kLongTextClean =
    "By July 2023, the CPS should ensure that all communications with victims of domestic "
    "abuse — letters, calls & texts — are marked \"STL\" <urgent>; the café's review, "
    "led by the Chief Crown Prosecutor, should report quarterly\nto the board — and "
    "publish its findings: é, É, ü, “quotes”, 'apostrophes' & more; end.";

TimelineEntry Event(int64_t seq, const char* effective, const char* recorded,
                    const char* transition, const char* voice, const char* body, const char* from,
                    const char* to) {
  TimelineEntry e;
  e.seq = seq;
  e.effective = D(effective);
  e.recorded = recorded;
  e.transition = transition;
  e.voice = voice;
  e.actor = "import";
  e.role = std::string(voice) == "body" ? "body_lead" : "inspectorate";
  e.body = body;
  e.from_state = from;
  e.to_state = to;
  return e;
}

FeedEntry Entry(TimelineEntry event) {
  return FeedEntry{"da23-r2",       "da23",    "Domestic abuse: victims & <witnesses>",
                   {"CPS", "NPCC"}, kLongText, std::move(event)};
}

// Newest first, as Engine::Feed returns them: the inspectorate reopens what the body closed.
std::vector<FeedEntry> Entries() {
  TimelineEntry assess = Event(43, "2025-03-06", "2025-03-07T09:00:00Z", "assess", "inspectorate",
                               "", "closed", "reopened");
  assess.fields = {{"outcome", {"not_achieved"}}, {"in", {"da25"}}};
  assess.note = "Not achieved, see the follow-up; 'Annex A' & \"table 2\"";
  TimelineEntry close = Event(42, "2024-08-15", "2024-08-16T10:11:12Z", "close", "body",
                              "A&B <Co> \"x\"", "issued", "closed");
  close.fields = {{"evidence", {"plan.pdf", "a&b <1>.pdf"}}};
  close.note = "Closed <b>early</b> & \"well\"\x01; next\nline";
  TimelineEntry issue =
      Event(1, "2023-03-01", "2025-01-01T00:00:00Z", "issue", "inspectorate", "", "", "issued");
  return {Entry(assess), Entry(close), Entry(issue)};
}

AtomOptions Atom() {
  return {"urn:rectrack:feed:CPS", "rectrack: CPS & <friends>", "/api/v1/feed.atom?body=CPS&x=1",
          kBase, "2025-01-01T00:00:00Z"};
}

std::vector<CalendarItem> Items() {
  return {
      {"da23-r2", "implemented", D("2023-07-31"), "Domestic abuse, victims; <witnesses>",
       std::vector<std::string>{"CPS", "NPCC"}, kLongText, true},
      {"da23-r2", "embedded", D("2024-03-31"), "Domestic abuse", std::vector<std::string>{"CPS"},
       "Short, with a \\ backslash; and \"quotes\"\r\nand a CRLF", false},
      {"sfo24-r1", "report", D("2025-12-31"), "", std::vector<std::string>{}, "", false},
  };
}

CalendarOptions Calendar() {
  return {"rectrack: CPS, deadlines; all", "rectrack.example", "20250331T090000Z", kBase, 7};
}

// --- Running the checker.

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "feeds_test.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::string path_;
};

// A Python 3 that has feedparser and icalendar: the one on PATH, or Debian's own when PATH leads
// elsewhere first (pyenv, a virtualenv) and the packages from deploy/install-deps.sh live there.
// "" when there is none.
const std::string& CheckerPython() {
  static const std::string python = [] {
    for (const char* candidate : {"python3", "/usr/bin/python3"}) {
      const std::string probe =
          std::string(candidate) + " -c 'import feedparser, icalendar' >/dev/null 2>&1";
      if (std::system(probe.c_str()) == 0) return std::string(candidate);
    }
    return std::string();
  }();
  return python;
}

// Why the checker cannot run here, or "" when it can.
std::string CheckerUnavailable() {
  if (!CheckerPython().empty()) return "";
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) return "python3 is not installed";
  return "no python3 with the feedparser and icalendar modules (deploy/install-deps.sh installs "
         "python3-feedparser and python3-icalendar)";
}

#define SKIP_WITHOUT_CHECKER() RECTRACK_SKIP_IF_MISSING(CheckerUnavailable())

struct CheckRun {
  int exit_code = -1;
  std::string output;
};

// Writes `document` (and `expect`, when not null) to files and runs feeds_check.py on them.
CheckRun Check(const std::string& kind, const std::string& document, size_t count,
               const json::value& expect = nullptr) {
  TempDir dir;
  std::string command = CheckerPython() + " '" + kChecker + "' " + kind + " '" +
                        dir.Write("feed." + kind, document) + "' " + std::to_string(count);
  if (!expect.is_null()) command += " '" + dir.Write("expect.json", json::serialize(expect)) + "'";
  CheckRun run;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) run.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// --- iCalendar helpers.

std::vector<std::string> PhysicalLines(const std::string& ics) {
  std::vector<std::string> lines;
  size_t pos = 0;
  for (size_t end; (end = ics.find("\r\n", pos)) != std::string::npos; pos = end + 2) {
    lines.push_back(ics.substr(pos, end - pos));
  }
  EXPECT_EQ(pos, ics.size()) << "text after the last CRLF";
  return lines;
}

std::vector<std::string> LogicalLines(const std::string& ics) {
  std::vector<std::string> lines;
  for (const std::string& physical : PhysicalLines(ics)) {
    if (!physical.empty() && physical[0] == ' ') {
      EXPECT_FALSE(lines.empty());
      if (!lines.empty()) lines.back() += physical.substr(1);
    } else {
      lines.push_back(physical);
    }
  }
  return lines;
}

std::vector<std::string> WithPrefix(const std::vector<std::string>& lines,
                                    const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& l : lines) {
    if (l.rfind(prefix, 0) == 0) out.push_back(l.substr(prefix.size()));
  }
  return out;
}

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// RFC 5545 TEXT escaping, written out independently of feeds.cpp.
std::string Escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == ';' || c == ',') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> Matches(const std::string& text, const std::string& pattern) {
  std::vector<std::string> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// --- Atom.

TEST(AtomFeedTest, FeedparserReadsEveryEntryAndTheAwkwardTextRoundTrips) {
  SKIP_WITHOUT_CHECKER();
  const std::string atom = AtomFeed(Entries(), Atom());
  // A person clicking opens the page; a program finds the API resource as the related link.
  const std::string link = kBase + "/recommendations/da23-r2";
  const std::string api = kBase + "/api/v1/recommendations/da23-r2";
  json::array expect = {
      {{"id", "urn:rectrack:event:43"},
       {"title", "da23-r2: assess (closed -> reopened) by the inspectorate"},
       {"link", link},
       {"api_link", api},
       {"category", "assess"},
       {"content", kLongTextClean},
       {"summary_contains", json::array{"Effective: 2025-03-06", "State: closed -> reopened",
                                        "Fields: in=da25; outcome=not_achieved",
                                        "Note: Not achieved, see the follow-up; 'Annex A' & "
                                        "\"table 2\""}}},
      {{"id", "urn:rectrack:event:42"},
       {"title", "da23-r2: close (issued -> closed) by A&B <Co> \"x\""},
       {"link", link},
       {"category", "close"},
       {"content", kLongTextClean},
       {"summary_contains", json::array{"Effective: 2024-08-15", "State: issued -> closed",
                                        "Fields: evidence=plan.pdf,a&b <1>.pdf",
                                        "Note: Closed <b>early</b> & \"well\"; next\nline"}}},
      {{"id", "urn:rectrack:event:1"},
       {"title", "da23-r2: issue (-> issued) by the inspectorate"},
       {"category", "issue"},
       {"summary_contains", json::array{"Effective: 2023-03-01", "State: -> issued"}}},
  };
  const CheckRun run = Check("atom", atom, 3, expect);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << atom;
}

TEST(AtomFeedTest, AnActionsEventNamesTheActionAndLinksToIt) {
  SKIP_WITHOUT_CHECKER();
  TimelineEntry close = Event(50, "2023-02-10", "2023-02-10T09:00:00Z", "close", "body", "CPS",
                              "in_progress", "done");
  close.unit = "cps-sw-rasso";
  FeedEntry action{"sw22-i2", "asi22-sw",   "Area inspection", {"CPS"}, "Disclosure workshops",
                   close,     "sw22-i2-a2", "cps-sw-rasso"};
  const std::string atom = AtomFeed({action}, Atom());
  json::array expect = {
      {{"id", "urn:rectrack:event:50"},
       {"title", "action sw22-i2-a2 of sw22-i2: close (in_progress -> done) by CPS/cps-sw-rasso"},
       {"link", kBase + "/actions/sw22-i2-a2"},
       {"api_link", kBase + "/api/v1/actions/sw22-i2-a2"},
       {"category", "action:close"},
       {"content", "Disclosure workshops"}},
  };
  const CheckRun run = Check("atom", atom, 1, expect);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << atom;
}

TEST(AtomFeedTest, EscapesMarkupAndStripsControlCharacters) {
  const std::string atom = AtomFeed(Entries(), Atom());
  EXPECT_EQ(atom.rfind("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n", 0), 0u);
  EXPECT_TRUE(Contains(atom, "<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
  EXPECT_TRUE(Contains(atom, "<id>urn:rectrack:feed:CPS</id>"));
  EXPECT_TRUE(Contains(atom, "<title type=\"text\">rectrack: CPS &amp; &lt;friends&gt;</title>"));
  EXPECT_TRUE(Contains(atom, "href=\"/api/v1/feed.atom?body=CPS&amp;x=1\""));
  EXPECT_TRUE(Contains(atom, "<author><name>rectrack</name></author>"));
  EXPECT_TRUE(Contains(atom, "by A&amp;B &lt;Co&gt; &quot;x&quot;</title>"));
  EXPECT_TRUE(Contains(atom, "&apos;Annex A&apos;"));
  EXPECT_TRUE(Contains(atom, "Closed &lt;b&gt;early&lt;/b&gt;"));
  EXPECT_FALSE(Contains(atom, "<b>"));
  EXPECT_FALSE(Contains(atom, "<urgent>"));
  EXPECT_FALSE(Contains(atom, "\x01"));
  EXPECT_TRUE(Contains(atom, "café"));  // multi-byte UTF-8 passes through untouched
  EXPECT_TRUE(Contains(atom, "<category term=\"close\"/>"));
  EXPECT_TRUE(Contains(atom, "<updated>2024-08-16T10:11:12Z</updated>"));
  EXPECT_TRUE(Contains(atom, "<published>2024-08-16T10:11:12Z</published>"));
}

TEST(AtomFeedTest, FeedUpdatedIsTheNewestRecordedTime) {
  // The creating event (seq 1) was recorded by a late import: newest recorded, oldest seq.
  const std::string atom = AtomFeed(Entries(), Atom());
  const std::vector<std::string> updated = Matches(atom, "<updated>([^<]*)</updated>");
  ASSERT_EQ(updated.size(), 4u);
  EXPECT_EQ(updated[0], "2025-03-07T09:00:00Z");
}

TEST(AtomFeedTest, IdsAreStableAcrossRendersAndNewEvents) {
  const std::vector<FeedEntry> entries = Entries();
  const std::string first = AtomFeed(entries, Atom());
  EXPECT_EQ(AtomFeed(entries, Atom()), first);

  std::vector<FeedEntry> more = entries;
  more.insert(more.begin(), Entry(Event(50, "2025-04-01", "2025-04-02T00:00:00Z", "update", "body",
                                        "CPS", "reopened", "reopened")));
  const std::string second = AtomFeed(more, Atom());
  const std::string pattern = "<id>(urn:rectrack:event:[0-9]+)</id>";
  EXPECT_EQ(Matches(first, pattern),
            (std::vector<std::string>{"urn:rectrack:event:43", "urn:rectrack:event:42",
                                      "urn:rectrack:event:1"}));
  EXPECT_EQ(Matches(second, pattern),
            (std::vector<std::string>{"urn:rectrack:event:50", "urn:rectrack:event:43",
                                      "urn:rectrack:event:42", "urn:rectrack:event:1"}));
  EXPECT_TRUE(Contains(second, "da23-r2: update (reopened) by CPS"));
}

TEST(AtomFeedTest, EmptyFeedIsValidAndUsesTheGivenUpdated) {
  const std::string atom = AtomFeed({}, Atom());
  EXPECT_TRUE(Contains(atom, "<updated>2025-01-01T00:00:00Z</updated>"));
  EXPECT_FALSE(Contains(atom, "<entry>"));
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("atom", atom, 0);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << atom;
}

TEST(AtomFeedTest, InvalidUtf8AndForbiddenCodePointsStillParse) {
  std::vector<FeedEntry> entries = Entries();
  entries[0].text =
      "bad \xff\xfe byte, lone \xc3, surrogate \xed\xa0\x80, DEL \x7f, FFFE \xef\xbf\xbe";
  entries[0].event.note = std::string("nul \0 here", 10);
  const std::string atom = AtomFeed(entries, Atom());
  EXPECT_FALSE(Contains(atom, std::string(1, '\0')));
  EXPECT_FALSE(Contains(atom, "\x7f"));
  EXPECT_FALSE(Contains(atom, "\xef\xbf\xbe"));
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("atom", atom, 3);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << atom;
}

// --- iCalendar.

TEST(ICalendarTest, IcalendarReadsEveryEventAndTheAwkwardTextRoundTrips) {
  SKIP_WITHOUT_CHECKER();
  const std::string ics = ICalendar(Items(), Calendar());
  json::array expect = {
      {{"uid", "da23-r2.implemented@rectrack.example"},
       {"summary", "OVERDUE: da23-r2 implemented due"},
       {"dtstart", "2023-07-31"},
       {"url", kBase + "/recommendations/da23-r2"},
       {"trigger_days", 7},
       {"description_contains", json::array{"Inspection: Domestic abuse, victims; <witnesses>",
                                            "Owners: CPS, NPCC", kLongTextClean}}},
      {{"uid", "da23-r2.embedded@rectrack.example"},
       {"summary", "da23-r2 embedded due"},
       {"dtstart", "2024-03-31"},
       {"description_contains",
        json::array{"Owners: CPS", "Short, with a \\ backslash; and \"quotes\"\nand a CRLF"}}},
      {{"uid", "sfo24-r1.report@rectrack.example"},
       {"summary", "sfo24-r1 report due"},
       {"dtstart", "2025-12-31"},
       {"url", kBase + "/recommendations/sfo24-r1"}},
  };
  const CheckRun run = Check("ics", ics, 3, expect);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << ics;
}

// A deadline may be as late as rectrack reads dates (a body may reschedule to 31 December
// 9999): the calendar stays one every reader reads, four-digit years throughout.
TEST(ICalendarTest, ADeadlineOnTheLastDayThereIsStillMakesAValidCalendar) {
  std::vector<CalendarItem> items = Items();
  items.push_back(
      {"late-r1", "due", D("9999-12-31"), "", std::vector<std::string>{"CPS"}, "", false});
  const std::string ics = ICalendar(items, Calendar());
  const std::vector<std::string> lines = LogicalLines(ics);
  EXPECT_EQ(WithPrefix(lines, "DTSTART;VALUE=DATE:").back(), "99991231");
  EXPECT_EQ(WithPrefix(lines, "DTEND;VALUE=DATE:"),
            (std::vector<std::string>{"20230801", "20240401", "20260101"}));
  SKIP_WITHOUT_CHECKER();
  json::array expect = {
      {}, {}, {}, {{"uid", "late-r1.due@rectrack.example"}, {"dtstart", "9999-12-31"}}};
  const CheckRun run = Check("ics", ics, 4, expect);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << ics;
}

TEST(ICalendarTest, HasTheCalendarPropertiesAndOneCompleteEventPerItem) {
  const std::string ics = ICalendar(Items(), Calendar());
  const std::vector<std::string> lines = LogicalLines(ics);
  ASSERT_GE(lines.size(), 7u);
  EXPECT_EQ(lines[0], "BEGIN:VCALENDAR");
  EXPECT_EQ(lines[1], "VERSION:2.0");
  EXPECT_EQ(lines[2], "PRODID:-//rectrack//rectrack//EN");
  EXPECT_EQ(lines[3], "CALSCALE:GREGORIAN");
  EXPECT_EQ(lines[4], "METHOD:PUBLISH");
  EXPECT_EQ(lines[5], "X-WR-CALNAME:rectrack: CPS\\, deadlines\\; all");
  EXPECT_EQ(lines.back(), "END:VCALENDAR");
  EXPECT_EQ(WithPrefix(lines, "BEGIN:VEVENT").size(), 3u);
  EXPECT_EQ(WithPrefix(lines, "END:VEVENT").size(), 3u);
  EXPECT_EQ(WithPrefix(lines, "BEGIN:VALARM").size(), 3u);
  EXPECT_EQ(WithPrefix(lines, "TRANSP:").size(), 3u);
  EXPECT_EQ(WithPrefix(lines, "DTSTAMP:"), std::vector<std::string>(3, "20250331T090000Z"));
  EXPECT_EQ(WithPrefix(lines, "DTSTART;VALUE=DATE:"),
            (std::vector<std::string>{"20230731", "20240331", "20251231"}));
  EXPECT_EQ(WithPrefix(lines, "DTEND;VALUE=DATE:"),
            (std::vector<std::string>{"20230801", "20240401", "20260101"}));
  EXPECT_EQ(WithPrefix(lines, "SUMMARY:"),
            (std::vector<std::string>{"OVERDUE: da23-r2 implemented due", "da23-r2 embedded due",
                                      "sfo24-r1 report due"}));
  EXPECT_EQ(WithPrefix(lines, "TRIGGER:"), std::vector<std::string>(3, "-P7D"));
  EXPECT_EQ(WithPrefix(lines, "ACTION:"), std::vector<std::string>(3, "DISPLAY"));

  CalendarOptions options = Calendar();
  options.reminder_days = 3;
  EXPECT_EQ(WithPrefix(LogicalLines(ICalendar(Items(), options)), "TRIGGER:"),
            std::vector<std::string>(3, "-P3D"));
}

TEST(ICalendarTest, EscapesTextValues) {
  const std::vector<std::string> descriptions =
      WithPrefix(LogicalLines(ICalendar(Items(), Calendar())), "DESCRIPTION:");
  ASSERT_EQ(descriptions.size(), 6u);  // the event's and its alarm's, for each item
  EXPECT_EQ(descriptions[0], Escaped("Inspection: Domestic abuse, victims; <witnesses>\n"
                                     "Owners: CPS, NPCC\n" +
                                     kLongTextClean));
  EXPECT_EQ(descriptions[1], "da23-r2 implemented due on 2023-07-31");
  EXPECT_EQ(descriptions[2],
            "Inspection: Domestic abuse\\nOwners: CPS\\nShort\\, with a \\\\ backslash\\; and "
            "\"quotes\"\\nand a CRLF");
  EXPECT_EQ(descriptions[4], "");
}

TEST(ICalendarTest, FoldsAt75OctetsWithoutSplittingUtf8AndUnfoldsToTheOriginal) {
  // Every alignment of one-, two-, three- and four-octet characters against the fold points.
  std::vector<CalendarItem> items;
  for (int shift = 0; shift < 8; ++shift) {
    std::string text(shift, 'x');
    for (int i = 0; i < 60; ++i) text += i % 3 == 0 ? "é" : i % 3 == 1 ? "—" : "😀,";
    items.push_back({"r" + std::to_string(shift), "m", D("2025-06-30"), "", {}, text, false});
  }
  items.push_back(Items()[0]);
  const std::string ics = ICalendar(items, Calendar());

  int folded = 0;
  for (const std::string& line : PhysicalLines(ics)) {
    EXPECT_LE(line.size(), 75u) << line;
    EXPECT_FALSE(Contains(line, "\n")) << line;
    EXPECT_FALSE(Contains(line, "\r")) << line;
    if (!line.empty() && line[0] == ' ') {
      ++folded;
      ASSERT_GT(line.size(), 1u);
      EXPECT_FALSE(IsContinuation(line[1])) << "a fold splits a UTF-8 sequence: " << line;
    }
    // Nor does a line end inside a sequence: its last lead byte has all its continuations.
    size_t lead = line.size();
    while (lead > 0 && IsContinuation(line[lead - 1])) --lead;
    if (lead > 0) {
      const unsigned char c = static_cast<unsigned char>(line[lead - 1]);
      const size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      EXPECT_EQ(line.size() - (lead - 1), want) << "line ends inside a sequence: " << line;
    }
  }
  EXPECT_GT(folded, 20);

  const std::vector<std::string> descriptions = WithPrefix(LogicalLines(ics), "DESCRIPTION:");
  ASSERT_EQ(descriptions.size(), 2 * items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string want;
    if (!items[i].inspection_title.empty()) want += "Inspection: " + items[i].inspection_title;
    if (!items[i].owners.empty()) want += "\nOwners: CPS, NPCC";
    want += (want.empty() ? "" : "\n") + (i + 1 == items.size() ? kLongTextClean : items[i].text);
    EXPECT_EQ(descriptions[2 * i], Escaped(want)) << i;
  }
}

TEST(ICalendarTest, UidsAreStableAcrossRendersAndOrder) {
  const std::vector<CalendarItem> items = Items();
  const std::string first = ICalendar(items, Calendar());
  EXPECT_EQ(ICalendar(items, Calendar()), first);
  const std::vector<std::string> uids = WithPrefix(LogicalLines(first), "UID:");
  EXPECT_EQ(uids, (std::vector<std::string>{"da23-r2.implemented@rectrack.example",
                                            "da23-r2.embedded@rectrack.example",
                                            "sfo24-r1.report@rectrack.example"}));
  EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()).size(), uids.size());

  // Another day: the milestone is met, so it drops out, and the other is no longer overdue.
  std::vector<CalendarItem> later = {items[2], items[0]};
  later[1].overdue = false;
  CalendarOptions options = Calendar();
  options.dtstamp = "20250401T090000Z";
  EXPECT_EQ(WithPrefix(LogicalLines(ICalendar(later, options)), "UID:"),
            (std::vector<std::string>{uids[2], uids[0]}));
}

TEST(ICalendarTest, EmptyCalendarIsValid) {
  const std::string ics = ICalendar({}, Calendar());
  const std::vector<std::string> lines = LogicalLines(ics);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "BEGIN:VCALENDAR");
  EXPECT_EQ(lines.back(), "END:VCALENDAR");
  EXPECT_TRUE(WithPrefix(lines, "BEGIN:VEVENT").empty());
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("ics", ics, 0);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << ics;
}

TEST(ICalendarTest, ControlCharactersAndInvalidUtf8StillParse) {
  std::vector<CalendarItem> items = Items();
  items[1].text = "bad \xff byte, bell \x07, lone \xe2\x80, DEL \x7f, tab\tkept";
  const std::string ics = ICalendar(items, Calendar());
  EXPECT_FALSE(Contains(ics, "\x01"));
  EXPECT_FALSE(Contains(ics, "\x07"));
  EXPECT_FALSE(Contains(ics, "\x7f"));
  EXPECT_TRUE(Contains(ics, "tab\tkept"));
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("ics", ics, 3);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << ics;
}

// --- Actions in the calendar.

// Two open actions' due dates around a milestone of the same recommendation.
std::vector<CalendarItem> ActionItems() {
  std::vector<CalendarItem> items = {
      {"sw22-i1",
       "due",
       D("2023-03-31"),
       "Area inspection: CPS South West",
       {"CPS"},
       "Training and support for lawyers; case strategy, analysis",
       true},
      {"sw22-i1",
       "due",
       D("2023-03-31"),
       "Area inspection: CPS South West",
       {"CPS"},
       "The milestone itself",
       false},
      {"sw22-i3", "due", D("2023-12-31"), "", {"CPS"}, "Phase 3: piloting", false},
  };
  items[0].action = "sw22-i1-a2";
  items[0].unit = "CPS South West Crown Court unit (cps-sw-crown)";
  items[2].action = "sw22-i3-a3";  // owned by the body as a whole
  return items;
}

TEST(ICalendarTest, ActionsAreAllDayEventsWithTheirOwnUids) {
  const std::string ics = ICalendar(ActionItems(), Calendar());
  const std::vector<std::string> lines = LogicalLines(ics);
  EXPECT_EQ(WithPrefix(lines, "UID:"),
            (std::vector<std::string>{"sw22-i1-a2.due@actions.rectrack.example",
                                      "sw22-i1.due@rectrack.example",
                                      "sw22-i3-a3.due@actions.rectrack.example"}));
  EXPECT_EQ(WithPrefix(lines, "SUMMARY:"),
            (std::vector<std::string>{"OVERDUE: action sw22-i1-a2 due", "sw22-i1 due",
                                      "action sw22-i3-a3 due"}));
  EXPECT_EQ(WithPrefix(lines, "TRIGGER:"), std::vector<std::string>(3, "-P7D"));
  EXPECT_EQ(ICalendar(ActionItems(), Calendar()), ics) << "not stable";
  SKIP_WITHOUT_CHECKER();
  json::array expect = {
      {{"uid", "sw22-i1-a2.due@actions.rectrack.example"},
       {"summary", "OVERDUE: action sw22-i1-a2 due"},
       {"dtstart", "2023-03-31"},
       {"url", kBase + "/actions/sw22-i1-a2"},
       {"trigger_days", 7},
       {"description_contains",
        json::array{"Action sw22-i1-a2 under recommendation sw22-i1",
                    "Unit: CPS South West Crown Court unit (cps-sw-crown)",
                    "Training and support for lawyers; case strategy, analysis"}}},
      {{"uid", "sw22-i1.due@rectrack.example"}, {"summary", "sw22-i1 due"}},
      {{"uid", "sw22-i3-a3.due@actions.rectrack.example"},
       {"dtstart", "2023-12-31"},
       {"description_contains", json::array{"Action sw22-i3-a3 under recommendation sw22-i3"}}},
  };
  const CheckRun run = Check("ics", ics, 3, expect);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << ics;
}

// GET /calendar.ics through the Api (no sockets) over demo/cps-south-west.yaml on 30 June 2023,
// plus an SFO action, to see which actions each calendar holds.
class CalendarApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine =
        Engine::Open({":memory:", kSource + "/workflows/recommendation.yaml", &clock_, true, ""});
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    ASSERT_NE(engine_->action_workflow(), nullptr);
    auto demo = ParseImportFile(kSource + "/demo/cps-south-west.yaml", engine_->workflow(),
                                engine_->action_workflow());
    ASSERT_TRUE(demo.ok()) << demo.status().message();
    ASSERT_TRUE(engine_->Apply(*demo, "test").ok());
    auto sfo = ParseImport(R"(
bodies:
  - {id: SFO, name: Serious Fraud Office}
units:
  - {id: sfo-ops, body: SFO, name: SFO Operations}
inspections:
  - {id: sfo22, title: SFO case progression, published: 2022-09-01}
recommendations:
  - {id: sfo22-r1, inspection: sfo22, owners: [SFO], text: "By 31 December 2023, the SFO to act."}
actions:
  - {id: sfo22-r1-a1, rec: sfo22-r1, unit: sfo-ops, planned: 2022-10-01, by: SFO, due: 2023-08-31,
     title: A case progression panel}
)",
                           "sfo.yaml", engine_->workflow(), engine_->action_workflow());
    ASSERT_TRUE(sfo.ok()) << sfo.status().message();
    auto applied = engine_->Apply(*sfo, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
    for (auto [who, role, body] : {std::tuple{&reader_, "reader", ""},
                                   {&cps_, "body_lead", "CPS"},
                                   {&sfo_, "body_lead", "SFO"}}) {
      auto created = engine_->CreateToken(role, body, std::nullopt, role);
      ASSERT_TRUE(created.ok()) << created.status().message();
      *who = created->second;
    }
    host_ = std::make_unique<EngineHost>(engine_.get());
    api_ = std::make_unique<Api>(host_.get(), ApiOptions{});
  }

  Response Get(const std::string& target, const std::string& token) {
    Request req{"GET", target, {{"authorization", "Bearer " + token}}, "", "127.0.0.1"};
    return api_->Handle(req);
  }
  std::vector<std::string> Uids(const std::string& target, const std::string& token) {
    Response r = Get(target, token);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    if (r.status != 200) return {};
    std::vector<std::string> uids = WithPrefix(LogicalLines(r.body), "UID:");
    std::sort(uids.begin(), uids.end());
    return uids;
  }

  FixedClock clock_{"2023-06-30T10:00:00Z"};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<Api> api_;
  std::string reader_, cps_, sfo_;
};

using UidList = std::vector<std::string>;
std::string A(const char* id) { return std::string(id) + ".due@actions.rectrack"; }

TEST_F(CalendarApiTest, ABodysCalendarHasItsOpenDatedActions) {
  // Open with a due date: not the closed ones, not sw22-i2-a5 (no date); sw22-i2-a4 on its
  // rescheduled date; sw22-i3-a3 is the body's own. The recommendations have no milestones.
  const UidList cps = {A("sw22-i1-a2"), A("sw22-i1-a3"), A("sw22-i1-a4"),
                       A("sw22-i2-a3"), A("sw22-i2-a4"), A("sw22-i3-a3")};
  EXPECT_EQ(Uids("/calendar.ics?body=CPS", reader_), cps);
  EXPECT_EQ(Uids("/calendar.ics", cps_), cps) << "a CPS token sees CPS only";
  UidList all = cps;
  all.push_back("sfo22-r1.due@rectrack");
  all.push_back(A("sfo22-r1-a1"));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(Uids("/calendar.ics", reader_), all);

  Response r = Get("/calendar.ics?body=CPS", reader_);
  const std::vector<std::string> lines = LogicalLines(r.body);
  const std::vector<std::string> starts = WithPrefix(lines, "DTSTART;VALUE=DATE:");
  EXPECT_NE(std::find(starts.begin(), starts.end(), "20230930"), starts.end());
  const std::vector<std::string> summaries = WithPrefix(lines, "SUMMARY:");
  EXPECT_NE(std::find(summaries.begin(), summaries.end(), "OVERDUE: action sw22-i1-a2 due"),
            summaries.end());
  EXPECT_NE(std::find(summaries.begin(), summaries.end(), "action sw22-i1-a3 due"), summaries.end())
      << "due today is not yet overdue";
  const std::vector<std::string> descriptions = WithPrefix(lines, "DESCRIPTION:");
  EXPECT_TRUE(std::any_of(descriptions.begin(), descriptions.end(), [](const std::string& d) {
    return Contains(d, "Unit: CPS South West Crown Court unit (cps-sw-crown)");
  })) << r.body;
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("ics", r.body, cps.size());
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << r.body;
}

TEST_F(CalendarApiTest, AUnitsCalendarHasItsActionsOnly) {
  const UidList sw = {A("sw22-i1-a4"), A("sw22-i2-a4")};
  EXPECT_EQ(Uids("/calendar.ics?unit=cps-sw", reader_), sw);
  EXPECT_EQ(Uids("/calendar.ics?body=CPS&unit=cps-sw", reader_), sw);
  EXPECT_EQ(Uids("/calendar.ics?unit=cps-sw", cps_), sw);
  EXPECT_EQ(Uids("/calendar.ics?unit=sfo-ops", sfo_), UidList{A("sfo22-r1-a1")});
  EXPECT_TRUE(Uids("/calendar.ics?unit=cps-yh", reader_).empty());
  Response r = Get("/calendar.ics?unit=cps-sw", reader_);
  EXPECT_TRUE(Contains(r.body, "X-WR-CALNAME:rectrack: cps-sw deadlines")) << r.body;
  // Visibility: a unit outside the body asked for, or the token's body, is not there.
  EXPECT_EQ(Get("/calendar.ics?unit=cps-sw", sfo_).status, 404);
  EXPECT_EQ(Get("/calendar.ics?body=SFO&unit=cps-sw", reader_).status, 404);
  EXPECT_EQ(Get("/calendar.ics?unit=nowhere", reader_).status, 404);
  EXPECT_EQ(Get("/calendar.ics?body=SFO&unit=sfo-ops", cps_).status, 403);
  EXPECT_EQ(Get("/feed.atom?unit=cps-sw", reader_).status, 400) << "calendar only";
  SKIP_WITHOUT_CHECKER();
  const CheckRun run = Check("ics", r.body, sw.size());
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << r.body;
}

TEST(FeedsCheckerTest, RejectsABrokenDocument) {
  // The checker itself must fail, or a green run proves nothing.
  SKIP_WITHOUT_CHECKER();
  std::string atom = AtomFeed(Entries(), Atom());
  atom.replace(atom.find("</feed>"), 7, "<feed>");
  EXPECT_NE(Check("atom", atom, 3).exit_code, 0);
  EXPECT_NE(Check("atom", AtomFeed(Entries(), Atom()), 2).exit_code, 0);
  EXPECT_NE(Check("atom", AtomFeed(Entries(), Atom()), 3,
                  json::array{{{"summary_contains", json::array{"Note: not there"}}}})
                .exit_code,
            0);
  EXPECT_NE(Check("ics", ICalendar(Items(), Calendar()), 3,
                  json::array{{{"summary", "da23-r2 implemented due"}}})
                .exit_code,
            0);
  std::string ics = ICalendar(Items(), Calendar());
  ics.insert(ics.find("SUMMARY:"), "X-LONG:" + std::string(80, 'x') + "\r\n");
  EXPECT_NE(Check("ics", ics, 3).exit_code, 0);
}

}  // namespace
}  // namespace rectrack::http
