#include "draft/report_text.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <set>

#include "common/strings.h"
#include "common/subprocess.h"
#include "common/text.h"
#include "draft/scan.h"
#include "draft/zip_directory.h"

namespace rectrack {
namespace {

using namespace scan;  // NOLINT: the character tests every function here uses

// Runs of spaces (pdftotext -layout pads columns with them) become one space.
std::string CollapseSpaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// "7", "Page 7", "Page 7 of 32", "7 of 32", "- 7 -": a page number, wherever it stands. A bare
// number counts only in a document with pages: in plain text "2026" on a line of its own may be
// the end of a date.
bool IsPageNumber(std::string_view line, bool paged) {
  std::string_view s = Trim(line);
  if (StartsWith(s, "- ") && s.size() > 4 && s.substr(s.size() - 2) == " -") {
    s = Trim(s.substr(2, s.size() - 4));
  }
  const bool worded = StartsWithNoCase(s, "page ");
  if (worded) s = Trim(s.substr(5));
  auto digits = [](std::string_view d) {
    return !d.empty() && d.size() <= 4 && std::all_of(d.begin(), d.end(), IsDigit);
  };
  if (digits(s)) return paged || worded;
  const size_t of = s.find(" of ");
  return of != std::string_view::npos && digits(s.substr(0, of)) && digits(Trim(s.substr(of + 4)));
}

// A table's rule ("-----", "+---+---+", "|---|:--|") or a heading's underline ("=====").
bool IsRule(std::string_view line) {
  std::string_view s = Trim(line);
  size_t dashes = 0;
  for (char c : s) {
    if (c == '-' || c == '=' || c == '_') {
      ++dashes;
    } else if (c != '+' && c != '|' && c != ':' && c != ' ') {
      return false;
    }
  }
  return dashes >= 3;
}

// The key under which a running header or footer repeats: digits stand for any digits ("Page 7 of
// 32" and "Page 8 of 32" are one footer), spaces collapsed.
std::string RunningKey(std::string_view line) {
  std::string key = CollapseSpaces(Trim(line));
  for (char& c : key) {
    if (IsDigit(c)) c = '#';
  }
  key.erase(
      std::unique(key.begin(), key.end(), [](char a, char b) { return a == '#' && b == '#'; }),
      key.end());
  return key;
}

bool IsRomanNumeral(std::string_view s) {
  static const std::set<std::string_view> kRoman = {"ii",   "iii", "iv", "vi", "vii",
                                                    "viii", "ix",  "xi", "xii"};
  return kRoman.count(s) > 0;
}

struct MarkerMatch {
  Marker marker = Marker::kNone;
  std::string label;
  size_t length = 0;  // bytes of the line the marker and the space after it take
};

// The bullet characters conversion leaves: "•", "●", "▪", "◦", "‣", and an en dash.
constexpr std::string_view kBullets[] = {"\u2022", "\u25CF", "\u25AA", "\u25E6",
                                         "\u2023", "\u2013", "\u2014", "\u00B7"};

size_t SkipSpaces(std::string_view s, size_t at) {
  while (at < s.size() && IsSpace(s[at])) ++at;
  return at;
}

// The list marker at the start of `s` (already trimmed), if any.
MarkerMatch ReadMarker(std::string_view s) {
  MarkerMatch m;
  if (s.empty()) return m;
  // "Recommendation 3", "Recommendation 3:", "Recommendation 3 -", "Recommendation 3." ...
  if (StartsWith(s, "Recommendation ") || StartsWith(s, "RECOMMENDATION ")) {
    size_t at = SkipSpaces(s, 15), end = at;
    while (end < s.size() && (IsDigit(s[end]) || (end == at && IsLower(s[end])))) ++end;
    if (end > at && end - at <= 3) {
      size_t after = SkipSpaces(s, end);
      const bool alone = after == s.size();
      const bool separated =
          after < s.size() &&
          (s[after] == ':' || s[after] == '.' || s[after] == ')' || s[after] == '-' ||
           StartsWith(s.substr(after), "\u2013") || StartsWith(s.substr(after), "\u2014"));
      if (alone || separated) {
        if (separated)
          after += s[after] == ':' || s[after] == '.' || s[after] == ')' || s[after] == '-' ? 1 : 3;
        return {Marker::kRecommendation, std::string(s.substr(at, end - at)), SkipSpaces(s, after)};
      }
    }
    return m;
  }
  // "R3 ..." as tables of judgements write them.
  if (s.size() > 2 && s[0] == 'R' && IsDigit(s[1])) {
    size_t end = 1;
    while (end < s.size() && IsDigit(s[end])) ++end;
    if (end <= 3 && (end == s.size() || s[end] == ' ' || s[end] == ':' || s[end] == '.')) {
      const size_t after = end < s.size() && s[end] != ' ' ? end + 1 : end;
      return {Marker::kRecommendation, std::string(s.substr(1, end - 1)), SkipSpaces(s, after)};
    }
  }
  for (std::string_view bullet : kBullets) {
    if (StartsWith(s, bullet) && s.size() > bullet.size() && IsSpace(s[bullet.size()])) {
      return {Marker::kBullet, "", SkipSpaces(s, bullet.size())};
    }
  }
  if ((s[0] == '-' || s[0] == '*' || s[0] == '+') && s.size() > 1 && IsSpace(s[1])) {
    return {Marker::kBullet, "", SkipSpaces(s, 1)};
  }
  // "1." "1)" "(1)" "a." "(a)" "iv." "(iv)": at most three characters, then a space.
  const bool bracketed = s[0] == '(';
  size_t at = bracketed ? 1 : 0, end = at;
  while (end < s.size() && end - at < 4 && (IsDigit(s[end]) || IsLetter(s[end]))) ++end;
  if (end == at || end >= s.size()) return m;
  const std::string_view label = s.substr(at, end - at);
  const char close = s[end];
  if (bracketed ? close != ')' : (close != '.' && close != ')')) return m;
  if (end + 1 < s.size() && !IsSpace(s[end + 1])) return m;  // "2.1." "e.g." "3.5m"
  m.length = SkipSpaces(s, end + 1);
  if (std::all_of(label.begin(), label.end(), IsDigit) && label.size() <= 3) {
    m.marker = Marker::kNumber;
  } else if (label.size() == 1 && IsLetter(label[0])) {
    // An upper-case letter counts only bracketed or with ")": "A. Smith" is a name.
    if (IsUpper(label[0]) && close == '.') return {};
    m.marker = Marker::kLetter;
  } else if (IsRomanNumeral(Lower(label))) {
    m.marker = Marker::kRoman;
  } else {
    return {};
  }
  m.label = Lower(label);
  return m;
}

// "2.12. The inspectorate found ...": the report's own paragraph numbers, taken off the text.
size_t SectionNumberLength(std::string_view s) {
  size_t at = 0, groups = 0;
  while (true) {
    const size_t begin = at;
    while (at < s.size() && IsDigit(s[at])) ++at;
    if (at == begin || at - begin > 3 || at >= s.size() || s[at] != '.') break;
    ++at;
    ++groups;
    if (at >= s.size() || IsSpace(s[at])) return groups >= 2 ? SkipSpaces(s, at) : 0;
  }
  return 0;
}

// Emphasis and stray markup a text export keeps: "**", "__", "<p>", "<br>".
std::string StripMarkup(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '*' || s[i] == '_') && i + 1 < s.size() && s[i + 1] == s[i]) {
      ++i;
      continue;
    }
    if (s[i] == '\\' && i + 1 < s.size() && !IsLetter(s[i + 1]) && !IsDigit(s[i + 1]) &&
        !IsSpace(s[i + 1])) {
      continue;  // a Markdown escape: "\*" is "*"
    }
    out.push_back(s[i]);
  }
  return out;
}

// The words the report writes whole, lower case: what decides whether "recom-" + "mendation" is
// one word or a compound ("trauma-informed").
std::set<std::string> WholeWords(std::string_view text) {
  std::set<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsLetter(text[i])) ++i;
    const size_t begin = i;
    while (i < text.size() && IsLetter(text[i])) ++i;
    const bool hyphen_follows = i < text.size() && text[i] == '-';
    const bool hyphen_precedes = begin > 0 && text[begin - 1] == '-';
    if (i > begin && !hyphen_follows && !hyphen_precedes) {
      words.insert(Lower(text.substr(begin, i - begin)));
    }
  }
  return words;
}

// "</p>", "<br>", "<br/>" and "<br />" as "<p>": each a break between a cell's paragraphs. One
// pass, whatever the number of tags.
std::string ParagraphTags(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    for (std::string_view tag : {"</p>", "<br>", "<br/>", "<br />"}) {
      if (s.compare(i, tag.size(), tag) == 0) {
        out += "<p>";
        i += tag.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

class ParagraphBuilder {
 public:
  ParagraphBuilder(std::set<std::string> words, bool paged)
      : words_(std::move(words)), paged_(paged) {}

  void Line(std::string_view raw, int page) {
    std::string_view line = Trim(raw);
    if (line.empty() || IsRule(line)) return Flush();
    if (IsPageNumber(line, paged_)) return;  // in the middle of a paragraph too
    if (line.front() == '|' && line.size() > 1 && line.back() == '|') return Row(line, page);
    const bool heading = line.front() == '#';  // a Markdown heading: a paragraph of its own
    if (heading) {
      Flush();
      while (!line.empty() && line.front() == '#') line.remove_prefix(1);
    }
    const std::string text = StripMarkup(line);
    std::string_view t = Trim(text);
    // A line that goes on inside brackets ("(see new\nrecommendation 1)") starts nothing.
    if (open_ && !heading && depth_ > 0) return Join(t);
    if (MarkerMatch m = ReadMarker(t); m.marker != Marker::kNone) {
      Flush();
      Start(t.substr(m.length), page);
      current_.marker = m.marker;
      current_.label = m.label;
      if (heading) Flush();
      return;
    }
    if (heading) {
      Start(t, page);
      return Flush();
    }
    if (open_ && SectionNumberLength(t) == 0) return Join(t);
    Flush();  // "2.12. ..." opens a paragraph of the report's own, blank line or not
    Start(t, page);
  }

  void Flush() {
    if (open_) {
      current_.text = CollapseSpaces(current_.text);
      if (!current_.text.empty() || current_.marker != Marker::kNone) {
        paragraphs_.push_back(std::move(current_));
      }
    }
    current_ = Paragraph();
    open_ = false;
  }

  std::vector<Paragraph> Take() {
    Flush();
    return std::move(paragraphs_);
  }

 private:
  void Start(std::string_view text, int page) {
    current_ = Paragraph();
    current_.text = std::string(text);
    current_.page = page;
    open_ = true;
    depth_ = 0;
    Brackets(text);
  }

  // How many brackets the open paragraph leaves open, kept as lines arrive (counting the whole
  // paragraph again at each line would cost the square of its length).
  void Brackets(std::string_view text) {
    for (char c : text) depth_ += c == '(' ? 1 : c == ')' ? -1 : 0;
  }

  // A line that goes on the paragraph: a word split at its end is joined again.
  void Join(std::string_view next) {
    std::string& text = current_.text;
    const bool split = text.size() >= 2 && text.back() == '-' && IsLetter(text[text.size() - 2]) &&
                       !next.empty() && IsLower(next.front());
    if (split) {
      text.pop_back();
      text += JoinedWord(text, next) ? "" : "-";
    } else {
      text += ' ';
    }
    text += next;
    Brackets(next);
  }

  // True when the last word of `left` and the first of `right` are one word the report writes
  // whole elsewhere, and not a compound.
  bool JoinedWord(std::string_view left, std::string_view right) const {
    size_t begin = left.size();
    while (begin > 0 && IsLetter(left[begin - 1])) --begin;
    size_t end = 0;
    while (end < right.size() && IsLetter(right[end])) ++end;
    return words_.count(Lower(std::string(left.substr(begin)) + std::string(right.substr(0, end))));
  }

  // "| a | b |": each cell its own paragraph; "<p>" and "<br>" inside a cell split it.
  void Row(std::string_view line, int page) {
    Flush();
    line = line.substr(1, line.size() - 2);
    ++rows_;
    const size_t first = paragraphs_.size();
    for (const std::string& cell : SplitList(line, '|')) {
      std::string text = ParagraphTags(StripMarkup(cell));
      size_t from = 0;
      while (from <= text.size()) {
        size_t to = text.find("<p>", from);
        if (to == std::string::npos) to = text.size();
        std::string_view part = Trim(std::string_view(text).substr(from, to - from));
        if (!part.empty()) {
          if (MarkerMatch m = ReadMarker(part); m.marker != Marker::kNone) {
            Start(part.substr(m.length), page);
            current_.marker = m.marker;
            current_.label = m.label;
          } else {
            Start(part, page);
          }
          current_.cell = true;
          current_.row = rows_;
          Flush();
        }
        from = to + 3;
      }
    }
    for (size_t i = first; i < paragraphs_.size(); ++i) {
      paragraphs_[i].cells_in_row = static_cast<int>(paragraphs_.size() - first);
    }
  }

  std::set<std::string> words_;
  std::vector<Paragraph> paragraphs_;
  Paragraph current_;
  bool open_ = false;
  bool paged_ = false;
  long depth_ = 0;  // brackets the open paragraph leaves open
  int rows_ = 0;
};

// "trauma- informed", as text from a PDF can come: the space goes, the hyphen stays (or both go,
// when the report writes the word whole elsewhere). A suspended hyphen ("pre- and post-charge")
// is left alone.
std::string CloseSplitWords(const std::string& text, const std::set<std::string>& words) {
  static const std::set<std::string> kSuspended = {"and", "or", "nor", "to"};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    out.push_back(text[i]);
    if (text[i] != '-' || i == 0 || !IsLetter(text[i - 1]) || i + 2 >= text.size() ||
        text[i + 1] != ' ' || !IsLower(text[i + 2])) {
      continue;
    }
    size_t end = i + 2;
    while (end < text.size() && IsLetter(text[end])) ++end;
    const std::string next = text.substr(i + 2, end - i - 2);
    if (kSuspended.count(next)) continue;
    size_t begin = i;
    while (begin > 0 && IsLetter(text[begin - 1])) --begin;
    if (words.count(Lower(text.substr(begin, i - begin) + next))) out.pop_back();
    ++i;  // the space
  }
  return out;
}

bool EndsSentence(std::string_view s) {
  if (s.empty()) return true;
  const char c = s.back();
  return c == '.' || c == '!' || c == '?' || c == ':' || c == ';' || c == '"' || c == ')' ||
         StartsWith(s.substr(s.size() >= 3 ? s.size() - 3 : 0), "\u201D");
}

// Lines of each page with its running headers and footers dropped. A line counts as running when
// it stands among the first or last three of at least half the pages (and two at least).
std::vector<std::vector<std::string_view>> PageLines(std::string_view text) {
  std::vector<std::vector<std::string_view>> pages;
  for (std::string_view page : [&] {
         std::vector<std::string_view> parts;
         size_t from = 0;
         while (true) {
           const size_t ff = text.find('\f', from);
           parts.push_back(text.substr(from, ff == std::string_view::npos ? ff : ff - from));
           if (ff == std::string_view::npos) break;
           from = ff + 1;
         }
         return parts;
       }()) {
    std::vector<std::string_view> lines;
    size_t from = 0;
    while (from <= page.size()) {
      size_t nl = page.find('\n', from);
      if (nl == std::string_view::npos) nl = page.size();
      lines.push_back(page.substr(from, nl - from));
      from = nl + 1;
    }
    pages.push_back(std::move(lines));
  }
  if (pages.size() < 3) return pages;
  auto edges = [](const std::vector<std::string_view>& lines) {
    std::vector<size_t> at;
    for (size_t i = 0; i < lines.size() && at.size() < 3; ++i) {
      if (!Trim(lines[i]).empty()) at.push_back(i);
    }
    for (size_t i = lines.size(), n = 0; i-- > 0 && n < 3;) {
      if (!Trim(lines[i]).empty()) {
        at.push_back(i);
        ++n;
      }
    }
    return at;
  };
  std::map<std::string, int> seen;
  for (const auto& lines : pages) {
    std::set<std::string> keys;
    for (size_t i : edges(lines)) keys.insert(RunningKey(lines[i]));
    for (const auto& key : keys) ++seen[key];
  }
  const int needed = std::max<int>(2, static_cast<int>(pages.size()) / 2);
  for (auto& lines : pages) {
    for (size_t i : edges(lines)) {
      if (seen[RunningKey(lines[i])] >= needed) lines[i] = std::string_view();
    }
  }
  return pages;
}

}  // namespace

const char* ReportFormatName(ReportFormat format) {
  switch (format) {
    case ReportFormat::kPdf:
      return "PDF";
    case ReportFormat::kDocx:
      return "DOCX";
    case ReportFormat::kOdt:
      return "ODT";
    case ReportFormat::kHtml:
      return "HTML";
    case ReportFormat::kText:
      return "text";
  }
  return "text";
}

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += static_cast<unsigned char>(text[i + 1]) == 0x85 ? '\n' : ' ';  // C1 controls
      ++i;
    } else if (c == 0xE2 && text.compare(i, 3, "\u2028") == 0) {
      out += '\n';
      i += 2;
    } else if (c == 0xE2 && text.compare(i, 3, "\u2029") == 0) {
      out += '\n';
      i += 2;
    } else if ((c < 0x20 && c != '\n' && c != '\t' && c != '\f') || c == 0x7F) {
      out += ' ';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

ReportText ParagraphsOf(std::string_view raw, ReportFormat format) {
  const std::string text = Printable(raw);
  ReportText report;
  report.format = format;
  const auto pages = PageLines(text);
  const bool paged = pages.size() > 1;
  const std::set<std::string> words = WholeWords(text);
  ParagraphBuilder builder(words, paged || format == ReportFormat::kPdf);
  for (size_t p = 0; p < pages.size(); ++p) {
    for (std::string_view line : pages[p]) builder.Line(line, paged ? static_cast<int>(p) + 1 : 0);
    if (!paged) continue;
    // A page break does not end a paragraph by itself; the check below joins what it split.
    builder.Flush();
  }
  if (paged) report.pages = static_cast<int>(pages.size());
  for (Paragraph& p : builder.Take()) {
    p.text = CloseSplitWords(p.text, words);
    if (p.marker == Marker::kNone && !p.cell) {
      if (size_t n = SectionNumberLength(p.text)) {
        p.label = std::string(Trim(p.text.substr(0, n)));
        if (!p.label.empty() && p.label.back() == '.') p.label.pop_back();
        p.text.erase(0, n);
      }
    }
    // A paragraph that a page (or a text export) broke: it does not end a sentence, and its
    // rest starts in lower case.
    if (!report.paragraphs.empty()) {
      Paragraph& last = report.paragraphs.back();
      if (p.marker == Marker::kNone && !p.cell && !last.cell && !p.text.empty() &&
          IsLower(p.text.front()) && !EndsSentence(last.text)) {
        const bool split = last.text.size() >= 2 && last.text.back() == '-';
        last.text += split ? "" : " ";
        last.text += p.text;
        continue;
      }
    }
    if (p.text.empty() && p.marker == Marker::kNone) continue;
    report.paragraphs.push_back(std::move(p));
  }
  for (size_t i = 0; i < report.paragraphs.size(); ++i) {
    report.paragraphs[i].number = static_cast<int>(i) + 1;
  }
  return report;
}

Result<ReportFormat> SniffReport(std::string_view bytes) {
  if (bytes.empty()) return Status::InvalidArgument("the report is empty");
  if (StartsWith(bytes, "%PDF-")) {
    const std::string_view tail = bytes.substr(bytes.size() > 1024 ? bytes.size() - 1024 : 0);
    if (tail.find("%%EOF") == std::string_view::npos) {
      return Status::InvalidArgument("the PDF is cut short: it does not end with %%EOF");
    }
    return ReportFormat::kPdf;
  }
  if (StartsWith(bytes, "PK\x03\x04")) {
    const std::string_view tail = bytes.substr(bytes.size() > 65558 ? bytes.size() - 65558 : 0);
    if (tail.find("PK\x05\x06") == std::string_view::npos) {
      return Status::InvalidArgument("the document is cut short: its ZIP archive has no end");
    }
    if (bytes.find("word/document.xml") != std::string_view::npos) return ReportFormat::kDocx;
    if (bytes.find("application/vnd.oasis.opendocument.text") != std::string_view::npos) {
      return ReportFormat::kOdt;
    }
    return Status::InvalidArgument(
        "the file is a ZIP archive but not a DOCX or ODT document (a spreadsheet?)");
  }
  std::string_view text = bytes;
  if (StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  if (!IsValidUtf8(text) || text.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(
        "the file is not a report rectrack can read: not a PDF, DOCX, ODT, HTML or UTF-8 text");
  }
  const std::string head = Lower(Trim(text.substr(0, 512)));
  if (StartsWith(head, "<!doctype html") || StartsWith(head, "<html") ||
      (StartsWith(head, "<?xml") && head.find("<html") != std::string::npos)) {
    return ReportFormat::kHtml;
  }
  return ReportFormat::kText;
}

Result<ReportText> ReadReport(std::string_view bytes, const ReportReadOptions& options) {
  if (bytes.size() > options.max_bytes) {
    return Status::TooLarge("the report is " + std::to_string(bytes.size()) + " bytes; at most " +
                            std::to_string(options.max_bytes) + " are read");
  }
  ASSIGN_OR_RETURN(ReportFormat format, SniffReport(bytes));
  if (format == ReportFormat::kDocx || format == ReportFormat::kOdt) {
    const auto unpacked = ZipUnpackedBytes(bytes);
    if (!unpacked) {
      return Status::InvalidArgument("the " + std::string(ReportFormatName(format)) +
                                     " is damaged: its ZIP directory cannot be read");
    }
    if (*unpacked > options.max_unpacked_bytes) {
      return Status::TooLarge("the " + std::string(ReportFormatName(format)) + " unpacks to " +
                              (*unpacked == std::numeric_limits<uint64_t>::max()
                                   ? std::string("an entry too large for its size to be said")
                                   : std::to_string(*unpacked) + " bytes") +
                              "; rectrack reads documents of at most " +
                              std::to_string(options.max_unpacked_bytes) + " bytes unpacked");
    }
  }
  std::string text;
  if (format == ReportFormat::kText) {
    text = std::string(StartsWith(bytes, "\xEF\xBB\xBF") ? bytes.substr(3) : bytes);
  } else {
    std::vector<std::string> argv;
    if (format == ReportFormat::kPdf) {
      argv = {options.pdftotext, "-layout", "-enc", "UTF-8", "-", "-"};
    } else {
      const char* from = format == ReportFormat::kDocx  ? "docx"
                         : format == ReportFormat::kOdt ? "odt"
                                                        : "html";
      // --sandbox: pandoc's readers fetch what a document links (an HTML <iframe src>, an
      // image) and read local files; a report is read for its own text only.
      // +RTS -M: pandoc's heap (GHC's runtime) is bounded, so a ZIP whose directory lies
      // about its sizes cannot unpack into the machine's memory; it stops with exit 251.
      argv = {
          options.pandoc, "+RTS",      "-M" + std::to_string(options.max_converter_heap_mb) + "m",
          "-RTS",         "--sandbox", "-f",
          from,           "-t",        "plain",
          "--wrap=none"};
    }
    ProgramLimits limits;
    limits.timeout = std::chrono::seconds(options.timeout_seconds);
    limits.max_output_bytes = options.max_text_bytes;
    auto ran = RunProgram(argv, bytes, limits);
    if (!ran.ok()) {
      if (ran.status().code() == Code::kUnavailable) {
        return Status::Unavailable("reading the " + std::string(ReportFormatName(format)) +
                                   " took longer than " + std::to_string(options.timeout_seconds) +
                                   " s; it was stopped");
      }
      // The file's text, not the server, is too large: a zip bomb, or a report far longer than
      // any inspectorate's.
      if (ran.status().code() == Code::kTooLarge) {
        return Status::TooLarge("the " + std::string(ReportFormatName(format)) +
                                " holds more than " + std::to_string(options.max_text_bytes) +
                                " bytes of text; rectrack drafts from reports of at most that");
      }
      return ran.status();
    }
    // 251: GHC's runtime ran out of the heap it was given (pandoc's RTS -M, above).
    if (ran->exit_code == 251 && format != ReportFormat::kPdf) {
      return Status::TooLarge("the " + std::string(ReportFormatName(format)) + " needs more than " +
                              std::to_string(options.max_converter_heap_mb) +
                              " MiB of memory to read; rectrack drafts from reports that need at "
                              "most that");
    }
    if (ran->exit_code != 0) {
      std::string said = ran->err.substr(0, ran->err.find('\n'));
      return Status::IOError("the " + std::string(ReportFormatName(format)) +
                             " could not be read (" + argv[0] + ": " +
                             (said.empty() ? "failed" : SanitizeUtf8(said)) + ")");
    }
    text = SanitizeUtf8(ran->out);
  }
  ReportText report = ParagraphsOf(text, format);
  if (report.paragraphs.size() > options.max_paragraphs) {
    return Status::TooLarge("the " + std::string(ReportFormatName(format)) + " has " +
                            std::to_string(report.paragraphs.size()) +
                            " paragraphs; rectrack drafts from reports of at most " +
                            std::to_string(options.max_paragraphs));
  }
  const bool any_words =
      std::any_of(report.paragraphs.begin(), report.paragraphs.end(), [](const Paragraph& p) {
        return std::count_if(p.text.begin(), p.text.end(), IsLetter) >= 3;
      });
  if (!any_words) {
    return Status::InvalidArgument("no text could be read from the " +
                                   std::string(ReportFormatName(format)) +
                                   (format == ReportFormat::kPdf ? " (a scanned image?)" : ""));
  }
  return report;
}

}  // namespace rectrack
