// Ledger's checks of a new event against the world, beyond its workflow's states: the guards
// a transition may have (ledger.h: CheckGuard; `actions_closed`, `not_before_judgement`) and
// the references its fields make to other items, inspections and milestones (Step's
// CheckReference).
#include "common/strings.h"
#include "engine/ledger.h"

namespace rectrack {

Status Ledger::CheckGuard(const Event& event) const {
  const Item* item = FindItem(event.subject_id);
  const Workflow* wf = WorkflowOf(event.kind);
  const Transition* t = wf ? wf->FindTransition(event.transition) : nullptr;
  if (!item || !t) return Status();
  // Checked after the role and the state (a reader is told it may not, not what to write), and
  // only for new events: the log may hold such events from before the rule.
  if (t->MaySayNothing() && IsBlank(event.note) && event.fields.empty() &&
      event.attachments.empty()) {
    return Status::InvalidArgument(
               "'" + t->name + "' records nothing without a note" +
               (t->optional.empty() ? "" : " or a field (" + Join(t->optional, ", ") + ")"))
        .AtField("note");
  }
  // A due date moved to before the item was issued (or planned) is a slip, as in a definition
  // (command_builder.cpp); for new events only, as above.
  if (const std::string& due_field = t->effects.set_due_date; !due_field.empty()) {
    if (auto due = event.fields.find(due_field); due != event.fields.end()) {
      for (const std::string& value : due->second) {
        const std::optional<Date> date = Date::Parse(value);
        if (date && *date < item->issued()) {
          return Status::InvalidArgument(
                     "the new due date " + value + " is before the " + SubjectKindName(item->kind) +
                     " was " + (item->kind == SubjectKind::kAction ? "planned (" : "issued (") +
                     item->issued().ToString() + ")")
              .AtField(due_field);
        }
      }
    }
  }
  if (t->effects.set_due_later) RETURN_IF_ERROR(CheckLater(*item, *t, event));
  if (t->guard.not_before_judgement) RETURN_IF_ERROR(CheckNotBeforeJudgement(*item, *wf, event));
  if (!t->guard.actions_closed) return Status();
  if (!t->guard.unless.empty() && event.fields.count(t->guard.unless)) return Status();
  // An action counts if it was open at the event's effective date or is open now: back-dating a
  // close to before the plan was made does not get round the guard.
  std::string named;
  int open = 0, unnamed = 0;
  for (const std::string& id : ActionsOf(item->id)) {
    const Item* action = FindItem(id);
    if (!action || !action->tail) continue;
    // NotFound: not yet planned at that date. Any other error (a history that cannot be read
    // back) fails the write: the guard cannot be judged without it.
    auto then = Project(*action, event.effective, Detail::kHead);
    if (!then.ok() && then.status().code() != Code::kNotFound) return then.status();
    const bool open_then = then.ok() && then->open;
    const bool open_now = action_workflow_->IsOpen(action->tail->state);
    if (!open_then && !open_now) continue;
    ++open;
    // An actor acting for one owner is told which of its own body's actions are open, and only
    // how many of the other owners' are.
    if (!event.body.empty() && action->action().body != event.body) {
      ++unnamed;
      continue;
    }
    named += std::string(named.empty() ? "" : ", ") + id + " (" +
             (open_then ? then->state : action->tail->state) + ")";
  }
  if (open == 0) return Status();
  if (unnamed) {
    named += std::string(named.empty() ? "" : ", and ") + std::to_string(unnamed) + " of " +
             (unnamed == 1 ? "another owner" : "other owners");
  }
  std::string message = Describe(event) + ": " + std::to_string(open) +
                        (open == 1 ? " action is" : " actions are") + " still open: " + named +
                        "; close them first";
  if (t->guard.unless.empty()) return Status::Conflict(message);
  message += ", or give '" + t->guard.unless + "' saying why it closes anyway";
  return Status::Conflict(message).AtField(t->guard.unless);
}

Status Ledger::CheckLater(const Item& item, const Transition& t, const Event& event) const {
  auto due = event.fields.find(t.effects.set_due_date);
  if (due == event.fields.end() || due->second.empty()) return Status();
  const std::optional<Date> moved_to = Date::Parse(due->second.front());
  if (!moved_to) return Status();  // the field's own check says what is wrong with it
  // An action has one milestone, "due" (model.h); a recommendation's is named by a field.
  std::string label = "due";
  if (!t.effects.set_due_milestone.empty()) {
    auto named = event.fields.find(t.effects.set_due_milestone);
    if (named == event.fields.end() || named->second.empty()) return Status();
    label = named->second.front();
  }
  // The date it replaces: the definition's, moved by each set_due before this event in
  // effective order (a back-dated extension extends what was due then). From the events, not a
  // projection as at the date, which would count this event and others of its day after it.
  std::optional<Date> replaced;
  if (item.kind == SubjectKind::kAction) {
    replaced = item.action().due;
  } else {
    for (const MilestoneDef& m : item.def().milestones) {
      if (m.label == label) replaced = m.due;
    }
  }
  // The date a set_due event moves this milestone to, or nullopt when it moves another.
  auto moves_to = [&](const Event& e) -> std::optional<Date> {
    const Workflow* wf = WorkflowOf(e.kind);
    const Transition* moved = wf ? wf->FindTransition(e.transition) : nullptr;
    if (!moved || moved->effects.set_due_date.empty()) return std::nullopt;
    auto date = e.fields.find(moved->effects.set_due_date);
    if (date == e.fields.end() || date->second.empty()) return std::nullopt;
    if (!moved->effects.set_due_milestone.empty()) {
      auto of = e.fields.find(moved->effects.set_due_milestone);
      if (of == e.fields.end() || of->second.empty() || of->second.front() != label) {
        return std::nullopt;
      }
    }
    return Date::Parse(date->second.front());
  };
  ASSIGN_OR_RETURN(const History history, HistoryOf(item));
  const Event* next = nullptr;  // the first set_due of the milestone after this event
  std::optional<Date> next_to;
  bool passed = false;
  for (const Event& e : history) {
    if (e.seq == event.seq) {
      passed = true;
      continue;
    }
    const std::optional<Date> to = moves_to(e);
    if (!to) continue;
    if (!passed) {
      replaced = to;
    } else {
      next = &e;
      next_to = to;
      break;
    }
  }
  if (replaced && *moved_to <= *replaced) {
    return Status::InvalidArgument(
               "'" + t.name + "' moves a due date later: " + moved_to->ToString() +
               " is not after " + replaced->ToString() + ", the due date " +
               (item.kind == SubjectKind::kAction ? std::string()
                                                  : "of milestone '" + label + "' ") +
               "it replaces")
        .AtField(t.effects.set_due_date);
  }
  // Back-dated, it must leave the moves after it moving the date later too.
  if (next && next_to && *moved_to >= *next_to && WorkflowOf(next->kind)) {
    const Transition* after = WorkflowOf(next->kind)->FindTransition(next->transition);
    if (after && after->effects.set_due_later) {
      return Status::InvalidArgument(
                 "'" + t.name + "' moves a due date later: " + moved_to->ToString() +
                 " is not before " + next_to->ToString() + ", the date the '" + next->transition +
                 "' effective " + next->effective.ToString() + " moves it to after this one")
          .AtField(t.effects.set_due_date);
    }
  }
  return Status();  // no date yet (an action's first), or a milestone the field check refuses
}

Status Ledger::CheckNotBeforeJudgement(const Item& item, const Workflow& wf,
                                       const Event& event) const {
  const RoleSpec* role = wf.FindRole(event.role);
  if (!role || !role->acts_for_owner) return Status();  // the other voice may correct history
  // Nothing is dated after an event that comes last, so no judgement is: the common write
  // needs no history (one let go would be read back).
  if (!(event.effective < item.last_effective())) return Status();
  // The latest judgement recorded before this event (by seq: an import that lists a close
  // before the assessment of it is in order), other than the issue.
  const Event* judgement = nullptr;
  ASSIGN_OR_RETURN(const History history, HistoryOf(item));
  for (const Event& e : history) {
    if (e.seq >= event.seq || e.seq == item.creation_seq()) continue;
    const RoleSpec* by = wf.FindRole(e.role);
    if (by && by->acts_for_owner) continue;
    if (!judgement || e.effective > judgement->effective) judgement = &e;
  }
  if (!judgement || !(event.effective < judgement->effective)) return Status();
  return Status::Conflict(Describe(event) + ": it is dated before the " + judgement->role +
                          "'s latest judgement ('" + judgement->transition + "', effective " +
                          judgement->effective.ToString() + "), and a " + event.role +
                          " may not record behind it; date it " + judgement->effective.ToString() +
                          " or later (the " + judgement->role + " may correct the history)")
      .AtField("effective");
}

Status Ledger::CheckReference(const FieldSpec& spec, const std::string& value, const Item& item,
                              const Event& event, const RecommendationView& view) const {
  const std::string field = "field '" + spec.name + "': ";
  switch (spec.type) {
    case FieldType::kInspection: {
      const Inspection* inspection = FindInspection(value);
      if (!inspection) return Status::Unprocessable(field + "no inspection '" + value + "'");
      if (inspection->published > event.effective) {
        return Status::Unprocessable(field + "inspection '" + value + "' was not published until " +
                                     inspection->published.ToString());
      }
      return Status();
    }
    case FieldType::kRecommendation: {
      const Item* target = FindItem(value);
      if (!target || target->kind != SubjectKind::kRecommendation) {
        return Status::Unprocessable(field + "no recommendation '" + value + "'");
      }
      if (target->id == item.id) {
        return Status::Unprocessable(field + "a recommendation cannot name itself");
      }
      if (target->issued() > event.effective) {
        return Status::Unprocessable(field + "recommendation '" + value +
                                     "' was not issued until " + target->issued().ToString());
      }
      return Status();
    }
    case FieldType::kBody:
      if (!FindBody(value)) return Status::Unprocessable(field + "no body '" + value + "'");
      return Status();
    case FieldType::kMilestone: {
      bool known = std::any_of(view.milestones.begin(), view.milestones.end(),
                               [&](const MilestoneView& m) { return m.label == value; });
      if (!known) {
        std::string labels;
        for (const auto& m : view.milestones) labels += (labels.empty() ? "" : ", ") + m.label;
        return Status::Unprocessable(field + "no milestone '" + value +
                                     "' (it has: " + (labels.empty() ? "none" : labels) + ")");
      }
      return Status();
    }
    default:
      return Status();
  }
}

}  // namespace rectrack
