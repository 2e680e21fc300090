// Engine: the one way in. Every change (CLI, import, HTTP, web) is a list of Commands
// (commands.h) applied by Apply(): each command goes through the workflow, then all of them are
// appended to the event log in one BEGIN IMMEDIATE transaction, or none are (ApplyAll does the
// same for several callers at once, each on its own). Every query is answered as the world was at
// the end of an as-of date (by effective dates), as a replay of the log would answer it: a whole
// engine (serve) from the ledger it replayed, each item's head in memory and histories read back
// from the item index when asked for; a scoped one (show, record) from the items it read; a
// heads-only one (list, report annex) from the item heads (ListFromHeads).
//
// Typical use:
//   ASSIGN_OR_RETURN(auto engine, Engine::Open({.db_path = "rectrack.db", ...}));
//   ASSIGN_OR_RETURN(ApplyReport r, engine->Apply(commands, "cli:alice"));
//   auto views = engine->List({.body = "CPS", .as_of = *Date::Parse("2025-03-31")});
//
// Thread-safety: not thread-safe; a process that serves many threads puts its Engine in an
// EngineHost (host.h), which serialises access and runs the group commit. Const methods may fill
// caches (token lookups), so they too need the host's lock. The exceptions: workflow(),
// action_workflow() and MayDefine() read only what is fixed when the engine opens, and may be
// called from any thread at any time.
#pragma once

#include <functional>
#include <limits>
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
#include "engine/commands.h"
#include "engine/model.h"
#include "engine/principal.h"
#include "engine/reports.h"
#include "engine/rules.h"
#include "engine/work_tally.h"
#include "engine/workflow.h"
#include "storage/alert_store.h"
#include "storage/token_store.h"

namespace rectrack {

// An alert, how its deliveries went, and each delivery's attempts (Engine::FindAlert).
struct AlertDetail {
  storage::AlertRecord alert;
  std::string state;  // as Engine::AlertState
  std::vector<storage::DeliveryRecord> deliveries;
  std::vector<storage::AttemptRecord> attempts;
};

// How `rectrack serve` raises alerts (Engine::StartAlerts).
struct AlertOptions {
  // The recommendation link in an alert is link_base + "/api/v1/recommendations/<id>".
  std::string link_base = "http://127.0.0.1:8080";
  // At most this many recommendations are raised for in one RaiseDueAlerts (one transaction,
  // one hold of the engine): a day with more (the first start on a long log, a start after
  // downtime, a large import) is raised in turns, and the server answers between them.
  size_t raise_batch = 2000;
  // How many items StartAlerts looks at (each one's whole history replayed for the rules, to
  // work out its next alert day) before it returns; the rest are looked at by the following
  // RaiseDueAlerts calls, this many a call, and only then does raising begin. A server so
  // answers while a long log's first pass is under way (at 1,000,000 recommendations, seconds).
  size_t first_pass_turn = std::numeric_limits<size_t>::max();
};

// The action workflow used when none is named: action.yaml beside `workflow_path`, or "" when
// there is none (then actions are not available).
std::string DefaultActionWorkflowPath(const std::string& workflow_path);

// The recommendation workflow at `path` and the action workflow at `action_path` ("" for the
// default, above), as Engine::Open loads them: each of its subject, and the action workflow's
// roles those of the recommendation workflow (a token holds one role for both). What
// `rectrack workflow` checks a file with.
struct Workflows {
  Workflow recommendation;
  std::optional<Workflow> action;  // none beside `path`, and none named
};
Result<Workflows> LoadWorkflows(const std::string& path, const std::string& action_path);

class Ledger;
class AlertQueue;
namespace storage {
class EventStore;
struct IndexRow;
struct HeadRow;
class WalWatch;
}  // namespace storage

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
    // Read webhook secrets from the environment (Rules::LoadDir): only a process that
    // delivers alerts (`serve`) needs them.
    bool resolve_secrets = true;
    TextLimits text_limits = {};  // how much text a command may store (commands.h)
    // Recommendations and actions to read, or empty for the whole log. Given, the engine reads
    // from the item index (storage/item_index.h) only what their views need: every body and
    // unit, the inspections their events name, the items' events, the events of items that name
    // them (their actions, what supersedes them) and the creating events of what those name.
    // Opening then costs those histories, not the log. Such a scoped engine answers Show,
    // ShowAction, KindOf and ListActions for the items given, as a whole engine would, and Apply
    // records events on them (its transaction reads them afresh when another process wrote
    // meanwhile), checked as a whole engine checks them, provided every recommendation, action or
    // inspection a field names is in the scope too. It defines nothing, takes no evidence files,
    // and Refresh and Rebuild do nothing or are refused; questions about the whole world (List,
    // Annex, Progress, Feed, ...) are not for it. The events after the index's last one are
    // read from the log; when they are more than 10 index batches (a database not yet indexed
    // since the upgrade), or the index covers more than the log, it reads the whole log instead
    // and is a whole engine.
    std::vector<std::string> scope = {};
    // Opens the database for reading only (storage::Database::OpenMode::kReadOnly): for a
    // process that may not write the file or its directory (a backup on a read-only disk).
    // Nothing is written, not even the item index or heads that reading would bring up to date
    // (as with index_if_behind false), and Apply fails. REQUIRES: the database exists.
    bool read_only = false;
    // Whether opening brings an item index that does not cover the log up to it (a write of
    // its own). VerifyDatabase opens without, so that checking writes nothing and can report it.
    bool index_if_behind = true;
    // How many events the item index may lag the log: a write indexes the events since the
    // last indexed one once there are this many. Rows for many events written at once share the
    // index's pages; readers read the events after it from the log. 1 indexes every write.
    int64_t index_batch = 1000;
    // How many events the item heads may lag the log: once there are this many, the write that
    // indexes a batch also works out the heads of the items they concern. A head is a row per
    // item, rewritten whole, so heads written with every index batch would rewrite most of the
    // table's pages a thousand events at a time (a third off the writes at 64 connections);
    // lists read the recommendations changed since from their histories.
    int64_t heads_batch = 10000;
    // Opened for ListFromHeads: reads every body and unit and nothing else (unless the item
    // index lags the log by more than a scoped engine reads from the log: then the whole log).
    // Such an engine answers HasBody, Bodies, Authenticate, ListFromHeads and VisitList (from
    // the heads, Unavailable when they cannot answer), and nothing else: Verify and Apply are
    // refused, and Refresh forgets the tokens it has seen once the database changed, and is
    // Unavailable from when a body or unit was defined since it read them. It
    // writes only what any engine that reads the whole log writes (with index_if_behind): the
    // index and heads, when it falls back to it.
    bool heads_only = false;
    // How many rows of the item heads such an engine's VisitList reads at most, those its
    // filters skip too (a server that lists while it starts answers between): beyond them the
    // visit is Unavailable.
    size_t most_rows_visited = 10000;
    // How much work the engine shares with a second thread, counted in events for one and in
    // items for the other: a catch-up (the first: opening) this many events behind the log reads
    // the rows on a thread of its own while this one replays them (engine/read_ahead.h), and
    // the alerts' first pass (StartAlerts) over this many items or more splits each of its turns
    // between two threads. Less
    // costs less on one thread than a thread costs. 1 (or less) uses two threads whenever it
    // can, as some tests do; a very large number never does.
    int64_t two_threads_from = 20000;
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
  // Apply for one large batch in a process that writes nothing else meanwhile and lets no
  // reader in while it commits (the CLI's import): the same checks, the same all or nothing, but
  // the commands are taken, not copied, and dropped as their events are made, and the events are
  // applied to the world in memory once, in place, keeping no way to undo them. (Apply validates on
  // a savepoint, rolls back and applies again once durable, so that readers never see an
  // uncommitted event.) If the batch fails, the engine reads the whole log again before it returns,
  // so that it answers as before. REQUIRES: an engine that read the whole log (opened without scope
  // or heads_only).
  Result<ApplyReport> ApplyInPlace(std::vector<Command> commands, const std::string& actor);
  // Group commit: applies each batch all or nothing, as Apply would one after another, but
  // writes every batch that succeeds in one transaction (one fsync for all of them). A batch
  // that fails affects no other; results[i] is batch i's report or error.
  std::vector<Result<ApplyReport>> ApplyAll(std::vector<WriteBatch> batches);

  // Catches up with events other processes committed since this Engine last looked (cheap when
  // there are none: one PRAGMA data_version). Long-running servers call it before each request.
  // Does nothing while a group is prepared: no other process can commit then, and what they
  // committed before, PrepareAll caught up with.
  Status Refresh();

  // The recommendations `query` asks for, in list order (issue date, id), as a list shows them:
  // heads, with empty timelines (Show gives an item's timeline), so that a list of 100,000
  // copies no histories. An error, and no list, when a history it needs cannot be read back
  // (KeepHistoriesOut, and an item index damaged or unreadable): it leaves nothing out.
  Result<std::vector<RecommendationView>> List(const ListQuery& query) const;
  // The recommendations List would give, one at a time, in list order, until `visit` returns
  // false: each view is made as it is visited and gone after, so a page of a long list, or a
  // count over it, holds one head at a time and makes only the heads it visits. An error as
  // List's ends the visit (after the views visited before it). An engine opened heads_only
  // (while `serve` reads the log, EngineHost) visits the list from the item heads, a page at a
  // time, as ListFromHeads would give it, and is Unavailable when they cannot answer it.
  Status VisitList(const ListQuery& query,
                   const std::function<bool(const RecommendationView&)>& visit) const;
  // List, read from the item heads (storage/item_heads.h) by an engine opened heads_only: a
  // recommendation's head stands for its view as at any date on or after its last change, so
  // only the recommendations changed after that date, or since the heads were written, are read
  // whole (from the item index). With a limit, the heads are read only as far as the list goes
  // (from the place `after` names, when it names one).
  // Costs then the rows read, not the log. The same answer as List, which it is for a whole
  // engine, or when the heads are not current (then the whole log is read, and the heads are
  // worked out from it, in a write of its own, for the next list).
  Result<std::vector<RecommendationView>> ListFromHeads(const ListQuery& query);
  // Annex, read from the item heads as ListFromHeads reads a list: the body's recommendations
  // open at the date, or changed in its financial year, from their heads (which keep the turns
  // the annex is made from; one changed after the date is taken back to it from them, annex.h:
  // TakeBack) and the inspections they name.
  Result<AnnexReport> AnnexFromHeads(const std::string& body, std::optional<Date> as_of);
  // Whether this engine reads lists from the item heads: opened heads_only, and no read of the
  // whole log since (a fallback of Open or ListFromHeads).
  bool reads_heads() const { return heads_only_; }
  // Whether the item heads can answer lists at all: worked out under this engine's workflows,
  // and no further behind the log than a list reads histories for.
  Result<bool> HeadsAreCurrent() const;
  // Every body's work, and its units' (work_tally.h), as at `day`, a milestone due within
  // `within` days of it counting as due soon: what the dashboard and the metrics show. From the
  // counts the ledger keeps as items change, so it costs the bodies, units and due days, not the
  // items; when an event is effective after `day` (a date in the past asked about), from a walk
  // over every item as at `day`, with an error as List's. FailedPrecondition for an engine that
  // did not read the whole log.
  Result<std::map<WorkOwner, WorkCounts>> CountWork(Date day, int within) const;
  Result<RecommendationView> Show(const std::string& id, std::optional<Date> as_of,
                                  Detail detail = Detail::kFull) const;
  // What `id` names: a recommendation, an action, or (nullopt) neither.
  std::optional<SubjectKind> KindOf(const std::string& id) const;
  // Actions, ordered by recommendation, then due date (undated last), then id (ActionPlace);
  // an error as List's.
  Result<std::vector<RecommendationView>> ListActions(const ActionQuery& query) const;
  // The actions ListActions would give, one at a time, in that order, until `visit` returns
  // false. It walks the recommendations that have actions from the place `query.after` names,
  // making the views of one recommendation's actions at a time: a page costs the actions it
  // passes, not every item. An error as List's ends the visit.
  Status VisitActions(const ActionQuery& query,
                      const std::function<bool(const RecommendationView&)>& visit) const;
  Result<RecommendationView> ShowAction(const std::string& id, std::optional<Date> as_of,
                                        Detail detail = Detail::kFull) const;
  // The timeline entry of event `seq` of recommendation or action `id` (its from and to states as
  // the whole history has them), or nullopt. Cheap for the newest events.
  std::optional<TimelineEntry> Recorded(const std::string& id, int64_t seq) const;
  // NotFound for an unknown body.
  Result<ProgressReport> Progress(const std::string& body, std::optional<Date> as_of) const;
  // The two tables of Annex A for `body` at `as_of` (default today); NotFound for an unknown body.
  Result<AnnexReport> Annex(const std::string& body, std::optional<Date> as_of) const;
  // Walks the hash chain of the whole log, checks the item index against the log, then checks
  // every evidence file an event names: kept, and hashing to its name. Corruption names the first
  // bad event, or the file that is missing or was altered and the event that names it.
  Result<VerifyResult> Verify();
  // The events that name the evidence file `sha256` ("": every file), in log order (none: no
  // such file), of the items `wanted` takes (every item when it is empty). Costs the events
  // that name it; for "", a walk over the log in memory. Corruption or IOError naming the item
  // when a wanted item's history cannot be read back (histories out of memory): an item left
  // out would make the file look unused, or its check skipped.
  using ItemFilter = std::function<bool(const std::string& id, SubjectKind kind)>;
  Result<std::vector<EvidenceUse>> EvidenceUses(const std::string& sha256,
                                                const ItemFilter& wanted = {}) const;
  // The bytes of the evidence file `sha256`; NotFound when none are kept. Says nothing of who
  // may read them: see EvidenceVisible (access.h).
  Result<std::string> EvidenceContent(const std::string& sha256) const;
  // Checks a database without trusting it: walks the hash chain first (so an edited row is
  // named as such, even one that would also break replay), then opens it, which replays every
  // event through the workflow. Never creates a database.
  static Result<VerifyResult> VerifyDatabase(const Options& options);
  // Keeps the items' histories out of memory from now on, as a long-running server wants
  // (`serve`, once its alerts are started: their first pass reads every history): an item
  // holds its head and creating event, and its other events are read back from the item index
  // and the log when a question needs them (an as-of date before its last change, its
  // timeline, a back-dated write), the latest kept in a cache of about `cache_bytes`. Histories
  // are let go once the index and the heads cover them, now and after each write or catch-up
  // that indexes a batch; with alerts started, not before the first pass (StartAlerts) has
  // looked at every item and the alerts it found due have been raised. The answers are the
  // same. FailedPrecondition for an engine that did not read the whole log.
  //
  // With `turn`, the items' histories held now are let go `turn` items at a time: one turn
  // now, one at each LetHistoriesGo, and one after each write or catch-up as above, so that a
  // server answers between turns (without, all at once).
  Status KeepHistoriesOut(size_t cache_bytes, size_t turn = std::numeric_limits<size_t>::max());
  // The next turn of KeepHistoriesOut's: true once every item's history has been looked at
  // (then and after, a turn does nothing). FailedPrecondition before KeepHistoriesOut.
  Result<bool> LetHistoriesGo();
  // Hands the whole free pages inside malloc's heap back to the system (free() keeps them):
  // after histories were let go in turns, once, and without the engine's lock, as it walks the
  // whole heap.
  static void ReturnFreeMemory();
  // How many histories KeepHistoriesOut's engine has read back so far.
  int64_t histories_read_back() const;
  // About how many items' histories KeepHistoriesOut has still to look at (0 once it has
  // looked at every item, and while histories are held).
  size_t histories_left_to_look_at() const;
  // Rebuilds the item index (storage/item_index.h) and the item heads (storage/item_heads.h)
  // from the log, in one transaction: a crash leaves the old ones. Returns how many index rows
  // there are.
  Result<int64_t> Rebuild();

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
  // Whether `role`, `body` and `unit` make a scope a token or an account (`what`) may have: a
  // workflow role; a body (a known one) exactly when the role acts for an owner or is narrowed
  // to one; a unit only of that body, for a role that acts for an owner. InvalidArgument or
  // NotFound saying what is wrong.
  Status CheckScope(const std::string& what, const std::string& role, const std::string& body,
                    const std::string& unit) const;
  Result<std::vector<storage::TokenRecord>> Tokens();
  // Unauthenticated for an unknown, revoked or expired secret (one message for all three).
  // `secret_hash` is storage::Sha256Hex(secret) when the caller has it (a server hashes before
  // taking its lock); empty, it is computed here.
  Result<Principal> Authenticate(const std::string& secret, std::string secret_hash = "") const;
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
  // Costs the events looked at, not the log: newest first from the end of the log. An error as
  // List's when an event's history cannot be read back.
  Result<std::vector<FeedEntry>> Feed(const Principal& principal, const std::string& body,
                                      int64_t after_seq, size_t limit) const;
  // The same events oldest first, for paging forward through the log (a live stream resuming):
  // at most `limit` of them, and `scanned_to`, the seq up to which the log was looked at (events
  // `principal` may not see included), so the next page starts after it. Looks at no more than
  // 4 * limit + 64 events per call, so a page costs the same however few of them are visible.
  struct FeedPage {
    std::vector<FeedEntry> entries;
    int64_t scanned_to = 0;
    bool more = false;  // events after scanned_to remain
  };
  // `known(seq)` true: the caller has that event already (a live stream's shared frames), so
  // its entry comes with only event.seq set, saving the copy of its texts.
  Result<FeedPage> FeedAfter(const Principal& principal, const std::string& body, int64_t after_seq,
                             size_t limit,
                             const std::function<bool(int64_t)>& known = nullptr) const;

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
  // What the loaded rules name that this database does not hold, each "file:line:col: ..."
  // and what follows: an alert addressed to a body there is not (a typo, `to: [everyone]`)
  // reaches no one, and a subscription for one, or for a unit that is not its body's, gets
  // nothing. The rules still load (the body may be imported later); `serve` and `rectrack
  // rules` say these. Empty when every name is held, or no rules are loaded.
  std::vector<std::string> RulesNamingWhatIsNotHeld() const;
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
  // it to be looked at again. FailedPrecondition without rules. With a first_pass_turn smaller
  // than the items, the queue is built in turns (alert_days_known says when it is whole).
  Status StartAlerts(const AlertOptions& options);
  // Raises, in one write transaction, the alerts of the recommendations queued for today or
  // before (at most AlertOptions::raise_batch of them; NextAlertDay is then still today, and the
  // next call goes on), and once none is left, advances the watermark. Returns the new alerts
  // in the order raised. Looks at nothing else: an idle call costs one heap peek. An error (a
  // history that cannot be read back, a failed write) raises nothing and leaves every queued
  // recommendation due, to try again. While StartAlerts' first pass is not done, a call looks
  // at its next turn of items instead and raises nothing (nor moves the watermark): an item not
  // yet looked at may have an alert due.
  Result<std::vector<storage::AlertRecord>> RaiseDueAlerts();
  // Whether the first pass has looked at every item (true before StartAlerts: nothing to do).
  bool alert_days_known() const { return !alert_pass_from_; }
  // Whether KeepHistoriesOut's histories are held for the alerts still: from StartAlerts until
  // the first pass is done and the alerts it found due are raised (or a raise fails).
  bool alerts_hold_histories() const { return alerts_hold_histories_; }
  // About how many items the first pass has still to look at (0 once it has looked at all).
  size_t alert_days_left_to_work_out() const;
  // The day RaiseDueAlerts next has work: today when changes are waiting or the first pass is
  // under way, nullopt when nothing is queued (or alerts were not started).
  std::optional<Date> NextAlertDay();
  // Prepares, ahead of time, the alerts RaiseDueAlerts will raise on `day` (the queue's next
  // day), so that at the start of that day it only has to write them: the scheduler calls it
  // shortly before. Staged alerts carry the start of `day` as their raise time. A recommendation
  // that changes in between is not taken from the stage but looked at afresh when raised.
  // Nothing is written; calling it again for the same day does nothing, and so does a call
  // while the first pass is under way.
  Status StageAlerts(Date day);
  std::optional<Date> staged_day() const;
  size_t QueuedRecommendations() const;
  // The seq of the newest alert in the outbox (0 for none), as this Engine last saw it.
  int64_t last_alert_seq() const { return last_alert_seq_; }
  // Alerts in the outbox matching `filter`, as `rectrack alerts` and GET /api/v1/alerts list them.
  Result<std::vector<storage::AlertRecord>> ListAlerts(const storage::AlertFilter& filter) const;
  // One alert with its deliveries and each delivery's attempts; NotFound for an unknown id.
  Result<AlertDetail> FindAlert(const std::string& id) const;
  // "pending", "delivered", "failed" or "unsubscribed": how an alert's deliveries went.
  Result<std::string> AlertState(const std::string& id) const;
  // The outbox itself, for tests and benchmarks that inspect or seed it. Adapters use the three
  // methods above. REQUIRES: the Engine outlives its use.
  storage::AlertStore& alert_store() { return *alert_store_; }
  // Where an alert about `id` links to: the recommendation's or the action's API resource.
  std::string alert_link(const std::string& id,
                         SubjectKind kind = SubjectKind::kRecommendation) const;

 private:
  friend class EngineHost;       // drives the group commit through the three steps below
  friend struct EngineTestPeer;  // tests/engine_test.cpp tests the three steps themselves

  // ApplyAll in three steps, so that EngineHost can let readers in while a group's commit
  // becomes durable. PrepareAll does everything ApplyAll does up to the commit (the rows are
  // written in an open transaction), leaving the world as queries see it unchanged. CommitPrepared
  // makes the rows durable; it touches only that transaction, so the queries and Refresh (which
  // does nothing meanwhile) may be called from other threads while it runs, but nothing that writes
  // or begins a transaction. FinishPrepared (with CommitPrepared's status) then shows the events
  // to queries and returns each batch's result. REQUIRES: the three in this order, for one
  // group at a time; while a group is prepared, nothing else but queries and Refresh.
  struct PreparedGroup;
  struct PreparedGroupDeleter {
    void operator()(PreparedGroup* group) const;
  };
  using Prepared = std::unique_ptr<PreparedGroup, PreparedGroupDeleter>;
  // In place, PrepareAll takes each command's memory once its event is made.
  Prepared PrepareAll(std::vector<WriteBatch>& batches);
  Status CommitPrepared(PreparedGroup& group);
  std::vector<Result<ApplyReport>> FinishPrepared(Prepared group, Status committed);
  // Forgets the world in memory and replays the whole log again.
  Status ReplayAgain();
  // KeepHistoriesOut's reading back: the events of item `id` of `kind` from the item index and
  // the log, those this engine has taken in (to last_seq_).
  Result<std::vector<Event>> ReadHistory(const std::string& id, SubjectKind kind);
  // Lets go of the histories the item index and the heads cover, when the log has grown by an
  // index batch since the last look (or `now`). REQUIRES: nothing to undo in the ledger.
  Status DropHistoriesIfDue(bool now = false);
  size_t history_cache_bytes_ = 0;    // KeepHistoriesOut's; 0 while histories are held
  size_t history_turn_ = 0;           // KeepHistoriesOut's
  int64_t histories_dropped_at_ = 0;  // last_seq_ at the last look

  Engine(Workflow workflow, std::optional<Workflow> action_workflow, const Clock* clock);
  Status CatchUp();  // replays events other processes appended since we last looked
  // Events just appended, in seq order: into a PreparedGroup's own events, or, for the items'
  // events of a batch applied in place, into the ledger's items, which hold them.
  using Appended = std::vector<const Event*>;
  // --- The item index (item_index.cpp). The rows for `event` as the whole ledger names them
  // (it concerns its own subject, and every item created before it that it names): what
  // CheckIndex compares the index with, computed apart from TailRows, which writes it.
  std::vector<storage::IndexRow> IndexRowsOf(const Event& event) const;
  // The index rows of the log's events after `through` up to `to_seq`, from the log and the
  // index alone (no ledger), sorted; with `decoded`, the events too.
  Result<std::vector<storage::IndexRow>> TailRows(int64_t through, int64_t to_seq,
                                                  std::map<int64_t, Event>* decoded) const;
  // TailRows, given to `part` a part at a time (each sorted, no row in two parts), with the
  // events just appended (`appended`: in seq order, the last at `to_seq`) indexed from memory
  // rather than read back from the log, when the ledger is whole: there IndexRowsOf gives the
  // same rows (CheckIndex compares them). Without `appended`, TailRows in one part. The rows of
  // an import's 300,000 events need not be held at once.
  using RowsPart = std::function<Status(const std::vector<storage::IndexRow>&)>;
  Status RowsSince(int64_t through, int64_t to_seq, const Appended* appended, const RowsPart& part);
  // Brings the index to cover events through `to_seq`, from the log (and `appended`, as
  // RowsSince). REQUIRES: in a write transaction.
  Status CatchUpIndex(int64_t to_seq, const Appended* appended = nullptr);
  // After `events` were appended (non-empty, in seq order): indexes the events since the last
  // indexed one when there are Options::index_batch of them. REQUIRES: as CatchUpIndex.
  Status IndexAppended(const Appended& events);
  // Indexes the log's events the index does not cover yet, in a write transaction of its own,
  // when they are Options::index_batch or more (or the index is ahead of the log).
  Status IndexIfBehind();
  // Corruption naming the first row where the index differs from the log. REQUIRES: in a
  // transaction, the ledger caught up with the log.
  // Returns how many rows it has.
  Result<int64_t> CheckIndex();
  // Fills the ledger with what Options::scope needs; true when it read only that, false when the
  // index did not cover the log (then it read the whole log). REQUIRES: in a read transaction,
  // the ledger empty.
  Result<bool> LoadScope(const std::vector<std::string>& ids);
  // LoadScope's reading, into `ledger`: what the views of `ids` need, and the inspections
  // `also_inspections` names (with `every_inspection`, every inspection in the index and the
  // log after it), from the index (which covers events to `through`) and the log after it (to
  // `last`).
  Status ReadItems(const std::vector<std::string>& ids,
                   const std::set<std::string>& also_inspections, int64_t through, int64_t last,
                   Ledger& ledger, bool every_inspection = false) const;
  // --- The item heads (item_heads.cpp). The workflows' digests: the heads' basis.
  std::string HeadsBasis() const;
  // Annex, for an engine that keeps histories out: each of the body's recommendations from its
  // heads' row (its turns, taken back to the date when it changed since) when that row is its
  // head as the ledger has it (the same newest event), otherwise from its history. A
  // recommendation's Annex A rows then cost its row, not a history read back. Nullopt when the
  // heads are of another basis or cannot be read: they are derived, so the histories answer.
  Result<std::optional<AnnexReport>> AnnexFromHeadRows(const std::string& body, Date as_of) const;
  // After the index was brought to `to_seq`: brings the heads there too when they lag it by
  // Options::heads_batch events or more, for the items those events concern; all of them when
  // the heads were not current (only a whole engine can: a scoped one leaves them for the
  // next). REQUIRES: in a write transaction.
  Status CatchUpHeads(int64_t to_seq, const Appended* appended = nullptr);
  // The longest tail of events after the heads' last one that a list reads histories for,
  // rather than the whole log.
  int64_t LongestHeadsTail() const;
  // Corruption naming the first item whose stored head differs from the log's; returns how
  // many were checked (nullopt: not current, not read). REQUIRES: as CheckIndex.
  Result<std::optional<int64_t>> CheckHeads();
  // What ViewsFromHeads reads: the recommendations issued by `as_of` (of `body`, unless ""),
  // as at that date. Those whose head stands for that date are decoded if `row_wanted` (on the
  // row's columns, with whether its state is open), up to `limit` of them (0: all); the others
  // are read whole (and are not filtered), or taken back to the date (`take_back`). With `turns`,
  // the views' timelines hold their turns at least (annex.h); otherwise they are empty. `also_read`
  // names, for a view from its head, the inspections to read beside (its own, and those its turns
  // name).
  struct HeadsQuery {
    Date as_of;
    std::string body;
    std::function<bool(const storage::HeadRow&, bool open)> row_wanted;
    // Only rows after this place in list order (issue date as ISO text, then id).
    std::optional<std::pair<std::string, std::string>> after;
    size_t limit = 0;
    // At most this many rows read (those the filters pass or not; 0: no bound): beyond it,
    // Unavailable, so that a list that filters out nearly everything is not a scan of every
    // row. FromHeads::rows_read says how many were.
    size_t most_rows = 0;
    bool turns = false;
    std::function<void(const RecommendationView&, std::set<std::string>&)> also_read;
    // When set, a row changed after the as-at date is not read whole: its head (decoded with
    // its turns) is made a view as at that date by `take_back` (annex.h: TakeBack), and its
    // row is not filtered by `row_wanted` (its columns are of a later date).
    std::function<void(RecommendationView&)> take_back;
    // When set, the views are handed here rather than kept in FromHeads::views, each with a
    // ledger holding the bodies, units and inspections they name: held until they name more
    // inspections than are looked up one by one (kInspectionsLookedUp) or number kViewsHeld,
    // then, every inspection read, handed out as they are made, so that a long answer (Annex
    // A) holds one view at a time. REQUIRES: take_back set (so that no row handed out has to
    // be read again whole; FailedPrecondition otherwise).
    std::function<Status(const Ledger& lookups, RecommendationView& view)> visit;
  };
  // ReadItems looks up this many inspections one by one; more, it reads them in one pass.
  static constexpr size_t kInspectionsLookedUp = 256;
  // HeadsQuery::visit holds at most this many views before it reads every inspection.
  static constexpr size_t kViewsHeld = 4096;
  struct FromHeads {
    std::vector<RecommendationView> views;  // in no particular order; none with `visit`
    std::unique_ptr<Ledger> read;  // what was read whole, bodies, inspections; null if nothing
    size_t rows_read = 0;
  };
  // nullopt when the heads cannot answer (not current, far behind the log, or the query needs
  // more histories than reading the whole log costs): the caller reads the whole log
  // (ReadWholeLog) and answers as a whole engine, or says why it cannot.
  Result<std::optional<FromHeads>> ViewsFromHeads(const HeadsQuery& query) const;
  // For an engine opened heads_only whose heads could not answer: reads the whole log (this
  // engine is unchanged if that fails) and is a whole engine from then on; then works the
  // heads out (a write of its own, as any engine that reads the whole log does), so that the
  // next query reads them.
  Status ReadWholeLog();
  // Where the heads, the item index and the log end, when the heads can answer lists
  // (HeadsAreCurrent); nullopt when they cannot. REQUIRES: in a read transaction, for the three
  // to agree.
  struct HeadsPlace {
    int64_t heads_through = 0, index_through = 0, last = 0;
  };
  Result<std::optional<HeadsPlace>> CurrentHeads() const;
  // ListFromHeads' answer, or nullopt when the heads cannot give it (ViewsFromHeads); reading
  // at most `most_rows` rows (HeadsQuery::most_rows), and saying in `*rows_read` how many.
  Result<std::optional<std::vector<RecommendationView>>> ListedFromHeads(
      const ListQuery& q, size_t most_rows = 0, size_t* rows_read = nullptr) const;
  // VisitList for an engine opened heads_only: it reads at most Options::most_rows_visited
  // rows of the heads.
  size_t most_rows_visited_ = 10000;
  Status VisitHeads(const ListQuery& q,
                    const std::function<bool(const RecommendationView&)>& visit) const;
  bool heads_only_ = false;  // Options::heads_only, while nothing more was read
  // A heads_only engine's Refresh found a body or unit defined after it read them.
  bool bodies_defined_since_ = false;
  // Whether the ledger holds the whole log (not opened with a scope, nor for lists only).
  bool HoldsWholeLog() const { return scope_.empty() && !heads_only_; }
  bool index_if_behind_ = true;  // Options::index_if_behind
  // FailedPrecondition when this engine is scoped and `id` is not in its scope.
  Status ScopeCovers(const std::string& id) const;
  // FailedPrecondition unless every command of `batches` is one a scoped engine can check as a
  // whole engine would: an event, without evidence files (whose daily quota counts the whole
  // log), on an item in scope. OK for a whole engine.
  Status ScopeTakes(const std::vector<WriteBatch>& batches) const;
  // Reads the scope afresh when another process has written since it was read. REQUIRES: in
  // the write transaction, so that what is read stays true until the commit.
  Status ReloadScopeIfChanged();
  std::set<std::string> scope_;       // Options::scope; empty for a whole engine
  int64_t index_batch_ = 1000;        // Options::index_batch
  int64_t heads_batch_ = 10000;       // Options::heads_batch
  int64_t two_threads_from_ = 20000;  // Options::two_threads_from
  Status CatchUpIfChanged();  // Refresh's question to SQLite: PRAGMA data_version, then CatchUp
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
  // StorageFull when `event`'s evidence files would take what its actor attached on its recorded
  // day (UTC) past TextLimits::evidence.per_actor_per_day: what one token or account can make
  // the server store is bounded.
  Status CheckEvidenceQuota(const Event& event) const;
  // Keeps the evidence files of the successful batches, or of one command, inside PrepareAll's
  // transaction.
  Status KeepEvidence(const std::vector<WriteBatch>& batches,
                      const std::vector<Result<ApplyReport>>& results);
  Status KeepEvidence(const Command& command);

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
  // StartAlerts' first pass: the id it goes on from (nullopt: done), how many items it has
  // looked at, and the watermark it works from (read once, at the start: nothing is raised,
  // so the watermark does not move, until the pass is done).
  std::optional<std::string> alert_pass_from_;
  size_t alert_pass_looked_ = 0;
  // From StartAlerts until a RaiseDueAlerts finds nothing left due today (the first pass done,
  // every alert it found due raised), or fails: histories are let go only then, as the pass and
  // the first raise read the whole histories of the items they look at.
  bool alerts_hold_histories_ = false;
  std::optional<Date> alert_pass_watermark_;
  // The first pass's next turn: the next AlertOptions::first_pass_turn items' next alert days,
  // on two threads when the items are two_threads_from_ or more.
  void WorkOutAlertDays();
  TextLimits text_limits_;
  int64_t last_alert_seq_ = 0;
  int64_t last_seq_ = 0;
  bool prepared_ = false;  // a group is between PrepareAll and FinishPrepared
  // ApplyInPlace's group (one batch): applied once, without undo records, its items' events
  // kept by the ledger alone.
  bool in_place_ = false;
  int64_t data_version_ = -1;
  std::optional<storage::Statement> data_version_stmt_;
  // Lets Refresh skip asking SQLite when no commit can have happened (null: always ask).
  std::unique_ptr<storage::WalWatch> wal_watch_;
  // Token lookups by SHA-256 of the secret (nullopt: no such token); cleared when the database
  // changes under us or a token is revoked here.
  mutable std::map<std::string, std::optional<storage::TokenRecord>> known_tokens_;
};

}  // namespace rectrack
