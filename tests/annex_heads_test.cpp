// Annex A read from the item heads (Engine::AnnexFromHeads): as at an earlier date it takes
// heads back without reading histories, a large annex handed out a row at a time equals a whole
// replay's, notes name the follow-up, and the command line makes it from the heads. Real SQLite
// files.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/item_heads_fixture.h"

namespace rectrack {
namespace {

// Annex A as at a date before recommendations last changed takes their heads back to that date
// (what was open, what superseded them, their turns): their histories are not read, so it
// answers as a whole replay does even with their rows gone from the item index.
TEST_F(ItemHeadsTest, AnAnnexAsAtAnEarlierDateTakesHeadsBackWithoutReadingHistories) {
  const std::string workflow = NotesAfterSupersede();
  ASSERT_FALSE(workflow.empty());
  Engine::Options options = WithEveryEvent(workflow);
  {
    auto engine = Engine::Open(options).value();
    auto commands = ParseImport(R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service, short_name: CPS}
inspections:
  - {id: i1, title: Disclosure, published: 2024-01-10}
  - {id: f1, title: Disclosure follow-up, short_title: follow-up, published: 2025-02-01}
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "Closed, then superseded."}
  - {id: r2, inspection: i1, owners: [CPS], text: "Closed, reopened, closed again later."}
  - {id: r3, inspection: i1, owners: [CPS], text: "What supersedes r1."}
  - {id: r4, inspection: i1, owners: [CPS], text: "Closed after the date."}
  - {id: r5, inspection: i1, owners: [CPS], text: "Closed in the year, noted after it."}
  - {id: r6, inspection: i1, owners: [CPS], text: "Assessed and superseded while open."}
)",
                                "world.yaml", engine->workflow(), nullptr);
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    ASSERT_TRUE(engine->Apply(*commands, "test").ok());
    auto apply = [&](const std::string& id, const std::string& transition, const char* on,
                     const std::string& role,
                     std::map<std::string, std::vector<std::string>> fields = {}) {
      RecordEvent e{id, transition, D(on), role, role == "body_lead" ? "CPS" : ""};
      e.fields = std::move(fields);
      if (transition == "update") e.note = "later";
      auto applied = engine->Apply({e}, "test");
      ASSERT_TRUE(applied.ok()) << id << " " << transition << ": " << applied.status().message();
    };
    apply("r1", "close", "2024-06-01", "body_lead");
    apply("r1", "supersede", "2024-09-01", "inspectorate", {{"superseded_by", {"r3"}}});
    apply("r1", "update", "2025-05-01", "inspectorate");
    apply("r2", "close", "2024-06-01", "body_lead");
    apply("r2", "assess", "2025-02-15", "inspectorate",
          {{"outcome", {"not_achieved"}}, {"in", {"f1"}}});
    apply("r2", "close", "2025-04-15", "body_lead");
    apply("r4", "close", "2025-04-20", "body_lead");
    apply("r5", "close", "2024-12-01", "body_lead");
    apply("r5", "update", "2025-05-01", "inspectorate");
    // A turn that also supersedes: open to superseded.
    apply("r6", "assess", "2025-02-10", "inspectorate",
          {{"outcome", {"not_achieved"}}, {"in", {"f1"}}, {"superseded_by", {"r3", "r5"}}});
    apply("r6", "update", "2025-05-01", "inspectorate");
  }
  // Before r1 is superseded, after, before and after r6 is; and the end of the year.
  const std::vector<const char*> dates = {"2024-08-01", "2024-10-01", "2025-02-01", "2025-02-20",
                                          "2025-03-31"};
  std::vector<std::string> expected;
  {
    auto whole = Engine::Open(options).value();
    for (const char* as_of : dates)
      expected.push_back(AnnexAsJson(whole->Annex("CPS", D(as_of)).value()));
  }
  for (const char* says : {"This remains closed but superseded by new recommendation r3",
                           "This was closed by the CPS but reopened following an assessment",
                           "Closed in the year, noted after it.", "Closed after the date."}) {
    EXPECT_NE(expected.back().find(says), std::string::npos) << says << " in " << expected.back();
  }
  // r1 is not yet superseded; r6 is open, and then (superseded, by the inspectorate) in
  // neither table.
  EXPECT_EQ(expected.front().find("This remains closed"), std::string::npos) << expected.front();
  EXPECT_NE(expected[2].find("Assessed and superseded while open."), std::string::npos);
  EXPECT_EQ(expected[3].find("Assessed and superseded while open."), std::string::npos);
  // Their histories gone from the index: read whole, they would be missing.
  Sql("DELETE FROM item_events WHERE item IN ('r1', 'r2', 'r4', 'r5', 'r6')");
  options.heads_only = true;
  for (size_t i = 0; i < dates.size(); ++i) {
    auto engine = Engine::Open(options).value();
    auto annex = engine->AnnexFromHeads("CPS", D(dates[i]));
    ASSERT_TRUE(annex.ok()) << annex.status().message();
    EXPECT_TRUE(engine->reads_heads());
    EXPECT_EQ(AnnexAsJson(*annex), expected[i]) << "as at " << dates[i];
  }
}

// A large Annex A is handed out one row at a time once its rows name more inspections than are
// looked up one by one, or are many (HeadsQuery::visit): the same annex as a whole replay's,
// whether the rows were held or handed out, with notes naming follow-ups and rows taken back.
TEST_F(ItemHeadsTest, ALargeAnnexHandedOutARowAtATimeEqualsAWholeReplays) {
  struct World {
    int inspections;
    int recommendations;
  };
  // Held (few inspections, few rows); handed out past the 256 inspections looked up one by one
  // (Engine::kInspectionsLookedUp); past the 4,096 views held (Engine::kViewsHeld).
  const std::vector<World> worlds = {{5, 40}, {300, 300}, {3, 4200}};
  for (const World& world : worlds) {
    SCOPED_TRACE(std::to_string(world.inspections) + " inspections, " +
                 std::to_string(world.recommendations) + " recommendations");
    for (const char* file : {"", "-wal", "-shm"}) fs::remove(db() + file);
    const Engine::Options options = WithEveryEvent(kWorkflow);
    {
      auto engine = Engine::Open(options).value();
      std::string yaml =
          "bodies:\n  - {id: CPS, name: Crown Prosecution Service, short_name: CPS}\n"
          "inspections:\n"
          "  - {id: f1, title: The follow-up, short_title: follow-up, published: 2025-02-01}\n";
      for (int i = 0; i < world.inspections; ++i) {
        yaml += "  - {id: i" + std::to_string(i) + ", title: Inspection " + std::to_string(i) +
                ", published: 2024-01-" + (i % 2 ? "10" : "20") + "}\n";
      }
      yaml += "recommendations:\n";
      for (int r = 0; r < world.recommendations; ++r) {
        yaml += "  - {id: r" + std::to_string(r) + ", inspection: i" +
                std::to_string(r % world.inspections) + ", owners: [CPS], text: \"Do " +
                std::to_string(r) + ".\"}\n";
      }
      auto commands = ParseImport(yaml, "world.yaml", engine->workflow(), nullptr);
      ASSERT_TRUE(commands.ok()) << commands.status().message();
      ASSERT_TRUE(engine->Apply(*commands, "test").ok());
      // Every third closed in the year, every seventh of those reopened by the follow-up, and
      // every fifth closed after the date.
      std::vector<Command> events;
      for (int r = 0; r < world.recommendations; ++r) {
        const std::string id = "r" + std::to_string(r);
        if (r % 3 == 0) {
          events.push_back(RecordEvent{id, "close", D("2024-06-01"), "body_lead", "CPS"});
          if (r % 7 == 0) {
            RecordEvent assess{id, "assess", D("2025-02-15"), "inspectorate"};
            assess.fields = {{"outcome", {"not_achieved"}}, {"in", {"f1"}}};
            events.push_back(assess);
          }
        } else if (r % 5 == 0) {
          events.push_back(RecordEvent{id, "close", D("2025-04-20"), "body_lead", "CPS"});
        }
      }
      auto applied = engine->Apply(events, "test");
      ASSERT_TRUE(applied.ok()) << applied.status().message();
    }
    for (const char* as_of : {"2025-03-31", "2026-01-15"}) {
      const std::string expected =
          AnnexAsJson(Engine::Open(options).value()->Annex("CPS", D(as_of)).value());
      EXPECT_NE(expected.find("reopened following an assessment of 'not achieved' in the "
                              "follow-up report"),
                std::string::npos);
      bool read_heads = false;
      EXPECT_EQ(AnnexedFromHeads("CPS", D(as_of), &read_heads), expected) << "as at " << as_of;
      EXPECT_TRUE(read_heads);
    }
  }
}

TEST_F(ItemHeadsTest, AnAnnexNoteNamesTheFollowUpWhateverTheTypeOfItsField) {
  // A workflow whose `in` is plain text: the note still names the follow-up report, which is
  // no recommendation's own inspection, as a whole replay's does.
  const std::string workflow = WorkflowWith("in:            {type: inspection,",
                                            "in:            {type: text,", "in-as-text.yaml");
  ASSERT_FALSE(workflow.empty());
  Engine::Options options = WithEveryEvent(workflow);
  {
    auto engine = Engine::Open(options).value();
    auto commands = ParseImport(R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service, short_name: CPS}
inspections:
  - {id: i1, title: Disclosure, published: 2024-01-10}
  - {id: f1, title: Disclosure follow-up, short_title: follow-up, published: 2025-02-01}
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "Improve disclosure."}
)",
                                "world.yaml", engine->workflow(), nullptr);
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    ASSERT_TRUE(engine->Apply(*commands, "test").ok());
    RecordEvent close{"r1", "close", D("2024-06-01"), "body_lead", "CPS"};
    ASSERT_TRUE(engine->Apply({close}, "test").ok());
    RecordEvent assess{"r1", "assess", D("2025-02-15"), "inspectorate"};
    assess.fields = {{"outcome", {"not_achieved"}}, {"in", {"f1"}}};
    auto assessed = engine->Apply({assess}, "test");
    ASSERT_TRUE(assessed.ok()) << assessed.status().message();
  }
  const std::string expected =
      AnnexAsJson(Engine::Open(options).value()->Annex("CPS", D("2025-03-31")).value());
  EXPECT_NE(expected.find("reopened following an assessment of 'not achieved' in the follow-up "
                          "report published in February 2025"),
            std::string::npos)
      << expected;
  options.heads_only = true;
  auto engine = Engine::Open(options).value();
  auto annex = engine->AnnexFromHeads("CPS", D("2025-03-31"));
  ASSERT_TRUE(annex.ok()) << annex.status().message();
  EXPECT_TRUE(engine->reads_heads());
  EXPECT_EQ(AnnexAsJson(*annex), expected);
}

TEST_F(ItemHeadsTest, TheCommandLineMakesAnnexAFromTheItemHeads) {
  std::mt19937 rng(19);
  MakeRandomWorld(rng, 12, 150);
  const std::string flags = "--db " + db() + " --clock 2026-01-15 ";
  auto whole = Open().value();
  for (const char* as_of : {"2021-03-31", "2023-06-30", "2026-01-15"}) {
    CliRun annex = Rectrack(flags + "report annex --body CPS --format json --as-of " + as_of);
    ASSERT_EQ(annex.status, 0) << annex.out;
    EXPECT_EQ(annex.out, AnnexAsJson(whole->Annex("CPS", D(as_of)).value())) << as_of;
  }
  // It reads the heads: a text altered behind rectrack's back is what it shows.
  Sql("UPDATE item_heads SET head = replace(head, 'Improve case 0.', 'Altered.') "
      "WHERE item = 'r0'");
  CliRun altered = Rectrack(flags + "report annex --body CPS --format csv");
  ASSERT_EQ(altered.status, 0) << altered.out;
  EXPECT_NE(altered.out.find("Altered."), std::string::npos) << altered.out;
  // An unknown body is refused as before, and the heads are not what says so.
  CliRun unknown = Rectrack(flags + "report annex --body NOPE");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.out.find("no body 'NOPE'"), std::string::npos) << unknown.out;
}

}  // namespace
}  // namespace rectrack
