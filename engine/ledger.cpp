#include "engine/ledger.h"

#include <algorithm>

#include "common/strings.h"
#include "engine/history_cache.h"  // ~Ledger destroys the cache

namespace rectrack {
namespace {

const Date kEndOfTime = *Date::FromYmd(9999, 12, 31);

}  // namespace

std::string Describe(const Event& e) {
  return "'" + e.transition + "' effective " + e.effective.ToString();
}

bool EffectiveOrder(const Event& a, const Event& b) {
  return a.effective != b.effective ? a.effective < b.effective : a.seq < b.seq;
}

Ledger::Ledger(const Workflow* workflow, const Workflow* action_workflow)
    : workflow_(workflow), action_workflow_(action_workflow) {}

Ledger::~Ledger() = default;

const Body* Ledger::FindBody(std::string_view id) const {
  auto it = bodies_.find(std::string(id));
  return it == bodies_.end() ? nullptr : &it->second;
}

const Unit* Ledger::FindUnit(std::string_view id) const {
  auto it = units_.find(std::string(id));
  return it == units_.end() ? nullptr : &it->second;
}

const std::vector<std::pair<int64_t, const Item*>>& Ledger::EvidenceEvents(
    const std::string& sha256) const {
  static const std::vector<std::pair<int64_t, const Item*>> kNone;
  auto it = evidence_events_.find(sha256);
  return it == evidence_events_.end() ? kNone : it->second;
}

std::vector<std::pair<int64_t, const Item*>> Ledger::EventsWithEvidence() const {
  std::vector<std::pair<int64_t, const Item*>> events;
  for (const auto& [sha256, uses] : evidence_events_)
    events.insert(events.end(), uses.begin(), uses.end());
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());
  return events;
}

std::vector<std::string> Ledger::ActionsOf(const std::string& id) const {
  auto it = actions_of_.find(id);
  if (it == actions_of_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

const Inspection* Ledger::FindInspection(std::string_view id) const {
  auto it = inspections_.find(std::string(id));
  return it == inspections_.end() ? nullptr : &it->second;
}

const Item* Ledger::FindItem(std::string_view id) const {
  auto it = items_.find(std::string(id));
  return it == items_.end() ? nullptr : &it->second;
}

const Event* Ledger::FindEvent(std::string_view id, Date effective, int64_t seq) const {
  const Item* item = FindItem(id);
  if (!item) return nullptr;
  // In (effective, seq) order: found in log time, however many events the item has.
  Event key;
  key.effective = effective;
  key.seq = seq;
  auto it = std::lower_bound(item->events.begin(), item->events.end(), key, EffectiveOrder);
  return it != item->events.end() && it->seq == seq ? &*it : nullptr;
}

template <typename T>
void Ledger::Define(std::map<std::string, T>& map, const std::string& id, const T& value) {
  auto it = map.find(id);
  std::optional<T> before;
  if (it != map.end()) before = it->second;
  Remember([&map, id, before = std::move(before)] {
    if (before) {
      map[id] = *before;
    } else {
      map.erase(id);
    }
  });
  map[id] = value;
}

Status Ledger::Add(Event event, Undo undo) {
  recording_ = undo == Undo::kRecord;
  if (event.body_def) {
    Define(bodies_, event.subject_id, *event.body_def);
    return Status();
  }
  if (event.inspection_def) {
    Define(inspections_, event.subject_id, *event.inspection_def);
    return Status();
  }
  if (event.unit_def) {
    Define(units_, event.subject_id, *event.unit_def);
    return Status();
  }
  if (event.kind == SubjectKind::kAction && !action_workflow_) {
    return Status::FailedPrecondition(
        Describe(event) + ": no action workflow is loaded, so no action can be recorded");
  }
  const std::string id = event.subject_id;
  latest_effective_ = std::max(latest_effective_, event.effective);
  auto found = items_.find(id);
  if (found == items_.end()) {
    // A new item: its creating event is its first, and one step validates it.
    Item fresh;
    fresh.id = id;
    fresh.kind = event.kind;
    fresh.tail.emplace();
    RETURN_IF_ERROR(Step(fresh, event, *fresh.tail, Detail::kHead));
    fresh.events.push_back(std::move(event));
    Item& item = items_.emplace(id, std::move(fresh)).first->second;
    CountWork(item, +1);
    if (item.kind == SubjectKind::kRecommendation) {
      const auto listed = list_order_.insert(&item).first;
      Remember([this, id, listed] {
        CountWork(items_.at(id), -1);
        list_order_.erase(listed);
        items_.erase(id);
      });
    } else {
      Remember([this, id] {
        CountWork(items_.at(id), -1);
        items_.erase(id);
      });
    }
    if (history_cache_) holding_events_.insert(id);
    Index(item, item.events.back());
    return Status();
  }
  Item& item = found->second;
  if (history_cache_) holding_events_.insert(id);
  const bool comes_last = event.effective != item.last_effective()
                              ? event.effective > item.last_effective()
                              : event.seq > item.last_seq();
  if (comes_last) {
    // The common case: the event comes last in effective order, so one step from the cached
    // end-of-history view validates it. Step changes nothing when it fails. Undoing it restores
    // the head before. An item whose history was let go holds it after the events let go.
    std::optional<RecommendationHead> before;
    if (recording_) before = *item.tail;
    std::string state_before = item.tail->state;
    {
      const Recount recount(this, item);  // Step changes the head, or nothing
      RETURN_IF_ERROR(Step(item, event, *item.tail, Detail::kHead));
    }
    // Most items have a handful of events, held for the life of the process: grown one at a
    // time up to four, then by half, rather than doubled (a third of a three-event item's
    // vector was empty).
    if (item.events.size() == item.events.capacity()) {
      const size_t n = item.events.size();
      item.events.reserve(n < 4 ? n + 1 : n + n / 2);
    }
    item.events.push_back(std::move(event));
    std::swap(item.state_before_last, state_before);
    if (before) {
      Remember([this, id, before = std::move(*before), last = std::move(state_before)] {
        Item& undone = items_.at(id);
        const Recount recount(this, undone);
        undone.events.pop_back();
        static_cast<RecommendationHead&>(*undone.tail) = before;
        undone.state_before_last = last;
      });
    }
    Index(item, item.events.back());
    return Status();
  }
  // A back-dated event: replay the whole history with the event in its place.
  RETURN_IF_ERROR(MakeWhole(item));
  Item candidate = item;
  const Event added = event;
  auto pos =
      std::upper_bound(candidate.events.begin(), candidate.events.end(), event, EffectiveOrder);
  candidate.events.insert(pos, std::move(event));
  if (!candidate.events.front().recommendation_def && !candidate.events.front().action_def) {
    return Status::Conflict(Describe(added) + " comes before the " + SubjectKindName(item.kind) +
                            " was created (" + item.issued().ToString() + "); date it " +
                            item.issued().ToString() + " or later")
        .AtField("effective");
  }
  // A head, as every tail is.
  auto replayed =
      StepThrough(candidate, kEndOfTime, Detail::kHead, &candidate.state_before_last, added.seq);
  // A later event that no longer replays with this one in its place: the date is the problem,
  // and the refusal says the earliest date that is not, when one is.
  if (!replayed.ok()) {
    const Status& refused = replayed.status();
    // Not a conflict with a later event: the event itself is refused (a role the workflow does
    // not know, a field's value), as it would be were it not back-dated: said at that input.
    if (refused.code() != Code::kConflict) return refused;
    const std::optional<Date> earliest = EarliestDateAllowed(item, added);
    if (!earliest) return refused.AtField("effective");
    return Status::Conflict(refused.message() + "; the earliest date it would be allowed is " +
                            earliest->ToString())
        .AtField("effective");
  }
  candidate.tail = std::move(*replayed);
  const Recount recount(this, item);  // before the item is moved into its undo
  if (recording_) {
    undo_.reserve(undo_.size() + 1);  // so that nothing throws once `item` is moved from
    undo_.push_back([this, id, before = std::move(item)]() mutable {
      Item& undone = items_.at(id);
      const Recount recount(this, undone);
      undone = std::move(before);
    });
  }
  item = std::move(candidate);
  Index(item, added);
  return Status();
}

std::optional<Date> Ledger::EarliestDateAllowed(const Item& item, const Event& event) const {
  // Between two of the item's dates its replay with the event goes as on the first of them, so
  // only those dates need trying. Bounded: each try is a replay of the item, in one copy of it
  // through which the event moves forward.
  constexpr int kMostTries = 32;
  const Workflow* wf = WorkflowOf(item.kind);
  const Transition* t = wf ? wf->FindTransition(event.transition) : nullptr;
  Item trial = item;
  size_t at = static_cast<size_t>(
      std::upper_bound(trial.events.begin(), trial.events.end(), event, EffectiveOrder) -
      trial.events.begin());
  trial.events.insert(trial.events.begin() + static_cast<std::ptrdiff_t>(at), event);
  int tries = 0;
  std::optional<Date> tried;
  for (const Event& later : item.events) {
    if (later.effective <= event.effective || later.effective == tried) continue;
    if (++tries > kMostTries) break;
    tried = later.effective;
    // After every event of that day (its seq is the newest).
    trial.events[at].effective = later.effective;
    size_t to = at;
    while (to + 1 < trial.events.size() && EffectiveOrder(trial.events[to + 1], trial.events[at])) {
      ++to;
    }
    std::rotate(trial.events.begin() + static_cast<std::ptrdiff_t>(at),
                trial.events.begin() + static_cast<std::ptrdiff_t>(at) + 1,
                trial.events.begin() + static_cast<std::ptrdiff_t>(to) + 1);
    at = to;
    // The write would also meet this guard: a date it refuses is not one to suggest.
    if (t && t->guard.not_before_judgement &&
        !CheckNotBeforeJudgement(item, *wf, trial.events[at]).ok()) {
      continue;
    }
    if (StepThrough(trial, kEndOfTime, Detail::kHead).ok()) return tried;
  }
  return std::nullopt;
}

void Ledger::CountWork(const Item& item, int sign) {
  if (counting_work_ && item.tail) {
    work_.Count(*item.tail, WorkflowOf(item.kind)->IsOpen(item.tail->state), sign);
  }
}

void Ledger::CountEveryItemsWork() noexcept {
  try {
    WorkTally counted;
    for (const auto& [id, item] : items_) {
      if (item.tail) counted.Count(*item.tail, WorkflowOf(item.kind)->IsOpen(item.tail->state), +1);
    }
    work_ = std::move(counted);
    counting_work_ = true;
  } catch (...) {  // std::bad_alloc: Engine::CountWork walks the items instead
  }
}

void Ledger::RollbackTo(Mark mark) {
  while (undo_.size() > mark) {
    undo_.back()();
    undo_.pop_back();
  }
}

void Ledger::Index(const Item& item, const Event& event) {
  // Events come in seq order (appended), but a rolled-back group may leave a gap refilled later.
  auto by_seq = [](const std::pair<int64_t, const Item*>& entry, int64_t seq) {
    return entry.first < seq;
  };
  const int64_t seq = event.seq;
  item_events_.insert(std::lower_bound(item_events_.begin(), item_events_.end(), seq, by_seq),
                      {seq, &item});
  Remember([this, seq, by_seq] {
    auto it = std::lower_bound(item_events_.begin(), item_events_.end(), seq, by_seq);
    if (it != item_events_.end() && it->first == seq) item_events_.erase(it);
  });
  std::set<std::string> attached;
  for (const Attachment& file : event.attachments) {
    if (!attached.insert(file.sha256).second) continue;  // one entry per event and file
    auto& events = evidence_events_[file.sha256];
    events.insert(std::lower_bound(events.begin(), events.end(), seq, by_seq), {seq, &item});
    Remember([this, sha256 = file.sha256, seq, by_seq] {
      auto found = evidence_events_.find(sha256);
      auto& events = found->second;
      auto it = std::lower_bound(events.begin(), events.end(), seq, by_seq);
      if (it != events.end() && it->first == seq) events.erase(it);
      if (events.empty()) evidence_events_.erase(found);
    });
  }
  auto link = [this](std::map<std::string, std::set<std::string>>& index, const std::string& key,
                     const std::string& value) {
    if (!index[key].insert(value).second) return;
    Remember([&index, key, value] {
      auto it = index.find(key);
      it->second.erase(value);
      if (it->second.empty()) index.erase(it);
    });
  };
  if (event.action_def) link(actions_of_, event.action_def->recommendation, item.id);
  if (item.kind == SubjectKind::kAction) return;
  const Transition* t = workflow_->FindTransition(event.transition);
  if (!t || t->effects.supersede.empty()) return;
  auto it = event.fields.find(t->effects.supersede);
  if (it == event.fields.end()) return;
  for (const auto& target : it->second) link(superseding_, target, item.id);
}

Result<RecommendationView> Ledger::Project(const Item& item, Date as_of, Detail detail) const {
  RecommendationView view;
  RETURN_IF_ERROR(ProjectInto(item, as_of, detail, &view));
  return view;
}

Status Ledger::ProjectInto(const Item& item, Date as_of, Detail detail,
                           RecommendationView* view) const {
  if (item.issued() > as_of) {
    return Status::NotFound("'" + item.id + "' was not " +
                            (item.kind == SubjectKind::kAction ? "planned" : "issued") + " until " +
                            item.issued().ToString());
  }
  if (detail == Detail::kHead && item.tail && item.last_effective() <= as_of) {
    // Every event counts: the cached end-of-history view is the answer, once dated.
    static_cast<RecommendationHead&>(*view) = *item.tail;
    view->timeline.clear();
    Finish(as_of, *view);
  } else {
    ASSIGN_OR_RETURN(*view, Replay(item, as_of, detail));
  }
  return AddSupersedes(item, as_of, *view);
}

Result<RecommendationView> Ledger::ProjectFrom(const Item& item, RecommendationView through,
                                               Date as_of) const {
  if (item.whole || through.version < item.outline.newest_seq || as_of < item.last_effective()) {
    return Status::FailedPrecondition("'" + item.id + "' cannot be projected from a head");
  }
  // The events held come after those let go, each added last (a back-dated one makes the item
  // whole), so those after `through` are the last ones in effective order too.
  for (const Event& e : item.events) {
    if (e.seq > through.version) RETURN_IF_ERROR(Step(item, e, through, Detail::kFull));
  }
  Finish(as_of, through);
  through.supersedes.clear();  // worked out again, as Project does
  RETURN_IF_ERROR(AddSupersedes(item, as_of, through));
  return through;
}

Status Ledger::AddSupersedes(const Item& item, Date as_of, RecommendationView& view) const {
  auto it = superseding_.find(item.id);
  if (it == superseding_.end()) return Status();
  for (const auto& source_id : it->second) {
    const Item* source = FindItem(source_id);
    if (!source || source->issued() > as_of) continue;
    auto source_view = Replay(*source, as_of, Detail::kHead);
    if (!source_view.ok()) return source_view.status();  // its history could not be read
    if (std::count(source_view->superseded_by.begin(), source_view->superseded_by.end(), item.id)) {
      view.supersedes.push_back(source_id);
    }
  }
  return Status();
}

Result<RecommendationView> Ledger::Replay(const Item& item, Date as_of, Detail detail) const {
  ASSIGN_OR_RETURN(RecommendationView view, StepThrough(item, as_of, detail));
  Finish(as_of, view);
  return view;
}

Result<RecommendationView> Ledger::StepThrough(const Item& item, Date as_of, Detail detail,
                                               std::string* state_before_last,
                                               std::optional<int64_t> back_dated) const {
  ASSIGN_OR_RETURN(const History history, HistoryOf(item));
  RecommendationView view;
  Workflow::Tense tense = Workflow::Tense::kNow;
  if (detail != Detail::kHead) view.timeline.reserve(history.size());
  for (const Event& e : history) {
    if (e.effective > as_of) break;
    if (state_before_last) *state_before_last = view.state;
    if (back_dated && e.seq == *back_dated) {
      tense = Workflow::Tense::kOnItsDate;
    } else if (tense != Workflow::Tense::kNow) {
      tense = Workflow::Tense::kLater;  // after the back-dated event
    }
    RETURN_IF_ERROR(Step(item, e, view, detail, tense));
  }
  return view;
}

Result<RecommendationView> Ledger::WholeHistory(const Item& item, Detail detail) const {
  return StepThrough(item, kEndOfTime, detail);
}

Result<TimelineEntry> Ledger::LastEntry(const Item& item) const {
  // The last event is held, unless the item's history was let go since it changed.
  if (!item.events.empty()) {
    return EntryFor(item, item.events.back(), item.state_before_last, item.tail->state);
  }
  ASSIGN_OR_RETURN(const History history, HistoryOf(item));
  return EntryFor(item, history.back(), item.state_before_last, item.tail->state);
}

TimelineEntry Ledger::EntryFor(const Item& item, const Event& e, const std::string& from_state,
                               const std::string& to_state) const {
  const RoleSpec* role = WorkflowOf(item.kind)->FindRole(e.role);
  return TimelineEntry{e.seq,
                       e.effective,
                       e.recorded,
                       e.transition,
                       role && role->acts_for_owner ? "body" : "inspectorate",
                       e.actor,
                       e.role,
                       e.body,
                       e.note,
                       e.fields,
                       from_state,
                       to_state,
                       e.unit,
                       e.attachments};
}

Date Ledger::LastChange(const Item& item) const {
  Date last = item.last_effective();
  auto it = superseding_.find(item.id);
  if (it == superseding_.end()) return last;
  // Whether a recommendation supersedes this one changes only with its events that name this
  // one (superseded_by only grows, by the field naming it): not with its other events.
  for (const auto& source_id : it->second) {
    const Item* source = FindItem(source_id);
    if (!source) continue;
    auto history = HistoryOf(*source);
    // Unreadable: as if it changed last, so that a projection replays and meets the error.
    if (!history.ok()) return kEndOfTime;
    for (const Event& e : *history) {
      for (const auto& [field, values] : e.fields) {
        if (std::count(values.begin(), values.end(), item.id)) last = std::max(last, e.effective);
      }
    }
  }
  return last;
}

void Ledger::Finish(Date as_of, RecommendationView& view) const {
  view.as_of = as_of;
  view.open = WorkflowOf(view.kind)->IsOpen(view.state);
  view.overdue = false;
  for (auto& m : view.milestones) {
    m.overdue = view.open && !m.met && m.due < as_of;
    view.overdue = view.overdue || m.overdue;
  }
}

Status Ledger::Create(const Item& item, const Event& e, const Workflow& wf,
                      RecommendationView& view) const {
  // Named only in a refusal: replaying a long log describes no event.
  auto what = [&] { return Describe(e); };
  const Transition* t = wf.FindTransition(e.transition);
  const bool is_action = item.kind == SubjectKind::kAction;
  if (!t->creates || !(is_action ? e.action_def.has_value() : e.recommendation_def.has_value())) {
    return Status::Conflict(what() + ": the first event must be '" + wf.creating().name + "'");
  }
  if (!t->AllowsRole(e.role)) {
    return Status::PermissionDenied(what() + ": role '" + e.role + "' may not '" + t->name + "'");
  }
  view.id = item.id;
  view.kind = item.kind;
  view.issued = e.effective;
  if (is_action) {
    // Whether the recommendation, body, unit and milestone fit was checked when the action was
    // planned (Engine); the log only has to name a recommendation that exists.
    const ActionDef& a = *e.action_def;
    const Item* parent = FindItem(a.recommendation);
    if (!parent || parent->kind != SubjectKind::kRecommendation) {
      return Status::Unprocessable(what() + ": no recommendation '" + a.recommendation + "'");
    }
    view.def.inspection = parent->def().inspection;
    view.def.owners = {a.body};
    view.def.text = a.title;
    if (a.due) view.def.milestones.push_back({kActionDue, *a.due});
    view.action = ActionInfo{a.recommendation, a.unit, a.milestone};
  } else {
    view.def = *e.recommendation_def;
  }
  for (const auto& m : view.def.milestones) {
    view.milestones.push_back({m.label, m.due, m.due, false, std::nullopt, false});
  }
  view.state = *t->cases.front().to;
  return Status();
}

Status Ledger::Step(const Item& item, const Event& e, RecommendationView& view, Detail detail,
                    Workflow::Tense tense) const {
  const Workflow* workflow = WorkflowOf(item.kind);
  if (!workflow) {
    return Status::FailedPrecondition(Describe(e) + ": no action workflow is loaded");
  }
  const Workflow& wf = *workflow;
  // Named only in a refusal: replaying a long log describes no event.
  auto what = [&] { return Describe(e); };
  const Transition* t = wf.FindTransition(e.transition);
  if (!t) {
    return Status::InvalidArgument(what() + ": the workflow has no transition '" + e.transition +
                                   "'")
        .AtField("do");
  }
  const RoleSpec* role = wf.FindRole(e.role);
  if (!role) {
    return Status::InvalidArgument(what() + ": the workflow has no role '" + e.role + "'")
        .AtField("role");
  }
  std::string from_state;  // for the timeline entry
  if (detail != Detail::kHead) from_state = view.state;
  if (view.state.empty()) {
    RETURN_IF_ERROR(Create(item, e, wf, view));
  } else {
    // Every check comes before the first change, so a refused event leaves `view` as it was.
    if (t->creates) return Status::Conflict(what() + ": '" + item.id + "' already exists");
    if (Status s = wf.CheckFields(*t, e.fields); !s.ok()) return s.WithContext(what());
    if (role->acts_for_owner) {
      const auto& owners = view.def.owners;
      if (std::find(owners.begin(), owners.end(), e.body) == owners.end()) {
        return Status::PermissionDenied(
            what() + ": a " + e.role + " acts only for a body that owns the " +
            SubjectKindName(item.kind) + ", and " +
            (e.body.empty() ? std::string("no body was given") : "'" + e.body + "' does not"));
      }
      // A lead scoped to a unit acts only on that unit's actions, never on the body's own.
      if (!e.unit.empty() && (!view.action || view.action->unit != e.unit)) {
        return Status::PermissionDenied(
            what() + ": a " + e.role + " of unit '" + e.unit + "' acts only on its unit's actions" +
            (view.action ? std::string(", and '") + item.id + "' is owned by " +
                               (view.action->unit.empty() ? "the body as a whole"
                                                          : "unit '" + view.action->unit + "'")
                         : std::string(", and '") + item.id + "' is a recommendation"));
      }
    } else if (!e.body.empty() || !e.unit.empty()) {
      return Status::InvalidArgument(what() + ": role '" + e.role + "' does not act for a body");
    }
    for (const auto& [name, values] : e.fields) {
      for (const auto& value : values) {
        if (Status s = CheckReference(*wf.FindField(name), value, item, e, view); !s.ok()) {
          return s.WithContext(what()).AtField(name);
        }
      }
    }
    auto next = wf.Decide(view.state, *t, e.role, e.fields, tense,
                          tense == Workflow::Tense::kNow ? std::string() : e.effective.ToString());
    if (!next.ok()) return next.status().WithContext(what());
    const Effects& fx = t->effects;
    auto field = [&](const std::string& name) -> const std::vector<std::string>* {
      auto it = e.fields.find(name);
      return name.empty() || it == e.fields.end() ? nullptr : &it->second;
    };
    auto milestone = [&](const std::string& label) {
      return std::find_if(view.milestones.begin(), view.milestones.end(),
                          [&](const MilestoneView& m) { return m.label == label; });
    };
    if (auto met = field(fx.mark_met)) {
      auto m = milestone(met->front());
      m->met = true;
      m->met_on = e.effective;
    }
    if (auto due = field(fx.set_due_date)) {
      const Date date = *Date::Parse(due->front());
      if (auto label = field(fx.set_due_milestone)) {
        milestone(label->front())->due = date;
      } else if (fx.set_due_milestone.empty()) {
        // An item with a due date of its own (an action): a first date is set, a later one moves.
        auto own = milestone(kActionDue);
        if (own == view.milestones.end()) {
          view.milestones.push_back({kActionDue, date, date, false, std::nullopt, false});
        } else {
          own->due = date;
        }
      }
    }
    if (auto targets = field(fx.supersede)) {
      for (const auto& target : *targets) {
        if (!std::count(view.superseded_by.begin(), view.superseded_by.end(), target)) {
          view.superseded_by.push_back(target);
        }
      }
    }
    view.state = *next;
  }
  if (detail == Detail::kFull) {
    view.timeline.push_back(EntryFor(item, e, from_state, view.state));
  } else if (detail == Detail::kStates) {
    TimelineEntry entry;
    entry.seq = e.seq;
    entry.effective = e.effective;
    entry.transition = e.transition;
    entry.voice = role->acts_for_owner ? "body" : "inspectorate";
    entry.from_state = std::move(from_state);
    entry.to_state = view.state;
    view.timeline.push_back(std::move(entry));
  }
  view.version = std::max(view.version, e.seq);
  return Status();
}

}  // namespace rectrack
