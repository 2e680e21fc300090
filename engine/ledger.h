// Ledger: the world as replayed from the event log, held in memory: bodies, their units,
// inspections and each recommendation's and action's events in effective order. It is both the
// projection the queries read and the validator of new events: adding an event to a recommendation
// re-plays that recommendation's whole history through the workflow with the event in its
// effective-date place, so a back-dated event is accepted only if every event after it still makes
// sense.
//
// Changes can be undone back to a savepoint, newest first, as with SQL's SAVEPOINT: that is how
// Engine::Apply validates a whole import, or a group of writes, in place and leaves no trace of a
// batch that fails or a commit that does not happen, without copying the world or even the
// items it touches. Undoing an appended event costs as much as the item's current state, not its
// history.
//
// Recommendations run through the recommendation workflow, actions through the action workflow;
// everything else (replay, as-of, overdue milestones) is the same code for both.
//
// Histories need not be held: once given a HistorySource, DropHistories lets go of the events
// (all but the creating one) of items whose events the source can give back, and HistoryOf
// reads them again when a replay asks for them, keeping the latest in a cache bounded in bytes.
// Every answer is the same as a ledger holding them all would give. The items' heads (tails),
// definitions and links stay in memory, so a list as at today reads no history.
//
// Thread-safety: the Engine serialises access. The const methods change nothing but the cache
// of histories read back, which has a lock of its own, so several threads may call them at once
// while nothing changes the Ledger (Engine::StartAlerts works out the alert days of two halves
// of the items so); keep it so.
#pragma once

#include <algorithm>
#include <exception>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/model.h"
#include "engine/work_tally.h"
#include "engine/workflow.h"

namespace rectrack {

class HistoryCache;

struct Item {
  std::string id;
  SubjectKind kind = SubjectKind::kRecommendation;
  // The events held, sorted by (effective, seq). While `whole`, every event, the first its
  // creating event. Otherwise (a ledger that keeps histories out of memory: Ledger::
  // DropHistories let its history go) only those added since, each after every event let go
  // in effective order: `outline` describes the ones let go, and Ledger::HistoryOf reads them
  // back when they are asked for.
  std::vector<Event> events;
  bool whole = true;
  // The item replayed through all its events (before Finish): adding an event that comes last
  // in effective order is then one Step, not a whole replay. A head only, its timeline empty:
  // the events are held once, here, and WholeHistory makes the timeline when it is asked for.
  std::optional<RecommendationView> tail;
  // The tail's state before its last event ("" for one event): with the tail's, the states
  // around the last event, which a write's answer, a live stream and the alerts ask about.
  std::string state_before_last;
  // While not whole, the events let go: the creating event's date and seq, the last one's
  // (in effective order), their newest seq, and an action's definition (a recommendation's is
  // its tail's: no event changes it).
  struct Outline {
    Date issued;
    Date last_effective;
    int64_t creation_seq = 0;
    int64_t last_seq = 0;
    int64_t newest_seq = 0;
    Boxed<ActionDef> action;
  };
  Outline outline;

  int64_t creation_seq() const { return whole ? events.front().seq : outline.creation_seq; }
  Date issued() const { return whole ? events.front().effective : outline.issued; }
  // The effective date and seq of its last event in effective order.
  Date last_effective() const {
    return events.empty() ? outline.last_effective : events.back().effective;
  }
  int64_t last_seq() const { return events.empty() ? outline.last_seq : events.back().seq; }
  // REQUIRES: a recommendation.
  const RecommendationDef& def() const {
    return whole ? *events.front().recommendation_def : tail->def;
  }
  // REQUIRES: an action.
  const ActionDef& action() const { return whole ? *events.front().action_def : *outline.action; }
  // The bodies that own it: a recommendation's owners, an action's one body.
  std::vector<std::string> owners() const {
    return kind == SubjectKind::kAction ? std::vector<std::string>{action().body} : def().owners;
  }
};

// The order an item's events are held and replayed in: by effective date, then by seq.
bool EffectiveOrder(const Event& a, const Event& b);
// How a refusal names an event: "'close' effective 2025-03-31".
std::string Describe(const Event& e);

// The order recommendations are listed in: by issue date, then id. Compares items, and an item
// with the place (issue date, id) a list goes on from.
struct ListOrder {
  using is_transparent = void;
  using Place = std::pair<Date, std::string_view>;
  static Place PlaceOf(const Item* item) { return {item->issued(), item->id}; }
  bool operator()(const Item* a, const Item* b) const { return PlaceOf(a) < PlaceOf(b); }
  bool operator()(const Item* a, const Place& b) const { return PlaceOf(a) < b; }
  bool operator()(const Place& a, const Item* b) const { return a < PlaceOf(b); }
};

// Where a ledger that keeps histories out of memory reads them back: every event of `item`
// (its own; in any order), as the log has them. The engine's reads the item index
// (storage/item_index.h) and the log.
using HistorySource = std::function<Result<std::vector<Event>>(const Item& item)>;

// An item's events in effective order, as Ledger::HistoryOf gives them: those let go and read
// back (shared with the cache), then those the item holds (its own vector: valid while the item
// is not changed). Either part may be empty; not copied.
class History {
 public:
  History() = default;
  History(std::shared_ptr<const std::vector<Event>> let_go, const std::vector<Event>* held)
      : let_go_(std::move(let_go)), held_(held) {}

  size_t size() const { return let_go_size() + (held_ ? held_->size() : 0); }
  bool empty() const { return size() == 0; }
  const Event& operator[](size_t i) const {
    return i < let_go_size() ? (*let_go_)[i] : (*held_)[i - let_go_size()];
  }
  const Event& back() const { return (*this)[size() - 1]; }

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Event;
    using difference_type = std::ptrdiff_t;
    using pointer = const Event*;
    using reference = const Event&;
    Iterator() = default;
    Iterator(const History* history, size_t i) : history_(history), i_(i) {}
    reference operator*() const { return (*history_)[i_]; }
    pointer operator->() const { return &(*history_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) { return Iterator(history_, i_++); }
    bool operator==(const Iterator& other) const { return i_ == other.i_; }

   private:
    const History* history_ = nullptr;
    size_t i_ = 0;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  size_t let_go_size() const { return let_go_ ? let_go_->size() : 0; }
  std::shared_ptr<const std::vector<Event>> let_go_;
  const std::vector<Event>* held_ = nullptr;
};

class Ledger {
 public:
  // The world. `action_workflow` may be null: then no action can be recorded.
  // REQUIRES: the workflows outlive this Ledger.
  Ledger(const Workflow* workflow, const Workflow* action_workflow);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  const Body* FindBody(std::string_view id) const;
  const Unit* FindUnit(std::string_view id) const;
  const Inspection* FindInspection(std::string_view id) const;
  const Item* FindItem(std::string_view id) const;
  // Item `id`'s event `seq`, effective on `effective`; null when it has none or the event is
  // not held (its history was let go, and the event was added before that). The pointer holds
  // until the next change.
  const Event* FindEvent(std::string_view id, Date effective, int64_t seq) const;
  // Ids of the actions under recommendation `id`, in id order.
  std::vector<std::string> ActionsOf(const std::string& id) const;
  // Recommendation id -> the ids of its actions, for every recommendation that has any, in id
  // order: a list of actions walks it from its place, rather than looking at every item.
  const std::map<std::string, std::set<std::string>>& actions_by_recommendation() const {
    return actions_of_;
  }
  // Every item counted by whose work it is (work_tally.h), as its head stands now.
  const WorkTally& work() const { return work_; }
  // Whether work() counts every item as its head stands: false while a WorkCountPause lives,
  // and after one that could not count (an exception, or no memory to count with), when the
  // items must be walked instead.
  bool work_counted() const { return counting_work_; }
  // While one lives, work() is not kept up as heads change; when it goes, every item is counted
  // once: a first read of the log changes each head once per event, and counting each change
  // cost a few per cent of the start. Left by an exception, it counts nothing (work_counted()
  // stays false). REQUIRES: not nested.
  class WorkCountPause {
   public:
    explicit WorkCountPause(Ledger* ledger)
        : ledger_(ledger), exceptions_(std::uncaught_exceptions()) {
      ledger_->counting_work_ = false;
    }
    ~WorkCountPause() {
      if (std::uncaught_exceptions() == exceptions_) ledger_->CountEveryItemsWork();
    }
    WorkCountPause(const WorkCountPause&) = delete;
    WorkCountPause& operator=(const WorkCountPause&) = delete;

   private:
    Ledger* ledger_;
    int exceptions_;
  };
  // The latest effective date of any event added (not lowered when one is undone): as at a day
  // on or after it, every item's head is its view, and work() counts what a walk would.
  Date latest_effective() const { return latest_effective_; }
  // The workflow that `kind`'s events run through; null for an action without an action workflow.
  const Workflow* WorkflowOf(SubjectKind kind) const {
    return kind == SubjectKind::kAction ? action_workflow_ : workflow_;
  }

  // The guard of the transition `event` fires (workflow.h), against the world as it is (the
  // event already added or not): Conflict naming the open actions when it does not hold. An
  // action counts if it was open at the event's effective date or is open now. InvalidArgument
  // for an event that says nothing (Transition::MaySayNothing, and no note, field or file).
  // Called for new
  // events only: a guard is the rule when an event is recorded, not a condition every later
  // replay must meet again.
  Status CheckGuard(const Event& event) const;
  // Adds one event. Definition events must be new ids (the Engine decides about duplicates).
  // Recommendation events are validated by replaying the item; on error the Ledger is unchanged
  // and the message names the event that no longer fits ("'assess' effective 2025-03-06: ...").
  // kSkip records nothing to undo: for replaying the log, which is kept event by event and
  // would otherwise hold a copy of each item's state per event until Release().
  enum class Undo { kRecord, kSkip };
  Status Add(Event event, Undo undo = Undo::kRecord);

  // Savepoints. Every successful Add (with kRecord) since Savepoint() can be undone by
  // RollbackTo (newest first); Release() keeps every change and forgets how to undo them.
  // Savepoints nest: a rollback to an outer one undoes the inner ones' changes too. REQUIRES:
  // `mark` was returned by Savepoint() since the last Release(), and no rollback has gone past it.
  using Mark = size_t;
  Mark Savepoint() const { return undo_.size(); }
  void RollbackTo(Mark mark);
  void Release() { undo_.clear(); }

  // The recommendation as it was at the end of `as_of`. NotFound when it was not yet issued.
  // With kFull, a replay of the item; with kHead, as at or after its LastChange, a copy of its
  // tail.
  Result<RecommendationView> Project(const Item& item, Date as_of,
                                     Detail detail = Detail::kFull) const;
  // Project into `view`, whatever it held: a walk over many items (a list, a count) that
  // projects each into one view reuses its strings' and vectors' room rather than allocating
  // every item's anew. On error `view` is left in an unspecified state.
  Status ProjectInto(const Item& item, Date as_of, Detail detail, RecommendationView* view) const;
  // Project(item, as_of, kFull) of an item whose history was let go, from `through`: its view
  // through every event up to `through.version` (a head row's, whose timeline holds only some
  // entries) stepped through the events held since. Costs those events, not the history.
  // FailedPrecondition, and `through` unused, when it cannot: the item is whole, `through` is
  // older than the events let go, or `as_of` is before its last event.
  Result<RecommendationView> ProjectFrom(const Item& item, RecommendationView through,
                                         Date as_of) const;
  // Every event of `item`, in effective order: its own when whole, otherwise those let go
  // read from the history source (through the cache) followed by those held; no event is
  // copied. IOError or Corruption when it cannot be read back. Holds while the item is not
  // changed, also after the cache lets it go.
  Result<History> HistoryOf(const Item& item) const;
  // Keeps histories out of memory from now on: DropHistories may let them go, HistoryOf reads
  // them back from `source`, keeping at most about `cache_bytes` of them. Every item that
  // holds more than its creating event may be dropped by the DropHistories after it, which
  // look at `turn` of them each (in id order) besides the items changed since, until they have
  // looked at every one.
  void SetHistorySource(HistorySource source, size_t cache_bytes,
                        size_t turn = std::numeric_limits<size_t>::max());
  // Whether DropHistories has looked at every item since SetHistorySource, and about how many
  // it has still to look at (items made since count).
  bool looked_at_every_item() const { return !every_item_from_; }
  size_t items_left_to_look_at() const {
    return every_item_from_ ? items_.size() - std::min(every_item_looked_, items_.size()) : 0;
  }
  bool keeps_histories_out() const { return history_cache_ != nullptr; }
  // How many histories were read back from the source so far (not found in the cache).
  int64_t histories_read_back() const;
  // Lets go of the events held by the items changed since the last drop (and by the next turn
  // of every item, until it has looked at each) whose events all have seq `through` or less
  // (which the source must give back: the item index covers them); the cache keeps the changed
  // items' events, as the ones used last, while it has room. Returns how many it dropped.
  // REQUIRES: a history source; no savepoint (nothing to undo: Release()d).
  size_t DropHistories(int64_t through);

  // `item`'s tail with its timeline: every event, with the states before and after it, as the
  // feed (kFull) and the alert rules (kStates) read them. Costs a replay of the item.
  Result<RecommendationView> WholeHistory(const Item& item, Detail detail = Detail::kFull) const;
  // The timeline entry of `item`'s last event in effective order, without a replay (reading
  // the history back when it is not held).
  Result<TimelineEntry> LastEntry(const Item& item) const;
  // Sets the as-of date and what depends on it (open, overdue): a view of the end of an item's
  // history (Project as at LastChange or later) made a view as at `as_of`, when that is on or
  // after LastChange.
  void Finish(Date as_of, RecommendationView& view) const;
  // The latest effective date of an event that `item`'s view depends on: its own, and those
  // events of other recommendations that name it (as superseding them). Project as at any later
  // date gives the same view but for Finish.
  Date LastChange(const Item& item) const;

  const std::map<std::string, Body>& bodies() const { return bodies_; }
  const std::map<std::string, Unit>& units() const { return units_; }
  const std::map<std::string, Inspection>& inspections() const { return inspections_; }
  const std::map<std::string, Item>& items() const { return items_; }
  // Every recommendation, in list order: a page of a long list walks from its place rather
  // than sorting every recommendation.
  const std::set<const Item*, ListOrder>& recommendations_in_list_order() const {
    return list_order_;
  }
  // Every recommendation and action event, by seq: (seq, the item it belongs to). What the feed
  // and the live streams read, so their cost is the events asked for, not the whole log.
  const std::vector<std::pair<int64_t, const Item*>>& item_events() const { return item_events_; }
  // Room for `more` events beyond those held (a hint): a long replay then fills item_events()
  // in place rather than copying it each time it doubles, and leaves no doubled capacity
  // unused. For long catch-ups only: reserving a little at a time would copy it every time.
  void ReserveEvents(size_t more) { item_events_.reserve(item_events_.size() + more); }
  // The events that attach the evidence file `sha256`, by seq: (seq, the item it belongs to).
  // What an evidence download reads, so that it costs the events naming the file, not the log.
  const std::vector<std::pair<int64_t, const Item*>>& EvidenceEvents(
      const std::string& sha256) const;
  // Every event that attaches an evidence file, by seq, once: (seq, the item it belongs to).
  std::vector<std::pair<int64_t, const Item*>> EventsWithEvidence() const;

 private:
  // set_due's `later: true` (workflow.h): the new date after the one it replaces.
  Status CheckLater(const Item& item, const Transition& t, const Event& event) const;
  // Guard `not_before: judgement` (workflow.h).
  Status CheckNotBeforeJudgement(const Item& item, const Workflow& wf, const Event& event) const;
  // Replays `item` up to the end of `as_of`, checking every event against the workflow and the
  // world, then Finish. Used for both validation (as_of far in the future) and projection.
  Result<RecommendationView> Replay(const Item& item, Date as_of,
                                    Detail detail = Detail::kFull) const;
  // Replay without the Finish. With `state_before_last`, sets it to the state before the last
  // event stepped. With `back_dated`, the seq of an event being added behind later ones, a
  // refusal speaks of the state on that event's date, or, for a later event, as it would be
  // then (Workflow::Tense), not as if it were today's.
  Result<RecommendationView> StepThrough(const Item& item, Date as_of, Detail detail,
                                         std::string* state_before_last = nullptr,
                                         std::optional<int64_t> back_dated = std::nullopt) const;
  // For a back-dated `event` whose replay `item` (whole) refuses: the earliest of the item's
  // later dates on which it would replay, placed after that day's events; nullopt when none
  // would (among the first 32 tried).
  std::optional<Date> EarliestDateAllowed(const Item& item, const Event& event) const;
  // Project's last part: the recommendations as at `as_of` that supersede `item`, in
  // view.supersedes (each one's history replayed to that date).
  Status AddSupersedes(const Item& item, Date as_of, RecommendationView& view) const;
  // Applies one event to `view`, checking it against the workflow and the world first; on error
  // `view` is unchanged and the message names the event. With kHead, adds no timeline entry;
  // with kStates, one with no text (Detail).
  Status Step(const Item& item, const Event& event, RecommendationView& view,
              Detail detail = Detail::kFull, Workflow::Tense tense = Workflow::Tense::kNow) const;
  // Step's timeline entry for `event`, which moved its item from `from_state` to `to_state`.
  TimelineEntry EntryFor(const Item& item, const Event& event, const std::string& from_state,
                         const std::string& to_state) const;
  // Step's creating event.
  Status Create(const Item& item, const Event& event, const Workflow& wf,
                RecommendationView& view) const;
  Status CheckReference(const FieldSpec& spec, const std::string& value, const Item& item,
                        const Event& event, const RecommendationView& view) const;
  // Records in the indexes what `event`, just added to `item`, links (a superseding
  // recommendation, an action's recommendation), with how to undo it.
  void Index(const Item& item, const Event& event);
  // Keeps the previous value of `map[id]` (or its absence) to undo, then sets it.
  template <typename T>
  void Define(std::map<std::string, T>& map, const std::string& id, const T& value);
  // Counts `item`'s head in work_ (+1), or stops counting it (-1), unless paused.
  void CountWork(const Item& item, int sign);
  // work_ counted afresh from every item's head, and kept up from then on; on failure (no
  // memory) left as it was, and not counting.
  void CountEveryItemsWork() noexcept;
  // Takes an item's head out of work_ while it lives and counts the item again as it is then:
  // around every change of a head, also one that fails or is undone.
  class Recount {
   public:
    Recount(Ledger* ledger, const Item& item) : ledger_(ledger), item_(item) {
      ledger_->CountWork(item_, -1);
    }
    ~Recount() { ledger_->CountWork(item_, +1); }
    Recount(const Recount&) = delete;
    Recount& operator=(const Recount&) = delete;

   private:
    Ledger* ledger_;
    const Item& item_;
  };
  // Reads `item`'s history back into it, so that an event can be added before its last. Nothing
  // to undo: whole, it answers as before.
  Status MakeWhole(Item& item);
  // Records how to undo a change, unless the Add in progress was asked not to.
  void Remember(std::function<void()> undo) {
    if (recording_) undo_.push_back(std::move(undo));
  }
  bool recording_ = true;  // during Add: its Undo argument

  const Workflow* workflow_;
  const Workflow* action_workflow_;
  std::map<std::string, Body> bodies_;
  std::map<std::string, Unit> units_;
  std::map<std::string, Inspection> inspections_;
  std::map<std::string, Item> items_;
  WorkTally work_;
  bool counting_work_ = true;  // false while a WorkCountPause lives
  Date latest_effective_;
  // The recommendations of items_, in list order (an item's issue date never changes: its
  // creating event comes first, and no event may come before it).
  std::set<const Item*, ListOrder> list_order_;
  // target id -> ids of items whose events name it as superseding them (any date).
  std::map<std::string, std::set<std::string>> superseding_;
  // recommendation id -> ids of its actions.
  std::map<std::string, std::set<std::string>> actions_of_;
  // Sorted by seq; an Item's address is stable (a map node, assigned in place when replayed).
  std::vector<std::pair<int64_t, const Item*>> item_events_;
  // Evidence file SHA-256 -> the events attaching it, as item_events_.
  std::map<std::string, std::vector<std::pair<int64_t, const Item*>>> evidence_events_;
  // Since the last Release(), oldest first: each reverses one change.
  std::vector<std::function<void()>> undo_;
  // With a history source: the histories read back, and the items that hold events (whole, or
  // changed since their history was let go) since the last drop.
  // HistoryOf's reading, of an item not whole: the events it let go, from the source, in
  // effective order, checked to begin and end as they did.
  Result<std::vector<Event>> ReadBack(const Item& item) const;
  HistorySource history_source_;
  std::unique_ptr<HistoryCache> history_cache_;
  std::set<std::string> holding_events_;
  // Where the next DropHistories goes on looking at every item (nullopt: it has), and how many
  // it looks at.
  std::optional<std::string> every_item_from_;
  size_t every_item_turn_ = 0;
  size_t every_item_looked_ = 0;
};

}  // namespace rectrack
