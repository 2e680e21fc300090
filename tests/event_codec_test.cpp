#include "engine/event_codec.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/database.h"
#include "storage/event_store.h"

namespace rectrack {
namespace {

const std::string kSource = RECTRACK_SOURCE_DIR;

Date D(const char* iso) { return *Date::Parse(iso); }

class EventCodecTest : public ::testing::Test {
 protected:
  // An event of `kind` with every column set and no definition, fields or unit.
  static Event Base(SubjectKind kind, std::string subject_id, std::string transition) {
    Event e;
    e.seq = 7;
    e.kind = kind;
    e.subject_id = std::move(subject_id);
    e.transition = std::move(transition);
    e.effective = D("2025-01-06");
    e.recorded = "2025-01-07T09:30:00Z";
    e.actor = "import:demo.yaml";
    e.role = "inspectorate";
    e.body = "";
    e.note = "as published";
    return e;
  }

  static Event BodyDefinition() {
    Event e = Base(SubjectKind::kBody, "CPS", kDefineTransition);
    e.body_def = Body{"CPS", "Crown Prosecution Service", "the CPS"};
    return e;
  }
  static Event InspectionDefinition() {
    Event e = Base(SubjectKind::kInspection, "da25", kDefineTransition);
    e.inspection_def = Inspection{
        "da25", "Domestic abuse follow-up", "domestic abuse", D("2025-02-27"), "follow_up", "da23"};
    return e;
  }
  static Event UnitDefinition() {
    Event e = Base(SubjectKind::kUnit, "cps-sw", kDefineTransition);
    e.unit_def = Unit{"cps-sw", "CPS", "CPS South West", "area"};
    return e;
  }
  static Event RecommendationIssue() {
    Event e = Base(SubjectKind::kRecommendation, "da25-n1", "issue");
    RecommendationDef def;
    def.inspection = "da25";
    def.owners = {"CPS", "Police"};
    def.text = "By 31 March 2025, the CPS and \"the police\" to agree a protocol.";
    def.milestones = {{"protocol", D("2025-03-31")}, {"review", D("2025-09-30")}};
    e.recommendation_def = std::move(def);
    return e;
  }
  // An assessment with a scalar text field, an enum and a one-valued list field.
  static Event RecommendationAssess() {
    Event e = Base(SubjectKind::kRecommendation, "da23-r4", "assess");
    e.fields = {
        {"superseded_by", {"da25-n1"}}, {"outcome", {"partially_achieved"}}, {"in", {"da25"}}};
    return e;
  }
  static Event ActionPlan() {
    Event e = Base(SubjectKind::kAction, "da25-n1-a1", "plan");
    e.role = "body_lead";
    e.body = "CPS";
    e.unit = "cps-sw";
    e.action_def =
        ActionDef{"da25-n1", "Draft the protocol", "CPS", "cps-sw", D("2025-03-01"), "protocol"};
    return e;
  }

  // Encodes with `workflow`, gives the row the seq the store would, and decodes it.
  static Event RoundTrip(const Event& e, const Workflow& workflow) {
    storage::EventRow row = EncodeEvent(e, workflow);
    row.seq = e.seq;
    auto decoded = DecodeEvent(row);
    EXPECT_TRUE(decoded.ok()) << decoded.status().message() << "\npayload: " << row.payload;
    return decoded.ok() ? std::move(decoded).value() : Event();
  }

  static void ExpectSameEvent(const Event& got, const Event& want) {
    EXPECT_TRUE(got.SameContent(want));
    EXPECT_EQ(got.seq, want.seq);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.subject_id, want.subject_id);
    EXPECT_EQ(got.transition, want.transition);
    EXPECT_EQ(got.effective, want.effective);
    EXPECT_EQ(got.recorded, want.recorded);
    EXPECT_EQ(got.actor, want.actor);
    EXPECT_EQ(got.role, want.role);
    EXPECT_EQ(got.body, want.body);
    EXPECT_EQ(got.unit, want.unit);
    EXPECT_EQ(got.note, want.note);
    EXPECT_EQ(got.fields, want.fields);
    EXPECT_EQ(got.body_def, want.body_def);
    EXPECT_EQ(got.inspection_def, want.inspection_def);
    EXPECT_EQ(got.unit_def, want.unit_def);
    EXPECT_EQ(got.recommendation_def, want.recommendation_def);
    EXPECT_EQ(got.action_def, want.action_def);
  }

  // A row that decodes, for the tests that then break one part of it.
  storage::EventRow GoodRow() const {
    storage::EventRow row = EncodeEvent(RecommendationAssess(), workflow_);
    row.seq = 12;
    return row;
  }

  Workflow workflow_ = *Workflow::LoadFile(kSource + "/workflows/recommendation.yaml");
  Workflow action_workflow_ = *Workflow::LoadFile(kSource + "/workflows/action.yaml");
};

TEST_F(EventCodecTest, EncodeCopiesTheColumnsAndNumbersTheKind) {
  storage::EventRow row = EncodeEvent(ActionPlan(), action_workflow_);
  EXPECT_EQ(row.kind, 4);
  EXPECT_EQ(row.subject_id, "da25-n1-a1");
  EXPECT_EQ(row.transition, "plan");
  EXPECT_EQ(row.effective, "2025-01-06");
  EXPECT_EQ(row.recorded, "2025-01-07T09:30:00Z");
  EXPECT_EQ(row.actor, "import:demo.yaml");
  EXPECT_EQ(row.role, "body_lead");
  EXPECT_EQ(row.body, "CPS");
  EXPECT_EQ(row.note, "as published");
  EXPECT_EQ(EncodeEvent(BodyDefinition(), workflow_).kind, 1);
  EXPECT_EQ(EncodeEvent(InspectionDefinition(), workflow_).kind, 2);
  EXPECT_EQ(EncodeEvent(RecommendationIssue(), workflow_).kind, 3);
  EXPECT_EQ(EncodeEvent(UnitDefinition(), workflow_).kind, 5);
}

TEST_F(EventCodecTest, ABodyDefinitionRoundTripsWithItsPayloadPinned) {
  storage::EventRow row = EncodeEvent(BodyDefinition(), workflow_);
  EXPECT_EQ(row.payload,
            R"({"define":{"name":"Crown Prosecution Service","short_name":"the CPS"}})");
  ExpectSameEvent(RoundTrip(BodyDefinition(), workflow_), BodyDefinition());
}

TEST_F(EventCodecTest, AnInspectionDefinitionRoundTripsWithItsPayloadPinned) {
  storage::EventRow row = EncodeEvent(InspectionDefinition(), workflow_);
  EXPECT_EQ(row.payload,
            R"({"define":{"title":"Domestic abuse follow-up","short_title":"domestic abuse",)"
            R"("published":"2025-02-27","kind":"follow_up","follow_up_of":"da23"}})");
  ExpectSameEvent(RoundTrip(InspectionDefinition(), workflow_), InspectionDefinition());
}

TEST_F(EventCodecTest, AUnitDefinitionRoundTripsWithItsPayloadPinned) {
  storage::EventRow row = EncodeEvent(UnitDefinition(), workflow_);
  EXPECT_EQ(row.payload, R"({"define":{"body":"CPS","name":"CPS South West","kind":"area"}})");
  ExpectSameEvent(RoundTrip(UnitDefinition(), workflow_), UnitDefinition());
}

TEST_F(EventCodecTest, ARecommendationWithOwnersAndMilestonesRoundTrips) {
  storage::EventRow row = EncodeEvent(RecommendationIssue(), workflow_);
  EXPECT_EQ(row.payload,
            R"({"define":{"inspection":"da25","owners":["CPS","Police"],)"
            R"("text":"By 31 March 2025, the CPS and \"the police\" to agree a protocol.",)"
            R"("milestones":[{"label":"protocol","due":"2025-03-31"},)"
            R"({"label":"review","due":"2025-09-30"}]}})");
  ExpectSameEvent(RoundTrip(RecommendationIssue(), workflow_), RecommendationIssue());
}

TEST_F(EventCodecTest, ScalarFieldsEncodeAsStringsAndListFieldsAsArraysEvenWithOneValue) {
  storage::EventRow row = EncodeEvent(RecommendationAssess(), workflow_);
  EXPECT_EQ(
      row.payload,
      R"({"fields":{"in":"da25","outcome":"partially_achieved","superseded_by":["da25-n1"]}})");
  ExpectSameEvent(RoundTrip(RecommendationAssess(), workflow_), RecommendationAssess());

  Event close = Base(SubjectKind::kRecommendation, "da23-r1", "close");
  close.role = "body_lead";
  close.body = "CPS";
  close.fields = {{"evidence", {"minutes 2025-03-02", "protocol v2", ""}},
                  {"override", {"actions moved to the new plan"}}};
  EXPECT_EQ(EncodeEvent(close, workflow_).payload,
            R"({"fields":{"evidence":["minutes 2025-03-02","protocol v2",""],)"
            R"("override":"actions moved to the new plan"}})");
  ExpectSameEvent(RoundTrip(close, workflow_), close);

  // An empty list stays a list, and a field the workflow does not know is kept as a list.
  close.fields = {{"evidence", {}}, {"unknown_field", {"x"}}};
  EXPECT_EQ(EncodeEvent(close, workflow_).payload,
            R"({"fields":{"evidence":[],"unknown_field":["x"]}})");
  ExpectSameEvent(RoundTrip(close, workflow_), close);
}

TEST_F(EventCodecTest, AnActionWithAUnitAndADueDateRoundTrips) {
  storage::EventRow row = EncodeEvent(ActionPlan(), action_workflow_);
  EXPECT_EQ(row.payload,
            R"({"define":{"recommendation":"da25-n1","title":"Draft the protocol","body":"CPS",)"
            R"("unit":"cps-sw","due":"2025-03-01","milestone":"protocol"},"unit":"cps-sw"})");
  ExpectSameEvent(RoundTrip(ActionPlan(), action_workflow_), ActionPlan());
}

TEST_F(EventCodecTest, AnActionWithoutADueDateDecodesWithNone) {
  Event plan = ActionPlan();
  plan.action_def->due.reset();
  plan.action_def->milestone = "";
  plan.unit = "";
  storage::EventRow row = EncodeEvent(plan, action_workflow_);
  EXPECT_EQ(row.payload,
            R"({"define":{"recommendation":"da25-n1","title":"Draft the protocol","body":"CPS",)"
            R"("unit":"cps-sw","due":"","milestone":""}})");
  Event decoded = RoundTrip(plan, action_workflow_);
  ASSERT_TRUE(decoded.action_def.has_value());
  EXPECT_FALSE(decoded.action_def->due.has_value());
  ExpectSameEvent(decoded, plan);
}

TEST_F(EventCodecTest, AnActionEventWithListAndDateFieldsRoundTrips) {
  Event reschedule = Base(SubjectKind::kAction, "da25-n1-a1", "reschedule");
  reschedule.role = "body_lead";
  reschedule.body = "CPS";
  reschedule.unit = "cps-sw";
  reschedule.fields = {{"due", {"2025-06-30"}}, {"reason", {"waiting for the police"}}};
  EXPECT_EQ(EncodeEvent(reschedule, action_workflow_).payload,
            R"({"fields":{"due":"2025-06-30","reason":"waiting for the police"},"unit":"cps-sw"})");
  ExpectSameEvent(RoundTrip(reschedule, action_workflow_), reschedule);

  Event close = Base(SubjectKind::kAction, "da25-n1-a1", "close");
  close.fields = {{"evidence", {"signed protocol"}}};
  EXPECT_EQ(EncodeEvent(close, action_workflow_).payload,
            R"({"fields":{"evidence":["signed protocol"]}})");
  ExpectSameEvent(RoundTrip(close, action_workflow_), close);
}

TEST_F(EventCodecTest, AnEventWithNothingButColumnsHasAnEmptyObjectPayload) {
  Event update = Base(SubjectKind::kRecommendation, "da23-r1", "update");
  EXPECT_EQ(EncodeEvent(update, workflow_).payload, "{}");
  Event decoded = RoundTrip(update, workflow_);
  ExpectSameEvent(decoded, update);
  EXPECT_FALSE(decoded.recommendation_def.has_value());
}

TEST_F(EventCodecTest, EncodingIsDeterministicAndFieldsAreInNameOrder) {
  Event a = Base(SubjectKind::kRecommendation, "da23-r1", "close");
  Event b = a;
  // Inserted in opposite orders: the payload is the same and lists the names alphabetically.
  for (const char* name : {"override", "evidence", "alpha", "zulu"}) a.fields[name] = {"v"};
  for (const char* name : {"zulu", "alpha", "evidence", "override"}) b.fields[name] = {"v"};
  const std::string payload = EncodeEvent(a, workflow_).payload;
  EXPECT_EQ(EncodeEvent(b, workflow_).payload, payload);
  EXPECT_EQ(EncodeEvent(a, workflow_).payload, payload);
  const size_t alpha = payload.find("\"alpha\"");
  const size_t evidence = payload.find("\"evidence\"");
  const size_t override_at = payload.find("\"override\"");
  const size_t zulu = payload.find("\"zulu\"");
  ASSERT_NE(zulu, std::string::npos) << payload;
  EXPECT_LT(alpha, evidence) << payload;
  EXPECT_LT(evidence, override_at) << payload;
  EXPECT_LT(override_at, zulu) << payload;
}

TEST_F(EventCodecTest, ReEncodingADecodedEventGivesTheSameBytesAndChainHash) {
  struct Case {
    Event event;
    const Workflow* workflow;
  };
  const std::vector<Case> cases = {
      {BodyDefinition(), &workflow_},       {InspectionDefinition(), &workflow_},
      {UnitDefinition(), &workflow_},       {RecommendationIssue(), &workflow_},
      {RecommendationAssess(), &workflow_}, {ActionPlan(), &action_workflow_},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.event.subject_id + " " + c.event.transition);
    storage::EventRow first = EncodeEvent(c.event, *c.workflow);
    first.seq = c.event.seq;
    first.prev_hash = std::string(64, '0');
    auto decoded = DecodeEvent(first);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    storage::EventRow second = EncodeEvent(*decoded, *c.workflow);
    second.seq = decoded->seq;
    second.prev_hash = first.prev_hash;
    EXPECT_EQ(second.payload, first.payload);
    EXPECT_EQ(storage::ChainHash(second), storage::ChainHash(first));
  }
}

TEST_F(EventCodecTest, EventsRoundTripThroughARealEventStore) {
  auto db = storage::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  storage::EventStore store(db->get());
  // One payload larger than the buffer on the stack that decoding parses into.
  Event long_text = RecommendationIssue();
  long_text.subject_id = "da25-n2";
  long_text.recommendation_def->text = std::string(10000, 'x') + " \"quoted\" " + "\u00e9";
  const std::vector<Event> events = {
      BodyDefinition(),       InspectionDefinition(), UnitDefinition(), RecommendationIssue(),
      RecommendationAssess(), ActionPlan(),           long_text};
  std::vector<storage::EventRow> rows;
  for (const Event& e : events) {
    rows.push_back(EncodeEvent(e, e.kind == SubjectKind::kAction ? action_workflow_ : workflow_));
  }
  {
    auto txn = storage::Transaction::Begin(**db, storage::Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok()) << txn.status().message();
    ASSERT_TRUE(store.Append(rows).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto loaded = store.LoadSince(0);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ((*loaded)[i].payload, rows[i].payload);
    auto decoded = DecodeEvent((*loaded)[i]);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    Event want = events[i];
    want.seq = static_cast<int64_t>(i) + 1;  // the store's numbering
    ExpectSameEvent(*decoded, want);
  }
  // A replay decodes the rows as Scan shows them, views into SQLite's copy: the same events.
  size_t i = 0;
  Status scanned = store.Scan(0, [&](const storage::EventRowView& row) -> Status {
    SCOPED_TRACE(i);
    auto decoded = DecodeEvent(row);
    EXPECT_TRUE(decoded.ok()) << decoded.status().message();
    if (decoded.ok()) {
      Event want = events[i];
      want.seq = static_cast<int64_t>(i) + 1;
      ExpectSameEvent(*decoded, want);
    }
    ++i;
    return Status();
  });
  EXPECT_TRUE(scanned.ok()) << scanned.message();
  EXPECT_EQ(i, events.size());
}

TEST_F(EventCodecTest, APayloadThatIsNotAJsonObjectIsCorruption) {
  for (const char* payload :
       {"", "not json", "{", "[]", "[{}]", "\"text\"", "42", "null", R"({"fields":{}} trailing)"}) {
    storage::EventRow row = GoodRow();
    row.payload = payload;
    auto decoded = DecodeEvent(row);
    ASSERT_FALSE(decoded.ok()) << "payload '" << payload << "' decoded";
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << payload;
    EXPECT_EQ(decoded.status().message(), "event 12: payload is not a JSON object") << payload;
  }
}

TEST_F(EventCodecTest, ABadEffectiveDateIsCorruptionNamingIt) {
  for (const char* effective : {"", "2025-02-30", "2025-1-6", "06/01/2025", "2025-01-06T00:00Z"}) {
    storage::EventRow row = GoodRow();
    row.effective = effective;
    auto decoded = DecodeEvent(row);
    ASSERT_FALSE(decoded.ok()) << "effective '" << effective << "' decoded";
    EXPECT_EQ(decoded.status().code(), Code::kCorruption);
    EXPECT_EQ(decoded.status().message(),
              std::string("event 12: bad effective date '") + effective + "'");
  }
}

TEST_F(EventCodecTest, AnUnknownKindNumberIsCorruption) {
  for (int kind : {0, 6, 99, -1}) {
    storage::EventRow row = GoodRow();
    row.kind = kind;
    auto decoded = DecodeEvent(row);
    ASSERT_FALSE(decoded.ok()) << "kind " << kind << " decoded";
    EXPECT_EQ(decoded.status().code(), Code::kCorruption);
    EXPECT_EQ(decoded.status().message(), "event 12: unknown kind " + std::to_string(kind));
  }
  for (int kind : {1, 2, 3, 4, 5}) {
    storage::EventRow row = GoodRow();
    row.kind = kind;
    EXPECT_TRUE(DecodeEvent(row).ok()) << "kind " << kind;
  }
}

TEST_F(EventCodecTest, BadDatesOrShapesInsideADefinitionAreCorruption) {
  struct Case {
    SubjectKind kind;
    const char* payload;
    const char* message;
  };
  const std::vector<Case> cases = {
      {SubjectKind::kInspection, R"({"define":{"title":"t","published":"2025-13-01"}})",
       "event 12: bad published date"},
      {SubjectKind::kInspection, R"({"define":{"title":"t"}})", "event 12: bad published date"},
      {SubjectKind::kAction, R"({"define":{"recommendation":"r1","due":"soon"}})",
       "event 12: bad action due date"},
      {SubjectKind::kRecommendation, R"({"define":{"milestones":[{"label":"m","due":"x"}]}})",
       "event 12: bad milestone due date"},
      {SubjectKind::kRecommendation, R"({"define":{"milestones":["2025-03-31"]}})",
       "event 12: bad milestone"},
      {SubjectKind::kBody, R"({"define":"CPS"})", "event 12: bad definition"},
  };
  for (const Case& c : cases) {
    storage::EventRow row = GoodRow();
    row.kind = static_cast<int>(c.kind);
    row.payload = c.payload;
    auto decoded = DecodeEvent(row);
    ASSERT_FALSE(decoded.ok()) << c.payload;
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << c.payload;
    EXPECT_EQ(decoded.status().message(), c.message) << c.payload;
  }
}

}  // namespace
}  // namespace rectrack
