// The report reader's recognition rules (draft/report_text.h, draft/draft.h), each with a case
// that must yield nothing. The same reports through real converters: tests/draft_accuracy.py.
#include <gtest/gtest.h>

#include "common/text.h"
#include "draft/draft.h"
#include "engine/importer.h"
#include "engine/workflow.h"

namespace rectrack {
namespace {

std::vector<std::string> Texts(const ReportText& report) {
  std::vector<std::string> texts;
  for (const auto& p : report.paragraphs) texts.push_back(p.text);
  return texts;
}

bool HasText(const ReportText& report, const std::string& text) {
  const auto texts = Texts(report);
  return std::find(texts.begin(), texts.end(), text) != texts.end();
}

DraftRequest Known() {
  DraftRequest request;
  request.bodies = {{"CPS", "Crown Prosecution Service", ""},
                    {"SFO", "Serious Fraud Office", ""},
                    {"NPCC", "National Police Chiefs' Council", ""},
                    {"SPA", "Service Prosecuting Authority", ""}};
  request.inspection_id = "t24";
  request.published = Date::Parse("2024-06-04");
  request.source = "test.txt";
  return request;
}

Draft DraftOf(std::string_view text, DraftRequest request = Known()) {
  return DraftFromReport(ParagraphsOf(text, ReportFormat::kText), request);
}

std::vector<std::string> Dues(const DraftRecommendation& rec) {
  std::vector<std::string> dues;
  for (const auto& m : rec.milestones) dues.push_back(m.due.ToString());
  return dues;
}

using Strings = std::vector<std::string>;

// ---- Text as conversion leaves it ----

TEST(ReportText, JoinsWordsSplitAcrossLinesKeepingCompoundHyphens) {
  const auto report = ParagraphsOf(
      "The CPS should give trauma-\ninformed training, and pre- charge advice, to every\n"
      "recom-\nmendation's owner. Each recommendation stands.\n",
      ReportFormat::kText);
  ASSERT_EQ(report.paragraphs.size(), 1u);
  EXPECT_EQ(report.paragraphs[0].text,
            "The CPS should give trauma-informed training, and pre-charge advice, to every "
            "recommendation's owner. Each recommendation stands.");
}

TEST(ReportText, LeavesASuspendedHyphenAlone) {
  const auto report = ParagraphsOf("At the pre- and post-charge stages.\n", ReportFormat::kText);
  EXPECT_EQ(report.paragraphs.at(0).text, "At the pre- and post-charge stages.");
}

TEST(ReportText, DropsRunningHeadersFootersAndPageNumbers) {
  std::string text;
  const Strings bodies = {"Alpha names 7 cases.", "Beta reads on.", "Gamma 12 more.",
                          "Delta ends."};
  for (int page = 1; page <= 4; ++page) {
    text += "Domestic abuse follow-up\n\n" + bodies[page - 1] + "\n\n" + std::to_string(page + 4) +
            "\n\nPage " + std::to_string(page) + " of 32\n\f";
  }
  const auto report = ParagraphsOf(text, ReportFormat::kPdf);
  EXPECT_EQ(report.pages, 5);  // the text ends with a form feed
  EXPECT_EQ(Texts(report), bodies);
  ASSERT_EQ(report.paragraphs.size(), 4u);
  EXPECT_EQ(report.paragraphs[2].page, 3);
}

TEST(ReportText, KeepsALineSeenOnOnePageOnly) {
  const auto report = ParagraphsOf(
      "A heading once\n\nText one.\n\fOther start\n\nText two.\n\fThird start\n\nText three.\n",
      ReportFormat::kPdf);
  EXPECT_TRUE(HasText(report, "A heading once"));
  EXPECT_TRUE(HasText(report, "Other start"));
}

TEST(ReportText, JoinsAParagraphAPageNumberOrBreakCut) {
  const auto report = ParagraphsOf(
      "By March 2024, the CPS to introduce a system to\n\n12\n\nidentify summary time limits.\n\n"
      "Findings.\n\nlower case after a full stop stays apart.\n",
      ReportFormat::kPdf);
  EXPECT_EQ(
      Texts(report),
      (Strings{"By March 2024, the CPS to introduce a system to identify summary time limits.",
               "Findings.", "lower case after a full stop stays apart."}));
}

TEST(ReportText, KeepsABareNumberInTextWithoutPages) {
  // "2026" on a line of its own ends a date in plain text; only a paged document has page
  // numbers to drop.
  const auto report = ParagraphsOf("By 31 March\n2026\nthe CPS should act.\n", ReportFormat::kText);
  EXPECT_EQ(report.paragraphs.at(0).text, "By 31 March 2026 the CPS should act.");
}

TEST(ReportText, ReadsMarkersAndTableCells) {
  const auto report = ParagraphsOf(
      "1. First.\n(b) Second.\niv. Third.\n\u2022 Fourth.\n- Fifth.\nRecommendation 3: Sixth.\n"
      "R2 Seventh.\n2.12. Report paragraph.\n| Recommendation |\n|---|\n| <p>Cell one.</p> <p>Cell "
      "two.</p> |\n",
      ReportFormat::kText);
  ASSERT_EQ(report.paragraphs.size(), 11u) << testing::PrintToString(Texts(report));
  const auto& p = report.paragraphs;
  EXPECT_EQ(p[0].marker, Marker::kNumber);
  EXPECT_EQ(p[0].label, "1");
  EXPECT_EQ(p[1].marker, Marker::kLetter);
  EXPECT_EQ(p[2].marker, Marker::kRoman);
  EXPECT_EQ(p[3].marker, Marker::kBullet);
  EXPECT_EQ(p[4].marker, Marker::kBullet);
  EXPECT_EQ(p[5].marker, Marker::kRecommendation);
  EXPECT_EQ(p[5].label, "3");
  EXPECT_EQ(p[5].text, "Sixth.");
  EXPECT_EQ(p[6].marker, Marker::kRecommendation);
  EXPECT_EQ(p[7].marker, Marker::kNone);
  EXPECT_EQ(p[7].label, "2.12");
  EXPECT_EQ(p[7].text, "Report paragraph.");
  EXPECT_TRUE(p[8].cell);
  EXPECT_EQ(p[8].cells_in_row, 1);
  EXPECT_EQ(p[9].text, "Cell one.");
  EXPECT_EQ(p[10].text, "Cell two.");
  EXPECT_EQ(p[10].row, p[9].row);
}

TEST(ReportText, ProseIsNotAList) {
  const auto report =
      ParagraphsOf("e.g. this. A. Smith wrote it. 3.5m cases.\n", ReportFormat::kText);
  EXPECT_EQ(report.paragraphs.at(0).marker, Marker::kNone);
}

TEST(ReportText, SniffsByContentNotName) {
  EXPECT_EQ(*SniffReport("%PDF-1.7\n...\n%%EOF\n"), ReportFormat::kPdf);
  EXPECT_EQ(*SniffReport("<!DOCTYPE html><html><body>x</body></html>"), ReportFormat::kHtml);
  EXPECT_EQ(*SniffReport("Plain report text"), ReportFormat::kText);
  EXPECT_FALSE(SniffReport("").ok());
  EXPECT_NE(SniffReport("%PDF-1.7\n cut short").status().message().find("cut short"),
            std::string::npos);
  EXPECT_FALSE(SniffReport(std::string("PK\x03\x04", 4) + "junk").ok());
  EXPECT_FALSE(SniffReport("\x89PNG\r\n\x1a\n\xff\xfe").ok());
  EXPECT_FALSE(SniffReport(std::string("text\0more", 9)).ok());
}

TEST(ReportText, RefusesWhatIsTooLargeBeforeReadingIt) {
  ReportReadOptions options;
  options.max_bytes = 10;
  EXPECT_EQ(ReadReport("a report longer than ten bytes", options).status().code(), Code::kTooLarge);
  EXPECT_EQ(ReadReport("1\n\n2\n", ReportReadOptions()).status().code(), Code::kInvalidArgument);
  // Paragraphs past the limit (a review page shows each): refused, saying how many.
  std::string many;
  for (int i = 1; i <= 30; ++i) many += "Paragraph number " + std::to_string(i) + " here.\n\n";
  options = ReportReadOptions();
  options.max_paragraphs = 29;
  const auto refused = ReadReport(many, options);
  EXPECT_EQ(refused.status().code(), Code::kTooLarge);
  EXPECT_EQ(refused.status().message(),
            "the text has 30 paragraphs; rectrack drafts from reports of at most 29");
  options.max_paragraphs = 30;
  EXPECT_TRUE(ReadReport(many, options).ok());
}

// A document whose text comes out longer than max_text_bytes (a zip bomb, small as a file) is
// the file's fault: TooLarge (413), saying so, not the server's failure (500).
TEST(ReportText, ADocumentWhoseTextIsTooLongIsTooLarge) {
  std::string html = "<!DOCTYPE html><html><body>";
  for (int i = 0; i < 200; ++i) html += "<p>Paragraph number " + std::to_string(i) + ".</p>";
  html += "</body></html>";
  ReportReadOptions options;
  options.max_text_bytes = 1000;
  const auto refused = ReadReport(html, options);
  EXPECT_EQ(refused.status().code(), Code::kTooLarge) << refused.status().message();
  EXPECT_EQ(refused.status().message(),
            "the HTML holds more than 1000 bytes of text; rectrack drafts from reports of at most "
            "that");
  options.max_text_bytes = 1 << 20;
  EXPECT_TRUE(ReadReport(html, options).ok());
}

// ---- Recommendations ----

constexpr std::string_view kSection =
    "Recommendations\n\n"
    "1. By March 2024, the CPS to introduce a system to identify summary time limits.\n\n"
    "2. By December 2023, the CPS to have communicated the need to review the risk assessment.\n\n"
    "   Legal managers should check the review is recorded. To be embedded by March 2024.\n\n"
    "3. By December 2023, the CPS to take a consistent approach to training, which should "
    "include:\n\n"
    "   a. core training for every prosecutor; and\n"
    "   b. refresher training for legal managers.\n\n"
    "3. Context and methodology\n\n"
    "3.1. By 2022 the CPS should have done more, we found.\n";

TEST(Draft, ReadsANumberedRecommendationsSection) {
  const Draft draft = DraftOf(kSection);
  ASSERT_EQ(draft.recommendations.size(), 3u);
  const auto& r = draft.recommendations;
  EXPECT_EQ(r[0].id, "t24-r1");
  EXPECT_EQ(r[0].owners, Strings{"CPS"});
  EXPECT_EQ(Dues(r[0]), Strings{"2024-03-31"});
  EXPECT_TRUE(r[0].checks.empty());
  // An item over two paragraphs, its second milestone in the second.
  EXPECT_EQ(Dues(r[1]), (Strings{"2023-12-31", "2024-03-31"}));
  EXPECT_NE(r[1].text.find("Legal managers should check"), std::string::npos);
  // The sub-list belongs to its item; the chapter after the list is not part of it.
  EXPECT_NE(r[2].text.find("a. core training"), std::string::npos);
  EXPECT_NE(r[2].text.find("b. refresher training"), std::string::npos);
  EXPECT_EQ(r[2].text.find("Context"), std::string::npos);
  EXPECT_TRUE(draft.judgements.empty());
}

TEST(Draft, FindsNothingOutsideARecommendationsSection) {
  const Draft draft = DraftOf(
      "Conclusions and recommendation\n\n"
      "2.12. We found the CPS should do better.\n\n"
      "1. By March 2024 managers should select live cases.\n\n"
      "2. Prosecutors should read the risk assessment.\n\n"
      "Legal managers should assess quality by July 2025.\n");
  EXPECT_TRUE(draft.recommendations.empty());
  // What reads like one is asked about, never imported.
  ASSERT_EQ(draft.questions.size(), 2u);
  EXPECT_NE(draft.questions[0].text.find("select live cases"), std::string::npos);
}

TEST(Draft, ReadsRecommendationNumberedHeadingsAndLetteredLists) {
  Draft draft = DraftOf(
      "Recommendation 1\n\nBy June 2025, the SFO should review its case plans.\n\n"
      "Recommendation 2: The CPS should publish its guidance by 30 April 2025.\n");
  ASSERT_EQ(draft.recommendations.size(), 2u);
  EXPECT_EQ(draft.recommendations[0].owners, Strings{"SFO"});
  EXPECT_EQ(Dues(draft.recommendations[1]), Strings{"2025-04-30"});

  draft = DraftOf(
      "Our recommendations\n\n(a) By June 2025, the SFO should review its case plans.\n\n"
      "(b) By July 2025, the CPS should review its own.\n");
  ASSERT_EQ(draft.recommendations.size(), 2u);
  EXPECT_EQ(draft.recommendations[1].id, "t24-rb");
}

TEST(Draft, ALeadInGivesEveryItemItsDateAndOwner) {
  Draft draft = DraftOf(
      "Recommendations\n\nBy 31 March 2025 the SPA should:\n\n"
      "1. introduce a case progression protocol.\n\n2. ensure every case has a plan.\n");
  ASSERT_EQ(draft.recommendations.size(), 2u);
  for (const auto& rec : draft.recommendations) {
    EXPECT_EQ(rec.owners, Strings{"SPA"});
    EXPECT_EQ(Dues(rec), Strings{"2025-03-31"});
    EXPECT_EQ(rec.text.rfind("By 31 March 2025 the SPA should:", 0), 0u);
  }
  // Without a date, the lead-in gives none.
  draft = DraftOf("Recommendations\n\nThe SPA should:\n\n1. introduce a protocol.\n");
  ASSERT_EQ(draft.recommendations.size(), 1u);
  EXPECT_TRUE(draft.recommendations[0].milestones.empty());
  EXPECT_EQ(draft.recommendations[0].owners, Strings{"SPA"});
}

TEST(Draft, TellsOwnersFromWhoActs) {
  const Draft draft = DraftOf(
      "Recommendations\n\n"
      "1. By 30 September 2024, the NPCC and the CPS should agree a standard.\n\n"
      "2. By June 2025, the Serious Fraud Office (SFO) should work with the CPS on disclosure.\n\n"
      "3. The government, through its economic and finance ministry, must develop a strategy by "
      "31 March 2026.\n\n"
      "4. By June 2025 the Home Office (HO) should fund it.\n\n"
      "5. At review stage, prosecutors should record why, by June 2025.\n");
  ASSERT_EQ(draft.recommendations.size(), 5u);
  const auto& r = draft.recommendations;
  EXPECT_EQ(r[0].owners, (Strings{"NPCC", "CPS"}));
  EXPECT_EQ(r[1].owners, Strings{"SFO"});  // the CPS is who it works with, not an owner
  ASSERT_EQ(draft.new_bodies.size(), 2u);
  EXPECT_EQ(draft.new_bodies[0].name, "Government");
  EXPECT_EQ(r[2].owners, Strings{draft.new_bodies[0].id});
  EXPECT_FALSE(r[2].checks.empty());
  EXPECT_EQ(draft.new_bodies[1].id, "HO");
  EXPECT_EQ(draft.new_bodies[1].name, "Home Office");
  // "prosecutors" is not a body: no owner, and a check says so.
  EXPECT_TRUE(r[4].owners.empty());
  ASSERT_FALSE(r[4].checks.empty());
  EXPECT_NE(r[4].checks[0].find("no owner"), std::string::npos);
}

TEST(Draft, NeverGuessesADeadline) {
  const Draft draft = DraftOf(
      "Recommendations\n\n1. The CPS should publish guidance by Spring 2026.\n\n"
      "2. The CPS should act within six months.\n\n"
      "3. By 31 September 2024, the CPS should act.\n");
  ASSERT_EQ(draft.recommendations.size(), 3u);
  for (const auto& rec : draft.recommendations) {
    EXPECT_TRUE(rec.milestones.empty()) << rec.text;
    EXPECT_FALSE(rec.checks.empty()) << rec.text;
  }
  EXPECT_NE(draft.recommendations[2].checks.back().find("31 September"), std::string::npos);
}

TEST(Draft, ABoxHoldsOneRecommendationAndItsStepsOutsideIt) {
  const Draft draft = DraftOf(
      "| Recommendation |\n|---|\n| <p>The CPS should design a new approach.</p> <p>By 31 July "
      "2025 to have designed and planned a new approach.</p> |\n\n"
      "By 31 March 2026 to have implemented the new approach.\n\n"
      "Given its importance, HMCPSI will follow up by March 2027.\n");
  ASSERT_EQ(draft.recommendations.size(), 1u);
  EXPECT_EQ(Dues(draft.recommendations[0]), (Strings{"2025-07-31", "2026-03-31"}));
  EXPECT_EQ(draft.recommendations[0].text.find("HMCPSI"), std::string::npos);
  EXPECT_TRUE(draft.recommendations[0].checks.empty());
}

TEST(Draft, ABoxThatLostItsTitleIsAQuestion) {
  // As pandoc's ODT writer leaves the IQA report's box: the text without its "Recommendation".
  const Draft draft = DraftOf(
      "2.18. In our view, the CPS needs to change.\n\n"
      "The CPS should design a new approach. By 31 July 2025 to have designed it.\n\n"
      "By 31 March 2026 to have implemented the new approach.\n");
  EXPECT_TRUE(draft.recommendations.empty());
  ASSERT_EQ(draft.questions.size(), 2u);
  EXPECT_EQ(draft.questions[0].text.rfind("The CPS should design", 0), 0u);
}

TEST(Draft, NumbersAnItemWhoseNumberWasLost) {
  const Draft draft = DraftOf(
      "Recommendations\n\n1. By June 2025, the CPS to review letters.\n\n"
      "By September 2025, the CPS to introduce a check.\n\n"
      "3. By December 2025, the CPS to agree an approach.\n");
  ASSERT_EQ(draft.recommendations.size(), 3u);
  EXPECT_EQ(draft.recommendations[1].id, "t24-r2");
  EXPECT_FALSE(draft.recommendations[1].checks.empty());
  EXPECT_EQ(draft.recommendations[2].id, "t24-r3");
}

TEST(Draft, ReadsTheInspectionFromTheFrontPage) {
  DraftRequest request = Known();
  request.inspection_id = "";
  request.published = std::nullopt;
  Draft draft = DraftOf(
      "HM Crown Prosecution Service Inspectorate\n\nIndividual Quality Assessments\n\n"
      "11 February 2025\n\nRecommendations\n\n1. By June 2025, the CPS to act.\n",
      request);
  EXPECT_EQ(draft.title, "Individual Quality Assessments");
  EXPECT_EQ(draft.published->ToString(), "2025-02-11");
  EXPECT_EQ(draft.inspection_id, "iqa25");
  EXPECT_TRUE(std::none_of(draft.inspection_checks.begin(), draft.inspection_checks.end(),
                           [](const std::string& c) { return c.find("imported") != c.npos; }));
  // A made-up id avoids the inspections already known; one of the same title published that day
  // is named, since this may be the same report again.
  request.inspections = {{"iqa25", "Individual  quality assessments", *Date::Parse("2025-02-11")},
                         {"iqa25-2", "Individual Quality Assessments", *Date::Parse("2024-02-11")},
                         {"other", "Other thematic", *Date::Parse("2025-02-11")}};
  draft = DraftOf("Individual Quality Assessments\n\n11 February 2025\n", request);
  EXPECT_EQ(draft.inspection_id, "iqa25-3");
  auto imported_already = [](const Draft& d) {
    std::vector<std::string> named;
    for (const std::string& c : d.inspection_checks) {
      if (c.find("is imported already") != c.npos) named.push_back(c.substr(0, c.find(" has")));
    }
    return named;
  };
  EXPECT_EQ(imported_already(draft), std::vector<std::string>{"inspection 'iqa25'"});
  // A month alone is no date: the draft leaves it to be given.
  draft = DraftOf("Individual Quality Assessments\n\nFebruary 2025\n\nText.\n", request);
  EXPECT_FALSE(draft.published.has_value());
  EXPECT_FALSE(draft.inspection_checks.empty());
  // With only the month, one of that year is named.
  EXPECT_EQ(imported_already(draft), std::vector<std::string>{"inspection 'iqa25'"});
}

// ---- Follow-up judgements ----

DraftRequest FollowUp() {
  DraftRequest request = Known();
  request.inspection_id = "da25";
  request.published = Date::Parse("2025-03-06");
  request.follow_up_of = "da23";
  request.parent = {
      {"da23-r1", "By March 2024, the CPS to introduce a system to identify summary time limits."},
      {"da23-r2", "By July 2023, the CPS to mark communications with the police with the STL."},
      {"da23-r4",
       "By December 2023, the CPS to request up-to-date victim information for "
       "sentence hearings."}};
  return request;
}

constexpr std::string_view kFollowUp =
    "Progress against the 2023 recommendations\n\n"
    "Recommendation 1\n\nBy March 2024, the CPS to introduce a system to identify summary time "
    "limits.\n\nACHIEVED\n\n"
    "Recommendation 2\n\nBy July 2023, the CPS to mark communications with the police with the "
    "STL.\n\nPartially achieved.\n\n"
    "Recommendation 4\n\nBy December 2023, the CPS to request up-to-date victim information for "
    "sentence hearings.\n\nNOT ACHIEVED \u2013 NEW RECOMMENDATION MADE (see new recommendation "
    "1)\n\n"
    "The CPS has achieved much since 2023.\n\n"
    "New recommendations\n\n"
    "1. By December 2025, the CPS to ensure an updated victim personal statement is requested "
    "for every sentence hearing.\n";

TEST(Draft, DraftsAFollowUpsJudgementsAsAssessments) {
  const Draft draft = DraftOf(kFollowUp, FollowUp());
  ASSERT_EQ(draft.recommendations.size(), 1u);
  EXPECT_EQ(draft.recommendations[0].id, "da25-r1");
  ASSERT_EQ(draft.judgements.size(), 3u);
  const auto& j = draft.judgements;
  EXPECT_EQ(j[0].rec, "da23-r1");
  EXPECT_EQ(j[0].outcome, "achieved");
  EXPECT_EQ(j[1].rec, "da23-r2");
  EXPECT_EQ(j[1].outcome, "partially_achieved");
  EXPECT_EQ(j[2].rec, "da23-r4");
  EXPECT_EQ(j[2].outcome, "not_achieved");
  EXPECT_EQ(j[2].superseded_by, Strings{"da25-r1"});
  for (const auto& judgement : j) EXPECT_TRUE(judgement.checks.empty()) << judgement.rec;
}

TEST(Draft, AJudgementWithoutItsParentIsAQuestion) {
  DraftRequest request = FollowUp();
  request.follow_up_of = "";
  request.parent.clear();
  const Draft draft = DraftOf(kFollowUp, request);
  EXPECT_TRUE(draft.judgements.empty());
  EXPECT_EQ(draft.questions.size(), 3u);
  EXPECT_EQ(draft.recommendations.size(), 1u);
}

TEST(Draft, AchievedInProseIsNoJudgement) {
  const Draft draft =
      DraftOf("Progress\n\n1. The CPS has achieved much since 2023.\n\nWe found it achieved.\n",
              FollowUp());
  EXPECT_TRUE(draft.judgements.empty());
}

TEST(Draft, MatchesByWordingWhenTheNumberDisagrees) {
  const Draft draft = DraftOf(
      "Recommendation 7\n\nBy July 2023, the CPS to mark communications with the police with "
      "the STL.\n\nNOT ACHIEVED\n",
      FollowUp());
  ASSERT_EQ(draft.judgements.size(), 1u);
  EXPECT_EQ(draft.judgements[0].rec, "da23-r2");
  EXPECT_FALSE(draft.judgements[0].checks.empty());
}

TEST(Draft, AJudgementEndingANumberedParagraphIsThatItemsOwn) {
  const Draft draft = DraftOf(
      "Progress\n\n"
      "1. By March 2024, the CPS to introduce a system to identify summary time limits. "
      "ACHIEVED\n\n"
      "2. By July 2023, the CPS to mark communications with the police with the STL. NOT "
      "ACHIEVED\n\n"
      "4. By December 2023, the CPS to request up-to-date victim information for sentence "
      "hearings. PARTIALLY ACHIEVED\n",
      FollowUp());
  ASSERT_EQ(draft.judgements.size(), 3u);
  EXPECT_EQ(draft.judgements[0].rec, "da23-r1");
  EXPECT_EQ(draft.judgements[0].outcome, "achieved");
  EXPECT_EQ(draft.judgements[1].rec, "da23-r2");
  EXPECT_EQ(draft.judgements[1].outcome, "not_achieved");
  EXPECT_EQ(draft.judgements[2].rec, "da23-r4");
  EXPECT_EQ(draft.judgements[2].outcome, "partially_achieved");
}

TEST(Draft, ANewRecommendationNotNamedIsNotGuessed) {
  DraftRequest request = FollowUp();
  const Draft draft = DraftOf(
      "Recommendation 4\n\nBy December 2023, the CPS to request up-to-date victim information "
      "for sentence hearings.\n\nNOT ACHIEVED - NEW RECOMMENDATION MADE\n\n"
      "New recommendations\n\n1. By December 2025, the CPS to request victim information for "
      "every sentence hearing.\n",
      request);
  ASSERT_EQ(draft.judgements.size(), 1u);
  EXPECT_TRUE(draft.judgements[0].superseded_by.empty());
  ASSERT_FALSE(draft.judgements[0].checks.empty());
  EXPECT_NE(draft.judgements[0].checks[0].find("da25-r1 is the closest"), std::string::npos);
}

TEST(Draft, AListGoesOnAfterAnInterlude) {
  const Draft draft = DraftOf(
      "Recommendations\n\n1. By June 2025, the CPS should review its letters.\n\n"
      "2. By July 2025, the CPS should train its staff.\n\n"
      "The following recommendations are for the police forces.\n\n"
      "3. The NPCC should publish guidance.\n\n4. The NPCC should train officers.\n");
  ASSERT_EQ(draft.recommendations.size(), 4u);
  EXPECT_EQ(draft.recommendations[2].owners, Strings{"NPCC"});
  EXPECT_EQ(draft.recommendations[1].text.find("police forces"), std::string::npos);
}

TEST(Draft, AnotherActorsSentenceIsNotTheItemBeforeIt) {
  const Draft draft = DraftOf(
      "Recommendations\n\n1. By June 2025, the CPS should review its letters.\n\n"
      "The police should publish guidance by March 2026.\n");
  ASSERT_GE(draft.recommendations.size(), 1u);
  EXPECT_EQ(Dues(draft.recommendations[0]), Strings{"2025-06-30"});
  EXPECT_EQ(draft.recommendations[0].text.find("police"), std::string::npos);
}

TEST(Draft, ASecondOwnerNoBodyMatchesIsProposedNotDropped) {
  const Draft draft = DraftOf(
      "Recommendations\n\n1. By June 2025, the CPS and the Home Office should agree a plan.\n\n"
      "2. By June 2025, the SFO and the Ministry of Justice (MoJ) should agree a plan.\n");
  ASSERT_EQ(draft.recommendations.size(), 2u);
  EXPECT_EQ(draft.recommendations[0].owners, (Strings{"CPS", "home-office"}));
  EXPECT_EQ(draft.recommendations[1].owners, (Strings{"SFO", "MoJ"}));
  EXPECT_FALSE(draft.recommendations[0].checks.empty());
}

TEST(Draft, ALongSubjectIsNotCutInsideACharacter) {
  const Draft draft = DraftOf("Recommendations\n\n1. By June 2025, the " + std::string(293, 'x') +
                              " \u00e9\u00e9\u00e9 Office should act.\n");
  ASSERT_EQ(draft.recommendations.size(), 1u);
  for (const auto& body : draft.new_bodies) EXPECT_TRUE(IsValidUtf8(body.name)) << body.name;
}

// Inputs that once took minutes (each work was the square of a paragraph's length): they must
// finish within the test's timeout.
TEST(Draft, HostileShapesStayLinear) {
  std::string achieved = "x";
  for (int i = 0; i < 40000; ++i) achieved += " a ACHIEVED";
  std::string brackets, rules, cells = "| ";
  for (int i = 0; i < 200000; ++i) brackets += "(\n";
  for (int i = 0; i < 500000; ++i) rules += "-\n";
  for (int i = 0; i < 100000; ++i) cells += "a<br>";
  cells += " |\n";
  std::string items = "Recommendations\n\n";
  for (int i = 0; i < 20000; ++i) items += "- By June 2025, the CPS should act.\n";
  for (const std::string* text : {&achieved, &brackets, &rules, &cells, &items}) {
    const auto report = ParagraphsOf(*text, ReportFormat::kText);
    const Draft draft = DraftFromReport(report, FollowUp());
    EXPECT_FALSE(DraftAsYaml(draft, report, FollowUp()).empty());
  }
}

TEST(Draft, AReportOfMoreItemsThanADraftHoldsIsRefused) {
  std::string text = "Recommendations\n\n";
  for (size_t i = 1; i <= kMaxDraftItems + 1; ++i) {
    text += std::to_string(i) + ". By March 2024, the CPS should do thing " + std::to_string(i) +
            ".\n\n";
  }
  Draft draft = DraftOf(text);
  ASSERT_EQ(draft.recommendations.size(), kMaxDraftItems + 1);
  const Status refused = CheckDraftSize(draft);
  EXPECT_EQ(refused.code(), Code::kTooLarge);
  EXPECT_NE(refused.message().find("the report gives 501 recommendations"), std::string::npos)
      << refused.message();
  draft.recommendations.pop_back();
  EXPECT_TRUE(CheckDraftSize(draft).ok());
}

// ---- The import file ----

TEST(DraftYaml, ImportsOnlyOnceReviewed) {
  DraftRequest request = Known();
  const auto report =
      ParagraphsOf(std::string(kSection) +
                       "\nRecommendation 9\n\nBy June 2025, the CPS should quote \"this\" "
                       "and a back\\slash: here.\n",
                   ReportFormat::kText);
  const Draft draft = DraftFromReport(report, request);
  std::string yaml = DraftAsYaml(draft, report, request);
  const auto workflow =
      Workflow::LoadFile(std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml");
  ASSERT_TRUE(workflow.ok()) << workflow.status().message();
  const auto refused = ParseImport(yaml, "draft.yaml", *workflow);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("draft.yaml:"), std::string::npos);
  EXPECT_NE(refused.status().message().find("reviewed"), std::string::npos);
  yaml.replace(yaml.find("reviewed: false"), 15, "reviewed: true");
  const auto commands = ParseImport(yaml, "draft.yaml", *workflow);
  ASSERT_TRUE(commands.ok()) << commands.status().message() << "\n" << yaml;
  EXPECT_EQ(commands->size(), 1u + 4u);  // the inspection and four recommendations
  EXPECT_NE(yaml.find("quote \\\"this\\\" and a back\\\\slash: here."), std::string::npos);
}

// The report's file name is written into a comment: whatever YAML takes for a line break there
// (U+2028 among them) must not end the comment, or the rest of the name is read as content.
TEST(DraftYaml, AFileNameCannotAddToTheDraft) {
  DraftRequest request = Known();
  const std::string hidden = "events: [{rec: da23-r2, do: assess, outcome: achieved}]";
  for (const char* line_break : {"\n", "\r", "\u0085", "\u2028", "\u2029"}) {
    request.source =
        std::string("joint report") + line_break + hidden + line_break + "#\x01\xFF.md";
    const auto report = ParagraphsOf(
        std::string(kSection) + "\nRecommendation 9\n\nBy June 2025, the CPS should act.\n",
        ReportFormat::kText);
    std::string yaml = DraftAsYaml(DraftFromReport(report, request), report, request);
    yaml.replace(yaml.find("reviewed: false"), 15, "reviewed: true");
    const auto workflow =
        Workflow::LoadFile(std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml");
    ASSERT_TRUE(workflow.ok()) << workflow.status().message();
    const auto commands = ParseImport(yaml, "draft.yaml", *workflow);
    ASSERT_TRUE(commands.ok()) << commands.status().message() << "\n" << yaml;
    EXPECT_EQ(commands->size(), 1u + 4u) << yaml;  // the inspection and four recommendations
    EXPECT_NE(yaml.find("joint report " + hidden + " #"), std::string::npos) << yaml;
  }
}

}  // namespace
}  // namespace rectrack
