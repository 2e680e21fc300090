// The engine: as-at answers through close, reopen and supersede; milestones and back-dated
// events; what it refuses (references, scope, text, dates) and why; lists; two engines and
// other processes on one file. The write path's own tests are in engine_write_test.cpp.
#include <gtest/gtest.h>

#include "engine/render.h"
#include "storage/database.h"
#include "storage/event_store.h"
#include "tests/engine_fixture.h"

namespace rectrack {
namespace {

// A list shows heads: its views carry no timelines (a list of 100,000 would copy every
// history), as at today and as at an earlier date; Show has the timeline.
TEST_F(EngineTest, AListsViewsAreHeadsWithoutTimelines) {
  ImportDemo();
  for (const char* as_of : {"2024-01-01", "2026-11-22"}) {
    ListQuery q;
    q.as_of = D(as_of);
    const auto views = engine_->List(q).value();
    ASSERT_FALSE(views.empty()) << as_of;
    for (const RecommendationView& v : views) {
      EXPECT_TRUE(v.timeline.empty()) << v.id << " as at " << as_of;
      auto shown = engine_->Show(v.id, D(as_of));
      ASSERT_TRUE(shown.ok()) << shown.status().message();
      EXPECT_FALSE(shown->timeline.empty()) << v.id;
      EXPECT_EQ(shown->state, v.state) << v.id;
      EXPECT_EQ(shown->version, v.version) << v.id;
    }
  }
}

TEST_F(EngineTest, AsOfFollowsTheRecommendationThroughCloseAndReopen) {
  ImportDemo();
  EXPECT_EQ(State("da23-r2", "2023-03-01"), "issued");
  EXPECT_EQ(State("da23-r2", "2024-08-14"), "issued");
  EXPECT_EQ(State("da23-r2", "2024-08-15"), "closed");
  EXPECT_EQ(State("da23-r2", "2025-03-05"), "closed");
  EXPECT_EQ(State("da23-r2", "2025-03-06"), "reopened");
  auto view = engine_->Show("da23-r2", D("2025-03-31"));
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->open);
  EXPECT_TRUE(view->overdue);
  ASSERT_EQ(view->timeline.size(), 4u);
  EXPECT_EQ(view->timeline[2].voice, "body");
  EXPECT_EQ(view->timeline[3].voice, "inspectorate");
  EXPECT_EQ(view->timeline[3].from_state, "closed");
  EXPECT_EQ(view->timeline[3].to_state, "reopened");
  auto before = engine_->Show("da23-r2", D("2024-09-01"));
  EXPECT_FALSE(before->open);
  EXPECT_FALSE(before->overdue);  // closed, so not overdue even though July 2023 has passed
  auto missing = engine_->Show("da23-r2", D("2023-02-28"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(EngineTest, SupersedingLinksBothWaysFromItsEffectiveDate) {
  ImportDemo();
  EXPECT_EQ(State("da23-r4", "2025-03-05"), "closed");
  auto old_rec = engine_->Show("da23-r4", D("2025-03-06"));
  ASSERT_TRUE(old_rec.ok());
  EXPECT_EQ(old_rec->state, "superseded");
  EXPECT_FALSE(old_rec->open);
  EXPECT_EQ(old_rec->superseded_by, std::vector<std::string>{"da25-n1"});
  auto new_rec = engine_->Show("da25-n1", D("2025-03-06"));
  ASSERT_TRUE(new_rec.ok());
  EXPECT_EQ(new_rec->supersedes, std::vector<std::string>{"da23-r4"});
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-03-05")).status().code(), Code::kNotFound);
}

TEST_F(EngineTest, AMilestoneIsOverdueFromTheDayAfterItIsDue) {
  ImportDemo();
  auto on_the_day = engine_->Show("da25-n1", D("2025-12-31"));
  EXPECT_FALSE(on_the_day->overdue);
  auto day_after = engine_->Show("da25-n1", D("2026-01-01"));
  EXPECT_TRUE(day_after->overdue);
  EXPECT_TRUE(day_after->milestones.at(0).overdue);
  // A met milestone is not overdue.
  auto r3 = engine_->Show("da23-r3", D("2024-01-15"));
  ASSERT_EQ(r3->milestones.size(), 2u);
  EXPECT_EQ(r3->milestones[0].label, "communicated");
  EXPECT_TRUE(r3->milestones[0].met);
  EXPECT_FALSE(r3->milestones[0].overdue);
  EXPECT_FALSE(r3->milestones[1].overdue);
  EXPECT_TRUE(engine_->Show("da23-r3", D("2024-04-01"))->milestones[1].overdue);
}

TEST_F(EngineTest, ExtendMovesTheDueDateAndKeepsTheOriginalInHistory) {
  ImportDemo();
  auto extended = Record("da25-n1", "extend", "2025-11-01", "",
                         {{"milestone", {"due"}}, {"due", {"2026-06-30"}}, {"reason", {"pilot"}}});
  ASSERT_TRUE(extended.ok()) << extended.status().message();
  auto view = engine_->Show("da25-n1", D("2026-03-01"));
  EXPECT_EQ(view->milestones[0].due, D("2026-06-30"));
  EXPECT_EQ(view->milestones[0].original_due, D("2025-12-31"));
  EXPECT_FALSE(view->overdue);
  // Before the extension took effect the old date stood.
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-10-31"))->milestones[0].due, D("2025-12-31"));
  // Only the inspectorate extends.
  auto by_body = Record("da25-n2", "extend", "2025-11-01", "CPS",
                        {{"milestone", {"due"}}, {"due", {"2026-06-30"}}, {"reason", {"x"}}});
  EXPECT_EQ(by_body.status().code(), Code::kPermissionDenied);
}

TEST_F(EngineTest, ABackDatedEventTakesItsPlaceInHistory) {
  ImportDemo();
  // Recorded now, effective before the closure of 15 August 2024: accepted, and as-of sees it.
  // (By the inspectorate: the CPS may not date a note behind the judgement of March 2025; see
  // ABodyMayNotRecordBehindTheInspectoratesJudgement.)
  ASSERT_TRUE(Record("da23-r2", "update", "2024-07-01").ok());
  auto view = engine_->Show("da23-r2", D("2024-07-01"));
  EXPECT_EQ(view->timeline.back().transition, "update");
  EXPECT_EQ(view->state, "issued");
}

// da23-r2 was due July 2023, closed by the CPS in August 2024 and found not achieved in March
// 2025. A CPS note dated July 2023 marking its milestone met would take it off the overdue lists
// of the years between: refused, naming the judgement; the inspectorate may still correct it.
TEST_F(EngineTest, ABodyMayNotRecordBehindTheInspectoratesJudgement) {
  ImportDemo();
  const int64_t before = EventCount();
  auto behind = Record("da23-r2", "update", "2023-07-01", "CPS", {{"met", {"due"}}});
  ASSERT_EQ(behind.status().code(), Code::kConflict) << behind.status().message();
  EXPECT_NE(behind.status().message().find(
                "it is dated before the inspectorate's latest judgement ('assess', effective "
                "2025-03-06), and a "
                "body_lead may not record behind it; date it 2025-03-06 or later"),
            std::string::npos)
      << behind.status().message();
  EXPECT_EQ(EventCount(), before);
  EXPECT_TRUE(engine_->Show("da23-r2", D("2024-03-31"))->overdue);
  // On or after the judgement, the body's voice is heard as before.
  EXPECT_TRUE(Record("da23-r2", "update", "2025-03-06", "CPS").ok());
  // The inspectorate may correct the history.
  EXPECT_TRUE(Record("da23-r2", "update", "2023-07-02", "", {{"met", {"due"}}}).ok());
  EXPECT_EQ(EventCount(), before + 2);
}

TEST_F(EngineTest, ABackDatedEventThatBreaksLaterHistoryIsRefused) {
  ImportDemo();
  const int64_t before = EventCount();
  // A second close before the real one would make the real close (closed -> close) invalid.
  auto result = Record("da23-r2", "close", "2024-08-01", "CPS");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kConflict);
  EXPECT_NE(result.status().message().find("'close' effective 2024-08-15"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(EventCount(), before);
}

TEST_F(EngineTest, EventsBeforeIssueOrInTheFutureAreRefused) {
  ImportDemo();
  auto early = Record("da25-n1", "update", "2025-01-01", "CPS");
  EXPECT_EQ(early.status().code(), Code::kConflict);
  EXPECT_NE(early.status().message().find("before the recommendation was created (2025-03-06)"),
            std::string::npos)
      << early.status().message();
  auto future = Record("da25-n1", "update", "2027-01-01", "CPS");
  EXPECT_EQ(future.status().code(), Code::kInvalidArgument);
  EXPECT_NE(future.status().message().find("in the future"), std::string::npos);
}

TEST_F(EngineTest, MissingReferencesAreRefusedWithWhatIsMissing) {
  ImportDemo();
  auto no_rec = Record("da99-r1", "update", "2025-01-01", "CPS");
  EXPECT_EQ(no_rec.status().code(), Code::kNotFound);
  auto no_transition = Record("da25-n1", "approve", "2025-06-01");
  EXPECT_EQ(no_transition.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_transition.status().message().find("has: update, close, assess"), std::string::npos);
  auto no_inspection =
      Record("da25-n1", "assess", "2025-06-01", "", {{"outcome", {"achieved"}}, {"in", {"nope"}}});
  EXPECT_EQ(no_inspection.status().code(), Code::kUnprocessable);
  EXPECT_NE(no_inspection.status().message().find("no inspection 'nope'"), std::string::npos);
  auto no_successor =
      Record("da23-r2", "supersede", "2025-06-01", "", {{"superseded_by", {"da25-n9"}}});
  EXPECT_EQ(no_successor.status().code(), Code::kUnprocessable);
  auto self = Record("da23-r2", "supersede", "2025-06-01", "", {{"superseded_by", {"da23-r2"}}});
  EXPECT_EQ(self.status().code(), Code::kUnprocessable);
  auto unknown_owner = engine_->Apply(Parse(R"(
recommendations:
  - {id: x1, inspection: da23, owners: [NOBODY], text: "By March 2024, to do it."}
)"),
                                      "test");
  EXPECT_EQ(unknown_owner.status().code(), Code::kUnprocessable);
  EXPECT_NE(unknown_owner.status().message().find("t.yaml:3:5"), std::string::npos);
}

TEST_F(EngineTest, ABodyLeadActsOnlyForABodyThatOwnsTheRecommendation) {
  ImportDemo();
  ASSERT_TRUE(engine_
                  ->Apply(Parse(R"(
bodies:
  - {id: SFO, name: Serious Fraud Office}
  - {id: NPCC, name: "National Police Chiefs' Council"}
recommendations:
  - {id: j1, inspection: da23, owners: [NPCC, CPS], text: "By 30 September 2024, agree."}
)"),
                          "test")
                  .ok());
  EXPECT_EQ(Record("da25-n1", "close", "2025-06-01", "SFO").status().code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(Record("j1", "update", "2024-05-01", "NPCC").ok());
  EXPECT_TRUE(Record("j1", "close", "2024-06-01", "CPS").ok());
  EXPECT_EQ(State("j1", "2024-06-01"), "closed");
}

TEST_F(EngineTest, DefinitionsCannotBeChangedSilently) {
  ImportDemo();
  auto renamed = engine_->Apply(Parse("bodies:\n  - {id: CPS, name: Crown Prosecutors}\n"), "t");
  EXPECT_EQ(renamed.status().code(), Code::kConflict);
  auto retexted = engine_->Apply(Parse(R"(
recommendations:
  - {id: da25-n1, inspection: da25, owners: [CPS], text: "By December 2025, something else."}
)"),
                                 "t");
  EXPECT_EQ(retexted.status().code(), Code::kConflict);
}

TEST_F(EngineTest, ATextNamingAnImpossibleDateIsRefused) {
  ImportDemo();
  auto result = engine_->Apply(Parse(R"(
recommendations:
  - {id: x1, inspection: da23, owners: [CPS], text: "By 31 September 2024, to do it."}
)"),
                               "test");
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("By 31 September 2024"), std::string::npos)
      << result.status().message();
}

TEST_F(EngineTest, AYearRectrackCannotHoldIsRefusedNotStored) {
  ImportDemo();
  const int64_t before = EventCount();
  for (const char* text : {"By March 0000 to do it.", "By 1 March 1850 to do it."}) {
    auto result = engine_->Apply(
        Parse(std::string("recommendations:\n  - {id: x1, inspection: da23, owners: [CPS], "
                          "text: \"") +
              text + "\"}\n"),
        "test");
    EXPECT_EQ(result.status().code(), Code::kInvalidArgument) << text;
  }
  EXPECT_EQ(EventCount(), before);
  engine_ = OpenEngine();  // and the database still opens
  ASSERT_NE(engine_, nullptr);
}

TEST_F(EngineTest, TextThatIsNotUtf8IsRefusedAndTheLogStaysReadable) {
  ImportDemo();
  const int64_t before = EventCount();
  // Built here: an import file with such bytes is refused before it is read (importer_test).
  DefineInspection bad;
  bad.inspection.id = "x1";
  bad.inspection.title = "bad \xff bytes";
  bad.inspection.published = D("2024-01-01");
  auto result = engine_->Apply({bad}, "test");
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("not valid UTF-8"), std::string::npos);
  RecordEvent e;
  e.subject_id = "da25-n1";
  e.transition = "update";
  e.effective = D("2025-06-02");
  e.role = "body_lead";
  e.body = "CPS";
  e.note = "caf\xc3";  // a sequence cut short
  EXPECT_EQ(engine_->Apply({e}, "t").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(EventCount(), before);
  engine_ = OpenEngine();
  ASSERT_NE(engine_, nullptr);
}

// Control characters would reach terminals and documents: refused wherever a command carries
// text, naming the field and the character; tab and newline are text.
TEST_F(EngineTest, ControlCharactersOtherThanTabAndNewlineAreRefusedNamingTheField) {
  ImportDemo();
  const int64_t before = EventCount();
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  e.note = "noted";
  e.effective = D("2025-06-02");
  struct Case {
    std::string note;
    std::string control;  // "" when allowed
  };
  for (const Case& c : std::vector<Case>{{"clears \x1b[2Jthe screen", "U+001B"},
                                         {"over\rwrites", "U+000D"},
                                         {"bell\x07", "U+0007"},
                                         {"del\x7f", "U+007F"},
                                         {"csi \xc2\x9b"
                                          "2J",
                                          "U+009B"}}) {
    e.note = c.note;
    auto refused = engine_->Apply({e}, "t");
    ASSERT_EQ(refused.status().code(), Code::kInvalidArgument) << c.control;
    EXPECT_NE(refused.status().message().find("note holds the control character " + c.control),
              std::string::npos)
        << refused.status().message();
  }
  // Noncharacters are not text either: XML (the XLSX annex, the Atom feed) cannot hold U+FFFF.
  for (const auto& [note, named] :
       std::vector<std::pair<std::string, std::string>>{{"rec \xef\xbf\xbf text", "U+FFFF"},
                                                        {"\xef\xb7\x90", "U+FDD0"},
                                                        {"x\xf4\x8f\xbf\xbe", "U+10FFFE"}}) {
    e.note = note;
    auto refused = engine_->Apply({e}, "t");
    ASSERT_EQ(refused.status().code(), Code::kInvalidArgument) << named;
    EXPECT_NE(refused.status().message().find("note holds the noncharacter " + named),
              std::string::npos)
        << refused.status().message();
  }
  e.note = "\xef\xbf\xbd replacement, \xf0\x9f\x98\x80 and \xef\xb7\xb0 are text";
  EXPECT_TRUE(engine_->Apply({e}, "t").ok());
  const int64_t with_one = EventCount();
  EXPECT_EQ(with_one, before + 1);
  e.note = "";
  e.fields["evidence"] = {"minutes\x1b]0;title\x07"};
  auto field = engine_->Apply({e}, "t");
  EXPECT_NE(field.status().message().find("field 'evidence' holds the control character U+001B"),
            std::string::npos)
      << field.status().message();
  EXPECT_EQ(EventCount(), with_one);
  e.fields.clear();
  e.note = "line one\n\tindented, and a no-break\xc2\xa0space";
  EXPECT_TRUE(engine_->Apply({e}, "t").ok());
  EXPECT_EQ(EventCount(), with_one + 1);
}

// No client can make one event huge: every text has a limit in bytes, named when exceeded.
TEST_F(EngineTest, TextOverItsLimitIsRefusedNamingTheFieldAndTheLimit) {
  ImportDemo();
  const int64_t before = EventCount();
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  e.effective = D("2025-06-02");
  e.note = std::string(TextLimits{}.note + 1, 'n');
  auto note = engine_->Apply({e}, "t");
  EXPECT_EQ(note.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(note.status().message(), "note is 8193 bytes long; at most 8192 are allowed");
  e.note = std::string(TextLimits{}.note, 'n');
  EXPECT_TRUE(engine_->Apply({e}, "t").ok()) << "the limit itself is allowed";
  e.note.clear();
  e.fields["evidence"] = std::vector<std::string>(kMaxFieldValues + 1, "a.pdf");
  EXPECT_NE(engine_->Apply({e}, "t").status().message().find("at most 100 values"),
            std::string::npos);
  e.fields["evidence"] = {std::string(TextLimits{}.field_value + 1, 'x')};
  EXPECT_NE(engine_->Apply({e}, "t").status().message().find("field 'evidence' is 4097 bytes"),
            std::string::npos);
  DefineRecommendation big;
  big.id = "x-big";
  big.def.inspection = "da23";
  big.def.owners = {"CPS"};
  big.def.text = std::string(TextLimits{}.text + 1, 't');
  auto text = engine_->Apply({big}, "t");
  EXPECT_NE(text.status().message().find("text is 32769 bytes long; at most 32768"),
            std::string::npos)
      << text.status().message();
  EXPECT_EQ(EventCount(), before + 1);
}

// The limits are the operator's (serve's config, RECTRACK_MAX_NOTE_BYTES): an engine opened with
// smaller ones refuses what the defaults allow, and the log is untouched.
TEST_F(EngineTest, TextLimitsComeFromTheEngineOptions) {
  ImportDemo();
  engine_.reset();
  Engine::Options options{db_path_, kWorkflow, &clock_, true, ""};
  options.text_limits.note = 100;
  options.text_limits.field_value = 10;
  auto opened = Engine::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  engine_ = std::move(opened).value();
  const int64_t before = EventCount();
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  e.effective = D("2025-06-02");
  e.note = std::string(101, 'n');
  EXPECT_EQ(engine_->Apply({e}, "t").status().message(),
            "note is 101 bytes long; at most 100 are allowed");
  e.note = "short";
  e.fields["evidence"] = {"policy-v2.pdf"};
  EXPECT_NE(engine_->Apply({e}, "t").status().message().find("at most 10 are allowed"),
            std::string::npos);
  EXPECT_EQ(EventCount(), before);
  e.fields.clear();
  e.note = std::string(100, 'n');
  EXPECT_TRUE(engine_->Apply({e}, "t").ok());
}

TEST_F(EngineTest, AnEmptyMilestoneListMeansNoneEvenWhenTheTextNamesADate) {
  ImportDemo();
  ASSERT_TRUE(engine_
                  ->Apply(Parse(R"(
recommendations:
  - {id: x1, inspection: da23, owners: [CPS], milestones: [],
     text: "The guidance issued by 3 May 2023 letters is to be followed."}
  - {id: x2, inspection: da23, owners: [CPS],
     text: "The guidance issued by 3 May 2023 letters is to be followed."}
)"),
                          "test")
                  .ok());
  EXPECT_TRUE(engine_->Show("x1", D("2025-01-01"))->milestones.empty());
  EXPECT_EQ(engine_->Show("x2", D("2025-01-01"))->milestones.size(), 1u);
}

TEST_F(EngineTest, RecordingTheSameNoteTwiceKeepsBothButImportsSkipRepeats) {
  ImportDemo();
  ASSERT_TRUE(Record("da25-n1", "update", "2025-06-01", "CPS").ok());
  ASSERT_EQ(Record("da25-n1", "update", "2025-06-01", "CPS")->appended, 1);
  EXPECT_EQ(engine_->Show("da25-n1", D("2025-06-30"))->timeline.size(), 3u);
  const std::string yaml =
      "events:\n  - {rec: da25-n2, do: update, effective: 2025-06-01, by: CPS, note: x}\n";
  ASSERT_EQ(engine_->Apply(Parse(yaml), "t")->appended, 1);
  EXPECT_EQ(engine_->Apply(Parse(yaml), "t")->appended, 0);
}

TEST_F(EngineTest, AnEmptyReasonIsNoReason) {
  ImportDemo();
  auto result = Record("da25-n1", "withdraw", "2025-06-01", "", {{"reason", {""}}});
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("field 'reason' is empty"), std::string::npos);
}

TEST_F(EngineTest, ListFiltersByBodyStateOpennessAndOverdue) {
  ImportDemo();
  ListQuery q;
  q.as_of = D("2025-03-31");
  EXPECT_EQ(engine_->List(q).value().size(), 8u);
  q.open = true;
  EXPECT_EQ(engine_->List(q).value().size(), 3u);
  q.overdue_only = true;
  auto overdue = engine_->List(q).value();
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].id, "da23-r2");
  q = ListQuery{};
  q.as_of = D("2025-03-31");
  q.state = "superseded";
  EXPECT_EQ(engine_->List(q).value().size(), 2u);
  q.state = "";
  q.body = "SFO";
  EXPECT_TRUE(engine_->List(q).value().empty());
  q.body = "";
  q.as_of = D("2024-01-01");
  EXPECT_EQ(engine_->List(q).value().size(), 6u);  // the follow-up's two were not issued yet
}

TEST_F(EngineTest, StateSurvivesReopeningTheDatabase) {
  ImportDemo();
  auto before = engine_->Show("da23-r2", D("2025-03-31"));
  engine_ = OpenEngine();
  auto after = engine_->Show("da23-r2", D("2025-03-31"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, before->state);
  EXPECT_EQ(after->timeline.size(), before->timeline.size());
  EXPECT_EQ(after->version, before->version);
}

TEST_F(EngineTest, TwoEnginesOnOneFileSeeEachOthersWrites) {
  ImportDemo();
  auto other = OpenEngine();
  ASSERT_TRUE(Record("da25-n1", "update", "2025-06-01", "CPS").ok());
  // `other` has not seen that update; its write catches up first and numbers after it.
  RecordEvent e;
  e.subject_id = "da25-n2";
  e.transition = "update";
  e.note = "noted";
  e.effective = D("2025-06-02");
  e.role = "body_lead";
  e.body = "CPS";
  auto result = other->Apply({e}, "other");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(other->Show("da25-n1", D("2025-06-30"))->timeline.size(), 2u);
  auto verify = other->Verify();
  ASSERT_TRUE(verify.ok()) << verify.status().message();
}

// A token's label is printed in `token list` and the web's table: one line of text, a name's
// length; a label refused makes no token.
TEST_F(EngineTest, ATokenLabelIsOneLineOfTextWithinANamesLength) {
  ImportDemo();
  for (const std::string& label : {std::string("ok\r\nforged row"), std::string("a\tb"),
                                   std::string("\x1b[31mred"), std::string(501, 'x')}) {
    auto token = engine_->CreateToken("reader", "", std::nullopt, label);
    ASSERT_FALSE(token.ok()) << label;
    EXPECT_EQ(token.status().field(), "label");
    EXPECT_EQ(token.status().message().rfind("the label ", 0), 0u) << token.status().message();
  }
  auto tokens = engine_->Tokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_TRUE(tokens->empty());
  EXPECT_TRUE(
      engine_->CreateToken("reader", "", std::nullopt, "Calendar for the CPS's leads").ok());
}

// A token another process revoked stops working once this engine takes in any of that process's
// commits, also when a write of its own is what took them in (a stream once read the command
// line's next event with a token the command line had just revoked).
TEST_F(EngineTest, ATokenRevokedElsewhereStopsWhenAWriteTakesInThatProcesssCommits) {
  ImportDemo();
  auto token = engine_->CreateToken("reader", "", std::nullopt, "stream");
  ASSERT_TRUE(token.ok()) << token.status().message();
  ASSERT_TRUE(engine_->Authenticate(token->second).ok());  // known, and kept in memory
  auto other = OpenEngine();
  ASSERT_TRUE(other->RevokeToken(token->first.id).ok());
  ASSERT_TRUE(other->Apply({CpsLeadCloses("da25-n2")}, "cli").ok());
  RecordEvent e = CpsLeadCloses("da25-n1");
  e.transition = "update";
  e.note = "noted";
  ASSERT_TRUE(engine_->Apply({e}, "server").ok());  // catches up with `other` inside its write
  EXPECT_EQ(engine_->Show("da25-n2", std::nullopt)->state, "closed");
  EXPECT_FALSE(engine_->Authenticate(token->second).ok());
}

// Refresh asks SQLite only when the WAL-index header moved (storage/wal_watch.h), and so must
// still take in each of another engine's commits, one after another, the moment it is made.
TEST_F(EngineTest, RefreshTakesInEachOfAnotherEnginesCommitsAtOnce) {
  ImportDemo();
  auto other = OpenEngine();
  ASSERT_TRUE(engine_->Refresh().ok());
  for (int i = 0; i < 20; ++i) {
    const int64_t before = engine_->last_seq();
    ASSERT_TRUE(engine_->Refresh().ok());
    EXPECT_EQ(engine_->last_seq(), before) << "nothing new, at " << i;
    RecordEvent e = CpsLeadCloses("da25-n2");
    e.transition = "update";
    e.effective = D("2025-06-02");
    e.note = "note " + std::to_string(i);
    ASSERT_TRUE(other->Apply({e}, "other").ok());
    ASSERT_TRUE(engine_->Refresh().ok());
    EXPECT_EQ(engine_->last_seq(), other->last_seq()) << "at " << i;
  }
}

// Opened with every catch-up read ahead (engine/read_ahead.h) or with none, as a long log's
// first read and a short one's are.
Result<std::unique_ptr<Engine>> OpenReadingAhead(const std::string& db, const Clock* clock,
                                                 bool ahead) {
  Engine::Options options{db, kWorkflow, clock, true, ""};
  options.two_threads_from = ahead ? 1 : 1'000'000;
  return Engine::Open(options);
}

// Runs `edit` on the log behind its triggers, as a tampering hand would.
void EditBehindTheTriggers(const std::string& db_path, const std::string& edit) {
  auto db = storage::Database::Open(db_path);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("DROP TRIGGER IF EXISTS events_no_update").ok());
  ASSERT_TRUE((*db)->Exec(edit.c_str()).ok());
}

// What opening says of the demo's log once `edit` has changed a row behind the triggers, read
// ahead or not (the two must say the same); "" when it opens.
std::string OpenedAfterEditing(const std::string& db_path, const Clock* clock,
                               const std::string& edit) {
  EditBehindTheTriggers(db_path, edit);
  std::string said[2];
  for (bool ahead : {false, true}) {
    auto reopened = OpenReadingAhead(db_path, clock, ahead);
    if (!reopened.ok()) {
      EXPECT_EQ(reopened.status().code(), Code::kCorruption);
      said[ahead] = reopened.status().message();
    }
  }
  EXPECT_EQ(said[0], said[1]);
  return said[1];
}

TEST_F(EngineTest, ALogThatNoLongerReplaysIsReportedAsCorruptionAtOpen) {
  ImportDemo();
  engine_.reset();
  const std::string said =
      OpenedAfterEditing(db_path_, &clock_, "UPDATE events SET transition='vanish' WHERE seq=15");
  EXPECT_NE(said.find("event 15"), std::string::npos) << said;
}

// Reading the rows on another thread while this one replays them changes nothing in the answers,
// however the log is read: in one go, or a catch-up at a time (each new event read ahead).
TEST_F(EngineTest, AnEngineThatReadsTheLogAheadAnswersAsOneThatDoesNot) {
  ImportDemo();
  auto opened_ahead = OpenReadingAhead(db_path_, &clock_, true);
  auto opened_plain = OpenReadingAhead(db_path_, &clock_, false);
  ASSERT_TRUE(opened_ahead.ok() && opened_plain.ok());
  Engine* ahead = opened_ahead->get();
  Engine* plain = opened_plain->get();
  RecordEvent e = CpsLeadCloses("da25-n2");
  e.transition = "update";
  e.note = "noted";
  e.effective = D("2025-06-02");
  ASSERT_TRUE(engine_->Apply({e}, "other").ok());
  ASSERT_TRUE(ahead->Refresh().ok());
  ASSERT_TRUE(plain->Refresh().ok());
  EXPECT_EQ(ahead->last_seq(), engine_->last_seq());
  EXPECT_EQ(ahead->last_seq(), plain->last_seq());
  for (const Date as_of : {D("2024-01-01"), D("2025-03-31"), clock_.Today()}) {
    ListQuery q;
    q.as_of = as_of;
    EXPECT_EQ(ListAsJson(ahead->List(q).value()), ListAsJson(plain->List(q).value()));
    EXPECT_FALSE(ahead->List(q).value().empty() && as_of != D("2024-01-01"));
    for (const RecommendationView& v : plain->List(q).value()) {
      EXPECT_EQ(ShowAsJson(ahead->Show(v.id, as_of).value(), {}),
                ShowAsJson(plain->Show(v.id, as_of).value(), {}));
    }
  }
}

// A catch-up read ahead that meets an event that does not replay keeps every event before it,
// and says so again at the next look, as a plain one does.
TEST_F(EngineTest, ACatchUpReadAheadStopsAtAnEventThatDoesNotReplayAndSaysSoAgain) {
  ImportDemo();
  auto opened = OpenReadingAhead(db_path_, &clock_, true);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  Engine& ahead = **opened;
  const int64_t before = ahead.last_seq();
  for (const char* note : {"first", "second"}) {
    RecordEvent e = CpsLeadCloses("da25-n2");
    e.transition = "update";
    e.effective = D("2025-06-02");
    e.note = note;
    ASSERT_TRUE(engine_->Apply({e}, "other").ok());
  }
  EditBehindTheTriggers(
      db_path_, "UPDATE events SET transition='vanish' WHERE seq=" + std::to_string(before + 2));
  for (int look = 0; look < 2; ++look) {
    Status refreshed = ahead.Refresh();
    EXPECT_EQ(refreshed.code(), Code::kCorruption) << look;
    EXPECT_NE(refreshed.message().find("event " + std::to_string(before + 2)), std::string::npos)
        << refreshed.message();
    EXPECT_EQ(ahead.last_seq(), before + 1) << look;
  }
}

// An event that does not decode stops the read there, read ahead or not: the same error, naming it.
TEST_F(EngineTest, AnEventThatDoesNotDecodeIsNamedWhetherReadAheadOrNot) {
  ImportDemo();
  engine_.reset();
  std::string subject;
  {
    auto db = storage::Database::Open(db_path_);
    ASSERT_TRUE(db.ok());
    auto row = storage::EventStore(db->get()).LoadSeqs({20});
    ASSERT_TRUE(row.ok() && row->size() == 1);
    subject = row->front().subject_id;
  }
  ASSERT_FALSE(subject.empty());
  const std::string said =
      OpenedAfterEditing(db_path_, &clock_, "UPDATE events SET payload='{not json' WHERE seq=20");
  // The row's subject, though its event never decoded.
  EXPECT_EQ(said.rfind("event 20 (" + subject + ") does not replay through workflow ", 0), 0u)
      << said;
  EXPECT_NE(said.find("event 20: payload is not a JSON object"), std::string::npos) << said;
}

}  // namespace
}  // namespace rectrack
