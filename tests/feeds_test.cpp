// The Atom and iCalendar feeds, rendered from hand-built entries full of awkward text (markup,
// quotes, commas, semicolons, line breaks, a control character, long multi-byte UTF-8) and checked
// twice: here, byte by byte, and by real parsers (feedparser, icalendar) through
// tests/feeds_check.py. The calendar through the API: calendar_api_test.cpp.
#include "tests/feeds_fixture.h"

namespace rectrack::http::feeds_test {
namespace {

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
}  // namespace rectrack::http::feeds_test
