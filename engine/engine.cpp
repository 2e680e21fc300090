#include "engine/engine.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "engine/alert_queue.h"
#include "engine/annex.h"
#include "engine/event_codec.h"
#include "engine/ledger.h"
#include "engine/read_ahead.h"
#include "storage/database.h"
#include "storage/event_store.h"
#include "storage/evidence_store.h"
#include "storage/item_index.h"
#include "storage/wal_watch.h"

namespace rectrack {
namespace {

// Names an event's stored kind in the log's verification messages.
std::string NameKind(int kind) { return SubjectKindName(kind); }

}  // namespace

std::string DefaultActionWorkflowPath(const std::string& workflow_path) {
  std::error_code ec;
  const auto beside = std::filesystem::path(workflow_path).parent_path() / "action.yaml";
  return std::filesystem::exists(beside, ec) ? beside.string() : "";
}

Engine::Engine(Workflow workflow, std::optional<Workflow> action_workflow, const Clock* clock)
    : workflow_(std::move(workflow)),
      action_workflow_(std::move(action_workflow)),
      clock_(clock),
      ledger_(new Ledger(&workflow_, action_workflow_ ? &*action_workflow_ : nullptr)) {}

namespace {

// The action workflow shares the recommendation workflow's roles: a token carries one role for
// both, so each role must mean the same in both files.
Status CheckActionRoles(const Workflow& recommendations, const Workflow& actions) {
  for (const RoleSpec& role : actions.roles()) {
    const RoleSpec* same = recommendations.FindRole(role.name);
    if (!same) {
      return Status::InvalidArgument(actions.source() + ": role '" + role.name +
                                     "' is not a role of " + recommendations.source());
    }
    if (same->acts_for_owner != role.acts_for_owner) {
      return Status::InvalidArgument(actions.source() + ": role '" + role.name +
                                     "' must act for the owner here exactly when it does in " +
                                     recommendations.source());
    }
  }
  return Status();
}

}  // namespace

Engine::~Engine() = default;

Result<Workflows> LoadWorkflows(const std::string& path, const std::string& action_path_given) {
  ASSIGN_OR_RETURN(Workflow workflow, Workflow::LoadFile(path));
  if (workflow.subject() != "recommendation") {
    return Status::InvalidArgument(path + ": expected a workflow whose subject is recommendation");
  }
  std::optional<Workflow> action_workflow;
  const std::string action_path =
      action_path_given.empty() ? DefaultActionWorkflowPath(path) : action_path_given;
  if (!action_path.empty()) {
    ASSIGN_OR_RETURN(action_workflow, Workflow::LoadFile(action_path));
    if (action_workflow->subject() != "action") {
      return Status::InvalidArgument(action_path + ": expected a workflow whose subject is action");
    }
    RETURN_IF_ERROR(CheckActionRoles(workflow, *action_workflow));
  }
  return Workflows{std::move(workflow), std::move(action_workflow)};
}

Result<std::unique_ptr<Engine>> Engine::Open(const Options& options) {
  if (!options.clock) return Status::InvalidArgument("Engine::Open needs a clock");
  ASSIGN_OR_RETURN(Workflows workflows,
                   LoadWorkflows(options.workflow_path, options.action_workflow_path));
  std::unique_ptr<Engine> engine(
      new Engine(std::move(workflows.recommendation), std::move(workflows.action), options.clock));
  engine->text_limits_ = options.text_limits;
  engine->index_batch_ = std::max<int64_t>(options.index_batch, 1);
  engine->heads_batch_ = std::max<int64_t>(options.heads_batch, 1);
  engine->two_threads_from_ = std::max<int64_t>(options.two_threads_from, 1);
  engine->index_if_behind_ = options.index_if_behind && !options.read_only;
  engine->most_rows_visited_ = std::max<size_t>(options.most_rows_visited, 1);
  if (!options.rules_dir.empty()) {
    ASSIGN_OR_RETURN(engine->rules_,
                     Rules::LoadDir(options.rules_dir, engine->workflow_, engine->action_workflow(),
                                    options.resolve_secrets));
  }
  ASSIGN_OR_RETURN(
      engine->db_,
      storage::Database::Open(
          options.db_path, options.read_only           ? storage::Database::OpenMode::kReadOnly
                           : options.create_if_missing ? storage::Database::OpenMode::kCreate
                                                       : storage::Database::OpenMode::kExisting));
  engine->store_ = std::make_unique<storage::EventStore>(engine->db_.get(), NameKind);
  engine->tokens_ = std::make_unique<storage::TokenStore>(engine->db_.get());
  engine->alert_store_ = std::make_unique<storage::AlertStore>(engine->db_.get());
  {
    storage::AlertFilter newest;
    newest.newest_first = true;
    newest.limit = 1;
    ASSIGN_OR_RETURN(auto alerts, engine->alert_store_->List(newest));
    if (!alerts.empty()) engine->last_alert_seq_ = alerts.front().seq;
  }
  ASSIGN_OR_RETURN(auto tx,
                   storage::Transaction::Begin(*engine->db_, storage::Transaction::Mode::kRead));
  if (!options.scope.empty() || options.heads_only) {
    ASSIGN_OR_RETURN(const bool partial, engine->LoadScope(options.scope));
    RETURN_IF_ERROR(tx.Commit());
    engine->heads_only_ = partial && options.heads_only;
    if (partial) return engine;
    // The index did not cover the log, so the whole log was read: index it now, once. The
    // engine is then a whole one, and watches for other processes' commits as one does.
    if (engine->index_if_behind_) RETURN_IF_ERROR(engine->IndexIfBehind());
    if (!options.read_only) engine->wal_watch_ = storage::WalWatch::Open(*engine->db_);
    return engine;
  }
  RETURN_IF_ERROR(engine->CatchUp());
  RETURN_IF_ERROR(tx.Commit());
  if (engine->index_if_behind_) RETURN_IF_ERROR(engine->IndexIfBehind());
  // (Read only, there is nothing to watch for: mapping the WAL-index would make a -shm file.)
  if (!options.read_only) engine->wal_watch_ = storage::WalWatch::Open(*engine->db_);
  return engine;
}

Status Engine::SetAutoCheckpoint(int pages) { return db_->SetAutoCheckpoint(pages); }

// SQLite's count of other connections' commits to this database (PRAGMA data_version).
static Result<int64_t> DataVersion(storage::Database& db, std::optional<storage::Statement>* stmt) {
  if (!*stmt) {
    ASSIGN_OR_RETURN(*stmt, db.Prepare("PRAGMA data_version"));
  }
  (*stmt)->Reset();
  ASSIGN_OR_RETURN(bool has_row, (*stmt)->Step());
  const int64_t version = has_row ? (*stmt)->ColumnInt(0) : -1;
  (*stmt)->Reset();
  return version;
}

Status Engine::Refresh() {
  if (heads_only_) {
    // Its lists read the heads afresh each time; what it remembers is the tokens it has seen
    // (one revoked since must stop working), and the bodies and units it read when it opened.
    ASSIGN_OR_RETURN(const int64_t version, DataVersion(*db_, &data_version_stmt_));
    if (version != data_version_) {
      known_tokens_.clear();
      RETURN_IF_ERROR(store_->Scan(last_seq_, [&](const storage::EventRowView& row) -> Status {
        const auto kind = static_cast<SubjectKind>(row.kind);
        if (kind == SubjectKind::kBody || kind == SubjectKind::kUnit) bodies_defined_since_ = true;
        return Status();
      }));
      data_version_ = version;
    }
    // Answering with the bodies as they were would name one no more, or miss a new one.
    if (bodies_defined_since_) {
      return Status::Unavailable(
          "bodies or units were defined since this engine read them: its lists wait for an "
          "engine that reads the log");
    }
    return Status();
  }
  if (prepared_ || !HoldsWholeLog()) return Status();
  // No commit visible since the last look (most requests): nothing to ask SQLite. The copy is
  // taken before asking, so a commit that lands after it is seen next time.
  if (wal_watch_) {
    if (!wal_watch_->Changed()) return Status();
    wal_watch_->Mark();
  }
  Status refreshed = CatchUpIfChanged();
  if (!refreshed.ok() && wal_watch_) wal_watch_->Forget();  // ask SQLite again next time
  // Failing, it lets nothing go and fails no request: the next look tries again.
  if (refreshed.ok()) (void)DropHistoriesIfDue();
  return refreshed;
}

Status Engine::CatchUpIfChanged() {
  ASSIGN_OR_RETURN(const int64_t version, DataVersion(*db_, &data_version_stmt_));
  if (version == data_version_) return Status();
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
  RETURN_IF_ERROR(CatchUp());
  return tx.Commit();
}

namespace {

// The error of an event the ledger does not take: one that does not decode, or does not replay.
Status DoesNotReplay(int64_t seq, const std::string& subject, const std::string& workflow,
                     const Status& why) {
  return Status::Corruption("event " + std::to_string(seq) + " (" + subject +
                            ") does not replay through workflow " + workflow + ": " +
                            why.message());
}

}  // namespace

Status Engine::CatchUp() {
  // Another process committed since the last look: it may have revoked a token, so forget the
  // ones known. Looked at here, where every path takes in other commits (a refresh, and each
  // write, which catches up inside its own transaction): a write that took in another
  // process's events while keeping the tokens it knew would let a revoked token read them.
  // The version is read before the events, so that what is loaded is at least that new; events
  // that came in after it are from another commit too, and also clear the tokens.
  ASSIGN_OR_RETURN(const int64_t version, DataVersion(*db_, &data_version_stmt_));
  if (version != data_version_) known_tokens_.clear();
  // The ledger holds exactly the events through last_seq_: one that does not replay stops the
  // catch-up there, and is met again (and reported) by the next one. Rows are read one at a
  // time (or a batch ahead): holding the whole log's rows at once would double what a first
  // replay needs.
  // Replays event `seq` of `subject` (decoded, or why it does not decode), or says why not.
  auto take = [&](int64_t seq, std::string subject, Result<Event> event) -> Status {
    known_tokens_.clear();
    if (event.ok()) subject = event->subject_id;
    const bool item = event.ok() && IsItemKind(event->kind);
    Status added =
        event.ok() ? ledger_->Add(std::move(*event), Ledger::Undo::kSkip) : event.status();
    if (!added.ok()) return DoesNotReplay(seq, subject, workflow_.source(), added);
    last_seq_ = seq;
    if (item) NoteChanged(subject);
    return Status();
  };
  // Only a first read, or another connection's commits, can put this engine far behind the
  // log (its own writes are in the ledger once durable), so only then is the log's length asked
  // (not on every write's catch-up): a long way behind, the rows are read and decoded on
  // another thread (ReadAhead), if one can be started. Not while histories are kept out of
  // memory: adding an event to an item let go reads its history back on this thread, through
  // the same connection the other thread reads the log with (Database: one thread at a time).
  // A first read counts each item's work once, after its last event, not at each.
  std::optional<Ledger::WorkCountPause> counting_at_the_end;
  if (last_seq_ == 0) counting_at_the_end.emplace(ledger_.get());
  std::unique_ptr<ReadAhead> ahead;
  if ((last_seq_ == 0 || version != data_version_) && !ledger_->keeps_histories_out()) {
    if (const int64_t behind = store_->LastSeq() - last_seq_; behind >= two_threads_from_) {
      ledger_->ReserveEvents(static_cast<size_t>(behind));
      ahead = ReadAhead::Start(store_.get(), last_seq_);
    }
  }
  Status replayed;
  if (ahead) {
    std::vector<ReadAhead::Decoded> batch;
    while (replayed.ok() && ahead->Next(&batch)) {
      for (ReadAhead::Decoded& row : batch) {
        replayed = take(row.seq, std::move(row.subject_id), std::move(row.event));
        if (!replayed.ok()) break;
      }
    }
    if (replayed.ok()) replayed = ahead->status();
  } else {
    Status read = store_->Scan(last_seq_, [&](const storage::EventRowView& row) -> Status {
      Result<Event> event = DecodeEvent(row);
      std::string subject = event.ok() ? "" : std::string(row.subject_id);
      replayed = take(row.seq, std::move(subject), std::move(event));
      return replayed;
    });
    if (replayed.ok() && !read.ok()) replayed = read;
  }
  if (replayed.ok()) data_version_ = version;
  return replayed;
}

Result<std::vector<RecommendationView>> Engine::List(const ListQuery& q) const {
  std::vector<RecommendationView> out;
  RETURN_IF_ERROR(VisitList(q, [&](const RecommendationView& view) {
    out.push_back(view);
    return true;  // VisitList stops at the limit
  }));
  return out;
}

Status Engine::VisitList(const ListQuery& q,
                         const std::function<bool(const RecommendationView&)>& visit) const {
  if (heads_only_) return VisitHeads(q, visit);
  const Date as_of = q.as_of.value_or(clock_->Today());
  // The recommendations in list order from the place the query goes on from, until one issued
  // after the date: a page costs the recommendations it walks, not a sort of all of them.
  const auto& in_order = ledger_->recommendations_in_list_order();
  auto it = q.after ? in_order.upper_bound(ListOrder::Place(q.after->first, q.after->second))
                    : in_order.begin();
  size_t visited = 0;
  RecommendationView view;  // each visited in turn, in the room the one before left
  for (; it != in_order.end() && (*it)->issued() <= as_of; ++it) {
    const Item& item = **it;
    if (!q.body.empty()) {
      const auto& owners = item.def().owners;
      if (std::find(owners.begin(), owners.end(), q.body) == owners.end()) continue;
    }
    RETURN_IF_ERROR(ledger_->ProjectInto(item, as_of, Detail::kHead, &view));
    if (!q.state.empty() && view.state != q.state) continue;
    if (q.open && view.open != *q.open) continue;
    if (q.overdue_only && !view.overdue) continue;
    if (!visit(view) || (q.limit && ++visited == q.limit)) break;
  }
  return Status();
}

Result<std::map<WorkOwner, WorkCounts>> Engine::CountWork(Date day, int within) const {
  if (!HoldsWholeLog()) {
    return Status::FailedPrecondition("counting work needs an engine that read the whole log");
  }
  if (day >= ledger_->latest_effective() && ledger_->work_counted()) {
    return ledger_->work().CountAsAt(day, within);
  }
  // Some item changed after the day, so its head is not its view then (or the counts were not
  // kept: a first read that ended in an exception): count every item as projected as at the
  // day, with the same counting.
  WorkTally walked;
  auto count = [&](const RecommendationView& view) {
    walked.Count(view, view.open, +1);
    return true;
  };
  ListQuery recommendations;
  recommendations.as_of = day;
  RETURN_IF_ERROR(VisitList(recommendations, count));
  ActionQuery actions;
  actions.as_of = day;
  actions.detail = Detail::kHead;
  RETURN_IF_ERROR(VisitActions(actions, count));
  return walked.CountAsAt(day, within);
}

Result<RecommendationView> Engine::Show(const std::string& id, std::optional<Date> as_of,
                                        Detail detail) const {
  RETURN_IF_ERROR(ScopeCovers(id));
  const Item* item = ledger_->FindItem(id);
  if (!item || item->kind != SubjectKind::kRecommendation) {
    return Status::NotFound("no recommendation '" + id + "'");
  }
  return ledger_->Project(*item, as_of.value_or(clock_->Today()), detail);
}

namespace {

// The timeline entries one answer shows (a write's, a feed page's): an item's last event's
// without a replay, and its older ones from one replay of the item per answer, however many of
// its events the answer shows.
class AnswerTimelines {
 public:
  explicit AnswerTimelines(const Ledger& ledger) : ledger_(ledger) {}
  // Nullopt when the item has no event `seq`; an error when its history cannot be read back.
  Result<std::optional<TimelineEntry>> EntryOf(const Item& item, int64_t seq) {
    if (item.last_seq() == seq) {
      ASSIGN_OR_RETURN(TimelineEntry last, ledger_.LastEntry(item));
      return std::optional<TimelineEntry>(std::move(last));
    }
    auto made = made_.find(&item);
    if (made == made_.end()) {
      ASSIGN_OR_RETURN(RecommendationView whole, ledger_.WholeHistory(item));
      made = made_.emplace(&item, std::move(whole.timeline)).first;
    }
    for (const TimelineEntry& entry : made->second) {
      if (entry.seq == seq) return std::optional<TimelineEntry>(entry);
    }
    return std::optional<TimelineEntry>();
  }

 private:
  const Ledger& ledger_;
  std::map<const Item*, std::vector<TimelineEntry>> made_;
};

}  // namespace

std::optional<TimelineEntry> Engine::Recorded(const std::string& id, int64_t seq) const {
  const Item* item = ledger_->FindItem(id);
  if (!item || !item->tail) return std::nullopt;
  // A write's answer: its item's newest events are held, so this reads nothing back.
  auto entry = AnswerTimelines(*ledger_).EntryOf(*item, seq);
  return entry.ok() ? std::move(*entry) : std::nullopt;
}

Result<AnnexReport> Engine::Annex(const std::string& body, std::optional<Date> as_of) const {
  const Date date = as_of.value_or(clock_->Today());
  // Histories let go (serve): the turns Annex A needs are in the heads' rows, not in memory.
  if (ledger_->keeps_histories_out()) {
    ASSIGN_OR_RETURN(std::optional<AnnexReport> annex, AnnexFromHeadRows(body, date));
    if (annex) return std::move(*annex);
  }
  return BuildAnnex(*ledger_, workflow_, body, date);
}

Status Engine::CheckEvidenceQuota(const Event& event) const {
  if (event.attachments.empty()) return Status();
  int64_t bytes = 0;
  for (const Attachment& a : event.attachments) bytes += a.size;
  // What the same actor attached today (UTC, by when it was recorded), this group's events
  // included: they are in the ledger already.
  const std::string today = event.recorded.substr(0, 10);
  for (const auto& [seq, item] : ledger_->EventsWithEvidence()) {
    ASSIGN_OR_RETURN(const History history, ledger_->HistoryOf(*item));
    for (const Event& e : history) {
      if (e.seq != seq || e.actor != event.actor || e.recorded.compare(0, 10, today)) continue;
      for (const Attachment& a : e.attachments) bytes += a.size;
    }
  }
  const auto limit = static_cast<int64_t>(text_limits_.evidence.per_actor_per_day);
  if (bytes <= limit) return Status();
  return Status::StorageFull("the evidence files " + event.actor + " attached on " + today +
                             " would come to " + std::to_string(bytes) + " bytes: at most " +
                             std::to_string(limit) +
                             " a day may be stored for one account or token "
                             "(max_evidence_bytes_per_day); nothing was written");
}

Status Engine::KeepEvidence(const std::vector<WriteBatch>& batches,
                            const std::vector<Result<ApplyReport>>& results) {
  for (size_t i = 0; i < batches.size(); ++i) {
    if (!results[i].ok()) continue;
    for (const Command& command : batches[i].commands) RETURN_IF_ERROR(KeepEvidence(command));
  }
  return Status();
}

Status Engine::KeepEvidence(const Command& command) {
  const auto* record = std::get_if<RecordEvent>(&command);
  if (!record) return Status();
  storage::EvidenceStore evidence(db_.get());
  for (const EvidenceFile& file : record->files) {
    RETURN_IF_ERROR(evidence.Put(file.sha256, file.content));
  }
  return Status();
}

Result<VerifyResult> Engine::Verify() {
  if (!HoldsWholeLog()) {
    return Status::FailedPrecondition("an engine that read only some of the log cannot verify it");
  }
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
  ASSIGN_OR_RETURN(storage::VerifyReport report, store_->Verify());
  RETURN_IF_ERROR(CatchUp());
  ASSIGN_OR_RETURN(const int64_t index_rows, CheckIndex());
  ASSIGN_OR_RETURN(const int64_t index_through, storage::ItemIndex(db_.get()).Through());
  ASSIGN_OR_RETURN(const std::optional<int64_t> head_rows, CheckHeads());
  // Every evidence file an event names is kept and hashes to its name.
  storage::EvidenceStore evidence(db_.get());
  std::set<std::string> checked;
  ASSIGN_OR_RETURN(const std::vector<EvidenceUse> uses, EvidenceUses(""));
  for (const EvidenceUse& use : uses) {
    const Attachment& file = use.file;
    if (!checked.insert(file.sha256).second) continue;
    Status kept = evidence.Check(file.sha256, file.size);
    if (kept.ok()) continue;
    const std::string which = "evidence file '" + file.name + "' (sha256 " + file.sha256 +
                              ") of event " + std::to_string(use.seq) + " (" +
                              SubjectKindName(use.kind) + " " + use.item + " " + use.transition +
                              ")";
    if (kept.code() == Code::kNotFound) return Status::Corruption(which + " is missing");
    if (kept.code() == Code::kCorruption) {
      return Status::Corruption(which + " was altered: " + kept.message());
    }
    return kept;
  }
  return VerifyResult{report.events,        report.head_hash, static_cast<int64_t>(checked.size()),
                      index_rows,           index_through,    head_rows.value_or(0),
                      head_rows.has_value()};
}

Result<std::vector<EvidenceUse>> Engine::EvidenceUses(const std::string& sha256,
                                                      const ItemFilter& wanted) const {
  std::vector<EvidenceUse> uses;
  for (const auto& [seq, item] :
       sha256.empty() ? ledger_->EventsWithEvidence() : ledger_->EvidenceEvents(sha256)) {
    if (wanted && !wanted(item->id, item->kind)) continue;
    ASSIGN_OR_RETURN(const History history, ledger_->HistoryOf(*item));
    for (const Event& e : history) {
      if (e.seq != seq) continue;
      for (const Attachment& file : e.attachments) {
        if (sha256.empty() || file.sha256 == sha256) {
          uses.push_back({item->id, item->kind, e.seq, e.transition, file});
        }
      }
    }
  }
  std::sort(uses.begin(), uses.end(),
            [](const EvidenceUse& a, const EvidenceUse& b) { return a.seq < b.seq; });
  return uses;
}

Result<std::string> Engine::EvidenceContent(const std::string& sha256) const {
  // One SELECT of a row that never changes, so no transaction: a query may run while a group's
  // COMMIT does (EngineHost lets readers in then), and BEGIN would fail on that connection.
  return storage::EvidenceStore(db_.get()).Get(sha256);
}

Result<VerifyResult> Engine::VerifyDatabase(const Options& options) {
  {
    ASSIGN_OR_RETURN(auto db, storage::Database::Open(
                                  options.db_path, storage::Database::Existing(options.read_only)));
    storage::EventStore store(db.get(), NameKind);
    ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db, storage::Transaction::Mode::kRead));
    RETURN_IF_ERROR(store.Verify().status());
  }
  Options existing = options;
  existing.create_if_missing = false;
  existing.index_if_behind = false;
  ASSIGN_OR_RETURN(auto engine, Open(existing));
  return engine->Verify();
}

namespace {

// The event `seq` of `item` as `principal` may see it in the feed of `body` ("" for all), or
// nullopt when it may not; an error when its history cannot be read back.
Result<std::optional<FeedEntry>> FeedEntryOf(const Engine& engine, const Ledger& ledger,
                                             AnswerTimelines& timelines, const Principal& principal,
                                             const std::string& body, int64_t seq, const Item& item,
                                             const std::function<bool(int64_t)>& known = nullptr) {
  const std::optional<FeedEntry> none;
  if (!item.tail) return none;  // every stored item has one
  const std::vector<std::string> owners = item.owners();
  if (!engine.MaySee(principal, owners)) return none;
  if (!body.empty() && std::find(owners.begin(), owners.end(), body) == owners.end()) {
    return none;
  }
  const bool is_action = item.kind == SubjectKind::kAction;
  // A unit's lead hears of its own unit's actions only (access.h).
  if (is_action && !principal.unit.empty() && item.action().unit != principal.unit) {
    return none;
  }
  if (known && known(seq)) {
    FeedEntry seen;
    seen.event.seq = seq;
    return std::optional<FeedEntry>(std::move(seen));
  }
  // With each event's from and to states.
  ASSIGN_OR_RETURN(std::optional<TimelineEntry> entry, timelines.EntryOf(item, seq));
  if (!entry) return none;
  const RecommendationDef& def = item.tail->def;  // an action's: its title, its body
  const Inspection* inspection = ledger.FindInspection(def.inspection);
  return std::optional<FeedEntry>(
      FeedEntry{is_action ? item.action().recommendation : item.id, def.inspection,
                inspection ? inspection->title : "", owners, def.text, std::move(*entry),
                is_action ? item.id : "", is_action ? item.action().unit : ""});
}

}  // namespace

Result<std::vector<FeedEntry>> Engine::Feed(const Principal& principal, const std::string& body,
                                            int64_t after_seq, size_t limit) const {
  std::vector<FeedEntry> out;
  AnswerTimelines timelines(*ledger_);
  const auto& events = ledger_->item_events();
  for (auto it = events.rbegin(); it != events.rend() && it->first > after_seq; ++it) {
    if (out.size() >= limit) break;
    ASSIGN_OR_RETURN(
        std::optional<FeedEntry> entry,
        FeedEntryOf(*this, *ledger_, timelines, principal, body, it->first, *it->second));
    if (entry) out.push_back(std::move(*entry));
  }
  return out;
}

Result<Engine::FeedPage> Engine::FeedAfter(const Principal& principal, const std::string& body,
                                           int64_t after_seq, size_t limit,
                                           const std::function<bool(int64_t)>& known) const {
  FeedPage page;
  page.scanned_to = after_seq;
  const auto& events = ledger_->item_events();
  auto it = std::upper_bound(events.begin(), events.end(), after_seq,
                             [](int64_t seq, const auto& e) { return seq < e.first; });
  size_t looked = 0;
  const size_t max_looked = 4 * limit + 64;
  AnswerTimelines timelines(*ledger_);
  for (; it != events.end() && page.entries.size() < limit && looked < max_looked; ++it, ++looked) {
    ASSIGN_OR_RETURN(
        std::optional<FeedEntry> entry,
        FeedEntryOf(*this, *ledger_, timelines, principal, body, it->first, *it->second, known));
    if (entry) page.entries.push_back(std::move(*entry));
    page.scanned_to = it->first;
  }
  page.more = it != events.end();
  // Past the last item event, nothing but definitions: the cursor may move to the log's end.
  if (!page.more) page.scanned_to = std::max(page.scanned_to, last_seq_);
  return page;
}

Result<std::vector<AlertInstance>> Engine::Alerts(const std::string& id,
                                                  std::optional<Date> as_of) const {
  if (!rules_) return Status::FailedPrecondition("no rules are loaded (--rules DIR)");
  const Item* item = ledger_->FindItem(id);
  const bool action = item && item->kind == SubjectKind::kAction;
  ASSIGN_OR_RETURN(RecommendationView view, action ? ShowAction(id, as_of) : Show(id, as_of));
  return AlertsFor(view, *rules_, *ledger_->WorkflowOf(view.kind), view.issued, view.as_of);
}

std::vector<Body> Engine::Bodies() const {
  std::vector<Body> out;
  for (const auto& [id, body] : ledger_->bodies()) out.push_back(body);
  return out;
}

std::vector<Inspection> Engine::Inspections() const {
  std::vector<Inspection> out;
  for (const auto& [id, inspection] : ledger_->inspections()) out.push_back(inspection);
  return out;
}

}  // namespace rectrack
