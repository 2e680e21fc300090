// Who acts in a recommendation: its subject, the known bodies it names, the organisations it
// names that no body matches (recognise.h).
#include <algorithm>
#include <set>

#include "common/strings.h"
#include "draft/recognise.h"
#include "draft/scan.h"

namespace rectrack::recognise {

using namespace scan;  // NOLINT: the character tests every function here uses

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsAlnum(text[i])) ++i;
    const size_t begin = i;
    while (i < text.size() && (IsAlnum(text[i]) || text[i] == '\'')) ++i;
    if (i > begin) words.push_back(Lower(text.substr(begin, i - begin)));
  }
  return words;
}

// Where `needle` stands in `text` as whole words (case-sensitive when `exact`), or npos.
size_t FindWhole(std::string_view text, std::string_view needle, bool exact) {
  if (needle.empty()) return std::string_view::npos;
  const std::string hay = exact ? std::string(text) : Lower(text);
  const std::string pin = exact ? std::string(needle) : Lower(needle);
  for (size_t at = hay.find(pin); at != std::string::npos; at = hay.find(pin, at + 1)) {
    const bool left = at == 0 || !IsAlnum(hay[at - 1]);
    const size_t end = at + pin.size();
    const bool right = end >= hay.size() || !IsAlnum(hay[end]);
    if (left && right) return at;
  }
  return std::string_view::npos;
}

// ---- Owners ----

// The part of an item that says who acts: the words before its verb ("should", "must", "to
// <verb>"), the opening "By <date>," included.
std::string SubjectOf(std::string_view text) {
  const std::string lower = Lower(text);
  size_t end = lower.size();
  for (std::string_view verb : {" should ", " must ", " will ", " needs to ", " need to ",
                                " is to ", " are to ", " to ", " should:", " must:"}) {
    const size_t at = lower.find(verb);
    if (at != std::string::npos) end = std::min(end, at);
  }
  end = std::min<size_t>(end, 300);
  while (end < text.size() && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;  // not inside a UTF-8 character
  }
  return std::string(text.substr(0, end));
}

namespace {

struct Found {
  size_t at;
  std::string id;
};

}  // namespace

std::vector<std::string> KnownOwners(std::string_view raw, const std::vector<KnownBody>& bodies) {
  std::string subject(raw);  // "Chiefs’ Council" is "Chiefs' Council"
  for (size_t at; (at = subject.find("\u2019")) != std::string::npos;) subject.replace(at, 3, "'");
  std::vector<Found> found;
  for (const KnownBody& body : bodies) {
    size_t at = std::string_view::npos;
    for (auto [name, exact] : {std::pair<std::string_view, bool>{body.name, false},
                               {body.id, true},
                               {body.short_name, true}}) {
      at = std::min(at, FindWhole(subject, name, exact));
    }
    if (at != std::string_view::npos) found.push_back({at, body.id});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.at < b.at; });
  std::vector<std::string> ids;
  for (const Found& f : found) ids.push_back(f.id);
  return ids;
}

namespace {

std::string IdFrom(std::string_view name) {
  std::string id;
  for (char c : Lower(name)) {
    if (IsAlnum(c)) {
      id += c;
    } else if (!id.empty() && id.back() != '-') {
      id += '-';
    }
  }
  while (!id.empty() && id.back() == '-') id.pop_back();
  return id.substr(0, 64);
}

}  // namespace

// An owner the known bodies do not name: "the Home Office (HO)", "the government, through its
// ... ministry". Only a phrase that names an organisation counts: "prosecutors" is not one.
std::optional<DraftBody> ProposedOwner(std::string_view subject) {
  // "Name (ABBR)": the report's own abbreviation.
  for (size_t open = subject.find('('); open != std::string_view::npos;
       open = subject.find('(', open + 1)) {
    const size_t close = subject.find(')', open);
    if (close == std::string_view::npos) break;
    const std::string_view abbr = subject.substr(open + 1, close - open - 1);
    // "SFO", "MoJ", "DfE": letters (and "&"), two capitals at least, the first one of them.
    const auto capitals = std::count_if(abbr.begin(), abbr.end(), IsUpper);
    if (abbr.size() < 2 || abbr.size() > 10 || capitals < 2 || !IsUpper(abbr.front()) ||
        !std::all_of(abbr.begin(), abbr.end(),
                     [](char c) { return IsUpper(c) || IsLower(c) || c == '&'; })) {
      continue;
    }
    // The name: the capitalised words before the bracket.
    const auto words = SplitList(subject.substr(0, open), ' ');
    std::vector<std::string> name;
    for (size_t i = words.size(); i-- > 0;) {
      const std::string& w = words[i];
      if (!w.empty() && (IsUpper(w.front()) || w == "of" || w == "for" || w == "and")) {
        name.insert(name.begin(), w);
      } else {
        break;
      }
    }
    if (!name.empty()) {
      return DraftBody{std::string(abbr), Join(name, " "),
                       std::string(subject.substr(0, close + 1))};
    }
  }
  static const std::set<std::string> kOrganisations = {
      "government", "ministry", "department",   "council", "office",  "authority",
      "agency",     "police",   "commission",   "board",   "college", "treasury",
      "executive",  "service",  "inspectorate", "forces",  "force",   "tribunal"};
  // From "the" to the first comma or the end: "the government, through its ...".
  const std::string lower = Lower(subject);
  size_t the = FindWhole(lower, "the", false);
  if (the == std::string::npos) return std::nullopt;
  size_t end = subject.find(',', the);
  if (end == std::string_view::npos) end = subject.size();
  std::string phrase(subject.substr(the, end - the));
  while (!phrase.empty() && phrase.back() == ' ') phrase.pop_back();
  const auto words = Words(phrase);
  if (words.size() < 2 || words.size() > 8) return std::nullopt;
  bool organisation = false;
  for (const auto& w : words) organisation = organisation || kOrganisations.count(w) > 0;
  if (!organisation) return std::nullopt;
  std::string name = phrase.substr(4);
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return DraftBody{IdFrom(name), name, phrase};
}

// "By June 2025, the CPS and the Home Office" -> "By June 2025", "the CPS", "the Home Office":
// the parts of a subject that can each name one owner (commas inside brackets do not split).
std::vector<std::string> SubjectParts(std::string_view subject) {
  std::vector<std::string> parts;
  std::string part;
  int depth = 0;
  auto flush = [&] {
    while (!part.empty() && part.back() == ' ') part.pop_back();
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    if (!part.empty()) parts.push_back(part);
    part.clear();
  };
  for (size_t i = 0; i < subject.size(); ++i) {
    const char c = subject[i];
    depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    if (depth == 0 && c == ',') {
      flush();
    } else if (depth == 0 && subject.compare(i, 5, " and ") == 0) {
      flush();
      i += 4;
    } else {
      part += c;
    }
  }
  flush();
  return parts;
}

}  // namespace rectrack::recognise
