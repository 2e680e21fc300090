// DraftAsYaml: the draft in the import format (docs/import-format.md), with comments for its
// reader.
#include <algorithm>
#include <sstream>

#include "common/strings.h"
#include "common/text.h"
#include "draft/draft.h"

namespace rectrack {
namespace {

// A YAML double-quoted scalar: every character the format could misread escaped.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          static const char kHex[] = "0123456789ABCDEF";
          out += "\\x";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  // YAML reads U+0085, U+2028 and U+2029 inside quotes as line breaks: escaped, they stay.
  for (auto [raw, escaped] : {std::pair<std::string_view, std::string_view>{"\u0085", "\\N"},
                              {"\u2028", "\\L"},
                              {"\u2029", "\\P"}}) {
    for (size_t at; (at = out.find(raw)) != std::string::npos;)
      out.replace(at, raw.size(), escaped);
  }
  return out + "\"";
}

// A comment's text on one line, shortened to `limit` bytes (not inside a UTF-8 character).
// Whatever YAML reads as a line break (U+0085, U+2028 and U+2029 too) or refuses in a stream
// (controls, invalid UTF-8, U+FFFE, U+FFFF) becomes a space or U+FFFD: a comment can hold a
// report's file name, and what follows a line break would be read as the draft's content.
std::string OneLine(std::string_view text, size_t limit = 400) {
  const std::string plain = Printable(SanitizeUtf8(text));
  std::string out;
  out.reserve(plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    if (plain[i] == '\n' || plain[i] == '\f') {
      out += ' ';
    } else if (plain.compare(i, 3, "\xEF\xBF\xBE") == 0 ||
               plain.compare(i, 3, "\xEF\xBF\xBF") == 0) {
      out += "\uFFFD";  // U+FFFE, U+FFFF: not in a YAML stream
      i += 2;
    } else {
      out += plain[i];
    }
  }
  if (out.size() > limit) {
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

// Where the report has an item: "page 9, after the report's paragraph 2.18; text paragraphs 3-5".
class Locator {
 public:
  // The report's own numbered paragraph ("2.12") at or before each paragraph, found in one pass.
  explicit Locator(const ReportText& report) : report_(report) {
    int last = -1;
    for (size_t i = 0; i < report.paragraphs.size(); ++i) {
      const Paragraph& p = report.paragraphs[i];
      if (p.marker == Marker::kNone && p.label.find('.') != std::string::npos) {
        last = static_cast<int>(i);
      }
      section_.push_back(last);
    }
  }

  std::string Where(const std::vector<int>& paragraphs) const {
    if (paragraphs.empty()) return "";
    const auto [low, high] = std::minmax_element(paragraphs.begin(), paragraphs.end());
    const int first = *low, last = *high;
    if (first < 1 || last > static_cast<int>(report_.paragraphs.size())) return "";
    std::string where;
    const Paragraph& p = report_.paragraphs[static_cast<size_t>(first - 1)];
    if (p.page > 0) where = "page " + std::to_string(p.page);
    if (const int s = section_[static_cast<size_t>(first - 1)]; s >= 0) {
      where += std::string(where.empty() ? "" : ", ") + "after the report's paragraph " +
               report_.paragraphs[static_cast<size_t>(s)].label;
    }
    where += std::string(where.empty() ? "" : "; ") + "text paragraph" +
             (last != first ? "s " + std::to_string(first) + "-" + std::to_string(last)
                            : " " + std::to_string(first));
    return where;
  }

 private:
  const ReportText& report_;
  std::vector<int> section_;
};

void Checks(std::ostream& out, const std::vector<std::string>& checks, const char* indent) {
  if (checks.empty()) {
    out << " Sure.\n";
    return;
  }
  out << "\n";
  for (const auto& check : checks) out << indent << "# CHECK: " << OneLine(check) << "\n";
}

}  // namespace

std::string DraftAsYaml(const Draft& draft, const ReportText& report, const DraftRequest& request) {
  const Locator where(report);
  std::ostringstream out;
  out << "# A draft read by rectrack from " << OneLine(request.source, 200) << " ("
      << ReportFormatName(report.format);
  if (report.pages > 0) out << ", " << report.pages << " pages";
  out << "). Nothing in it is tracked yet.\n"
         "# Check every item against the report: its text, owners, milestones and, in a\n"
         "# follow-up, each judgement. The comment above an item says where the report has it\n"
         "# and what to check (\"text paragraph N\" counts the paragraphs rectrack read). Then "
         "set\n"
         "# reviewed: true and run `rectrack import` on this file.\n"
      << "reviewed: " << (draft.reviewed ? "true" : "false") << "\n";
  if (!draft.new_bodies.empty()) {
    out << "\nbodies:\n";
    for (const DraftBody& body : draft.new_bodies) {
      out << "  # CHECK: a new body, proposed from " << Quote(OneLine(body.phrase, 200))
          << ": check its id and name\n"
          << "  - {id: " << Quote(body.id) << ", name: " << Quote(body.name) << "}\n";
    }
  }
  out << "\ninspections:\n";
  for (const auto& check : draft.inspection_checks) out << "  # CHECK: " << OneLine(check) << "\n";
  out << "  - id: " << Quote(draft.inspection_id) << "\n"
      << "    title: " << Quote(draft.title) << "\n"
      << "    published: " << (draft.published ? draft.published->ToString() : "null") << "\n";
  if (!draft.follow_up_of.empty()) out << "    follow_up_of: " << Quote(draft.follow_up_of) << "\n";

  out << "\nrecommendations:";
  if (std::all_of(draft.recommendations.begin(), draft.recommendations.end(),
                  [](const DraftRecommendation& r) { return r.left_out; })) {
    out << " []  # none found";
  }
  out << "\n";
  for (const DraftRecommendation& rec : draft.recommendations) {
    if (rec.left_out) continue;
    out << "  # Recommendation " << OneLine(rec.number, 20) << ": " << where.Where(rec.paragraphs)
        << ".";
    Checks(out, rec.checks, "  ");
    out << "  - id: " << Quote(rec.id) << "\n"
        << "    inspection: " << Quote(draft.inspection_id) << "\n"
        << "    owners: [";
    for (size_t i = 0; i < rec.owners.size(); ++i) out << (i ? ", " : "") << Quote(rec.owners[i]);
    out << "]\n"
        << "    text: " << Quote(rec.text) << "\n"
        << "    milestones:";
    if (rec.milestones.empty()) out << " []";
    out << "\n";
    for (const TextMilestone& m : rec.milestones) {
      out << "      - {label: " << Quote(m.label) << ", due: " << m.due.ToString() << "}  # "
          << Quote(OneLine(m.phrase, 120)) << "\n";
    }
  }
  if (std::any_of(draft.judgements.begin(), draft.judgements.end(),
                  [](const DraftJudgement& j) { return !j.left_out; })) {
    out << "\nevents:\n";
    for (const DraftJudgement& j : draft.judgements) {
      if (j.left_out) continue;
      out << "  # " << OneLine(draft.follow_up_of, 64) << "'s recommendation "
          << OneLine(j.number, 20) << ": " << Quote(OneLine(j.phrase, 160)) << ", "
          << where.Where(j.paragraphs) << ".";
      Checks(out, j.checks, "  ");
      out << "  - {rec: " << Quote(j.rec)
          << ", do: assess, effective: " << (draft.published ? draft.published->ToString() : "null")
          << ", outcome: " << Quote(j.outcome) << ", in: " << Quote(draft.inspection_id);
      if (!j.superseded_by.empty()) {
        out << ", superseded_by: [";
        for (size_t i = 0; i < j.superseded_by.size(); ++i) {
          out << (i ? ", " : "") << Quote(j.superseded_by[i]);
        }
        out << "]";
      }
      out << "}\n";
    }
  }
  if (!draft.questions.empty()) {
    out << "\n# Questions: paragraphs that might be recommendations or judgements. None is\n"
           "# imported; copy one into the lists above if it is one.\n";
    for (const DraftQuestion& q : draft.questions) {
      out << "#   " << where.Where({q.paragraph}) << " (" << q.why << "):\n#     "
          << Quote(OneLine(q.text, 300)) << "\n";
    }
  }
  return out.str();
}

}  // namespace rectrack
