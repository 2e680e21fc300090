#include "engine/importer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

namespace rectrack {
namespace {

const Workflow& Recommendation() {
  static const Workflow kWorkflow = [] {
    auto wf =
        Workflow::LoadFile(std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml");
    EXPECT_TRUE(wf.ok()) << wf.status().message();
    return std::move(wf).value();
  }();
  return kWorkflow;
}

Result<std::vector<Command>> Parse(const std::string& yaml) {
  return ParseImport(yaml, "t.yaml", Recommendation());
}

// The message of a parse that must fail with InvalidArgument.
std::string ErrorOf(const std::string& yaml) {
  auto result = Parse(yaml);
  if (result.ok()) return "(parsed)";
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument) << result.status().message();
  return result.status().message();
}

Date D(const char* iso) { return *Date::Parse(iso); }

constexpr const char* kExample = R"(bodies:
  - {id: CPS, name: Crown Prosecution Service, short_name: the CPS}
  - {id: NPCC, name: National Police Chiefs' Council}
inspections:
  - {id: da23, title: "The service from the CPS to victims of domestic abuse", published: 2023-03-01, kind: thematic}
  - {id: da25, title: "FOLLOW-UP: domestic abuse", short_title: "domestic abuse follow-up", published: 2025-03-06, follow_up_of: da23}
recommendations:
  - id: da23-r2
    inspection: da23
    owners: [CPS, NPCC]
    text: "By July 2023, the CPS to mark communications"
    milestones: [{label: implemented, due: 2023-07-31}]
    issued: 2023-03-02
    note: "from the report"
  - id: da23-r4
    inspection: da23
    owners: CPS
    text: "By December 2023, the CPS to request information"
events:
  - {rec: da23-r2, do: close, effective: 2024-08-15, by: CPS, note: "Closed by the CPS"}
  - {rec: da23-r4, do: assess, effective: 2025-03-06, outcome: not_achieved, in: da25, superseded_by: [da25-n1]}
  - {rec: da23-r2, do: update, effective: 2024-01-01, by: CPS, role: inspectorate, evidence: plan.pdf}
)";

TEST(ImporterTest, ExampleParsesIntoCommands) {
  auto result = Parse(kExample);
  ASSERT_TRUE(result.ok()) << result.status().message();
  const std::vector<Command>& cmds = *result;
  ASSERT_EQ(cmds.size(), 9u);

  const auto& cps = std::get<DefineBody>(cmds[0]);
  EXPECT_EQ(cps.body, (Body{"CPS", "Crown Prosecution Service", "the CPS"}));
  EXPECT_EQ(cps.where, "t.yaml:2:5");
  const auto& npcc = std::get<DefineBody>(cmds[1]);
  EXPECT_EQ(npcc.body.short_name, "NPCC");  // defaults to the id
  EXPECT_EQ(npcc.where, "t.yaml:3:5");

  const auto& da23 = std::get<DefineInspection>(cmds[2]).inspection;
  EXPECT_EQ(da23.id, "da23");
  EXPECT_EQ(da23.published, D("2023-03-01"));
  EXPECT_EQ(da23.kind, "thematic");
  EXPECT_EQ(da23.follow_up_of, "");
  const auto& da25 = std::get<DefineInspection>(cmds[3]).inspection;
  EXPECT_EQ(da25.short_title, "domestic abuse follow-up");
  EXPECT_EQ(da25.follow_up_of, "da23");
  EXPECT_EQ(da25.kind, "follow_up");  // implied by follow_up_of

  const auto& r2 = std::get<DefineRecommendation>(cmds[4]);
  EXPECT_EQ(r2.id, "da23-r2");
  EXPECT_EQ(r2.where, "t.yaml:8:5");
  EXPECT_EQ(r2.def.inspection, "da23");
  EXPECT_EQ(r2.def.owners, (std::vector<std::string>{"CPS", "NPCC"}));
  EXPECT_EQ(r2.def.text, "By July 2023, the CPS to mark communications");
  EXPECT_EQ(r2.def.milestones, (std::vector<MilestoneDef>{{"implemented", D("2023-07-31")}}));
  EXPECT_EQ(r2.issued, D("2023-03-02"));
  EXPECT_EQ(r2.note, "from the report");
  const auto& r4 = std::get<DefineRecommendation>(cmds[5]);
  EXPECT_EQ(r4.def.owners, std::vector<std::string>{"CPS"});  // a lone scalar
  EXPECT_TRUE(r4.def.milestones.empty());                     // read from the text by the engine
  EXPECT_FALSE(r4.issued.has_value());

  const auto& close = std::get<RecordEvent>(cmds[6]);
  EXPECT_EQ(close.where, "t.yaml:20:5");
  EXPECT_EQ(close.subject_id, "da23-r2");
  EXPECT_EQ(close.transition, "close");
  EXPECT_EQ(close.effective, D("2024-08-15"));
  EXPECT_EQ(close.role, "body_lead");  // `by` speaks for a body
  EXPECT_EQ(close.body, "CPS");
  EXPECT_EQ(close.note, "Closed by the CPS");
  EXPECT_TRUE(close.fields.empty());

  const auto& assess = std::get<RecordEvent>(cmds[7]);
  EXPECT_EQ(assess.role, "inspectorate");  // no `by`: the inspectorate speaks
  EXPECT_EQ(assess.body, "");
  EXPECT_EQ(
      assess.fields,
      (Fields{{"outcome", {"not_achieved"}}, {"in", {"da25"}}, {"superseded_by", {"da25-n1"}}}));

  const auto& update = std::get<RecordEvent>(cmds[8]);
  EXPECT_EQ(update.role, "inspectorate");  // explicit role wins
  EXPECT_EQ(update.body, "CPS");
  EXPECT_EQ(update.fields, (Fields{{"evidence", {"plan.pdf"}}}));  // list field from a scalar
}

TEST(ImporterTest, AllSectionsAreOptional) {
  auto result = Parse("bodies: []\nevents:\n");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE(result->empty());
}

TEST(ImporterTest, UnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf("bodies: []\nplans: []\n").rfind("t.yaml:2:1: unknown key 'plans'", 0), 0u);
}

// yaml-cpp 0.7 never returns on a document that begins with ',' (found by fuzz/import_fuzz): it
// is refused before the parser sees it, saying where.
TEST(ImporterTest, ADocumentBeginningWithACommaIsRefusedNotParsedForever) {
  EXPECT_EQ(ErrorOf(","), "t.yaml:1:1: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf(",:"), "t.yaml:1:1: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf("# a note\n\n  , :"),
            "t.yaml:3:3: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf("--- ,"), "t.yaml:1:5: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf("bodies: []\n---\n,"),
            "t.yaml:3:1: malformed YAML: a document cannot begin with ','");
  // Nor after an anchor or a tag (the second input fuzz/import_fuzz found that never returns).
  EXPECT_EQ(ErrorOf("&a ,"), "t.yaml:1:4: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf("&a,"), "t.yaml:1:3: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf("!t,"), "t.yaml:1:3: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf("--- &a !!str\n# c\n\t,"),
            "t.yaml:3:2: malformed YAML: a document cannot begin with ','");
  EXPECT_EQ(ErrorOf(std::string("&\x10\0:,$# x\nbodies: []\n", 22)),
            "t.yaml:1:5: malformed YAML: a document cannot begin with ','");
  // A second document is refused where it starts; a marker that ends the only one is fine.
  EXPECT_EQ(ErrorOf("bodies: []\n---\nbodies: []\n"),
            "t.yaml:2:1: a file holds one YAML document; found a second");
  EXPECT_EQ(ErrorOf("--- \nbodies: []\n...\n"), "(parsed)");
  // A comma anywhere else is YAML's business, a verbatim tag's included.
  EXPECT_TRUE(Parse("bodies:\n  - {id: CPS, name: \"a, b\"}\n").ok());
  EXPECT_TRUE(Parse("bodies: &all\n  - {id: CPS, name: X}\n").ok());
  EXPECT_EQ(ErrorOf("!<tag:yaml.org,2002:map> {bodies: []}").find("cannot begin"),
            std::string::npos);
}

TEST(ImporterTest, UnknownEntryKey) {
  const std::string msg = ErrorOf("bodies:\n  - {id: CPS, name: X, colour: red}\n");
  EXPECT_EQ(msg.rfind("t.yaml:2:24: unknown key 'colour' in body", 0), 0u) << msg;
  EXPECT_EQ(ErrorOf("recommendations:\n  - id: r1\n    inspection: i\n    owners: [CPS]\n"
                    "    text: t\n    milestones: [{label: a, due: 2024-01-01, when: x}]\n")
                .rfind("t.yaml:6:46: unknown key 'when' in milestone", 0),
            0u);
}

TEST(ImporterTest, BadId) {
  EXPECT_EQ(ErrorOf("inspections:\n  - {id: da 23, title: T, published: 2023-03-01}\n"),
            "t.yaml:2:10: 'id' must be an id (1-64 of letters, digits, '.', '_', '-'), not "
            "'da 23'");
  const std::string owner =
      ErrorOf("recommendations:\n  - {id: r1, inspection: i, owners: [CPS, \"C S\"], text: t}\n");
  EXPECT_EQ(owner.rfind("t.yaml:2:43: 'owners' must be an id", 0), 0u) << owner;
  const std::string rec = ErrorOf("events:\n  - {rec: r/1, do: close, effective: 2024-01-01}\n");
  EXPECT_EQ(rec.rfind("t.yaml:2:11: 'rec' must be an id", 0), 0u) << rec;
  const std::string parent =
      ErrorOf("inspections:\n  - {id: a, title: T, published: 2023-03-01, follow_up_of: \"\"}\n");
  EXPECT_NE(parent.find("'follow_up_of' must be an id"), std::string::npos) << parent;
}

TEST(ImporterTest, BadDate) {
  EXPECT_EQ(ErrorOf("inspections:\n  - {id: da23, title: T, published: 2023-3-1}\n"),
            "t.yaml:2:37: 'published' must be a real date written YYYY-MM-DD, not '2023-3-1'");
  const std::string msg = ErrorOf("events:\n  - {rec: r1, do: close, effective: 2023-02-29}\n");
  EXPECT_EQ(msg.rfind("t.yaml:2:37: 'effective' must be a real date", 0), 0u) << msg;
}

TEST(ImporterTest, MissingRequiredKey) {
  EXPECT_EQ(ErrorOf("bodies:\n  - {id: CPS}\n"), "t.yaml:2:5: missing 'name' in body");
  EXPECT_EQ(ErrorOf("recommendations:\n  - {id: r1, inspection: i, text: t}\n"),
            "t.yaml:2:5: missing 'owners' in recommendation");
  EXPECT_EQ(ErrorOf("inspections:\n  - {id: a, title: T}\n"),
            "t.yaml:2:5: missing 'published' in inspection");
}

TEST(ImporterTest, EventsMustSayWhen) {
  EXPECT_EQ(ErrorOf("events:\n  - {rec: r1, do: close, by: CPS}\n"),
            "t.yaml:2:5: missing 'effective' in event");
}

TEST(ImporterTest, UnknownEventKey) {
  EXPECT_EQ(ErrorOf("events:\n  - {rec: r1, do: close, effective: 2024-01-01, foo: 1}\n"),
            "t.yaml:2:49: unknown key 'foo' in event (not a field of workflow 'recommendation')");
}

TEST(ImporterTest, NestedMapFieldValue) {
  const std::string msg = ErrorOf(
      "events:\n  - {rec: r1, do: assess, effective: 2024-01-01, outcome: {a: b}, in: x}\n");
  EXPECT_EQ(msg.rfind("t.yaml:2:59: 'outcome' must be a value or a list of values", 0), 0u) << msg;
  const std::string in_list =
      ErrorOf("events:\n  - {rec: r1, do: close, effective: 2024-01-01, evidence: [a, {b: c}]}\n");
  EXPECT_NE(in_list.find("'evidence'"), std::string::npos) << in_list;
}

TEST(ImporterTest, MalformedYaml) {
  const std::string msg = ErrorOf("bodies: [\n  {id: CPS, name: X}\n");
  EXPECT_EQ(msg.rfind("t.yaml:", 0), 0u) << msg;
  EXPECT_NE(msg.find("malformed YAML"), std::string::npos) << msg;
}

// Bytes that are not UTF-8 (or are control characters) are refused where they are, before any
// command is made of them.
TEST(ImporterTest, BytesThatAreNotUtf8TextAreRefusedWithTheirPosition) {
  EXPECT_EQ(
      ErrorOf("inspections:\n  - {id: x1, title: \"bad \xff bytes\", published: 2024-01-01}\n"),
      "t.yaml:2:26: not UTF-8 text: invalid leading UTF-8 octet");
  EXPECT_EQ(ErrorOf("bodies:\n  - {id: CPS, name: \"caf\xc3\"}\n").rfind("t.yaml:2:", 0), 0u);
  EXPECT_EQ(ErrorOf("\xff"), "t.yaml:1:1: not UTF-8 text: invalid leading UTF-8 octet");
  // Columns count characters, as everywhere else.
  EXPECT_EQ(ErrorOf("bodies:\n  - {id: CPS, name: \"\xc3\xa9 \xff\"}\n"),
            "t.yaml:2:24: not UTF-8 text: invalid leading UTF-8 octet");
  EXPECT_EQ(ErrorOf("bodies: []\n\x01"),
            "t.yaml:2:1: not UTF-8 text: control characters are not allowed");
}

// The file is read a list entry at a time (engine/yaml_stream.h); what YAML allows across entries
// still works: an anchor in one entry used by an alias in another, and a list that is an alias's
// anchor, read whole.
TEST(ImporterTest, AnchorsAndAliasesWorkAcrossEntriesAndLists) {
  auto parsed = Parse(
      "bodies: &all\n  - {id: CPS, name: &name Crown Prosecution Service}\n"
      "  - {id: CPSX, name: *name}\n"
      "recommendations:\n"
      "  - {id: r1, inspection: i, owners: &owners [CPS, CPSX], text: t}\n"
      "  - {id: r2, inspection: i, owners: *owners, text: t}\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ(std::get<DefineBody>((*parsed)[1]).body.name, "Crown Prosecution Service");
  EXPECT_EQ(std::get<DefineRecommendation>((*parsed)[3]).def.owners,
            (std::vector<std::string>{"CPS", "CPSX"}));
  EXPECT_EQ(std::get<DefineRecommendation>((*parsed)[3]).where, "t.yaml:6:5");
  EXPECT_EQ(ErrorOf("bodies:\n  - {id: CPS, name: *none}\n"),
            "t.yaml:2:21: malformed YAML: no anchor 'none' before this alias");
}

// What a file can make the reader spend is bounded: aliases that multiply ("billion laughs")
// and nesting without end are refused, saying where.
TEST(ImporterTest, AliasBombsAndDeepNestingAreRefused) {
  // Each list holds ten aliases of the one before: 10^8 nodes from 80 lines.
  std::string bomb = "bodies:\n  - id: CPS\n    name: X\n    short_name:\n";
  bomb += "      - &b0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    bomb += "      - &b" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) bomb += (j ? ", *b" : "*b") + std::to_string(i - 1);
    bomb += "]\n";
  }
  const std::string aliased = ErrorOf(bomb);
  EXPECT_NE(aliased.find("anchors and aliases copy more than 64 MiB"), std::string::npos)
      << aliased;
  // One large text aliased many times is counted by its bytes, not as one node each time.
  std::string large = "bodies:\n  - {id: CPS, name: &t " + std::string(1 << 20, 'x') +
                      "}\n  - {id: SFO, name: X, short_name: [";
  for (int i = 0; i < 100; ++i) large += (i ? ", *t" : "*t");
  const std::string copied = ErrorOf(large + "]}\n");
  EXPECT_NE(copied.find("t.yaml:3:"), std::string::npos) << copied.substr(0, 200);
  EXPECT_NE(copied.find("anchors and aliases copy more than 64 MiB"), std::string::npos)
      << copied.substr(0, 200);
  // Nor can an alias nest deeper than the limit by copying a deep node into a deep place.
  const std::string deep = "bodies:\n  - {id: CPS, name: &d " + std::string(50, '[') +
                           std::string(50, ']') + ", short_name: " + std::string(20, '[') + "*d" +
                           std::string(20, ']') + "}\n";
  EXPECT_NE(ErrorOf(deep).find("nested deeper than 64 levels"), std::string::npos) << ErrorOf(deep);
  EXPECT_EQ(ErrorOf("bodies:\n  - {id: CPS, name: " + std::string(100, '[') + "\n"),
            "t.yaml:2:82: nested deeper than 64 levels");
}

TEST(ImporterTest, ReviewedTakesYamlsBooleans) {
  EXPECT_TRUE(Parse("reviewed: true\nbodies: []\n").ok());
  EXPECT_TRUE(Parse("reviewed: Yes\nbodies: []\n").ok());
  EXPECT_EQ(ErrorOf("bodies: []\nreviewed: off\n")
                .rfind("t.yaml:2:11: this draft has not been "
                       "reviewed",
                       0),
            0u);
  EXPECT_EQ(ErrorOf("reviewed: maybe\n"), "t.yaml:1:11: 'reviewed' must be true or false");
  EXPECT_EQ(ErrorOf("reviewed: [true]\n"), "t.yaml:1:11: 'reviewed' must be true or false");
}

TEST(ImporterTest, EmptyFileAndNonMappingRoot) {
  const std::string expected =
      "t.yaml:1:1: an import file must be a mapping with bodies, units, inspections, "
      "recommendations, actions, events";
  EXPECT_EQ(ErrorOf(""), expected);
  EXPECT_EQ(ErrorOf("# only a comment\n"), expected);
  EXPECT_EQ(ErrorOf("- a\n- b\n"), expected);
  EXPECT_EQ(ErrorOf("just text\n"), expected);
}

TEST(ImporterTest, DuplicateKey) {
  EXPECT_EQ(ErrorOf("bodies: []\nbodies: []\n").rfind("t.yaml:2:1: duplicate key 'bodies'", 0), 0u);
  EXPECT_EQ(ErrorOf("bodies:\n  - {id: CPS, name: X, id: SFO}\n"),
            "t.yaml:2:24: duplicate key 'id' in body");
}

TEST(ImporterTest, WrongShapes) {
  EXPECT_EQ(ErrorOf("bodies: {id: CPS}\n"), "t.yaml:1:9: 'bodies' must be a list");
  EXPECT_EQ(ErrorOf("bodies:\n  - CPS\n"), "t.yaml:2:5: each entry of 'bodies' must be a mapping");
  EXPECT_EQ(ErrorOf("inspections:\n  - {id: a, title: T, published: 2023-03-01, kind: odd}\n"),
            "t.yaml:2:52: 'kind' must be thematic, area, invitation or follow_up, not 'odd'");
  EXPECT_EQ(ErrorOf("recommendations:\n  - {id: r1, inspection: i, owners: [], text: t}\n"),
            "t.yaml:2:37: 'owners' must name a body");
  EXPECT_EQ(ErrorOf("bodies:\n  - {id: CPS, name: \"\"}\n"),
            "t.yaml:2:21: 'name' must not be empty");
}

TEST(ImporterTest, MilestoneLabelsAreUniqueIds) {
  const std::string head =
      "recommendations:\n  - id: r1\n    inspection: i\n    owners: [CPS]\n"
      "    text: t\n    milestones:\n";
  EXPECT_EQ(ErrorOf(head + "      - {label: a, due: 2024-01-01}\n      - {label: a, due: "
                           "2024-02-01}\n"),
            "t.yaml:8:17: milestone 'a' given twice");
  const std::string bad = ErrorOf(head + "      - {label: \"a b\", due: 2024-01-01}\n");
  EXPECT_EQ(bad.rfind("t.yaml:7:17: 'label' must be an id", 0), 0u) << bad;
}

TEST(ImporterTest, FileReadsAndNamesItsPath) {
  auto missing = ParseImportFile("/nonexistent/import.yaml", Recommendation());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  const std::string path = ::testing::TempDir() + "/importer_test.yaml";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("bodies:\n  - {id: CPS}\n", f);
    std::fclose(f);
  }
  auto bad = ParseImportFile(path, Recommendation());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), path + ":2:5: missing 'name' in body");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace rectrack
