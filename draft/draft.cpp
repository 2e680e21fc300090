#include "draft/draft.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/strings.h"
#include "draft/recognise.h"
#include "draft/scan.h"
#include "engine/engine.h"

namespace rectrack {
namespace {

using namespace scan;  // NOLINT: the character tests every function here uses

using namespace recognise;  // NOLINT: the recognisers the walk is made of

bool EndsWithAny(std::string_view s, std::string_view chars) {
  return !s.empty() && chars.find(s.back()) != std::string_view::npos;
}

// ---- What a paragraph is ----

bool IsHeading(const Paragraph& p) {
  if (p.cell && p.cells_in_row > 1) return false;
  if (p.marker != Marker::kNone && p.marker != Marker::kNumber) return false;
  const std::string& t = p.text;
  if (t.empty() || t.size() > 90 || EndsWithAny(t, ".;:,")) return false;
  if (!IsUpper(t.front()) && !IsDigit(t.front())) return false;
  const auto words = Words(t);
  if (words.size() > 10) return false;
  for (const auto& w : words) {
    if (w == "should" || w == "must") return false;
  }
  return true;
}

enum class RecHeading { kNone, kList, kBox };

// "Recommendations", "New recommendations", "Our recommendation", "Recommendation" (a box).
RecHeading RecommendationHeading(const Paragraph& p) {
  if (!IsHeading(p)) return RecHeading::kNone;
  static const std::set<std::string> kLeading = {"new", "our",  "the",  "further", "summary",
                                                 "of",  "list", "main", "key",     "additional"};
  // "Recommendations for the Service Prosecuting Authority", "Recommendations made to ...".
  static const std::set<std::string> kFollowing = {"for", "to", "made"};
  const auto words = Words(p.text);
  size_t at = 0;
  while (at < words.size() && kLeading.count(words[at])) ++at;
  if (at >= words.size() || (at + 1 < words.size() && !kFollowing.count(words[at + 1]))) {
    return RecHeading::kNone;
  }
  if (words[at] == "recommendations") return RecHeading::kList;
  if (words[at] == "recommendation" && at + 1 == words.size()) return RecHeading::kBox;
  return RecHeading::kNone;
}

// ---- The walk ----

struct Item {
  std::string number;
  bool numbered = false;    // the report printed its number
  bool in_section = false;  // under a recommendations heading or in a box
  std::vector<std::string> parts;
  std::vector<int> paragraphs;
  int lead_in = -1;  // index into Walk::paragraphs of the list's lead-in
  std::optional<Judgement> judgement;
  int judgement_paragraph = 0;
  bool lost_number = false;
};

bool HasDeadline(std::string_view text) {
  auto m = MilestonesFromText(text);
  return !m.ok() || !m->empty();
}

bool HasModal(std::string_view text) {
  const std::string lower = " " + Lower(text) + " ";
  for (std::string_view verb : {" should ", " must ", " to have ", " to be ", " should:"}) {
    if (lower.find(verb) != std::string::npos) return true;
  }
  // "By March 2024, the CPS to introduce": a deadline, then "to".
  return lower.find(" to ") != std::string::npos && StartsWith(lower, " by ");
}

// A paragraph that reads like a recommendation: a dated instruction, or one that says so.
bool ReadsLikeRecommendation(std::string_view text) {
  const std::string lower = Lower(text);
  if (lower.find("we recommend") != std::string::npos) return true;
  return HasDeadline(text) && HasModal(text);
}

// "By 31 July 2025 to have designed ...", "To be embedded by March 2024.": a step of the item
// before it, not a new one.
bool ContinuesItem(std::string_view text) {
  if (text.empty()) return false;
  if (IsLower(text.front())) return true;
  const std::string lower = Lower(text.substr(0, 120));
  if (StartsWith(lower, "to be ") || StartsWith(lower, "to have ") || StartsWith(lower, "and ") ||
      StartsWith(lower, "this should") || StartsWith(lower, "this must")) {
    return true;
  }
  if (StartsWith(lower, "by ")) {
    const size_t comma = lower.find(',');
    const size_t to = lower.find(" to ");
    return to != std::string::npos && (comma == std::string::npos || to < comma) &&
           lower.substr(0, to).find(" the ") == std::string::npos;
  }
  return false;
}

class Walker {
 public:
  Walker(const ReportText& report, const std::vector<KnownBody>& bodies)
      : report_(report), bodies_(bodies) {}

  std::vector<Item> Walk(std::vector<DraftQuestion>* questions) {
    const auto& ps = report_.paragraphs;
    for (size_t i = 0; i < ps.size(); ++i) {
      const Paragraph& p = ps[i];
      const auto j = FindJudgement(p);
      // A judgement on a paragraph (or in a cell) of its own, or ending a paragraph that goes on
      // the item: the current item's. One ending a numbered paragraph is that paragraph's own
      // item's, once it is started below.
      if (j && p.marker == Marker::kNone && Current() && !Current()->judgement) {
        if (j->begin > 0) Append(*Current(), p, p.text.substr(0, j->begin));
        Current()->judgement = j;
        Current()->judgement_paragraph = p.number;
        continue;
      }
      if (RecHeading h = RecommendationHeading(p); h != RecHeading::kNone) {
        state_ = h == RecHeading::kList ? State::kList : State::kBox;
        style_ = Marker::kNone;
        lead_in_ = -1;
        current_ = -1;
        continue;
      }
      if (p.marker == Marker::kRecommendation) {
        if (state_ != State::kList ||
            (style_ != Marker::kRecommendation && style_ != Marker::kNone)) {
          lead_in_ = -1;  // a new list, not the one a lead-in opened
        }
        state_ = State::kList;
        style_ = Marker::kRecommendation;
        StartItem(p, p.label, true);
        if (j) OwnJudgement(p, *j);  // "Recommendation 2 - NOT ACHIEVED"
        continue;
      }
      if (IsHeading(p) && !(p.cell && current_ >= 0)) {
        state_ = State::kProse;
        current_ = -1;
        lead_in_ = -1;
        continue;
      }
      if (p.marker == Marker::kNone && !p.text.empty() && p.text.back() == ':' &&
          i + 1 < ps.size() && ps[i + 1].marker != Marker::kNone &&
          ps[i + 1].marker != Marker::kBullet &&
          (state_ == State::kList || (HasDeadline(p.text) && HasModal(p.text)))) {
        state_ = State::kList;
        style_ = Marker::kNone;
        lead_in_ = static_cast<int>(i);
        current_ = -1;
        continue;
      }
      switch (state_) {
        case State::kList:
          List(p, i + 1 < ps.size() ? &ps[i + 1] : nullptr, questions);
          break;
        case State::kBox:
          Box(p);
          break;
        case State::kProse:
          Prose(p, questions);
          break;
      }
      if (j && p.marker != Marker::kNone) OwnJudgement(p, *j);  // "2. <text> NOT ACHIEVED"
    }
    return std::move(items_);
  }

 private:
  enum class State { kProse, kList, kBox };

  Item* Current() { return current_ >= 0 ? &items_[static_cast<size_t>(current_)] : nullptr; }

  // `j` ends paragraph `p`, which started the current item: the judgement is that item's, and
  // the rest of the paragraph its text.
  void OwnJudgement(const Paragraph& p, const Judgement& j) {
    Item* item = Current();
    if (!item || item->judgement || item->paragraphs.empty() ||
        item->paragraphs.front() != p.number) {
      return;
    }
    if (!item->parts.empty() && item->paragraphs.size() == 1) {
      std::string& text = item->parts.back();
      text = text.substr(0, std::min(text.size(), j.begin));
      while (!text.empty() && text.back() == ' ') text.pop_back();
      if (text.empty()) item->parts.pop_back();
    }
    item->judgement = j;
    item->judgement_paragraph = p.number;
  }

  void StartItem(const Paragraph& p, const std::string& number, bool numbered) {
    Item item;
    item.number = number;
    item.numbered = numbered;
    item.in_section = state_ != State::kProse;
    item.lead_in = lead_in_;
    if (const std::optional<int64_t> n = ParseDigits(number, 6); item.in_section && n) {
      last_number_ = std::max(last_number_, static_cast<int>(*n));
    }
    items_.push_back(std::move(item));
    current_ = static_cast<int>(items_.size()) - 1;
    Append(items_.back(), p, p.text);
  }

  void Append(Item& item, const Paragraph& p, std::string_view text) {
    if (!text.empty()) item.parts.emplace_back(text);
    item.paragraphs.push_back(p.number);
  }

  std::string NextNumber() const { return std::to_string(last_number_ + 1); }

  // "2.5. We will carry out ...": the report's own numbered paragraphs are prose again.
  static bool NumberedProse(const Paragraph& p) {
    return p.marker == Marker::kNone && p.label.find('.') != std::string::npos;
  }

  // A sub-list's entry as it goes on its item's text: "a. the same core training"; a bullet
  // without its mark (conversion turns some paragraphs into bullets, and "-" reads as nothing).
  static std::string SubItem(const Paragraph& p) {
    return p.label.empty() ? p.text : p.label + ". " + p.text;
  }

  // True when `text` says someone other than `item`'s actor is to act ("The police should
  // publish guidance by March 2026" after a CPS item): not a paragraph of that item.
  bool AnotherActor(std::string_view text, const Item& item) const {
    if (item.parts.empty()) return false;  // "Recommendation 3" alone: its text follows
    const std::string subject = SubjectOf(text);
    std::vector<std::string> named = KnownOwners(subject, bodies_);
    if (named.empty()) {
      if (!ProposedOwner(subject)) return false;
      return true;
    }
    const std::vector<std::string> own = KnownOwners(SubjectOf(item.parts.front()), bodies_);
    return std::any_of(named.begin(), named.end(), [&](const std::string& id) {
      return std::find(own.begin(), own.end(), id) == own.end();
    });
  }

  void List(const Paragraph& p, const Paragraph* next, std::vector<DraftQuestion>* questions) {
    if (NumberedProse(p)) {
      state_ = State::kProse;
      current_ = -1;
      return Prose(p, questions);
    }
    if (style_ == Marker::kNone && p.marker != Marker::kNone) style_ = p.marker;
    if (p.marker != Marker::kNone && p.marker == style_) {
      return StartItem(p, p.marker == Marker::kBullet ? NextNumber() : p.label,
                       p.marker != Marker::kBullet);
    }
    Item* item = Current();
    if (item && p.marker != Marker::kNone) {  // a sub-list of the item
      Append(*item, p, SubItem(p));
      return;
    }
    if (item && !p.cell && StartsLikeRecommendation(p.text) && style_ == Marker::kNumber &&
        EndsWithAny(item->parts.empty() ? "" : item->parts.back(), ".")) {
      // A dated instruction after a finished item in a numbered list: its number was lost.
      StartItem(p, NextNumber(), false);
      Current()->lost_number = true;
      return;
    }
    if (item && (ContinuesItem(p.text) || p.cell ||
                 ((HasModal(p.text) || HasDeadline(p.text)) && !AnotherActor(p.text, *item)))) {
      Append(*item, p, p.text);
      return;
    }
    if (!item && style_ == Marker::kNone && ReadsLikeRecommendation(p.text)) {
      return StartItem(p, NextNumber(), false);  // a list written without numbers
    }
    // "The following recommendations are for the police forces.", and the list goes on.
    if (next && style_ != Marker::kNone && next->marker == style_) {
      current_ = -1;
      if (ReadsLikeRecommendation(p.text)) {
        questions->push_back({p.number, p.text,
                              "reads like a recommendation but is not numbered "
                              "as the list's items are"});
      }
      return;
    }
    // Prose after the list: the list is over.
    state_ = State::kProse;
    current_ = -1;
    Prose(p, questions);
  }

  void Box(const Paragraph& p) {
    Item* item = Current();
    // A box holds one recommendation: it needs no number to be told apart.
    if (!item) return StartItem(p, p.marker == Marker::kNumber ? p.label : NextNumber(), true);
    if (p.marker != Marker::kNone) {
      Append(*item, p, SubItem(p));
    } else if (ContinuesItem(p.text) && !NumberedProse(p)) {
      Append(*item, p, p.text);
    } else {
      state_ = State::kProse;
      current_ = -1;
    }
  }

  void Prose(const Paragraph& p, std::vector<DraftQuestion>* questions) {
    // Numbered items outside a recommendations section: kept in case a judgement follows (a
    // follow-up's list of the earlier recommendations); dropped otherwise.
    if (p.marker == Marker::kNumber || p.marker == Marker::kLetter) {
      return StartItem(p, p.label, true);
    }
    if (Item* item = Current(); item && p.marker == Marker::kNone && !item->judgement) {
      Append(*item, p, p.text);
      return;
    }
    current_ = -1;
    if (p.marker == Marker::kNone && ReadsLikeRecommendation(p.text)) {
      questions->push_back({p.number, p.text,
                            "reads like a recommendation but is not under a recommendations "
                            "heading"});
    }
  }

  // A dated instruction that opens with its deadline ("By July 2023, the CPS to ...") or names
  // a known body as the one to act: an item of its own, not the next paragraph of one.
  bool StartsLikeRecommendation(std::string_view text) const {
    if (!ReadsLikeRecommendation(text) || ContinuesItem(text)) return false;
    const std::string subject = SubjectOf(text);
    return StartsWithNoCase(text, "by ") || !KnownOwners(subject, bodies_).empty() ||
           ProposedOwner(subject).has_value();
  }

  const ReportText& report_;
  const std::vector<KnownBody>& bodies_;
  std::vector<Item> items_;
  State state_ = State::kProse;
  Marker style_ = Marker::kNone;
  int lead_in_ = -1;
  int current_ = -1;
  int last_number_ = 0;  // the highest number an item in a section had
};

// ---- From items to the draft ----

DraftRecommendation MakeRecommendation(const Item& item, const ReportText& report,
                                       const DraftRequest& request, Draft* draft) {
  DraftRecommendation rec;
  rec.number = item.number;
  rec.id = draft->inspection_id + "-r" + item.number;
  std::string lead;
  if (item.lead_in >= 0) lead = report.paragraphs[static_cast<size_t>(item.lead_in)].text;
  rec.text = Join(item.parts, " ");
  const std::string full = lead.empty() ? rec.text : lead + " " + rec.text;
  rec.paragraphs = item.paragraphs;
  if (item.lead_in >= 0) rec.paragraphs.insert(rec.paragraphs.begin(), item.lead_in + 1);
  if (!lead.empty()) rec.text = full;
  if (item.lost_number) {
    rec.checks.push_back("its number was lost in conversion: numbered " + item.number +
                         " by its place in the list");
  } else if (!item.numbered) {
    rec.checks.push_back("the report does not number it: numbered " + item.number +
                         " by its place");
  }
  // Owners: who the item says acts, else who its lead-in says.
  const std::string own_text = rec.text.substr(lead.empty() ? 0 : lead.size() + 1);
  const std::string subject = SubjectOf(own_text);
  // Only words before a verb are a subject: "introduce a protocol with the service police ..."
  // (a lead-in's item) names no one who acts.
  const bool has_subject = subject.size() < own_text.size();
  rec.owners = KnownOwners(subject, request.bodies);
  const bool own_owners = !rec.owners.empty();
  if (rec.owners.empty() && !lead.empty()) {
    rec.owners = KnownOwners(SubjectOf(lead), request.bodies);
  }
  // Organisations no known body matches, each part of the subject on its own ("the CPS and the
  // Home Office should"): proposed as new bodies, so that no owner is silently left out.
  auto propose = [&](const std::string& part) {
    auto proposed = ProposedOwner(part);
    if (!proposed) return false;
    if (std::find(rec.owners.begin(), rec.owners.end(), proposed->id) != rec.owners.end()) {
      return true;
    }
    auto same = std::find_if(draft->new_bodies.begin(), draft->new_bodies.end(),
                             [&](const DraftBody& b) { return b.id == proposed->id; });
    if (same == draft->new_bodies.end()) draft->new_bodies.push_back(*proposed);
    rec.owners.push_back(proposed->id);
    rec.checks.push_back("owner '" + proposed->phrase + "' is no body rectrack knows: " +
                         "proposed as a new body '" + proposed->id + "'");
    return true;
  };
  if (rec.owners.empty()) {
    const std::string whole = SubjectOf(rec.text);
    if (whole.size() == rec.text.size() || !propose(whole)) {
      rec.checks.push_back("no owner could be told from the text: give one");
    }
  } else if (own_owners && has_subject) {
    for (const std::string& part : SubjectParts(subject)) {
      if (KnownOwners(part, request.bodies).empty()) propose(part);
    }
  }
  auto milestones = MilestonesFromText(full);
  if (!milestones.ok()) {
    rec.checks.push_back(milestones.status().message() + ": no milestone");
  } else if (milestones->empty()) {
    rec.checks.push_back("no date could be read: no milestone");
  } else {
    rec.milestones = *milestones;
  }
  return rec;
}

void MatchJudgement(const Item& item, const DraftRequest& request, Draft* draft,
                    std::set<std::string>* used_new) {
  DraftJudgement j;
  j.number = item.number;
  j.outcome = item.judgement->outcome;
  j.phrase = item.judgement->phrase;
  j.paragraphs = item.paragraphs;
  if (item.judgement_paragraph &&
      (j.paragraphs.empty() || j.paragraphs.back() != item.judgement_paragraph)) {
    j.paragraphs.push_back(item.judgement_paragraph);
  }
  const std::string text = Join(item.parts, " ");
  const KnownRecommendation* by_number = nullptr;
  const KnownRecommendation* by_text = nullptr;
  double best = 0, numbered = 0;
  for (const KnownRecommendation& parent : request.parent) {
    const double s = Similarity(text, parent.text);
    if (NumberOfId(parent.id) == item.number) {
      by_number = &parent;
      numbered = s;
    }
    if (s > best) {
      best = s;
      by_text = &parent;
    }
  }
  if (by_number && (numbered >= 0.3 || text.size() < 20 || by_text == by_number)) {
    j.rec = by_number->id;
    if (text.size() >= 20 && numbered < 0.3) {
      j.checks.push_back("matched by its number only: the wording differs from " + j.rec);
    }
  } else if (by_text && best >= 0.4) {
    j.rec = by_text->id;
    j.checks.push_back("matched by its wording to " + j.rec +
                       (by_number ? " (its number says " + by_number->id + ")" : ""));
  } else {
    draft->questions.push_back({j.paragraphs.empty() ? 0 : j.paragraphs.front(),
                                text + " - " + j.phrase,
                                "a judgement on a recommendation of " + request.follow_up_of +
                                    " that matches none of its recommendations"});
    return;
  }
  if (item.judgement->new_made) {
    const DraftRecommendation* target = nullptr;
    if (!item.judgement->see.empty()) {
      for (const auto& rec : draft->recommendations) {
        if (rec.number == item.judgement->see) target = &rec;
      }
    }
    if (target) {
      j.superseded_by.push_back(target->id);
      used_new->insert(target->id);
    } else {
      // Not guessed: the closest in wording is named for the reviewer, not filled in.
      const DraftRecommendation* closest = nullptr;
      double best_new = 0.2;
      const std::string& parent_text =
          std::find_if(request.parent.begin(), request.parent.end(),
                       [&](const KnownRecommendation& r) { return r.id == j.rec; })
              ->text;
      for (const auto& rec : draft->recommendations) {
        if (used_new->count(rec.id)) continue;
        const double s = std::max(Similarity(parent_text, rec.text), Similarity(text, rec.text));
        if (s > best_new) {
          best_new = s;
          closest = &rec;
        }
      }
      j.checks.push_back(
          "the report says a new recommendation was made but not which: give superseded_by" +
          (closest ? " (" + closest->id + " is the closest in wording)" : std::string()));
    }
  }
  draft->judgements.push_back(std::move(j));
}

}  // namespace

Status AddWhatEngineKnows(const Engine& engine, DraftRequest* request) {
  for (const Body& body : engine.Bodies()) {
    request->bodies.push_back({body.id, body.name, body.short_name});
  }
  bool parent_known = false;
  for (const Inspection& inspection : engine.Inspections()) {
    if (inspection.id == request->inspection_id) {
      return Status::InvalidArgument("inspection '" + request->inspection_id +
                                     "' is already known: draft a new report under a new id");
    }
    parent_known = parent_known || inspection.id == request->follow_up_of;
    request->inspections.push_back({inspection.id, inspection.title, inspection.published});
  }
  if (request->follow_up_of.empty()) return Status();
  if (!parent_known) {
    return Status::NotFound("no inspection '" + request->follow_up_of +
                            "' is known to follow up: import it first");
  }
  ASSIGN_OR_RETURN(std::vector<RecommendationView> parent, engine.List(ListQuery{}));
  std::erase_if(parent, [&](const RecommendationView& r) {
    return r.def.inspection != request->follow_up_of;
  });
  // In the report's order: by the number the id ends with, then by id.
  auto number = [](const std::string& id) {
    return static_cast<int>(ParseDigits(NumberOfId(id), 6).value_or(0));
  };
  std::sort(parent.begin(), parent.end(), [&](const auto& a, const auto& b) {
    return std::pair(number(a.id), a.id) < std::pair(number(b.id), b.id);
  });
  for (const RecommendationView& r : parent) request->parent.push_back({r.id, r.def.text});
  return Status();
}

Status CheckDraftSize(const Draft& draft) {
  const size_t items =
      draft.recommendations.size() + draft.judgements.size() + draft.questions.size();
  if (items <= kMaxDraftItems) return Status();
  return Status::TooLarge("the report gives " + std::to_string(items) +
                          " recommendations, judgements and questions; a draft holds at most " +
                          std::to_string(kMaxDraftItems) + ": is it one inspection's report?");
}

Draft DraftFromReport(const ReportText& report, const DraftRequest& request) {
  Draft draft;
  ReadInspection(report, request, &draft);
  std::vector<Item> items = Walker(report, request.bodies).Walk(&draft.questions);
  std::set<std::string> ids;
  for (const Item& item : items) {
    if (item.judgement) continue;
    if (!item.in_section) {
      const std::string text = Join(item.parts, " ");
      if (ReadsLikeRecommendation(text)) {
        draft.questions.push_back({item.paragraphs.empty() ? 0 : item.paragraphs.front(), text,
                                   "reads like a recommendation but is not under a "
                                   "recommendations heading"});
      }
      continue;
    }
    DraftRecommendation rec = MakeRecommendation(item, report, request, &draft);
    if (!ids.insert(rec.id).second) {
      rec.checks.push_back("another item has the number " + rec.number);
      rec.id += "-" + std::to_string(ids.size());
      ids.insert(rec.id);
    }
    draft.recommendations.push_back(std::move(rec));
  }
  std::set<std::string> used_new;
  for (const Item& item : items) {
    if (!item.judgement) continue;
    if (request.follow_up_of.empty()) {
      draft.questions.push_back(
          {item.paragraphs.empty() ? 0 : item.paragraphs.front(),
           Join(item.parts, " ") + " - " + item.judgement->phrase,
           "a judgement on an earlier report's recommendation: name that report's inspection "
           "(--follow-up-of) to draft it as an assessment"});
      continue;
    }
    MatchJudgement(item, request, &draft, &used_new);
  }
  if (!request.follow_up_of.empty() && draft.judgements.size() < request.parent.size()) {
    std::set<std::string> judged;
    for (const DraftJudgement& j : draft.judgements) judged.insert(j.rec);
    std::vector<std::string> missing;
    for (const KnownRecommendation& r : request.parent) {
      if (!judged.count(r.id)) missing.push_back(r.id);
    }
    draft.inspection_checks.push_back("a follow-up of " + request.follow_up_of +
                                      ", but no judgement was found on " + Join(missing, ", ") +
                                      ": find them in the report and add their assessments");
  }
  std::sort(
      draft.questions.begin(), draft.questions.end(),
      [](const DraftQuestion& a, const DraftQuestion& b) { return a.paragraph < b.paragraph; });
  return draft;
}

}  // namespace rectrack
