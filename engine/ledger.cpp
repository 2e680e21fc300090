#include "engine/ledger.h"

#include <algorithm>

namespace rectrack {
namespace {

const Date kEndOfTime = *Date::FromYmd(9999, 12, 31);

std::string Describe(const Event& e) {
  return "'" + e.transition + "' effective " + e.effective.ToString();
}

bool EffectiveOrder(const Event& a, const Event& b) {
  return a.effective != b.effective ? a.effective < b.effective : a.seq < b.seq;
}

}  // namespace

const Body* Ledger::FindBody(std::string_view id) const {
  auto it = bodies_.find(std::string(id));
  if (it != bodies_.end()) return &it->second;
  return base_ ? base_->FindBody(id) : nullptr;
}

const Inspection* Ledger::FindInspection(std::string_view id) const {
  auto it = inspections_.find(std::string(id));
  if (it != inspections_.end()) return &it->second;
  return base_ ? base_->FindInspection(id) : nullptr;
}

const Item* Ledger::FindItem(std::string_view id) const {
  auto it = items_.find(std::string(id));
  if (it != items_.end()) return &it->second;
  return base_ ? base_->FindItem(id) : nullptr;
}

Status Ledger::Add(Event event) {
  if (event.body_def) {
    bodies_[event.subject_id] = *event.body_def;
    return Status();
  }
  if (event.inspection_def) {
    inspections_[event.subject_id] = *event.inspection_def;
    return Status();
  }
  // Work on this layer's copy of the item, copying it from the base on first touch.
  auto mine = items_.find(event.subject_id);
  if (mine == items_.end()) {
    const Item* base_item = base_ ? base_->FindItem(event.subject_id) : nullptr;
    Item fresh;
    if (base_item) {
      fresh = *base_item;
    } else {
      fresh.id = event.subject_id;
      fresh.kind = event.kind;
    }
    mine = items_.emplace(event.subject_id, std::move(fresh)).first;
  }
  Item& item = mine->second;
  const bool appends = item.events.empty() || !EffectiveOrder(event, item.events.back());
  if (appends && (item.events.empty() || item.tail)) {
    // The common case: the event comes last in effective order, so one step from the cached
    // end-of-history view validates it. Step changes nothing when it fails.
    if (!item.tail) item.tail.emplace();
    Status stepped = Step(item, event, *item.tail);
    if (!stepped.ok()) {
      if (item.events.empty()) items_.erase(mine);
      return stepped;
    }
    item.events.push_back(std::move(event));
    return Status();
  }
  // A back-dated event: replay the whole history with the event in its place.
  Item candidate = item;
  const Event added = event;
  auto pos =
      std::upper_bound(candidate.events.begin(), candidate.events.end(), event, EffectiveOrder);
  candidate.events.insert(pos, std::move(event));
  if (!candidate.events.front().recommendation_def) {
    return Status::Conflict(Describe(added) + " comes before the recommendation was issued (" +
                            item.issued().ToString() + ")");
  }
  auto replayed = Replay(candidate, kEndOfTime);
  if (!replayed.ok()) return replayed.status();
  candidate.tail = std::move(*replayed);
  item = std::move(candidate);
  return Status();
}

void Ledger::MergeInto(Ledger& base) && {
  for (auto& [id, body] : bodies_) base.bodies_[id] = std::move(body);
  for (auto& [id, inspection] : inspections_) base.inspections_[id] = std::move(inspection);
  for (auto& [id, item] : items_) {
    Item& merged = base.items_[id] = std::move(item);
    base.Index(merged);
  }
}

void Ledger::Index(const Item& item) {
  for (const Event& e : item.events) {
    const Transition* t = workflow_->FindTransition(e.transition);
    if (!t || t->effects.supersede.empty()) continue;
    auto it = e.fields.find(t->effects.supersede);
    if (it == e.fields.end()) continue;
    for (const auto& target : it->second) superseding_[target].insert(item.id);
  }
}

Result<RecommendationView> Ledger::Project(const Item& item, Date as_of) const {
  if (item.issued() > as_of) {
    return Status::NotFound("'" + item.id + "' was not issued until " + item.issued().ToString());
  }
  RecommendationView view;
  if (item.tail && item.events.back().effective <= as_of) {
    // Every event counts: the cached end-of-history view is the answer, once dated.
    view = *item.tail;
    Finish(as_of, view);
  } else {
    ASSIGN_OR_RETURN(view, Replay(item, as_of));
  }
  auto it = superseding_.find(item.id);
  if (it != superseding_.end()) {
    for (const auto& source_id : it->second) {
      const Item* source = FindItem(source_id);
      if (!source || source->issued() > as_of) continue;
      auto source_view = Replay(*source, as_of);
      if (source_view.ok() && std::count(source_view->superseded_by.begin(),
                                         source_view->superseded_by.end(), item.id)) {
        view.supersedes.push_back(source_id);
      }
    }
  }
  return view;
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

Result<RecommendationView> Ledger::Replay(const Item& item, Date as_of) const {
  RecommendationView view;
  for (const Event& e : item.events) {
    if (e.effective > as_of) break;
    RETURN_IF_ERROR(Step(item, e, view));
  }
  Finish(as_of, view);
  return view;
}

void Ledger::Finish(Date as_of, RecommendationView& view) const {
  view.as_of = as_of;
  view.open = workflow_->IsOpen(view.state);
  view.overdue = false;
  for (auto& m : view.milestones) {
    m.overdue = view.open && !m.met && m.due < as_of;
    view.overdue = view.overdue || m.overdue;
  }
}

Status Ledger::Step(const Item& item, const Event& e, RecommendationView& view) const {
  const Workflow& wf = *workflow_;
  const std::string what = Describe(e);
  const Transition* t = wf.FindTransition(e.transition);
  if (!t) {
    return Status::InvalidArgument(what + ": the workflow has no transition '" + e.transition +
                                   "'");
  }
  const RoleSpec* role = wf.FindRole(e.role);
  if (!role) return Status::InvalidArgument(what + ": the workflow has no role '" + e.role + "'");
  TimelineEntry entry{e.seq,
                      e.effective,
                      e.recorded,
                      e.transition,
                      role->acts_for_owner ? "body" : "inspectorate",
                      e.actor,
                      e.role,
                      e.body,
                      e.note,
                      e.fields,
                      view.state,
                      ""};
  if (view.state.empty()) {
    if (!t->creates || !e.recommendation_def) {
      return Status::Conflict(what + ": the first event must be '" + wf.creating().name + "'");
    }
    if (!t->AllowsRole(e.role)) {
      return Status::PermissionDenied(what + ": role '" + e.role + "' may not '" + t->name + "'");
    }
    view.id = item.id;
    view.def = *e.recommendation_def;
    view.issued = e.effective;
    for (const auto& m : view.def.milestones) {
      view.milestones.push_back({m.label, m.due, m.due, false, std::nullopt, false});
    }
    view.state = *t->cases.front().to;
  } else {
    // Every check comes before the first change, so a refused event leaves `view` as it was.
    if (t->creates) return Status::Conflict(what + ": '" + item.id + "' already exists");
    RETURN_IF_ERROR(wf.CheckFields(*t, e.fields).WithContext(what));
    if (role->acts_for_owner) {
      const auto& owners = view.def.owners;
      if (std::find(owners.begin(), owners.end(), e.body) == owners.end()) {
        return Status::PermissionDenied(
            what + ": a " + e.role + " acts only for a body that owns the recommendation, and " +
            (e.body.empty() ? std::string("no body was given") : "'" + e.body + "' does not"));
      }
    } else if (!e.body.empty()) {
      return Status::InvalidArgument(what + ": role '" + e.role + "' does not act for a body");
    }
    for (const auto& [name, values] : e.fields) {
      for (const auto& value : values) {
        RETURN_IF_ERROR(
            CheckReference(*wf.FindField(name), value, item, e, view).WithContext(what));
      }
    }
    auto next = wf.Decide(view.state, *t, e.role, e.fields);
    if (!next.ok()) return next.status().WithContext(what);
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
    if (auto label = field(fx.set_due_milestone), due = field(fx.set_due_date); label && due) {
      milestone(label->front())->due = *Date::Parse(due->front());
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
  entry.to_state = view.state;
  view.timeline.push_back(std::move(entry));
  view.version = std::max(view.version, e.seq);
  return Status();
}

}  // namespace rectrack
