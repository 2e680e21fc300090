// The web workspace's parts without a browser: forms generated from the workflow YAML, refusals
// and dates in the pages' words. Accounts and sessions: accounts_test.cpp. The pages themselves
// are tested in Chromium (tests/web/browser_test.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "engine/evidence.h"
#include "engine/workflow.h"
#include "tests/engine_fixture.h"
#include "web/forms.h"
#include "web/spoken.h"

namespace rectrack::web {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The bundled workflow with one more transition, as an inspectorate would add one.
Workflow WorkflowWithEscalate() {
  std::string yaml = ReadFile(std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml");
  yaml += R"(
  - name: escalate     # added for this test: the C++ knows nothing of it
    from: [issued, reopened]
    roles: [inspectorate]
    required: [reason]
    optional: [due]
)";
  auto wf = Workflow::Parse(yaml, "test.yaml");
  EXPECT_TRUE(wf.ok()) << wf.status().message();
  return std::move(wf).value();
}

RecommendationHead Issued() {
  RecommendationHead item;
  item.id = "r1";
  item.state = "issued";
  item.def.owners = {"CPS"};
  MilestoneView m;
  m.label = "due";
  m.due = *Date::Parse("2025-12-31");
  item.milestones.push_back(m);
  return item;
}

TEST(FormsTest, ATransitionAddedToTheWorkflowAppearsWithItsFields) {
  const Workflow wf = WorkflowWithEscalate();
  const RecommendationHead item = Issued();
  const auto offered = wf.Allowed(item.state, "inspectorate");
  ASSERT_NE(std::find(offered.begin(), offered.end(), "escalate"), offered.end());
  const auto forms = BuildForms(wf, offered, item, {}, {});
  auto form = std::find_if(forms.begin(), forms.end(),
                           [](const Form& f) { return f.transition == "escalate"; });
  ASSERT_NE(form, forms.end());
  ASSERT_EQ(form->fields.size(), 4u);  // reason, due, then the effective date and the note
  EXPECT_EQ(form->fields[0].name, "reason");
  EXPECT_TRUE(form->fields[0].required);
  EXPECT_EQ(form->fields[1].name, "due");
  EXPECT_EQ(form->fields[1].kind, FormField::Kind::kDate);
  EXPECT_FALSE(form->fields[1].required);
  EXPECT_EQ(form->fields[2].name, "effective");
  EXPECT_EQ(form->fields[3].name, "note");
}

TEST(FormsTest, ChoicesComeFromTheWorkflowAndTheItem) {
  const Workflow wf = WorkflowWithEscalate();
  const RecommendationHead item = Issued();
  const auto forms = BuildForms(wf, {"assess", "update"}, item,
                                {Inspection{"f1", "Follow-up", "", {}, "follow_up", ""}}, {});
  ASSERT_EQ(forms.size(), 2u);
  const FormField& outcome = forms[0].fields[0];
  EXPECT_EQ(outcome.name, "outcome");
  EXPECT_EQ(outcome.kind, FormField::Kind::kChoice);
  ASSERT_EQ(outcome.options.size(), 3u);
  EXPECT_EQ(outcome.options[2].first, "not_achieved");
  EXPECT_EQ(forms[0].fields[1].options.at(0).first, "f1");      // `in`: the inspections
  EXPECT_EQ(forms[0].fields[1].label, "Follow-up inspection");  // the workflow's label
  EXPECT_EQ(forms[0].fields[0].label, "Outcome");               // or its name, capitalised
  EXPECT_EQ(forms[1].fields[0].options.at(0).first, "due");     // `met`: the item's milestones
  EXPECT_EQ(forms[1].fields[0].options.at(0).second, "Due 31 December 2025");
  EXPECT_TRUE(forms[0].conditions.empty());
  // update's guard (not_before: judgement) is said on its form, with the judgement's date, once
  // the item has been judged; close's too, with its override.
  EXPECT_TRUE(forms[1].conditions.empty());
  const auto judged =
      BuildForms(wf, {"assess", "update"}, item, {}, {}, *Date::Parse("2025-03-06"));
  ASSERT_EQ(judged[1].conditions.size(), 1u);
  EXPECT_EQ(judged[1].conditions[0],
            "A body may not date it before 6 March 2025, the inspectorate's latest judgement of "
            "this item.");
  const auto close = BuildForms(wf, {"close"}, item, {}, {}, *Date::Parse("2025-03-06"));
  ASSERT_EQ(close.at(0).conditions.size(), 2u);
  EXPECT_EQ(close[0].conditions[0],
            "Every action must be closed first, unless Override says why it closes anyway.");
  // An item without milestones: no form that must name one (extend), and no milestone to pick
  // on one that may (update's `met`).
  RecommendationHead none = item;
  none.milestones.clear();
  const auto offered = BuildForms(wf, {"extend", "update"}, none, {}, {});
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].transition, "update");
  for (const FormField& f : offered[0].fields) EXPECT_NE(f.name, "met");
  // An update that says nothing is refused at the note, naming only the inputs offered.
  RecordEvent empty;
  empty.transition = "update";
  EXPECT_EQ(NothingToRecord(wf, empty, item)->message, "Enter a note or select the milestone met");
  EXPECT_EQ(NothingToRecord(wf, empty, none)->message, "Enter a note");
  EXPECT_EQ(NothingToRecord(wf, empty, none)->field, "note");
  empty.note = "noted";
  EXPECT_FALSE(NothingToRecord(wf, empty, none));
}

TEST(FormsTest, APostedFormBecomesTheEventOrSaysWhichFieldIsWrong) {
  const Workflow wf = WorkflowWithEscalate();
  RecordEvent event;
  auto errors = ParseEventForm(wf,
                               {{"do", "assess"},
                                {"outcome", "not_achieved"},
                                {"in", "f1"},
                                {"superseded_by", "r2\r\n\r\n r3 \n"},
                                {"effective-day", "1"},
                                {"effective-month", "4"},
                                {"effective-year", "2025"},
                                {"note", "n"}},
                               &event);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(event.transition, "assess");
  EXPECT_EQ(event.fields["superseded_by"], (std::vector<std::string>{"r2", "r3"}));
  EXPECT_EQ(event.effective->ToString(), "2025-04-01");
  RecordEvent bad;
  // A GOV.UK date input: a day that no month has, or a part missing, is not a date.
  errors = ParseEventForm(wf,
                          {{"do", "escalate"},
                           {"effective-day", "31"},
                           {"effective-month", "2"},
                           {"effective-year", "2025"},
                           {"due-day", "1"},
                           {"due-year", "2026"}},
                          &bad);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].field, "effective");
  EXPECT_EQ(errors[0].message, "Effective date must be a real date");
  EXPECT_EQ(errors[1].field, "reason");
  EXPECT_EQ(errors[1].message, "Enter the reason");  // as GOV.UK's error messages say it
  EXPECT_EQ(errors[2].field, "due");
  EXPECT_EQ(errors[2].message,
            "New due date must include a month");  // the part missing, by the field's label
  // As GOV.UK's date input says it: the parts missing, a short year, else not a real date.
  auto date_error = [&](const char* day, const char* month, const char* year) {
    RecordEvent e;
    auto said = ParseEventForm(wf,
                               {{"do", "update"},
                                {"note", "n"},
                                {"effective-day", day},
                                {"effective-month", month},
                                {"effective-year", year}},
                               &e);
    return said.empty() ? std::string("(none)") : said[0].message;
  };
  EXPECT_EQ(date_error("", "", "2025"), "Effective date must include a day and a month");
  EXPECT_EQ(date_error("1", "4", "25"), "Year must include 4 numbers");
  EXPECT_EQ(date_error("1", "x", "2025"), "Effective date must be a real date");
  EXPECT_EQ(date_error("1", "4", "2025"), "(none)");
  // A choice left empty: "Select the ...", by the field's label where the workflow gives one.
  errors = ParseEventForm(wf, {{"do", "assess"}}, &bad);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "outcome");
  EXPECT_EQ(errors[0].message, "Select the outcome");
  EXPECT_EQ(errors[1].message, "Select the follow-up inspection");
  RecordEvent dated;
  errors = ParseEventForm(wf,
                          {{"do", "escalate"},
                           {"reason", "r"},
                           {"due-day", "30"},
                           {"due-month", "06"},
                           {"due-year", "2026"}},
                          &dated);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(dated.fields["due"], (std::vector<std::string>{"2026-06-30"}));
  EXPECT_FALSE(dated.effective);
  EXPECT_EQ(ParseEventForm(wf, {{"do", "issue"}}, &bad).at(0).field, "do");  // creates: never
}

// A write the engine refuses says which input it is about (Status::field), and the page says
// it in its own words: no event named, states and roles as people write them, dates as GOV.UK.
class RefusalTest : public EngineTest {
 protected:
  void Import(const std::string& file) {
    auto commands = ParseImportFile(std::string(RECTRACK_SOURCE_DIR) + "/demo/" + file,
                                    engine_->workflow(), engine_->action_workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    ASSERT_TRUE(engine_->Apply(*commands, "test").ok());
  }
  std::string Said(const Status& why, const std::string& id, const std::string& transition) {
    return RefusalText(why, id, transition, {&engine_->workflow(), engine_->action_workflow()});
  }
};

TEST_F(RefusalTest, ARefusedWriteIsSaidAtItsInputInThePagesWords) {
  Import("cps-south-west.yaml");
  Import("domestic-abuse.yaml");
  // Closing with actions open: about Override, the field that answers it.
  auto closed = engine_->Apply({CpsLeadCloses("sw22-i2")}, "test");
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.status().field(), "override");
  EXPECT_NE(closed.status().message().find("(in_progress)"), std::string::npos);
  const std::string said = Said(closed.status(), "sw22-i2", "close");
  EXPECT_EQ(said.find("'close'"), std::string::npos) << said;
  EXPECT_EQ(said.find("in_progress"), std::string::npos) << said;
  EXPECT_NE(said.find("(in progress)"), std::string::npos) << said;
  EXPECT_NE(said.find("or give Override saying why it closes anyway"), std::string::npos) << said;
  EXPECT_EQ(said.rfind("3 actions are still open: sw22-i2-a3 (planned), ", 0), 0u) << said;
  // Dated before the recommendation was created: about the effective date.
  auto early = Record("da23-r2", "update", "2020-01-01", "CPS");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().field(), "effective");
  EXPECT_EQ(Said(early.status(), "da23-r2", "update"),
            "The effective date comes before the recommendation was created (1 March 2023); date "
            "it 1 March 2023 or later");
  // A lead dating a note behind the inspectorate's assessment (6 March 2025).
  auto behind = Record("da23-r2", "update", "2023-06-01", "CPS");
  ASSERT_FALSE(behind.ok());
  EXPECT_EQ(behind.status().field(), "effective");
  EXPECT_EQ(Said(behind.status(), "da23-r2", "update"),
            "It is dated before the inspectorate's latest judgement (assess, effective 6 March "
            "2025), and a body lead "
            "may not record behind it; date it 6 March 2025 or later (the inspectorate may "
            "correct the history)");
  // A field the workflow checks: about that field, by its label.
  auto extended = Record("da23-r2", "extend", "2025-12-01", "",
                         {{"milestone", {"due"}}, {"due", {"soon"}}, {"reason", {"r"}}});
  ASSERT_FALSE(extended.ok());
  EXPECT_EQ(extended.status().field(), "due");
  EXPECT_EQ(Said(extended.status(), "da23-r2", "extend"), "'soon' is not a real date (YYYY-MM-DD)");
  // A due date moved to before the recommendation was issued is a slip: about that field.
  auto before_issue = Record("da23-r2", "extend", "2025-12-01", "",
                             {{"milestone", {"due"}}, {"due", {"2020-01-01"}}, {"reason", {"r"}}});
  ASSERT_FALSE(before_issue.ok());
  EXPECT_EQ(before_issue.status().field(), "due");
  EXPECT_EQ(Said(before_issue.status(), "da23-r2", "extend"),
            "The new due date 1 January 2020 is before the recommendation was issued (1 March "
            "2023)");
  // An extension to a date not after the one it replaces: about that field.
  auto earlier = Record("da23-r2", "extend", "2025-12-01", "",
                        {{"milestone", {"due"}}, {"due", {"2023-07-01"}}, {"reason", {"r"}}});
  ASSERT_FALSE(earlier.ok());
  EXPECT_EQ(earlier.status().field(), "due");
  EXPECT_EQ(Said(earlier.status(), "da23-r2", "extend"),
            "Extend moves a due date later: 1 July 2023 is not after 31 July 2023, the due date of "
            "milestone 'due' it replaces");
  // Back-dated, the same: about that field, not the date (the date is not what is wrong).
  auto extended_back = Record("da23-r2", "extend", "2024-06-01", "",
                              {{"milestone", {"due"}}, {"due", {"soon"}}, {"reason", {"r"}}});
  ASSERT_FALSE(extended_back.ok());
  EXPECT_EQ(extended_back.status().field(), "due");
  // An evidence file's refusal keeps the file's name as it was given, in a sentence.
  EXPECT_EQ(Said(EvidenceMediaType("x.pdf", "").status(), "da23-r2", "close"),
            "The file 'x.pdf' is empty");
  // A transition or a role the workflow does not know, back-dated or not: about it.
  auto unknown = Record("da23-r2", "comment", "2025-12-01");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().field(), "do");
  for (const char* effective : {"2025-12-01", "2024-06-01"}) {
    RecordEvent wizard;
    wizard.subject_id = "da23-r2";
    wizard.transition = "update";
    wizard.note = "n";
    wizard.role = "wizard";
    wizard.effective = D(effective);
    auto refused = engine_->Apply({wizard}, "test");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().field(), "role") << effective;
    EXPECT_NE(refused.status().message().find("no role 'wizard'"), std::string::npos)
        << refused.status().message();
  }
  // Ids that contain a state's name or a date, and a value quoted, are left as they are.
  const Status odd = Status::Conflict(
      "r_in_progress-2025-03-06: 'close' effective 2025-12-01: 1 action is still open: "
      "r_in_progress-2025-03-06-a1 (in_progress), no milestone 'reason'; close them first, or "
      "give 'override' saying why it closes anyway");
  EXPECT_EQ(Said(odd, "r_in_progress-2025-03-06", "close"),
            "1 action is still open: r_in_progress-2025-03-06-a1 (in progress), no milestone "
            "'reason'; close them first, or give Override saying why it closes anyway");
  // Dated back to when it was closed (it is reopened today, and Extend is offered): the
  // refusal speaks of its state on that date, not as if it were today's.
  auto back = Record("da23-r2", "extend", "2024-09-01", "",
                     {{"milestone", {"due"}}, {"due", {"2026-01-01"}}, {"reason", {"r"}}});
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find(
                "'extend' is not allowed: on 2024-09-01 it was 'closed'; as inspectorate you "
                "could then: "),
            std::string::npos)
      << back.status().message();
  EXPECT_EQ(
      Said(back.status(), "da23-r2", "extend")
          .rfind("Extend is not allowed: on 1 September 2024 it was closed; as inspectorate you "
                 "could then: ",
                 0),
      0u)
      << Said(back.status(), "da23-r2", "extend");
  // Dated where it would leave a later event out of place: that event is named, with the
  // state it would then meet, not as if the item were in it.
  auto early_withdrawal = Record("da23-r2", "withdraw", "2024-06-01", "", {{"reason", {"r"}}});
  ASSERT_FALSE(early_withdrawal.ok());
  EXPECT_EQ(early_withdrawal.status().field(), "effective");
  EXPECT_NE(early_withdrawal.status().message().find(
                "'close' effective 2024-08-15: 'close' would no longer be allowed: by then it "
                "would be 'withdrawn'; as body_lead one could then: nothing"),
            std::string::npos)
      << early_withdrawal.status().message();
  // Each says the earliest date it would be allowed, when there is one: here after the
  // inspectorate reopened it.
  EXPECT_EQ(Said(early_withdrawal.status(), "da23-r2", "withdraw"),
            "Close effective 15 August 2024: close would no longer be allowed: by then it would "
            "be withdrawn; as body lead one could then: nothing; the earliest date it would be "
            "allowed is 6 March 2025");
  const std::string back_said = Said(back.status(), "da23-r2", "extend");
  EXPECT_EQ(back_said.substr(back_said.rfind("; ")),
            "; the earliest date it would be allowed is 6 March 2025")
      << back_said;
  // da23-r4 was closed on 10 February 2025, then superseded: a close dated before that fits
  // no later date, and says none.
  auto twice = Record("da23-r4", "close", "2025-02-01", "CPS");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().field(), "effective");
  EXPECT_NE(twice.status().message().find("'close' would no longer be allowed"), std::string::npos)
      << twice.status().message();
  EXPECT_EQ(twice.status().message().find("earliest"), std::string::npos)
      << twice.status().message();
  // A refusal about no input: the form as a whole; a context added keeps the input.
  auto withdrawn = Record("da23-r2", "reopen", "2025-12-01", "", {{"reason", {"r"}}});
  ASSERT_FALSE(withdrawn.ok());
  EXPECT_EQ(withdrawn.status().field(), "");
  EXPECT_EQ(early.status().WithContext("t.yaml:3:1").field(), "effective");
  // A body lead may not record behind the inspectorate's latest judgement (here an update of
  // 1 April 2025): the earliest date said is one that rule takes too, not 6 March 2025.
  ASSERT_TRUE(Record("da23-r2", "update", "2025-04-01").ok());
  auto behind_judgement = Record("da23-r2", "close", "2024-07-01", "CPS");
  ASSERT_FALSE(behind_judgement.ok());
  EXPECT_NE(behind_judgement.status().message().find(
                "; the earliest date it would be allowed is 2025-04-01"),
            std::string::npos)
      << behind_judgement.status().message();
  EXPECT_TRUE(Record("da23-r2", "close", "2025-04-01", "CPS").ok());
}

TEST(SpokenTest, DatesAreWrittenAsGovUkWritesThem) {
  EXPECT_EQ(LongDate("2025-12-03"), "3 December 2025");
  EXPECT_EQ(ShortDate("2025-09-30"), "30 Sep 2025");
  EXPECT_EQ(LongDate(""), "");
  EXPECT_EQ(ShortDate("2025-13-01"), "2025-13-01");  // not a date: shown as it is
}

TEST(SpokenTest, DatesAreReadAsPeopleTypeThemAndShownAsTheHintsSayThem) {
  for (const char* typed : {"31/3/2025", "31/03/2025", " 31 3 2025 ", "31-3-2025", "31.3.2025",
                            "31 March 2025", "31 mar 2025", "2025-03-31"}) {
    const std::optional<Date> date = DateAsTyped(typed);
    ASSERT_TRUE(date) << typed;
    EXPECT_EQ(date->ToString(), "2025-03-31") << typed;
  }
  // Not a day that is, a two-digit year (which century?), a part missing or one too many.
  for (const char* typed : {"31/2/2025", "31/3/25", "3/2025", "1/2/3/2025", "31/13/2025", "banana",
                            "", "31 Marc 2025", "2025/3/31"}) {
    EXPECT_FALSE(DateAsTyped(typed)) << typed;
  }
  EXPECT_EQ(TypedDate(*Date::Parse("2025-03-06")), "6/3/2025");
}

TEST(SpokenTest, AnImportErrorSaysItsLineInWords) {
  EXPECT_EQ(ImportErrorText("the pasted text:2:38: 'published' must be a real date written "
                            "YYYY-MM-DD, not '2025-13-01'",
                            "the pasted text"),
            "Line 2 of the pasted text: 'published' must be a real date written YYYY-MM-DD, not "
            "'2025-13-01'");
  EXPECT_EQ(ImportErrorText("the uploaded file:14:1: malformed YAML: did not find expected node",
                            "the uploaded file"),
            "Line 14 of the uploaded file: malformed YAML: did not find expected node");
  // Without a position of that source: as it is.
  for (const char* as_it_is :
       {"da23-r2: 'close' effective 2025-12-01: 'close' is not allowed", "the pasted text: empty",
        "the pasted text:x:1: what", "the pasted text:2: what", "the pasted text:2:3 what"}) {
    EXPECT_EQ(ImportErrorText(as_it_is, "the pasted text"), as_it_is);
  }
}

TEST(SpokenTest, ADateThatCannotBeReadIsSaidAsGovUkSaysIt) {
  EXPECT_EQ(TypedDateError("31/3/2025", "As at", "31/3/2025"), "");
  EXPECT_EQ(TypedDateError("  ", "As at", "31/3/2025"), "");  // nothing typed: no date asked for
  EXPECT_EQ(TypedDateError("31/3/25", "As at", "31/3/2025"), "Year must include 4 numbers");
  EXPECT_EQ(TypedDateError("31 March 202", "As at", "31/3/2025"), "Year must include 4 numbers");
  for (const char* typed : {"31/2/2025", "banana", "3/2025", "31/3/20255", "31/3/2x", "2025-13-01",
                            "0001-01-01", "ab/xx/25"}) {
    EXPECT_EQ(TypedDateError(typed, "Due before", "1/1/2025"),
              "Due before must be a real date, for example 1/1/2025")
        << typed;
  }
}

TEST(SpokenTest, TimesAreUkTimeWithSummerTimeFromMarchsToOctobersLastSunday) {
  EXPECT_EQ(SpokenTime("2025-12-01T08:00:00Z"), "1 December 2025 at 8am");
  EXPECT_EQ(SpokenTime("2025-12-01T13:05:09Z"), "1 December 2025 at 1:05pm");
  EXPECT_EQ(SpokenTime("2025-12-01T12:00:00Z"), "1 December 2025 at midday");
  EXPECT_EQ(SpokenTime("2025-12-01T00:00:00Z"), "1 December 2025 at midnight");
  // 2025's summer time: 1am UTC on 30 March to 1am UTC on 26 October.
  EXPECT_EQ(SpokenTime("2025-03-30T00:59:00Z"), "30 March 2025 at 12:59am");
  EXPECT_EQ(SpokenTime("2025-03-30T01:00:00Z"), "30 March 2025 at 2am");
  EXPECT_EQ(SpokenTime("2025-06-03T13:05:00Z"), "3 June 2025 at 2:05pm");
  EXPECT_EQ(SpokenTime("2025-06-03T23:30:00Z"), "4 June 2025 at 12:30am");  // the next day
  EXPECT_EQ(SpokenTime("2025-10-26T00:59:00Z"), "26 October 2025 at 1:59am");
  EXPECT_EQ(SpokenTime("2025-10-26T01:00:00Z"), "26 October 2025 at 1am");
  for (const char* odd : {"", "2025-12-01", "2025-12-01T25:00:00Z", "2025-12-01T08:00:00+01:00",
                          "yesterday at noonZ"}) {
    EXPECT_EQ(SpokenTime(odd), odd);
  }
}

TEST(SpokenTest, TheLogsNamesForWhoRecordedAnEventReadAsPeopleWriteThem) {
  EXPECT_EQ(SpokenActor("account:lead@cps.example"), "lead@cps.example");
  EXPECT_EQ(SpokenActor("token:3f2a"), "API token 3f2a");
  EXPECT_EQ(SpokenActor("cli:root"), "root, on the command line");
  EXPECT_EQ(SpokenActor("public"), "public");
  EXPECT_EQ(SpokenActor("account:"), "account:");
}

}  // namespace
}  // namespace rectrack::web
