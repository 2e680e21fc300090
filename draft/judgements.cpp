// A follow-up's judgements ("NOT ACHIEVED - NEW RECOMMENDATION MADE") and how alike two
// recommendations' texts are (recognise.h).
#include <algorithm>
#include <map>
#include <set>

#include "common/strings.h"
#include "draft/recognise.h"
#include "draft/scan.h"

namespace rectrack::recognise {

using namespace scan;  // NOLINT: the character tests every function here uses

// ---- Judgements ----

namespace {

// The number after "recommendation" in a "(see new recommendation 1)" aside.
std::string SeeNumber(std::string_view s) {
  const std::string lower = Lower(s);
  size_t at = lower.find("recommendation");
  if (at == std::string::npos) return "";
  at += 14;
  while (at < lower.size() && (lower[at] == ' ' || lower[at] == 's')) ++at;
  size_t end = at;
  while (end < lower.size() && IsAlnum(lower[end]) && end - at < 3) ++end;
  return lower.substr(at, end - at);
}

}  // namespace

// A judgement standing at `text` from `begin` to its end: "NOT ACHIEVED - NEW RECOMMENDATION
// MADE (see new recommendation 1)", "Partially achieved.", "Judgement: achieved".
std::optional<Judgement> ReadJudgementAt(std::string_view text, size_t begin) {
  std::string rest = Lower(text.substr(begin));
  for (std::string_view prefix :
       {"judgement:", "judgment:", "assessment:", "status:", "outcome:", "position:", "finding:"}) {
    if (StartsWith(rest, prefix)) rest = rest.substr(prefix.size());
  }
  std::string see;
  if (size_t open = rest.find('('); open != std::string::npos) {
    const size_t close = rest.find(')', open);
    if (close == std::string::npos ||
        rest.find_first_not_of(" .", close + 1) != std::string::npos) {
      return std::nullopt;
    }
    see = SeeNumber(rest.substr(open, close - open));
    rest = rest.substr(0, open);
  }
  // Dashes of every width, colons and full stops become spaces.
  std::string flat;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest.compare(i, 3, "\u2013") == 0 || rest.compare(i, 3, "\u2014") == 0) {
      flat += ' ';
      i += 2;
    } else if (rest[i] == '-' || rest[i] == ':' || rest[i] == '.' || rest[i] == ',' ||
               rest[i] == ';') {
      flat += ' ';
    } else {
      flat += rest[i];
    }
  }
  const auto words = Words(flat);
  static const std::map<std::vector<std::string>, std::string> kOutcomes = {
      {{"achieved"}, "achieved"},
      {{"not", "achieved"}, "not_achieved"},
      {{"partially", "achieved"}, "partially_achieved"},
      {{"partly", "achieved"}, "partially_achieved"},
      {{"achieved", "in", "part"}, "partially_achieved"},
  };
  for (const auto& [lead, outcome] : kOutcomes) {
    if (words.size() < lead.size() || !std::equal(lead.begin(), lead.end(), words.begin())) {
      continue;
    }
    std::vector<std::string> tail(words.begin() + static_cast<long>(lead.size()), words.end());
    Judgement j{outcome, false, std::string(text.substr(begin)), see, begin};
    if (tail.empty()) return j;
    static const std::vector<std::vector<std::string>> kNewMade = {
        {"new", "recommendation", "made"},
        {"new", "recommendations", "made"},
        {"new", "recommendation", "issued"},
        {"new", "recommendation", "raised"},
        {"new", "recommendation"}};
    for (const auto& made : kNewMade) {
      if (tail == made) {
        j.new_made = true;
        return j;
      }
    }
  }
  return std::nullopt;
}

// A judgement with its aside ("(see new recommendation 1)") is no longer than this.
inline constexpr size_t kJudgementLength = 160;

// A judgement that is the whole paragraph, or (written in capitals) ends it.
std::optional<Judgement> FindJudgement(const Paragraph& p) {
  const std::string& t = p.text;
  if (t.size() <= kJudgementLength) {
    if (auto j = ReadJudgementAt(t, 0)) return j;
  }
  // "... sentence hearings. NOT ACHIEVED", "... | ACHIEVED": capitals only, near the end (looking
  // further back would cost the square of the paragraph's length).
  for (size_t at = t.rfind("ACHIEVED");
       at != std::string::npos && at > 0 && t.size() - at <= kJudgementLength;
       at = t.rfind("ACHIEVED", at - 1)) {
    size_t begin = at;
    for (std::string_view lead : {"NOT ", "PARTIALLY ", "PARTLY "}) {
      if (begin >= lead.size() && t.compare(begin - lead.size(), lead.size(), lead) == 0) {
        begin -= lead.size();
      }
    }
    if (begin == 0 || t[begin - 1] != ' ') continue;
    if (auto j = ReadJudgementAt(t, begin)) return j;
  }
  return std::nullopt;
}

// ---- Matching texts ----

namespace {

std::set<std::string> ContentWords(std::string_view text) {
  static const std::set<std::string> kStop = {
      "the",   "and",   "for",  "with", "that",   "this", "from", "have",  "been",  "their",
      "which", "where", "when", "will", "should", "into", "each", "every", "cases", "case"};
  std::set<std::string> words;
  for (std::string w : Words(text)) {
    if (w.size() < 4 || kStop.count(w) || IsDigit(w.front())) continue;
    if (w.size() > 5 && w.back() == 's') w.pop_back();  // "hearings" is "hearing"
    words.insert(w);
  }
  return words;
}

}  // namespace

// How much two texts share: the common content words over the smaller set's size (0..1).
double Similarity(std::string_view a, std::string_view b) {
  const auto wa = ContentWords(a), wb = ContentWords(b);
  if (wa.empty() || wb.empty()) return 0;
  size_t common = 0;
  for (const auto& w : wa) common += wb.count(w);
  return static_cast<double>(common) / static_cast<double>(std::min(wa.size(), wb.size()));
}

// "da23-r4" -> "4"; the number a recommendation's id ends with.
std::string NumberOfId(const std::string& id) {
  size_t end = id.size(), begin = end;
  while (begin > 0 && IsDigit(id[begin - 1])) --begin;
  return id.substr(begin, end - begin);
}

}  // namespace rectrack::recognise
