// What the drafter recognises inside a paragraph, shared by draft.cpp (the walk over the report)
// with owners.cpp (who acts) and judgements.cpp (a follow-up's judgements, texts alike). Private
// to draft/; the contracts are those of draft.h's rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "draft/draft.h"

namespace rectrack::recognise {

// The words of `text`, lower case (letters, digits and apostrophes).
std::vector<std::string> Words(std::string_view text);
// Where `needle` stands in `text` as whole words (case-sensitive when `exact`), or npos.
size_t FindWhole(std::string_view text, std::string_view needle, bool exact);

// ---- The inspection (inspection.cpp)

// The inspection `report` is of, into `draft`: its title and publication date as the report's
// first pages give them (or as `request` says), and its id (`request`'s, or one made from the
// title and year that no inspection in `request` has), with a check for each it had to guess.
void ReadInspection(const ReportText& report, const DraftRequest& request, Draft* draft);

// ---- Who acts (owners.cpp)

// The part of an item that says who acts: the words before its verb ("should", "must", "to
// <verb>"), the opening "By <date>," included; the whole text (up to 300 bytes) when it has none.
std::string SubjectOf(std::string_view text);
// The known bodies `subject` names (by name, id or short name), in order of appearance.
std::vector<std::string> KnownOwners(std::string_view subject,
                                     const std::vector<KnownBody>& bodies);
// An owner no known body matches: "the Home Office (HO)", "the government, through its ...".
// Only a phrase that names an organisation counts: "prosecutors" is not one.
std::optional<DraftBody> ProposedOwner(std::string_view subject);
// "By June 2025, the CPS and the Home Office" -> "By June 2025", "the CPS", "the Home Office".
std::vector<std::string> SubjectParts(std::string_view subject);

// ---- Judgements and likeness (judgements.cpp)

struct Judgement {
  std::string outcome;  // achieved, partially_achieved, not_achieved
  bool new_made = false;
  std::string phrase;
  std::string see;   // "(see new recommendation 1)": the new one's number
  size_t begin = 0;  // where the judgement starts in the paragraph
};

// A judgement standing in `text` from `begin` to its end: "NOT ACHIEVED - NEW RECOMMENDATION
// MADE (see new recommendation 1)", "Partially achieved.", "Judgement: achieved".
std::optional<Judgement> ReadJudgementAt(std::string_view text, size_t begin);
// A judgement that is the whole paragraph, or (written in capitals) ends it.
std::optional<Judgement> FindJudgement(const Paragraph& p);
// How much two texts share: their common content words over the smaller set's size (0..1).
double Similarity(std::string_view a, std::string_view b);
// "da23-r4" -> "4": the number a recommendation's id ends with ("" for none).
std::string NumberOfId(const std::string& id);

}  // namespace rectrack::recognise
