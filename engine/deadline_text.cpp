#include "engine/deadline_text.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <optional>
#include <set>

namespace rectrack {
namespace {

// A hand-written scanner rather than std::regex: every "by" is tried against a fixed-length
// pattern, so the work is linear in the text, and libstdc++'s regex can blow its stack on long
// inputs.

enum class Kind { kWord, kComma, kStop };

struct Token {
  Kind kind;
  size_t begin;
  size_t end;
  std::string lower;  // words only
};

// Joiners keep "2024-25", "2024/25" and "2024–25" (en dash) one token, so a financial year can
// never be misread as the bare calendar year that starts it.
constexpr std::string_view kJoiners[] = {"-",      "/",      "\u2010", "\u2011",
                                         "\u2012", "\u2013", "\u2014", "\u2212"};

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
int ToInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

size_t JoinerLength(std::string_view text, size_t pos) {
  for (std::string_view j : kJoiners) {
    if (text.substr(pos, j.size()) == j) return j.size();
  }
  return 0;
}

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsAlnum(text[i])) {
      if (text[i] == ',') tokens.push_back({Kind::kComma, i, i + 1, {}});
      if (text[i] == '.' || text[i] == ';') tokens.push_back({Kind::kStop, i, i + 1, {}});
      ++i;
      continue;
    }
    size_t begin = i;
    for (;;) {
      while (i < text.size() && IsAlnum(text[i])) ++i;
      size_t joiner = JoinerLength(text, i);
      if (joiner == 0 || i + joiner >= text.size() || !IsAlnum(text[i + joiner])) break;
      i += joiner;
    }
    std::string lower(text.substr(begin, i - begin));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    tokens.push_back({Kind::kWord, begin, i, std::move(lower)});
  }
  return tokens;
}

class Scanner {
 public:
  explicit Scanner(const std::vector<Token>& tokens) : t_(tokens) {}

  enum class Outcome { kNone, kDate, kNoSuchDay };
  struct Match {
    Outcome outcome = Outcome::kNone;
    size_t last = 0;  // final token of the phrase
    Date due;
  };

  // Tries to read a deadline phrase starting at the "by" token `by`.
  Match MatchAt(size_t by) const {
    size_t i = by + 1;
    size_t the = IsWord(i, "the") ? 1 : 0;
    bool end_of = IsWord(i + the, "end") && IsWord(i + the + 1, "of");
    if (end_of) i += the + 2;
    if (!WordAt(i)) return {};
    const std::string& w = *WordAt(i);
    if (w.size() == 10 && w[4] == '-' && w[7] == '-' && IsDigits(w.substr(0, 4)) &&
        IsDigits(w.substr(5, 2)) && IsDigits(w.substr(8, 2))) {
      return Day(i, ToInt(w.substr(0, 4)), ToInt(w.substr(5, 2)), ToInt(w.substr(8, 2)));
    }
    if (std::optional<int> day = DayAt(i)) {
      size_t m = SkipComma(i + 1);
      std::optional<unsigned> month = MonthAt(m);
      if (!month) return {};
      size_t y = SkipComma(m + 1);
      std::optional<int> year = YearAt(y);
      if (!year) return {};
      return Day(y, *year, static_cast<int>(*month), *day);
    }
    if (std::optional<unsigned> month = MonthAt(i)) {
      size_t y = SkipComma(i + 1);
      std::optional<int> year = YearAt(y);
      if (!year) return {};
      // Day 1 always exists, so FromYmd fails only for a year rectrack cannot hold.
      if (!Date::FromYmd(*year, *month, 1)) return {Outcome::kNoSuchDay, y, {}};
      return {Outcome::kDate, y, Date::LastDayOfMonth(*year, *month)};
    }
    // A bare year is only a deadline when the text says "end of" it.
    if (std::optional<int> year = YearAt(i); year && end_of) return Day(i, *year, 12, 31);
    return {};
  }

  // The lowercased word at token i, or null past the end or at punctuation.
  const std::string* WordAt(size_t i) const {
    return i < t_.size() && t_[i].kind == Kind::kWord ? &t_[i].lower : nullptr;
  }
  bool IsWord(size_t i, std::string_view w) const { return WordAt(i) && *WordAt(i) == w; }

 private:
  static Match Day(size_t last, int year, int month, int day) {
    std::optional<Date> d =
        Date::FromYmd(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    if (!d) return {Outcome::kNoSuchDay, last, {}};
    return {Outcome::kDate, last, *d};
  }
  size_t SkipComma(size_t i) const {
    return i < t_.size() && t_[i].kind == Kind::kComma ? i + 1 : i;
  }
  std::optional<int> DayAt(size_t i) const {
    if (!WordAt(i)) return std::nullopt;
    std::string_view w = *WordAt(i);
    size_t digits = 0;
    while (digits < w.size() && digits < 3 && w[digits] >= '0' && w[digits] <= '9') ++digits;
    if (digits == 0 || digits > 2) return std::nullopt;
    std::string_view suffix = w.substr(digits);
    if (!suffix.empty() && suffix != "st" && suffix != "nd" && suffix != "rd" && suffix != "th") {
      return std::nullopt;
    }
    return ToInt(w.substr(0, digits));
  }
  std::optional<unsigned> MonthAt(size_t i) const {
    return WordAt(i) ? MonthFromName(*WordAt(i)) : std::nullopt;
  }
  std::optional<int> YearAt(size_t i) const {
    const std::string* w = WordAt(i);
    return w && w->size() == 4 && IsDigits(*w) ? std::optional<int>(ToInt(*w)) : std::nullopt;
  }

  const std::vector<Token>& t_;
};

// "to have <verb>" / "to be <verb>": where it starts and which token names the step.
struct Intro {
  size_t to;
  size_t verb;
};

// Auxiliaries and adverbs say nothing about the step, so "to have been fully embedded" is
// labelled "embedded".
bool IsFiller(const std::string& w) {
  return w == "been" || (w.size() > 2 && w.compare(w.size() - 2, 2, "ly") == 0);
}

std::vector<Intro> FindIntros(const Scanner& s, const std::vector<Token>& t) {
  std::vector<Intro> intros;
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    if (!s.IsWord(i, "to") || !(s.IsWord(i + 1, "have") || s.IsWord(i + 1, "be"))) continue;
    size_t v = i + 2;
    while (s.WordAt(v) && IsFiller(*s.WordAt(v))) ++v;
    if (s.WordAt(v)) intros.push_back({i, v});
  }
  return intros;
}

std::string LabelFrom(const std::string& word) {
  std::string label;
  for (char c : word) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') label += c;
  }
  // Labels are ids (at most 64 characters); keep room for a "-N" suffix.
  if (label.size() > 48) label.resize(48);
  return label;
}

struct Found {
  size_t first;
  size_t last;
  Date due;
  std::string phrase;
};

}  // namespace

Result<std::vector<TextMilestone>> MilestonesFromText(std::string_view text) {
  std::vector<Token> tokens = Tokenize(text);
  Scanner scanner(tokens);
  std::vector<Found> found;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!scanner.IsWord(i, "by")) continue;
    Scanner::Match m = scanner.MatchAt(i);
    if (m.outcome == Scanner::Outcome::kNone) continue;
    std::string phrase(text.substr(tokens[i].begin, tokens[m.last].end - tokens[i].begin));
    if (m.outcome == Scanner::Outcome::kNoSuchDay) {
      return Status::InvalidArgument("recommendation text names a date that does not exist: \"" +
                                     phrase + "\"");
    }
    found.push_back({i, m.last, m.due, std::move(phrase)});
    i = m.last;
  }

  // sentence[i] numbers the sentence token i is in, so a verb never crosses a '.' or ';'.
  std::vector<size_t> sentence(tokens.size());
  for (size_t i = 0, n = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind == Kind::kStop) ++n;
    sentence[i] = n;
  }
  std::vector<Intro> intros = FindIntros(scanner, tokens);
  auto by_start = [](const Intro& in, size_t pos) { return in.to < pos; };
  std::vector<bool> claimed(intros.size(), false);

  std::vector<TextMilestone> result;
  for (size_t k = 0; k < found.size(); ++k) {
    const Found& f = found[k];
    size_t limit = k + 1 < found.size() ? found[k + 1].first : tokens.size();
    std::optional<size_t> pick;
    auto after = std::lower_bound(intros.begin(), intros.end(), f.last + 1, by_start);
    if (after != intros.end() && after->verb < limit && sentence[after->to] == sentence[f.last]) {
      pick = static_cast<size_t>(after - intros.begin());
    } else if (auto before = std::lower_bound(intros.begin(), intros.end(), f.first, by_start);
               before != intros.begin()) {
      // Only the nearest verb before the date; one already naming an earlier step is not reused.
      size_t idx = static_cast<size_t>(std::prev(before) - intros.begin());
      const Intro& in = intros[idx];
      if (!claimed[idx] && in.verb < f.first && sentence[in.to] == sentence[f.first]) pick = idx;
    }
    std::string label;
    if (pick) {
      claimed[*pick] = true;
      label = LabelFrom(tokens[intros[*pick].verb].lower);
    }
    if (label.empty()) label = found.size() == 1 ? "due" : "m" + std::to_string(k + 1);
    result.push_back({std::move(label), f.due, f.phrase});
  }

  std::set<std::string> used;
  std::map<std::string, int> suffix;  // last suffix tried per label: many repeats stay linear
  for (TextMilestone& m : result) {
    std::string label = m.label;
    int& n = suffix[m.label];
    while (!used.insert(label).second)
      label = m.label + "-" + std::to_string(n = std::max(n, 1) + 1);
    m.label = std::move(label);
  }
  return result;
}

}  // namespace rectrack
