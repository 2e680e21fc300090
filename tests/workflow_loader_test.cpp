// Tests of the workflow loader: a minimal valid workflow text, and one variant of it per error
// the loader must refuse, each checked for its "file:line:col:" position and its key words.
#include "engine/workflow.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rectrack {
namespace {

using Names = std::vector<std::string>;

// A minimal valid workflow (a -> b); each test derives a variant from it.

const std::string kHead =                     // line
    "workflow: w\n"                           // 1
    "subject: action\n"                       // 2
    "roles:\n"                                // 3
    "  r: {}\n"                               // 4
    "states:\n"                               // 5
    "  a: {open: true}\n"                     // 6
    "  b: {open: false}\n"                    // 7
    "fields:\n"                               // 8
    "  note: {type: text}\n"                  // 9
    "  kind: {type: enum, values: [x, y]}\n"  // 10
    "  ms: {type: milestone}\n"               // 11
    "transitions:\n"                          // 12
    "  - name: make\n"                        // 13
    "    creates: true\n"                     // 14
    "    to: a\n"                             // 15
    "    roles: [r]\n";                       // 16
const std::string kFinish =                   // the second transition, from line 17
    "  - name: finish\n"                      // 17
    "    from: [a]\n"                         // 18
    "    to: b\n"                             // 19
    "    roles: [r]\n"                        // 20
    "    optional: [note, kind]\n";           // 21
const std::string kBase = kHead + kFinish;

// `text` with the one occurrence of `from` replaced by `to`.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Expects `text` to be refused with a message starting "t.yaml:<where>: " and holding `words`.
void ExpectLoadError(const std::string& text, const std::string& where, const Names& words) {
  auto loaded = Workflow::Parse(text, "t.yaml");
  ASSERT_FALSE(loaded.ok()) << "loaded:\n" << text;
  const std::string& msg = loaded.status().message();
  EXPECT_EQ(loaded.status().code(), Code::kInvalidArgument) << msg;
  EXPECT_EQ(msg.rfind("t.yaml:" + where + ": ", 0), 0u) << msg;
  for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << w << " in: " << msg;
}

TEST(WorkflowLoaderTest, MinimalBaseWorkflowLoads) {
  auto loaded = Workflow::Parse(kBase, "t.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->source(), "t.yaml");
  EXPECT_EQ(loaded->creating().name, "make");
  ASSERT_EQ(loaded->FindTransition("finish")->cases.size(), 1u);
  EXPECT_EQ(loaded->FindTransition("finish")->cases[0].where, "t.yaml:17:5");
  EXPECT_EQ(*loaded->Decide("a", *loaded->FindTransition("finish"), "r", {}), "b");
}

TEST(WorkflowLoaderTest, MalformedYamlUnclosedBracket) {
  // yaml-cpp notices the open `[` where the next key's colon appears.
  ExpectLoadError(kHead + "  - name: finish\n    from: [a\n    to: b\n", "19:7",
                  {"malformed YAML"});
}

TEST(WorkflowLoaderTest, RootNotAMapping) {
  ExpectLoadError("- a\n- b\n", "1:1", {"a workflow file must be a mapping"});
}

TEST(WorkflowLoaderTest, MissingStates) {
  std::string text = Replace(kBase, "states:\n  a: {open: true}\n  b: {open: false}\n", "");
  ExpectLoadError(text, "1:1", {"missing 'states'"});
}

TEST(WorkflowLoaderTest, UnknownTopLevelKey) {
  ExpectLoadError(kBase + "colour: blue\n", "22:1", {"unknown key 'colour' in workflow"});
}

TEST(WorkflowLoaderTest, StateWithoutOpen) {
  ExpectLoadError(Replace(kBase, "a: {open: true}", "a: {description: start}"), "6:3",
                  {"state 'a' must say open: true or false"});
}

TEST(WorkflowLoaderTest, UnknownStateInFrom) {
  ExpectLoadError(Replace(kBase, "from: [a]", "from: [z]"), "18:11", {"unknown state 'z'"});
}

TEST(WorkflowLoaderTest, UnknownStateInTo) {
  ExpectLoadError(Replace(kBase, "to: b", "to: z"), "19:9", {"unknown state 'z'"});
}

TEST(WorkflowLoaderTest, UnknownRoleInRoles) {
  ExpectLoadError(kHead + Replace(kFinish, "roles: [r]", "roles: [r, boss]"), "20:12",
                  {"unknown role 'boss'"});
}

TEST(WorkflowLoaderTest, UnknownFieldInRequired) {
  ExpectLoadError(kBase + "    required: [colour]\n", "22:15", {"unknown field 'colour'"});
}

TEST(WorkflowLoaderTest, FieldBothRequiredAndOptional) {
  ExpectLoadError(kBase + "    required: [note]\n", "17:5",
                  {"transition 'finish'", "field 'note' is both required and optional"});
}

TEST(WorkflowLoaderTest, DuplicateTransitionSaysWhereTheFirstWasDefined) {
  ExpectLoadError(Replace(kBase, "name: finish", "name: make"), "17:5",
                  {"duplicate transition 'make'", "first defined at t.yaml:13:5"});
}

TEST(WorkflowLoaderTest, NoCreatingTransition) {
  ExpectLoadError(Replace(kBase, "    creates: true\n", "    from: [b]\n"), "13:3",
                  {"exactly one transition must have creates: true (found 0)"});
}

TEST(WorkflowLoaderTest, TwoCreatingTransitions) {
  ExpectLoadError(kBase + "  - name: make2\n    creates: true\n    to: b\n    roles: [r]\n", "13:3",
                  {"exactly one transition must have creates: true (found 2)"});
}

TEST(WorkflowLoaderTest, CreatingTransitionWithFrom) {
  ExpectLoadError(Replace(kBase, "    creates: true\n", "    creates: true\n    from: [b]\n"),
                  "13:5", {"transition 'make' creates the item", "no from/cases"});
}

TEST(WorkflowLoaderTest, UnreachableStateIsReportedAtItsKey) {
  ExpectLoadError(Replace(kBase, "    to: b\n", ""), "7:3", {"state 'b' is unreachable from 'a'"});
}

TEST(WorkflowLoaderTest, WhenOnANonEnumField) {
  ExpectLoadError(kBase + "    when: {note: hi}\n", "22:12",
                  {"bad guard", "'note' is not an enum"});
}

TEST(WorkflowLoaderTest, WhenOnAFieldTheTransitionDoesNotTake) {
  ExpectLoadError(
      Replace(kBase, "optional: [note, kind]", "optional: [note]") + "    when: {kind: x}\n",
      "22:12", {"bad guard", "transition 'finish' takes no field 'kind'"});
}

TEST(WorkflowLoaderTest, WhenValueNotInTheEnum) {
  ExpectLoadError(kBase + "    when: {kind: z}\n", "22:18",
                  {"bad guard", "'z' is not a value of 'kind'"});
}

TEST(WorkflowLoaderTest, PresentOnARequiredField) {
  ExpectLoadError(
      Replace(kBase, "optional: [note, kind]", "required: [note]") + "    present: [note]\n",
      "22:14", {"bad guard", "present needs an optional field", "not 'note'"});
}

TEST(WorkflowLoaderTest, FieldBothPresentAndAbsent) {
  ExpectLoadError(kBase + "    present: [note]\n    absent: [note]\n", "17:5",
                  {"bad guard", "'note' is both present and absent"});
}

TEST(WorkflowLoaderTest, DuplicateCaseWithTheSameStatesAndGuards) {
  const std::string finish =
      "  - name: finish\n"          // 17
      "    roles: [r]\n"            // 18
      "    optional: [kind]\n"      // 19
      "    cases:\n"                // 20
      "      - from: [a]\n"         // 21
      "        when: {kind: x}\n"   // 22
      "        to: b\n"             // 23
      "      - from: [b, a]\n"      // 24
      "        when: {kind: x}\n";  // 25
  ExpectLoadError(kHead + finish, "24:9",
                  {"duplicate case in transition 'finish'", "the case at t.yaml:21:9"});
}

// The same guard values in another order are the same guard: the second case is never reached.
TEST(WorkflowLoaderTest, DuplicateCaseWithGuardValuesInAnotherOrder) {
  const std::string finish =
      "  - name: finish\n"               // 17
      "    roles: [r]\n"                 // 18
      "    optional: [kind]\n"           // 19
      "    cases:\n"                     // 20
      "      - from: [a]\n"              // 21
      "        when: {kind: [x, y]}\n"   // 22
      "        to: b\n"                  // 23
      "      - from: [a]\n"              // 24
      "        when: {kind: [y, x]}\n";  // 25
  ExpectLoadError(kHead + finish, "24:9",
                  {"duplicate case in transition 'finish'", "the case at t.yaml:21:9"});
}

TEST(WorkflowLoaderTest, UnknownEffect) {
  ExpectLoadError(kBase + "    effects: {explode: note}\n", "22:15",
                  {"unknown key 'explode' in effects"});
}

TEST(WorkflowLoaderTest, EffectNamingAFieldOfTheWrongType) {
  ExpectLoadError(kBase + "    effects: {mark_met: note}\n", "22:25",
                  {"effect mark_met needs a field of the transition of the right type", "'note'"});
  // The right type loads.
  auto ok = Workflow::Parse(
      Replace(kBase, "[note, kind]", "[note, kind, ms]") + "    effects: {mark_met: ms}\n", "t");
  EXPECT_TRUE(ok.ok()) << ok.status().message();
}

// A set_due effect needs both halves; with only one the transition would silently do nothing.
TEST(WorkflowLoaderTest, SetDueEffectWithoutItsDateIsRefused) {
  auto loaded = Workflow::Parse(Replace(kBase, "[note, kind]", "[note, kind, ms]") +
                                    "    effects: {set_due: {milestone: ms}}\n",
                                "t.yaml");
  EXPECT_FALSE(loaded.ok()) << "a set_due effect without `due` was accepted";
}

TEST(WorkflowLoaderTest, DuplicateMappingKey) {
  ExpectLoadError(Replace(kBase, "a: {open: true}", "a: {open: true, open: false}"), "6:19",
                  {"duplicate key 'open' in state 'a'"});
}

TEST(WorkflowLoaderTest, UnknownFieldType) {
  ExpectLoadError(Replace(kBase, "note: {type: text}", "note: {type: txt}"), "9:16",
                  {"unknown field type 'txt'"});
}

TEST(WorkflowLoaderTest, EnumWithoutValues) {
  ExpectLoadError(Replace(kBase, "kind: {type: enum, values: [x, y]}", "kind: {type: enum}"),
                  "10:3", {"field 'kind'", "values are required for, and only for, enums"});
}

TEST(WorkflowLoaderTest, StateNameWithASpace) {
  ExpectLoadError(Replace(kBase, "  b: {open: false}", "  b c: {open: false}"), "7:3",
                  {"bad state name 'b c'"});
}

TEST(WorkflowLoaderTest, CasesAndFromToBothGiven) {
  ExpectLoadError(kBase + "    cases:\n      - from: [a]\n        to: b\n", "17:5",
                  {"transition 'finish'", "give either cases or from/to/when, not both"});
}

}  // namespace
}  // namespace rectrack
