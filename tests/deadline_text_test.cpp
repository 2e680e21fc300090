#include "engine/deadline_text.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace rectrack {
namespace {

using Expected = std::vector<std::pair<std::string, std::string>>;  // {label, "YYYY-MM-DD"}

struct Case {
  std::string text;
  Expected expected;
};

Expected Summarise(const std::vector<TextMilestone>& milestones) {
  Expected out;
  for (const TextMilestone& m : milestones) out.emplace_back(m.label, m.due.ToString());
  return out;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> kCases = {
      // Wording taken from HMCPSI reports.
      {"By March 2024, the CPS to introduce a system to identify summary time limits",
       {{"due", "2024-03-31"}}},
      {"By 30 September 2024, the NPCC and the CPS should agree a joint approach",
       {{"due", "2024-09-30"}}},
      // "should have" is not "to have": no verb is read, so the steps are numbered.
      {"By 1 December 2023 the CPS should have reviewed its guidance and by 31 March 2024 it "
       "should have published it",
       {{"m1", "2023-12-01"}, {"m2", "2024-03-31"}}},
      {"By December 2023, the CPS to have communicated the need to review the risk assessment. "
       "To be embedded by March 2024.",
       {{"communicated", "2023-12-31"}, {"embedded", "2024-03-31"}}},
      {"By 31 July 2025 to have designed and planned a new approach. By 31 March 2026 to have "
       "implemented the new approach to individual quality assessments.",
       {{"designed", "2025-07-31"}, {"implemented", "2026-03-31"}}},
      {"At review stage, prosecutors should address reasonable lines of enquiry", {}},
      {"Further follow-up activity in Spring 2026", {}},
      {"by February 2024", {{"due", "2024-02-29"}}},
      {"by February 2023", {{"due", "2023-02-28"}}},

      // Accepted forms.
      {"by 1st December 2023", {{"due", "2023-12-01"}}},
      {"By 22nd Sept 2024 to have agreed a protocol", {{"agreed", "2024-09-22"}}},
      {"By Mar 2025 the CPS should act", {{"due", "2025-03-31"}}},
      {"BY MAY 2025", {{"due", "2025-05-31"}}},
      {"by the end of March 2024", {{"due", "2024-03-31"}}},
      {"by end of June 2025", {{"due", "2025-06-30"}}},
      {"by the end of 2024", {{"due", "2024-12-31"}}},
      {"By end of 2025, to have reported", {{"reported", "2025-12-31"}}},
      {"by 2024-03-31", {{"due", "2024-03-31"}}},
      {"By 31 July, 2025", {{"due", "2025-07-31"}}},
      {"By 31, July 2025", {{"due", "2025-07-31"}}},
      {"By March, 2024", {{"due", "2024-03-31"}}},
      {"(by 3 March 2025)", {{"due", "2025-03-03"}}},

      // Vague or not introduced by "by": never guessed.
      {"", {}},
      {"early 2026", {}},
      {"by early 2026", {}},
      {"by summer 2025", {}},
      {"within six months", {}},
      {"by the next inspection", {}},
      {"in 2024-25", {}},
      {"by 2025", {}},
      {"by the end of the financial year", {}},
      {"by the end of 2024-25", {}},
      {"by the end of 2024/25", {}},
      {"by the end of 2024\u201325", {}},
      {"by March 2024-25", {}},
      {"The report was published on 6 March 2025", {}},
      {"Since March 2024 the CPS has improved", {}},
      {"by 30 September", {}},
      {"by March 24", {}},
      {"by 31/03/2024", {}},
      {"by 100 March 2024", {}},
      {"Abby 30 September 2024 nearby March 2024 by-law 2024", {}},
      {"Action was taken by the CPS on 6 March 2025", {}},

      // Labels.
      {"By March 2024 to have been fully implemented", {{"implemented", "2024-03-31"}}},
      {"By March 2024 to have Co-ordinated the work", {{"co-ordinated", "2024-03-31"}}},
      {"By March 2024 to have agreed terms. By June 2024 to have agreed a plan.",
       {{"agreed", "2024-03-31"}, {"agreed-2", "2024-06-30"}}},
      {"By March 2024 the CPS should act. By June 2024 to have reported.",
       {{"m1", "2024-03-31"}, {"reported", "2024-06-30"}}},
      {"To be agreed by June 2024; by December 2024 to be published.",
       {{"agreed", "2024-06-30"}, {"published", "2024-12-31"}}},
      // One "to be" names one step: the second date does not borrow it.
      {"To be reviewed by March 2024 and by June 2024.",
       {{"reviewed", "2024-03-31"}, {"m2", "2024-06-30"}}},
      // A verb past the sentence end belongs to the next sentence.
      {"By March 2024 the plan is ready. It needs to be tested.", {{"due", "2024-03-31"}}},
      // Numbered labels can still collide with a verb and get suffixed.
      {"By March 2024 the CPS should act and by June 2024 to have m1",
       {{"m1", "2024-03-31"}, {"m1-2", "2024-06-30"}}},
      // Every match is kept, even the same date twice.
      {"By March 2024 the CPS and by March 2024 the police",
       {{"m1", "2024-03-31"}, {"m2", "2024-03-31"}}},
  };
  return kCases;
}

TEST(DeadlineTextTest, ReadsMilestonesFromRecommendationText) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.text);
    Result<std::vector<TextMilestone>> got = MilestonesFromText(c.text);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(Summarise(*got), c.expected);
  }
}

TEST(DeadlineTextTest, PhraseIsTheDateWordsAsWritten) {
  Result<std::vector<TextMilestone>> got = MilestonesFromText(
      "By 31 July 2025 to have designed it; by the End of March 2026, by 1st December 2027 and "
      "By 31 July, 2028 and by  end of 2029 and by 2030-01-15.");
  ASSERT_TRUE(got.ok()) << got.status().message();
  std::vector<std::string> phrases;
  for (const TextMilestone& m : *got) phrases.push_back(m.phrase);
  EXPECT_EQ(phrases, (std::vector<std::string>{"By 31 July 2025", "by the End of March 2026",
                                               "by 1st December 2027", "By 31 July, 2028",
                                               "by  end of 2029", "by 2030-01-15"}));
}

TEST(DeadlineTextTest, DayThatDoesNotExistIsInvalidArgument) {
  for (std::string phrase : {"by 31 September 2024", "by 29 February 2023", "By 2024-02-30",
                             "by 0 March 2024", "by the end of 32nd May 2024"}) {
    SCOPED_TRACE(phrase);
    Result<std::vector<TextMilestone>> got =
        MilestonesFromText("By March 2024 to have agreed it, and " + phrase + " to publish.");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(got.status().message(),
              "recommendation text names a date that does not exist: \"" + phrase + "\"");
  }
}

TEST(DeadlineTextTest, LeapDayIsAccepted) {
  Result<std::vector<TextMilestone>> got = MilestonesFromText("by 29 February 2024");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(Summarise(*got), (Expected{{"due", "2024-02-29"}}));
}

// Pathological inputs must stay linear; these would take minutes if they were quadratic.
TEST(DeadlineTextTest, LongRepetitiveTextsReturn) {
  std::string bys;
  while (bys.size() < 100'000) bys += "by by the end of ";
  Result<std::vector<TextMilestone>> got = MilestonesFromText(bys);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());

  std::string dates = "To be done ";
  while (dates.size() < 100'000) dates += "by March 2024 ";
  got = MilestonesFromText(dates);
  ASSERT_TRUE(got.ok());
  ASSERT_GT(got->size(), 1000u);
  EXPECT_EQ(got->front().label, "done");
  EXPECT_EQ(got->back().label, "m" + std::to_string(got->size()));

  std::string repeats;
  while (repeats.size() < 100'000) repeats += "By March 2024 to have agreed. ";
  got = MilestonesFromText(repeats);
  ASSERT_TRUE(got.ok());
  ASSERT_GT(got->size(), 1000u);
  EXPECT_EQ(got->back().label, "agreed-" + std::to_string(got->size()));

  std::string verbs;
  while (verbs.size() < 100'000) verbs += "to have to be been ";
  got = MilestonesFromText(verbs + "done by June 2024");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().label, "done");
}

}  // namespace
}  // namespace rectrack
