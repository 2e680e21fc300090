// Ledger: the world as replayed from the event log, held in memory: bodies, inspections and each
// recommendation's events in effective order. It is both the projection the queries read and the
// validator of new events: adding an event to a recommendation re-plays that recommendation's
// whole history through the workflow with the event in its effective-date place, so a back-dated
// event is accepted only if every event after it still makes sense.
//
// A Ledger may be a staging layer over a base Ledger: lookups fall through to the base, changes
// stay in the layer until MergeInto(). That is how Engine::Apply validates a whole import before
// anything is written, without copying the world.
//
// Thread-safety: none; the Engine serialises access.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/model.h"
#include "engine/workflow.h"

namespace rectrack {

struct Item {
  std::string id;
  SubjectKind kind = SubjectKind::kRecommendation;
  std::vector<Event> events;  // sorted by (effective, seq); the first is the creating event
  // The item replayed through all its events (before Finish): adding an event that comes last
  // in effective order is then one Step, not a whole replay. A value: a staging layer's copy
  // must never change the base's.
  std::optional<RecommendationView> tail;

  const Event& creation() const { return events.front(); }
  Date issued() const { return events.front().effective; }
  const RecommendationDef& def() const { return *events.front().recommendation_def; }
};

class Ledger {
 public:
  // REQUIRES: `workflow` (and `base`, when given) outlive this Ledger.
  explicit Ledger(const Workflow* workflow, const Ledger* base = nullptr)
      : workflow_(workflow), base_(base) {}

  const Body* FindBody(std::string_view id) const;
  const Inspection* FindInspection(std::string_view id) const;
  const Item* FindItem(std::string_view id) const;

  // Adds one event. Definition events must be new ids (the Engine decides about duplicates).
  // Recommendation events are validated by replaying the item; on error the Ledger is unchanged
  // and the message names the event that no longer fits ("'assess' effective 2025-03-06: ...").
  Status Add(Event event);

  // Moves this staging layer's changes into `base`. REQUIRES: `base` is this layer's base.
  void MergeInto(Ledger& base) &&;

  // The recommendation as it was at the end of `as_of`. NotFound when it was not yet issued.
  Result<RecommendationView> Project(const Item& item, Date as_of) const;

  // Only the base's own contents; a staging layer's lists hold just its changes.
  const std::map<std::string, Body>& bodies() const { return bodies_; }
  const std::map<std::string, Inspection>& inspections() const { return inspections_; }
  const std::map<std::string, Item>& items() const { return items_; }

 private:
  // Replays `item` up to the end of `as_of`, checking every event against the workflow and the
  // world. Used for both validation (as_of far in the future) and projection.
  Result<RecommendationView> Replay(const Item& item, Date as_of) const;
  // Applies one event to `view`, checking it against the workflow and the world first; on error
  // `view` is unchanged and the message names the event.
  Status Step(const Item& item, const Event& event, RecommendationView& view) const;
  // Sets the as-of date and what depends on it (open, overdue).
  void Finish(Date as_of, RecommendationView& view) const;
  Status CheckReference(const FieldSpec& spec, const std::string& value, const Item& item,
                        const Event& event, const RecommendationView& view) const;
  void Index(const Item& item);

  const Workflow* workflow_;
  const Ledger* base_;
  std::map<std::string, Body> bodies_;
  std::map<std::string, Inspection> inspections_;
  std::map<std::string, Item> items_;
  // target id -> ids of items whose events name it as superseding them (any date).
  std::map<std::string, std::set<std::string>> superseding_;
};

}  // namespace rectrack
