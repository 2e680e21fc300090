// Engine: the one way in. Every change (CLI, import, HTTP) is a list of Commands applied by
// Apply(): each command goes through the workflow, then all of them are appended to the event
// log in one BEGIN IMMEDIATE transaction, or none are (ApplyAll does the same for several
// callers at once, each on its own). Every query is answered from the log's in-memory replay, as
// the world was at the end of an as-of date (by effective dates).
//
// Typical use:
//   ASSIGN_OR_RETURN(auto engine, Engine::Open({.db_path = "rectrack.db", ...}));
//   ASSIGN_OR_RETURN(ApplyReport r, engine->Apply(commands, "cli:alice"));
//   auto views = engine->List({.body = "CPS", .as_of = *Date::Parse("2025-03-31")});
//
// Thread-safety: not thread-safe; callers serialise access (the HTTP Api keeps one Engine behind
// a mutex). The exceptions: workflow(), action_workflow() and MayDefine() read only what is fixed
// when the engine opens, and may be called from any thread at any time.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/status.h"
#include "engine/clock.h"
#include "engine/model.h"
#include "engine/rules.h"
#include "engine/workflow.h"
#include "storage/alert_store.h"
#include "storage/token_store.h"

namespace rectrack {

// --- Commands: what callers ask the engine to do. `where` ("file:line:col", "" for none) is put
// in front of any error the command causes.
struct DefineBody {
  Body body;
  std::string where;
};
// Declares a unit of a body (a CPS Area, a directorate), which may then own actions.
struct DefineUnit {
  Unit unit;
  std::string where;
};
struct DefineInspection {
  Inspection inspection;
  std::string where;
};
// Creates a recommendation by firing the workflow's creating transition ("issue"). Milestones are
// read from the text unless milestones_given. `issued` defaults to the inspection's date.
struct DefineRecommendation {
  std::string id;
  RecommendationDef def;
  bool milestones_given = false;  // true: def.milestones is the whole list, even when empty
  std::optional<Date> issued;
  std::string note;
  std::string where;
};
// Creates an action under a recommendation by firing the action workflow's creating transition
// ("plan"). The body defaults to the recommendation's owner when it has only one.
struct DefineAction {
  std::string id;
  ActionDef def;
  std::optional<Date> planned;  // effective date of the plan; default today
  std::string role;  // default: the creating transition's first role not acting for a body
  std::string body;  // the body the actor acts for ("" for none)
  std::string unit;  // the unit of that body the actor acts for ("" for the whole body)
  std::string note;
  std::string where;
};
// Fires a workflow transition on an existing recommendation or action.
struct RecordEvent {
  std::string subject_id;
  std::string transition;
  std::optional<Date> effective;  // default: today by the engine's clock
  std::string role;               // a workflow role
  std::string body;               // the body the actor acts for ("" for none)
  std::string note;
  Fields fields;
  // Imports set this: an event identical to one already recorded (same transition, effective
  // date, role, body, note, fields) is skipped, so importing a file twice changes nothing.
  bool skip_if_recorded = false;
  // When set, the recommendation must still be at this version (the seq of its newest event),
  // else FailedPrecondition: how an HTTP If-Match prevents lost updates.
  std::optional<int64_t> expected_version;
  std::string where;
  std::string unit = "";  // the unit of `body` the actor acts for ("" for all of it)
  std::optional<SubjectKind> kind = std::nullopt;  // nullopt: whichever the id names
};
using Command = std::variant<DefineBody, DefineUnit, DefineInspection, DefineRecommendation,
                             DefineAction, RecordEvent>;

// One caller's commands, applied all or nothing, as one of several in ApplyAll.
struct WriteBatch {
  std::vector<Command> commands;
  std::string actor;
};

struct ApplyReport {
  int appended = 0;           // events written
  int unchanged = 0;          // commands that asked for nothing new (already defined / recorded)
  std::vector<int64_t> seqs;  // seqs of the appended events
};

struct ListQuery {
  std::optional<Date> as_of;  // default: today
  std::string body;           // owner body; "" for all
  std::string state;          // "" for all
  std::optional<bool> open;   // nullopt for both
  bool overdue_only = false;
};

struct ActionQuery {
  std::optional<Date> as_of;   // default: today
  std::string body;            // owning body; "" for all
  std::string unit;            // owning unit; "" for all
  std::string recommendation;  // "" for all
  std::optional<bool> open;    // nullopt for both
  bool overdue_only = false;
  Detail detail = Detail::kFull;
};

// How far a unit (or the body as a whole, unit "") has got with its actions.
struct UnitProgress {
  std::string unit;  // "" for actions owned by the body as a whole
  std::string name;  // the unit's name, or the body's
  int closed = 0;    // in a closed state of the action workflow (done or dropped)
  int open = 0;
  int overdue = 0;  // open and past their due date; counted in open too
  int total() const { return closed + open; }
};

struct RecommendationProgress {
  std::string id;
  std::string text;
  std::string state;
  bool open = true;
  UnitProgress all;                 // every action of the recommendation
  std::vector<UnitProgress> units;  // furthest behind first
};

// `rectrack report progress`: per recommendation of a body, its actions by owning unit.
struct ProgressReport {
  std::string body;
  std::string body_name;
  Date as_of;
  std::vector<RecommendationProgress> recommendations;  // in issue order
  std::vector<UnitProgress> units;                      // the body's totals, furthest behind first
};

// Orders units furthest behind first: most overdue, then most open, then the smallest share
// closed, then by name.
bool FurtherBehind(const UnitProgress& a, const UnitProgress& b);

struct AnnexRow {
  std::string id;
  std::string inspection;  // title
  std::string published;   // "Mar-23"
  std::string text;
  std::string quarter;  // closed table only: "Q2 24/25"
  std::string note;
};

struct AnnexReport {
  std::string body;
  std::string body_name;
  Date as_of;
  std::string financial_year;  // "2024-25"
  std::vector<AnnexRow> open;
  std::vector<AnnexRow> closed;
};

// Who is calling, as established from a bearer token.
struct Principal {
  std::string token_id;
  std::string role;       // a workflow role
  std::string body;       // the body a body-scoped role acts for and sees; "" for none
  std::string unit = "";  // the unit of `body` a unit-scoped lead acts for; "" for the whole body
};

// One recommendation or action event for feeds and streams: the timeline entry with what it is
// about. For an action's event, `action` is its id and the rest describe the action: its
// recommendation, owning body, title.
struct FeedEntry {
  std::string recommendation;  // id
  std::string inspection;      // inspection id
  std::string inspection_title;
  std::vector<std::string> owners;
  std::string text;
  TimelineEntry event;      // includes seq, effective, recorded, voice, from/to states
  std::string action = "";  // "" for a recommendation's event
  std::string unit = "";    // the action's owning unit; "" for none
};

struct VerifyResult {
  int64_t events = 0;
  std::string head_hash;
};

// How `rectrack serve` raises alerts (Engine::StartAlerts).
struct AlertOptions {
  // The recommendation link in an alert is link_base + "/api/v1/recommendations/<id>".
  std::string link_base = "http://127.0.0.1:8080";
};

// The action workflow used when none is named: action.yaml beside `workflow_path`, or "" when
// there is none (then actions are not available).
std::string DefaultActionWorkflowPath(const std::string& workflow_path);

class Ledger;
class AlertQueue;

class Engine {
 public:
  struct Options {
    std::string db_path;            // ":memory:" for a private database
    std::string workflow_path;      // the recommendation workflow YAML
    const Clock* clock = nullptr;   // REQUIRES: non-null and outlives the Engine
    bool create_if_missing = true;  // false: NotFound when there is no database yet
    std::string rules_dir;          // deadline and alert rules (rules/); "" for none
    // The action workflow YAML. "": action.yaml beside workflow_path when there is one, else
    // actions are not available.
    std::string action_workflow_path = "";
  };

  // Opens the database (migrating it), loads the workflow and replays the log. Errors name the
  // file and the problem; a log that no longer replays through the workflow is Corruption.
  static Result<std::unique_ptr<Engine>> Open(const Options& options);
  ~Engine();

  // Applies `commands` in order, all or nothing, under one write transaction. Commands that ask
  // for nothing new (a body already defined identically, an event already recorded with the same
  // content) are counted as unchanged, so applying the same import twice writes nothing. On any
  // error nothing is written and the error says which command ("file:line:col: ...") and why.
  Result<ApplyReport> Apply(const std::vector<Command>& commands, const std::string& actor);
  // Group commit: applies each batch all or nothing, as Apply would one after another, but
  // writes every batch that succeeds in one transaction (one fsync for all of them). A batch
  // that fails affects no other; results[i] is batch i's report or error.
  std::vector<Result<ApplyReport>> ApplyAll(const std::vector<WriteBatch>& batches);

  // ApplyAll in three steps, so that a server can let readers in while a group's commit becomes
  // durable. PrepareAll does everything ApplyAll does up to the commit (the rows are written in
  // an open transaction), leaving the world as queries see it unchanged. CommitPrepared makes
  // the rows durable; it touches only that transaction, so the queries and Refresh (which does
  // nothing meanwhile) may be called from other threads while it runs, but nothing that writes
  // or begins a transaction. FinishPrepared (with CommitPrepared's status) then shows the events
  // to queries and returns each batch's result. REQUIRES: the three in this order, for one
  // group at a time; while a group is prepared, nothing else but queries and Refresh.
  struct PreparedGroup;
  struct PreparedGroupDeleter {
    void operator()(PreparedGroup* group) const;
  };
  using Prepared = std::unique_ptr<PreparedGroup, PreparedGroupDeleter>;
  Prepared PrepareAll(const std::vector<WriteBatch>& batches);
  Status CommitPrepared(PreparedGroup& group);
  std::vector<Result<ApplyReport>> FinishPrepared(Prepared group, Status committed);

  // Catches up with events other processes committed since this Engine last looked (cheap when
  // there are none: one PRAGMA data_version). Long-running servers call it before each request.
  // Does nothing while a group is prepared: no other process can commit then, and what they
  // committed before, PrepareAll caught up with.
  Status Refresh();

  std::vector<RecommendationView> List(const ListQuery& query) const;
  Result<RecommendationView> Show(const std::string& id, std::optional<Date> as_of,
                                  Detail detail = Detail::kFull) const;
  // What `id` names: a recommendation, an action, or (nullopt) neither.
  std::optional<SubjectKind> KindOf(const std::string& id) const;
  // Actions, ordered by recommendation, then due date (undated last), then id.
  std::vector<RecommendationView> ListActions(const ActionQuery& query) const;
  Result<RecommendationView> ShowAction(const std::string& id, std::optional<Date> as_of,
                                        Detail detail = Detail::kFull) const;
  // The timeline entry of event `seq` of recommendation or action `id` (its from and to states as
  // the whole history has them), or nullopt. Cheap for the newest events.
  std::optional<TimelineEntry> Recorded(const std::string& id, int64_t seq) const;
  // NotFound for an unknown body.
  Result<ProgressReport> Progress(const std::string& body, std::optional<Date> as_of) const;
  // The two tables of Annex A for `body` at `as_of` (default today); NotFound for an unknown body.
  Result<AnnexReport> Annex(const std::string& body, std::optional<Date> as_of) const;
  // Walks the hash chain of the whole log; Corruption names the first bad event.
  Result<VerifyResult> Verify();
  // Checks a database without trusting it: walks the hash chain first (so an edited row is
  // named as such, even one that would also break replay), then opens it, which replays every
  // event through the workflow. Never creates a database.
  static Result<VerifyResult> VerifyDatabase(const Options& options);

  // Bearer tokens. CreateToken returns the stored record and the secret, which is not kept.
  // The role must be a workflow role; a role that acts for an owner needs a known body, a role
  // that may create recommendations takes none, any other may be narrowed to one body.
  // `unit` narrows a body lead's token to one unit of its body.
  Result<std::pair<storage::TokenRecord, std::string>> CreateToken(const std::string& role,
                                                                   const std::string& body,
                                                                   std::optional<Date> expires,
                                                                   const std::string& label,
                                                                   const std::string& unit = "");
  Status RevokeToken(const std::string& id);
  Result<std::vector<storage::TokenRecord>> Tokens();
  // Unauthenticated for an unknown, revoked or expired secret (one message for all three).
  // `secret_hash` is storage::Sha256Hex(secret) when the caller has it (a server hashes before
  // taking its lock); empty, it is computed here.
  Result<Principal> Authenticate(const std::string& secret, std::string secret_hash = "");
  // Whether `principal` may see recommendations owned by `owners`.
  bool MaySee(const Principal& principal, const std::vector<std::string>& owners) const;
  // Whether `principal` may define bodies, inspections and recommendations (and import).
  bool MayDefine(const Principal& principal) const;
  int64_t last_seq() const { return last_seq_; }
  // How many log pages a commit may leave before checkpointing them itself: `rectrack serve`
  // raises it to a backstop and checkpoints from a thread of its own (storage/checkpointer.h).
  Status SetAutoCheckpoint(int pages);

  // Recommendation and action events with seq > after_seq that `principal` may see, owned by
  // `body` when it is not "", newest first, at most `limit` of them.
  std::vector<FeedEntry> Feed(const Principal& principal, const std::string& body,
                              int64_t after_seq, size_t limit) const;

  std::vector<Body> Bodies() const;
  bool HasBody(const std::string& id) const;
  // The unit `id`, or nullopt.
  std::optional<Unit> FindUnit(const std::string& id) const;
  // The units of `body` ("" for every body), by id.
  std::vector<Unit> Units(const std::string& body) const;
  std::vector<Inspection> Inspections() const;
  const Workflow& workflow() const { return workflow_; }
  // The action workflow, or null when none was loaded.
  const Workflow* action_workflow() const {
    return action_workflow_ ? &*action_workflow_ : nullptr;
  }
  // The loaded rules, or null when Options::rules_dir was empty.
  const Rules* rules() const { return rules_ ? &*rules_ : nullptr; }
  // The alerts of recommendation (or action) `id` falling due from its issue (or plan) to the end
  // of `as_of` (default today). FailedPrecondition when no rules are loaded.
  Result<std::vector<AlertInstance>> Alerts(const std::string& id, std::optional<Date> as_of) const;
  const Clock& clock() const { return *clock_; }

  // --- The alert scheduler (engine_alerts.cpp). An alert is raised once, when it falls due: a
  // row in the outbox (storage/alert_store.h) with one pending delivery per subscription whose
  // body is in its audience (subscriptions disabled by their receiver are skipped).
  //
  // Builds the queue of the day each recommendation's next alert falls due, from the log and
  // the outbox's watermark (the day through which everything was raised): after downtime, the
  // alerts that fell due meanwhile are raised once each, flagged late. From then on every
  // committed change to a recommendation (here or, seen by Refresh, by another process) queues
  // it to be looked at again. FailedPrecondition without rules.
  Status StartAlerts(const AlertOptions& options);
  // Raises, in one write transaction, the alerts of every recommendation queued for today or
  // before, and advances the watermark. Returns the new alerts in the order raised. Looks at
  // nothing else: an idle call costs one heap peek.
  Result<std::vector<storage::AlertRecord>> RaiseDueAlerts();
  // The day RaiseDueAlerts next has work: today when changes are waiting, nullopt when nothing
  // is queued (or alerts were not started).
  std::optional<Date> NextAlertDay();
  // Prepares, ahead of time, the alerts RaiseDueAlerts will raise on `day` (the queue's next
  // day), so that at the start of that day it only has to write them: the scheduler calls it
  // shortly before. Staged alerts carry the start of `day` as their raise time. A recommendation
  // that changes in between is not taken from the stage but looked at afresh when raised.
  // Nothing is written; calling it again for the same day does nothing.
  Status StageAlerts(Date day);
  std::optional<Date> staged_day() const;
  size_t QueuedRecommendations() const;
  // The seq of the newest alert in the outbox (0 for none), as this Engine last saw it.
  int64_t last_alert_seq() const { return last_alert_seq_; }
  // The outbox, for listing alerts and their deliveries. REQUIRES: the Engine outlives its use.
  storage::AlertStore& alert_store() { return *alert_store_; }
  // Where an alert about `id` links to: the recommendation's or the action's API resource.
  std::string alert_link(const std::string& id,
                         SubjectKind kind = SubjectKind::kRecommendation) const;

 private:
  Engine(Workflow workflow, std::optional<Workflow> action_workflow, const Clock* clock);
  Status CatchUp();  // replays events other processes appended since we last looked
  // Queues a recommendation (or action) whose alerts `event`, just committed, may have changed.
  void NoteChanged(const Event& event);
  // Whether `event` may make an alert of its item fall due earlier than queued, or at all: a
  // creation, a back-dated event, a change of state or milestones, an anchor of some rule.
  // Otherwise (a progress note) the item need not be looked at again.
  bool MayBringAlertsForward(const Event& event) const;
  void NoteChanged(const std::string& recommendation);
  // The first day after `after` on which an alert of `view` falls due, if any within ten years.
  std::optional<Date> NextAlertDayOf(const RecommendationView& view, Date after) const;
  // One recommendation's alerts to raise on a day, ready to write, and its next alert day.
  struct PendingAlerts {
    std::vector<storage::AlertRecord> alerts;
    std::vector<std::vector<storage::DeliveryRecord>> deliveries;  // per alert
    std::optional<Date> next;
  };
  struct StagedDay {
    Date day;
    std::string watermark;  // AlertStore::ProcessedThrough() when staged
    std::unordered_map<std::string, PendingAlerts> recommendations;
  };
  // What recommendation `view` raises on `today`: over its whole history, or since the day after
  // `watermark`. Reads the outbox (the alerts it already has). `disabled` are subscriptions not
  // to deliver to.
  Result<PendingAlerts> PendingFor(const RecommendationView& view, bool whole,
                                   std::optional<Date> watermark, Date today,
                                   const std::string& raised,
                                   const std::set<std::string>& disabled) const;
  // RaiseDueAlerts' transaction: `work` maps recommendation ids to "look at the whole history".
  Result<std::vector<storage::AlertRecord>> Raise(std::map<std::string, bool> work, Date today);
  Result<storage::AlertRecord> MakeAlert(const AlertInstance& instance,
                                         const RecommendationView& view, Date today,
                                         const std::string& raised) const;

  Workflow workflow_;
  std::optional<Workflow> action_workflow_;
  std::optional<Rules> rules_;
  const Clock* clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::EventStore> store_;
  std::unique_ptr<storage::TokenStore> tokens_;
  std::unique_ptr<storage::AlertStore> alert_store_;
  std::unique_ptr<Ledger> ledger_;
  // Alerts: null until StartAlerts. `changed_` are recommendations committed since the last
  // RaiseDueAlerts, looked at over their whole history (a back-dated import may make an old
  // alert matter now); queued ones only since the watermark.
  std::unique_ptr<AlertQueue> alert_queue_;
  std::set<std::string> changed_;
  std::optional<StagedDay> staged_;
  AlertOptions alert_options_;
  int64_t last_alert_seq_ = 0;
  int64_t last_seq_ = 0;
  bool prepared_ = false;  // a group is between PrepareAll and FinishPrepared
  int64_t data_version_ = -1;
  std::optional<storage::Statement> data_version_stmt_;
  // Token lookups by SHA-256 of the secret (nullopt: no such token); cleared when the database
  // changes under us or a token is revoked here.
  std::map<std::string, std::optional<storage::TokenRecord>> known_tokens_;
};

}  // namespace rectrack
