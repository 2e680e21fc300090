// The feeds' tests' fixture (feeds_test.cpp, calendar_api_test.cpp): hand-built entries and
// calendar items full of awkward text, and the real parsers (feedparser, icalendar) run on what
// is rendered through tests/feeds_check.py.
#pragma once

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

#include "http/feeds.h"
#include "tests/test_support.h"

namespace rectrack::http::feeds_test {

namespace fs = std::filesystem;
namespace json = boost::json;

inline const std::string kSource = RECTRACK_SOURCE_DIR;
inline const std::string kChecker = kSource + "/tests/feeds_check.py";
inline const std::string kBase = "http://127.0.0.1:8080";

inline Date D(const char* iso) { return *Date::Parse(iso); }

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Over 200 characters, with two- and three-octet UTF-8 ("é", "—") and everything XML and RFC 5545
// escape, plus a control character (\x01) that neither format may carry.
inline const std::string kLongText =
    "By July 2023, the CPS should ensure that all communications with victims of domestic "
    "abuse — letters, calls & texts — are marked \"STL\" <urgent>; the café's review, "
    "led by the Chief Crown Prosecutor, should report quarterly\nto the board\x01 — and "
    "publish its findings: é, É, ü, “quotes”, 'apostrophes' & more; end.";
// kLongText as a parser reads it back: the control character gone.
inline const std::string kLongTextClean =
    "By July 2023, the CPS should ensure that all communications with victims of domestic "
    "abuse — letters, calls & texts — are marked \"STL\" <urgent>; the café's review, "
    "led by the Chief Crown Prosecutor, should report quarterly\nto the board — and "
    "publish its findings: é, É, ü, “quotes”, 'apostrophes' & more; end.";

inline TimelineEntry Event(int64_t seq, const char* effective, const char* recorded,
                           const char* transition, const char* voice, const char* body,
                           const char* from, const char* to) {
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

inline FeedEntry Entry(TimelineEntry event) {
  return FeedEntry{"da23-r2",       "da23",    "Domestic abuse: victims & <witnesses>",
                   {"CPS", "NPCC"}, kLongText, std::move(event)};
}

// Newest first, as Engine::Feed returns them: the inspectorate reopens what the body closed.
inline std::vector<FeedEntry> Entries() {
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

inline AtomOptions Atom() {
  return {"urn:rectrack:feed:CPS", "rectrack: CPS & <friends>", "/api/v1/feed.atom?body=CPS&x=1",
          kBase, "2025-01-01T00:00:00Z"};
}

inline std::vector<CalendarItem> Items() {
  return {
      {"da23-r2", "implemented", D("2023-07-31"), "Domestic abuse, victims; <witnesses>",
       std::vector<std::string>{"CPS", "NPCC"}, kLongText, true},
      {"da23-r2", "embedded", D("2024-03-31"), "Domestic abuse", std::vector<std::string>{"CPS"},
       "Short, with a \\ backslash; and \"quotes\"\r\nand a CRLF", false},
      {"sfo24-r1", "report", D("2025-12-31"), "", std::vector<std::string>{}, "", false},
  };
}

inline CalendarOptions Calendar() {
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
inline const std::string& CheckerPython() {
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
inline std::string CheckerUnavailable() {
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
inline CheckRun Check(const std::string& kind, const std::string& document, size_t count,
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

inline std::vector<std::string> PhysicalLines(const std::string& ics) {
  std::vector<std::string> lines;
  size_t pos = 0;
  for (size_t end; (end = ics.find("\r\n", pos)) != std::string::npos; pos = end + 2) {
    lines.push_back(ics.substr(pos, end - pos));
  }
  EXPECT_EQ(pos, ics.size()) << "text after the last CRLF";
  return lines;
}

inline std::vector<std::string> LogicalLines(const std::string& ics) {
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

inline std::vector<std::string> WithPrefix(const std::vector<std::string>& lines,
                                           const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& l : lines) {
    if (l.rfind(prefix, 0) == 0) out.push_back(l.substr(prefix.size()));
  }
  return out;
}

inline bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// RFC 5545 TEXT escaping, written out independently of feeds.cpp.
inline std::string Escaped(const std::string& s) {
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

inline std::vector<std::string> Matches(const std::string& text, const std::string& pattern) {
  std::vector<std::string> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

}  // namespace rectrack::http::feeds_test
