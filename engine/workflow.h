// Workflow: a lifecycle read from YAML (workflows/*.yaml) and the interpreter that decides what a
// transition does from a given state.
//
// The file names states (each open or closed), roles, typed fields and transitions. A transition
// has roles that may fire it, required and optional fields, effects on milestones and links, and
// one or more cases: {from states, guards on fields, target state}. The first matching case
// decides; a case without a target leaves the state unchanged. Exactly one transition `creates`
// the item. Load() refuses any file that is malformed or inconsistent (unknown state, role or
// field, unreachable state, duplicate transition or case, bad guard) with "file:line:col: what".
//
// The interpreter knows nothing of recommendations: the same code runs any workflow over any
// subject kind. References named by fields (inspections, milestones, ...) are checked by the
// engine, which knows the world; the workflow checks shapes and the state machine.
//
// Thread-safety: immutable after Load; safe to share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rectrack {

// Field values of one event: every value is a list of strings; a scalar field holds exactly one.
using Fields = std::map<std::string, std::vector<std::string>>;

enum class FieldType { kText, kDate, kEnum, kMilestone, kInspection, kRecommendation, kBody };

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kText;
  bool list = false;
  std::vector<std::string> values;  // kEnum only
  std::string description;
  std::string label;  // what forms call it ("Follow-up inspection"); "" for its name, capitalised
};

struct StateSpec {
  std::string name;
  bool open = true;
  std::string description;
};

struct RoleSpec {
  std::string name;
  bool acts_for_owner = false;  // may act only on items owned by the body it acts for
  std::string description;
};

struct Case {
  std::vector<std::string> from;
  std::map<std::string, std::vector<std::string>> when;  // field -> any of these values
  std::vector<std::string> present;                      // fields that must be given
  std::vector<std::string> absent;                       // fields that must not be given
  std::optional<std::string> to;                         // nullopt: stays where it is
  std::string where;                                     // "file:line:col" of the case
};

// What a transition does besides moving the state; each names the fields it reads.
struct Effects {
  std::string mark_met;           // field naming a milestone that is now met
  std::string set_due_milestone;  // field naming the milestone whose due date changes ...
  std::string set_due_date;       // ... and the field with its new date
  // set_due's `later: true`: the new date must come after the due date it replaces (as at the
  // event's effective date): an extension. Checked for new events only (Ledger::CheckGuard).
  bool set_due_later = false;
  std::string supersede;  // field listing the recommendations that replace this one
  // For an item with one due date of its own (an action), set_due may name only the date field:
  // the item's due date becomes that date.
};

// Conditions on the rest of the world that must hold for a transition to be recorded, checked
// when the event is recorded (not when old events are replayed):
// - `actions: closed`: every action of the recommendation is closed as at the event's effective
//   date, unless the event gives the `unless` field (a text saying why, kept in the history);
// - `not_before: judgement`: recorded by a role that acts for an owner (a body's voice), the
//   event may not be dated before the latest event already recorded in the other voice (the
//   inspectorate's assessment, reopening, extension, ...; not the issue): a body cannot rewrite
//   what was judged. The inspectorate's own events are not held back, so it can correct history.
struct Guard {
  bool actions_closed = false;
  std::string unless;  // field that overrides the actions guard; "" for none
  bool not_before_judgement = false;
};

struct Transition {
  std::string name;
  bool creates = false;
  std::vector<std::string> roles;
  std::vector<std::string> required;
  std::vector<std::string> optional;
  std::vector<Case> cases;
  Effects effects;
  Guard guard;

  bool Takes(std::string_view field) const;
  bool AllowsRole(std::string_view role) const;
  // Whether no case moves the state (an update, a comment): such an event says something only
  // through its note, its fields or its files.
  bool KeepsState() const;
  // Whether an event of it may say nothing at all: it keeps the state and requires no field.
  // A new one that says nothing is refused (Ledger::CheckGuard).
  bool MaySayNothing() const { return KeepsState() && required.empty(); }
};

class Workflow {
 public:
  static Result<Workflow> LoadFile(const std::string& path);
  // `source` names the text in error messages (usually its file path).
  static Result<Workflow> Parse(std::string_view yaml, const std::string& source);

  const std::string& name() const { return name_; }
  const std::string& subject() const { return subject_; }  // "recommendation", "action", ...
  const std::string& source() const { return source_; }
  // SHA-256 of its text: what was worked out under it (the item heads) is read only while it is
  // the same.
  const std::string& digest() const { return digest_; }

  const StateSpec* FindState(std::string_view name) const;
  const RoleSpec* FindRole(std::string_view name) const;
  const FieldSpec* FindField(std::string_view name) const;
  const Transition* FindTransition(std::string_view name) const;
  const Transition& creating() const { return transitions_[creating_index_]; }
  const std::vector<StateSpec>& states() const { return states_; }
  const std::vector<RoleSpec>& roles() const { return roles_; }
  const std::vector<Transition>& transitions() const { return transitions_; }
  bool IsOpen(std::string_view state) const;

  // Checks `fields` against what `t` takes: no unknown or missing field, scalars hold one value,
  // dates parse, enum values are allowed. InvalidArgument saying which field and why.
  Status CheckFields(const Transition& t, const Fields& fields) const;

  // Which state a refusal speaks of: the item's as it is ("it is 'closed'"); as it was on the
  // date of an event recorded behind later ones ("on 2024-09-01 it was 'closed'"); or, for an
  // event already recorded after such a one, as it would be with that one in its place ("by
  // then it would be 'withdrawn'"). A back-dated refusal must not read as today's state.
  enum class Tense { kNow, kOnItsDate, kLater };
  // The state `role` reaches by firing `t` from `state` with `fields` (already checked).
  // PermissionDenied when the role may never fire `t`; Conflict when `t` is not allowed from
  // `state` or no case matches these fields. Both messages name the state, the role and the
  // transitions the role may fire from there, in `tense` (`date`, ISO: the event's date, for
  // kOnItsDate).
  Result<std::string> Decide(std::string_view state, const Transition& t, std::string_view role,
                             const Fields& fields, Tense tense = Tense::kNow,
                             std::string_view date = {}) const;

  // Names of the transitions `role` may fire from `state`, in file order.
  std::vector<std::string> Allowed(std::string_view state, std::string_view role) const;
  // Whether no transition leaves `state` (withdrawn, superseded): the item's life has ended.
  bool IsFinal(std::string_view state) const;
  // Whether `t` always ends the item's life: every case moves it to a final state. (Others may
  // end it in some cases: assess with superseded_by.) The web warns on its form.
  bool EndsLife(const Transition& t) const;

 private:
  friend class WorkflowLoader;
  std::string name_;
  std::string subject_;
  std::string source_;
  std::string digest_;
  std::vector<StateSpec> states_;
  std::vector<RoleSpec> roles_;
  std::vector<FieldSpec> fields_;
  std::vector<Transition> transitions_;
  size_t creating_index_ = 0;
};

}  // namespace rectrack
