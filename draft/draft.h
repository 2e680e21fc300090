// A draft of an inspection's recommendations, read from its report (report_text.h), for a person
// to check and then import (docs/import-format.md, docs/draft.md).
//
// What is recognised, as inspection reports write it:
//   - a "Recommendations" section (or a "Recommendation" box) and its numbered items: "1.",
//     "(a)", "Recommendation 3", an item running over several paragraphs, sub-lists ("a. ...")
//     that belong to it, an item whose number conversion lost;
//   - deadlines in the item ("By March 2024, the CPS to ...") or in a lead-in covering the list
//     ("By 31 March 2025 the SPA should:"), read by MilestonesFromText (engine/deadline_text.h);
//   - owners named where the item says who acts: a known body by name, id or short name, two
//     bodies jointly, or an outside owner ("the government ... must"), proposed as a new body;
//   - in a follow-up report, the earlier report's recommendations each with its judgement
//     (ACHIEVED, NOT ACHIEVED, NOT ACHIEVED - NEW RECOMMENDATION MADE, partially achieved):
//     assessments of the parent's recommendations, matched by number and by text, superseded by
//     the new recommendations the report names.
// Nothing is guessed: an item without a readable date gets no milestone, an owner that cannot be
// told is left empty, and each is listed as something to check; a paragraph that might be a
// recommendation outside any recommendations section is a question, never a draft item.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/date.h"
#include "draft/report_text.h"
#include "engine/deadline_text.h"

namespace rectrack {

struct KnownBody {
  std::string id, name, short_name;
};

struct KnownInspection {
  std::string id, title;
  Date published;
};

struct KnownRecommendation {
  std::string id;
  std::string text;
};

// What the drafter is told beside the report.
struct DraftRequest {
  std::vector<KnownBody> bodies;  // the bodies already known
  // The inspections known: a made-up id avoids theirs, and one of the same title published
  // then (or that month) is named in a check, since the report may be imported already.
  std::vector<KnownInspection> inspections;
  std::string inspection_id;                // "" to make one from the title and year
  std::optional<Date> published;            // nullopt to read it from the report
  std::string follow_up_of;                 // the inspection this report follows up, or ""
  std::vector<KnownRecommendation> parent;  // that inspection's recommendations, in issue order
  std::string source;                       // the report's file name, for the comments
};

struct DraftBody {
  std::string id, name;
  std::string phrase;  // the words it was proposed from
};

struct DraftRecommendation {
  std::string id, number;  // number as the report prints it ("3", "b"), or its position
  std::string text;
  std::vector<std::string> owners;
  std::vector<TextMilestone> milestones;
  std::vector<int> paragraphs;      // the report's paragraphs (Paragraph::number) it came from
  std::vector<std::string> checks;  // what a reviewer must check; empty when sure
  bool left_out = false;            // a reviewer left it out: not written by DraftAsYaml
};

struct DraftJudgement {
  std::string rec;      // the parent's recommendation
  std::string number;   // as the follow-up numbers it
  std::string outcome;  // achieved, partially_achieved or not_achieved
  std::vector<std::string> superseded_by;
  std::string phrase;  // the judgement as the report writes it
  std::vector<int> paragraphs;
  std::vector<std::string> checks;
  bool left_out = false;
};

struct DraftQuestion {
  int paragraph = 0;
  std::string text;
  std::string why;
};

struct Draft {
  bool reviewed = false;  // a person has checked it (the web's review page): "reviewed: true"
  std::string inspection_id, title;
  std::optional<Date> published;
  std::string follow_up_of;
  std::vector<std::string> inspection_checks;
  std::vector<DraftBody> new_bodies;
  std::vector<DraftRecommendation> recommendations;
  std::vector<DraftJudgement> judgements;
  std::vector<DraftQuestion> questions;  // not imported
};

class Engine;

// Fills request->bodies with every known body and, when request->follow_up_of is set,
// request->parent with that inspection's recommendations. NotFound when follow_up_of names no
// inspection; InvalidArgument when request->inspection_id names one already known. REQUIRES: the
// caller holds whatever lock guards `engine` for reading.
Status AddWhatEngineKnows(const Engine& engine, DraftRequest* request);

Draft DraftFromReport(const ReportText& report, const DraftRequest& request);

// The known inspections that may be this report imported already: the same title (its words,
// whatever their case), published on `published`, or in `year` when only that is known (0:
// neither is).
// The check a draft says of such an inspection, and whether a check is one ("inspection 'iqa25'
// has this title and was published 2025-02-11: ..."); whether a check is the one said when the
// report gives no publication date, or only its month.
std::string SameReportCheck(const KnownInspection& known);
bool IsSameReportCheck(const std::string& check);
bool IsNoDateCheck(const std::string& check);
std::vector<KnownInspection> SameReport(const std::string& title, std::optional<Date> published,
                                        int year, const std::vector<KnownInspection>& known);

// The most items (recommendations, judgements and questions) a draft may hold: one report has
// tens. A review page is a form row for each.
inline constexpr size_t kMaxDraftItems = 500;
// TooLarge, saying how many, when `draft` holds more than kMaxDraftItems items.
Status CheckDraftSize(const Draft& draft);

// The draft in the import format: "reviewed: false" first (import refuses it until a person sets
// it true), each item with a comment saying where the report has it and what to check, the
// questions at the end as comments.
std::string DraftAsYaml(const Draft& draft, const ReportText& report, const DraftRequest& request);

}  // namespace rectrack
