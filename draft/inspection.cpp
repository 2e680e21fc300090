// The inspection a report is of: its title, publication date and an id for it (recognise.h).
#include <algorithm>
#include <optional>
#include <set>

#include "common/date.h"
#include "common/strings.h"
#include "draft/recognise.h"
#include "draft/scan.h"

namespace rectrack::recognise {

// Said when the report gives no publication date, or only its month (draft.h's IsNoDateCheck
// knows them).
constexpr const char* kNoDateCheck = "no publication date could be read: give it";
constexpr const char* kMonthOnlyCheck = "the report gives only the month it was published (";
namespace {

using namespace scan;  // NOLINT: the character tests every function here uses

bool NamesInspectorate(std::string_view text) {
  const std::string lower = Lower(text);
  for (std::string_view name : {"inspectorate", "hmcpsi", "hm cpsi", "hmicfrs", "hmi probation"}) {
    if (lower.find(name) != std::string::npos) return true;
  }
  return false;
}

// "Economic crime casework HM Crown Prosecution Service Inspectorate": the words before it.
std::string BeforeInspectorate(const std::string& text) {
  const std::string lower = Lower(text);
  size_t cut = std::string::npos;
  for (std::string_view name :
       {"hm crown prosecution service inspectorate",
        "his majesty's crown prosecution service inspectorate",
        "her majesty's crown prosecution service inspectorate", "hmcpsi", "hm cpsi"}) {
    cut = std::min(cut, lower.find(name));
  }
  if (cut == std::string::npos || cut == 0) return text;
  std::string before = text.substr(0, cut);
  while (!before.empty() && before.back() == ' ') before.pop_back();
  return before;
}

struct ReadDate {
  std::optional<Date> date;
  std::string phrase;
  bool month_only = false;
};

// "1 March 2023", "March 2023", "Published: 6 March 2025" standing alone.
std::optional<ReadDate> DateParagraph(std::string_view text) {
  std::string t(text);
  if (StartsWithNoCase(t, "published")) {
    t = t.substr(9);
    while (!t.empty() &&
           (t.front() == ':' || t.front() == ' ' || t.front() == 'o' || t.front() == 'n')) {
      t.erase(0, 1);
    }
  }
  const auto words = SplitList(t, ' ');
  if (words.size() < 2 || words.size() > 3) return std::nullopt;
  auto year = [](const std::string& w) -> std::optional<int> {
    if (w.size() != 4) return std::nullopt;
    const std::optional<int64_t> n = ParseDigits(w, 4);
    return n ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
  };
  const auto y = year(words.back());
  const auto m = MonthFromName(words[words.size() - 2]);
  if (!y || !m || *y < Date::kMinYear) return std::nullopt;
  if (words.size() == 2) return ReadDate{std::nullopt, std::string(text), true};
  if (words[0].size() > 2 || !std::all_of(words[0].begin(), words[0].end(), IsDigit)) {
    return std::nullopt;
  }
  auto d = Date::FromYmd(*y, *m, static_cast<unsigned>(std::stoi(words[0])));
  if (!d) return std::nullopt;
  return ReadDate{d, std::string(text), false};
}

std::string MadeUpId(const std::string& title, int year) {
  static const std::set<std::string> kSmall = {"the", "of", "to", "from", "a",   "an",  "and",
                                               "for", "in", "on", "by",   "its", "how", "up"};
  std::string id;
  for (const auto& w : Words(title)) {
    if (!kSmall.count(w) && id.size() < 5 && IsAlnum(w.front())) id += w.front();
  }
  if (id.empty()) id = "report";
  if (year > 0) id += std::to_string(year / 10 % 10) + std::to_string(year % 10);  // "25"
  return id;
}

}  // namespace

void ReadInspection(const ReportText& report, const DraftRequest& request, Draft* draft) {
  ReadDate published;
  const size_t head = std::min<size_t>(report.paragraphs.size(), 40);
  for (size_t i = 0; i < head; ++i) {
    const Paragraph& p = report.paragraphs[i];
    if (auto d = DateParagraph(p.text)) {
      if (published.phrase.empty()) published = *d;
      continue;
    }
    // A PDF's cover can run the title and the inspectorate's name into one paragraph.
    const std::string text = BeforeInspectorate(p.text);
    if (draft->title.empty() && i < 15 && !NamesInspectorate(text) && text.size() <= 200 &&
        Words(text).size() >= 2 && !StartsWithNoCase(text, "contents")) {
      draft->title = text;
    }
  }
  if (draft->title.empty()) {
    draft->inspection_checks.push_back("the report's title could not be read: give it");
  }
  if (request.published) {
    draft->published = request.published;
    if (published.date && *published.date != *request.published) {
      draft->inspection_checks.push_back("the report says it was published " + published.phrase +
                                         "; " + request.published->ToString() + " was given");
    }
  } else if (published.date) {
    draft->published = published.date;
  } else if (published.month_only) {
    draft->inspection_checks.push_back(kMonthOnlyCheck + published.phrase + "): give the day");
  } else {
    draft->inspection_checks.push_back(kNoDateCheck);
  }
  int year = draft->published ? draft->published->year() : 0;
  if (!year && published.month_only)
    year = std::stoi(published.phrase.substr(published.phrase.size() - 4));
  draft->inspection_id = request.inspection_id;
  if (draft->inspection_id.empty()) {
    const std::string made = MadeUpId(draft->title, year);
    draft->inspection_id = made;
    auto known = [&](const std::string& id) {
      return std::any_of(request.inspections.begin(), request.inspections.end(),
                         [&](const KnownInspection& k) { return k.id == id; });
    };
    for (int n = 2; known(draft->inspection_id); ++n) {
      draft->inspection_id = made + "-" + std::to_string(n);
    }
    draft->inspection_checks.push_back("the id '" + draft->inspection_id +
                                       "' was made from the title: change it if you like");
  }
  draft->follow_up_of = request.follow_up_of;
  // The same report drafted again: an inspection of the same title (its words, whatever their
  // case), published on the draft's date, or in its year when the report gives only the month.
  for (const KnownInspection& k :
       SameReport(draft->title, draft->published, year, request.inspections)) {
    draft->inspection_checks.push_back(SameReportCheck(k));
  }
}

}  // namespace rectrack::recognise

namespace rectrack {

namespace {
constexpr std::string_view kSameReportEnd =
    ": if this is that report, it is imported already, and importing this adds it again";
}  // namespace

std::string SameReportCheck(const KnownInspection& known) {
  return "inspection '" + known.id + "' has this title and was published " +
         known.published.ToString() + std::string(kSameReportEnd);
}

bool IsSameReportCheck(const std::string& check) {
  return check.rfind("inspection '", 0) == 0 && check.ends_with(kSameReportEnd);
}

bool IsNoDateCheck(const std::string& check) {
  return check == recognise::kNoDateCheck || check.rfind(recognise::kMonthOnlyCheck, 0) == 0;
}

std::vector<KnownInspection> SameReport(const std::string& title, std::optional<Date> published,
                                        int year, const std::vector<KnownInspection>& known) {
  std::vector<KnownInspection> same;
  if (title.empty()) return same;
  const std::string words = Lower(Join(recognise::Words(title), " "));
  for (const KnownInspection& k : known) {
    if (Lower(Join(recognise::Words(k.title), " ")) != words) continue;
    if (published ? k.published != *published : k.published.year() != year) continue;
    same.push_back(k);
  }
  return same;
}

}  // namespace rectrack
