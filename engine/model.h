// The domain of rectrack: bodies, inspections, recommendations, the events of their lives, and
// the views derived from those events at a given date.
//
// Definitions (Body, Inspection, RecommendationDef) are what an import or the API states once.
// Event is one decoded row of the log. RecommendationView is what the world looked like for one
// recommendation at the end of an as-of date, derived by replaying its events (ledger.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/boxed.h"
#include "common/date.h"
#include "engine/workflow.h"

namespace rectrack {

// What an event is about. Persisted as its number (storage keeps the number and does not
// interpret it): numbers are never reused.
enum class SubjectKind : int {
  kBody = 1,
  kInspection = 2,
  kRecommendation = 3,
  kAction = 4,
  kUnit = 5,
};
// Recommendations and actions: the subjects with a history of their own, the items.
constexpr bool IsItemKind(SubjectKind kind) {
  return kind == SubjectKind::kRecommendation || kind == SubjectKind::kAction;
}
const char* SubjectKindName(SubjectKind kind);  // "body", "inspection", ...
// SubjectKindName of a stored number: "unknown" for one this binary does not know (written by a
// newer rectrack, or tampered with).
std::string SubjectKindName(int stored);

// Ids are short: 1-64 of letters, digits, '.', '_', '-'.
bool IsValidId(std::string_view id);

struct Body {
  std::string id;          // "CPS"
  std::string name;        // "Crown Prosecution Service"
  std::string short_name;  // as prose names it: "the CPS"; defaults to the id
  bool operator==(const Body&) const = default;
};

// A part of a body that owns actions: one of the CPS's 14 geographic Areas ("CPS South West"), a
// headquarters directorate, a casework unit.
struct Unit {
  std::string id;    // "cps-sw"
  std::string body;  // the body it belongs to: "CPS"
  std::string name;  // "CPS South West"
  std::string kind;  // free text: "area", "directorate", ...; optional
  bool operator==(const Unit&) const = default;
};

struct Inspection {
  std::string id;
  std::string title;
  std::string short_title;  // as notes name it: "domestic abuse follow-up"; optional
  Date published;
  std::string kind;          // thematic | area | invitation | follow_up
  std::string follow_up_of;  // id of the inspection this one follows up; "" for none
  bool operator==(const Inspection&) const = default;
};

struct MilestoneDef {
  std::string label;
  Date due;
  bool operator==(const MilestoneDef&) const = default;
};

struct RecommendationDef {
  std::string inspection;
  std::vector<std::string> owners;  // body ids, at least one
  std::string text;
  std::vector<MilestoneDef> milestones;  // given, or read from the text
  bool operator==(const RecommendationDef&) const = default;
};

// An action a body set itself under a recommendation (its action plan), created by the action
// workflow's creating transition ("plan").
struct ActionDef {
  std::string recommendation;  // the recommendation it answers
  std::string title;
  std::string body;         // the owning body: one of the recommendation's owners
  std::string unit;         // the owning unit of that body; "" for the body as a whole
  std::optional<Date> due;  // none: no date was set
  std::string milestone;    // label of the recommendation's milestone it serves; optional
  bool operator==(const ActionDef&) const = default;
};

// An evidence file attached to an event, as the event's payload names it (so the hash chain
// covers it); its bytes are kept once under `sha256` (storage/evidence_store.h).
struct Attachment {
  std::string sha256;      // lowercase hex SHA-256 of its bytes
  std::string name;        // its file name as given ("dip-sample.xlsx"), without directories
  std::string media_type;  // as its content shows ("application/pdf")
  int64_t size = 0;        // bytes
  bool operator==(const Attachment&) const = default;
};

// One event of the log. Exactly one of the *_def members is set for definition events ("define"
// for bodies and inspections; the workflow's creating transition for recommendations). They are
// Boxed, not optional: a whole engine holds every event, and most define nothing (Boxed keeps
// an Event at a third of its size).
struct Event {
  int64_t seq = 0;
  SubjectKind kind = SubjectKind::kRecommendation;
  Date effective;  // beside `kind`: two 4-byte members in one 8-byte slot
  std::string subject_id;
  std::string transition;
  std::string recorded;
  std::string actor;
  std::string role;
  std::string body;  // the body the actor acted for, "" for none
  std::string unit;  // the unit of that body the actor acted for, "" for the whole body
  std::string note;
  Fields fields;
  std::vector<Attachment> attachments;  // evidence files, in the order given
  Boxed<Body> body_def;
  Boxed<Unit> unit_def;
  Boxed<Inspection> inspection_def;
  Boxed<RecommendationDef> recommendation_def;
  Boxed<ActionDef> action_def;

  // Same content, ignoring seq and recorded: used to make imports idempotent.
  bool SameContent(const Event& other) const;
};

inline constexpr const char* kDefineTransition = "define";
// The label of an action's due date among its view's milestones.
inline constexpr const char* kActionDue = "due";

struct MilestoneView {
  std::string label;
  Date due;           // after any extensions effective by the as-of date
  Date original_due;  // as issued
  bool met = false;
  std::optional<Date> met_on;
  bool overdue = false;  // due before the as-of date, not met, recommendation open
};

struct TimelineEntry {
  int64_t seq = 0;
  Date effective;
  std::string recorded;
  std::string transition;
  std::string voice;  // "body" or "inspectorate": who speaks, per the role's acts_for
  std::string actor;
  std::string role;
  std::string body;
  std::string note;
  Fields fields;
  std::string from_state;  // "" for the creating event
  std::string to_state;
  std::string unit = "";  // the unit of `body` the actor acted for; "" for the whole body
  std::vector<Attachment> attachments = {};  // evidence files attached to the event
};

// What makes an action's view an action's: see RecommendationView.
struct ActionInfo {
  std::string recommendation;
  std::string unit;       // "" for the body as a whole
  std::string milestone;  // the recommendation milestone it serves; "" for none
};

// The view of a recommendation, or of an action (kind kAction): an action is read the same way,
// with def.owners its one owning body, def.text its title, def.inspection its recommendation's
// inspection, and at most one milestone, "due", its due date (extended by `reschedule`).
// RecommendationHead is all of it but the timeline: what a list shows, and cheap to copy however
// long the history.
struct RecommendationHead {
  std::string id;
  SubjectKind kind = SubjectKind::kRecommendation;
  Boxed<ActionInfo> action;  // set for actions only (boxed: most views are of recommendations)
  RecommendationDef def;
  Date as_of;
  Date issued;
  std::string state;
  bool open = true;
  bool overdue = false;
  std::vector<MilestoneView> milestones;
  std::vector<std::string> superseded_by;  // new recommendations that replace this one
  std::vector<std::string> supersedes;     // older recommendations this one replaces
  int64_t version = 0;                     // seq of the newest event counted
};

// The earliest due date among `head`'s milestones not met: its next deadline (overdue once
// before the day, if it is open), or nullopt when every milestone is met.
std::optional<Date> NextDueNotMet(const RecommendationHead& head);

struct RecommendationView : RecommendationHead {
  std::vector<TimelineEntry> timeline;  // effective order
};

// How much of a view a query builds: all of it; (kStates) a timeline whose entries have only
// their seq, effective date, transition, voice and the states around them, what the alert rules
// read, with no text copied; or (kHead) an empty timeline, which costs the item's state only.
enum class Detail { kFull, kStates, kHead };

}  // namespace rectrack
