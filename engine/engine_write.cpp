// Engine's write path: a group of batches made into events on the world in memory, appended to
// the log in one transaction, and shown to queries once durable (Apply, ApplyAll, the three steps
// EngineHost drives), and the CLI's import applied in place (ApplyInPlace).
#include "engine/engine.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "common/text.h"
#include "engine/command_builder.h"
#include "engine/event_codec.h"
#include "engine/ledger.h"
#include "storage/database.h"
#include "storage/event_store.h"

namespace rectrack {
namespace {

// A ledger savepoint that rolls back when it goes out of scope unless released: nothing
// half-applied survives an error return or an exception.
class LedgerSavepoint {
 public:
  explicit LedgerSavepoint(Ledger& ledger) : ledger_(ledger), mark_(ledger.Savepoint()) {}
  ~LedgerSavepoint() {
    if (!released_) ledger_.RollbackTo(mark_);
  }
  LedgerSavepoint(const LedgerSavepoint&) = delete;
  LedgerSavepoint& operator=(const LedgerSavepoint&) = delete;
  // Keeps the changes. The ledger forgets how to undo them: REQUIRES: the outermost savepoint.
  void Release() {
    released_ = true;
    ledger_.Release();
  }

 private:
  Ledger& ledger_;
  const Ledger::Mark mark_;
  bool released_ = false;
};

// A batch's commands, read in order. With `drop`, those before the one being read are let go,
// with the vector's memory, each time they are a quarter of what is held: an import's 300,000
// are not held beside the events made of them. A quarter, not a half, because the rest is moved
// to a new vector while the old one is still there; every command is moved about 3 times.
class CommandsInOrder {
 public:
  CommandsInOrder(std::vector<Command>& commands, bool drop)
      : commands_(commands), count_(commands.size()), drop_(drop) {}
  size_t size() const { return count_; }
  // REQUIRES: c < size(), and no command before one dropped.
  const Command& operator[](size_t c) const { return commands_[c - first_]; }
  // Commands before `c` will not be read again.
  void DropBefore(size_t c) {
    if (!drop_ || 4 * (c - first_) < commands_.size()) return;
    std::vector<Command> rest;
    rest.reserve(commands_.size() - (c - first_));
    std::move(commands_.begin() + static_cast<ptrdiff_t>(c - first_), commands_.end(),
              std::back_inserter(rest));
    commands_.swap(rest);
    first_ = c;
  }

 private:
  std::vector<Command>& commands_;
  const size_t count_;
  const bool drop_;
  size_t first_ = 0;  // the command commands_[0] is
};

const std::string& WhereOf(const Command& command) {
  return std::visit([](const auto& c) -> const std::string& { return c.where; }, command);
}

// Whether Ledger::CheckGuard may refuse `event` once its batch is whole (then an error needs its
// command's `where`).
bool HasGuard(const Ledger& ledger, const Event& event) {
  const Workflow* workflow = ledger.WorkflowOf(event.kind);
  const Transition* t = workflow ? workflow->FindTransition(event.transition) : nullptr;
  return t && (t->guard.actions_closed || t->guard.not_before_judgement || t->MaySayNothing() ||
               !t->effects.set_due_date.empty());
}

}  // namespace

Result<ApplyReport> Engine::Apply(const std::vector<Command>& commands, const std::string& actor) {
  return std::move(ApplyAll({WriteBatch{commands, actor}}).front());
}

Result<ApplyReport> Engine::ApplyInPlace(std::vector<Command> commands, const std::string& actor) {
  if (!HoldsWholeLog()) {
    return Status::FailedPrecondition("an engine that read only part of the log imports nothing");
  }
  struct InPlace {
    bool& flag;
    explicit InPlace(bool& f) : flag(f) { flag = true; }
    ~InPlace() { flag = false; }
  };
  Result<ApplyReport> result = Status::IOError("not applied");
  try {
    InPlace in_place(in_place_);
    std::vector<WriteBatch> batches;
    batches.push_back(WriteBatch{std::move(commands), actor});
    Prepared group = PrepareAll(batches);  // takes the commands' memory as it goes
    const Status committed = CommitPrepared(*group);
    result = std::move(FinishPrepared(std::move(group), committed).front());
  } catch (...) {
    // Out of memory, most likely: the rows were not committed (the transaction rolled back
    // as it unwound), but the world in memory may hold part of the batch.
    (void)ReplayAgain();
    throw;
  }
  // The world in memory may hold part of the batch, which nothing can undo: read it again.
  if (!result.ok()) {
    if (Status replayed = ReplayAgain(); !replayed.ok()) {
      // Both matter: what was wrong with the import, and that this engine's world is not to be
      // trusted (it may hold part of the batch).
      return Status::IOError(result.status().message() +
                             "; then reading the log again failed, so this engine may hold part "
                             "of the import: " +
                             replayed.message());
    }
  }
  return result;
}

Status Engine::ReplayAgain() {
  // Read into a new world, taken only when whole: a failure keeps the one there was (and says
  // so).
  auto ledger = std::make_unique<Ledger>(&workflow_, action_workflow());
  std::swap(ledger, ledger_);
  const int64_t last_seq = std::exchange(last_seq_, 0);
  const int64_t data_version = std::exchange(data_version_, -1);
  Status replayed = [&]() -> Status {
    ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
    RETURN_IF_ERROR(CatchUp());
    return tx.Commit();
  }();
  if (!replayed.ok()) {
    std::swap(ledger, ledger_);
    last_seq_ = last_seq;
    data_version_ = data_version;
  }
  return replayed;
}

std::vector<Result<ApplyReport>> Engine::ApplyAll(std::vector<WriteBatch> batches) {
  Prepared group = PrepareAll(batches);
  const Status committed = CommitPrepared(*group);
  return FinishPrepared(std::move(group), committed);
}

struct Engine::PreparedGroup {
  std::optional<storage::Transaction> tx;  // open, with the rows written; none when not needed
  // The events made, to show once durable. Applied in place, the ledger holds those of items
  // already (an import's 300,000 need no second copy), so `events` has only the definitions;
  // `appended` points at every one, in seq order, wherever it is.
  std::vector<Event> events;
  Appended appended;
  std::vector<Result<ApplyReport>> results;
};

void Engine::PreparedGroupDeleter::operator()(PreparedGroup* group) const { delete group; }

Engine::Prepared Engine::PrepareAll(std::vector<WriteBatch>& batches) {
  Prepared group(new PreparedGroup);
  std::vector<Result<ApplyReport>>& results = group->results;
  results.assign(batches.size(), Status::IOError("not applied"));
  auto fail_all = [&](const Status& s) {
    for (auto& r : results) r = s;
    return std::move(group);
  };
  if (Status s = ScopeTakes(batches); !s.ok()) return fail_all(s);
  if (in_place_ && batches.size() != 1) {
    // Its events are found in the ledger, where another batch's would move them.
    return fail_all(Status::FailedPrecondition("an import in place is one batch"));
  }
  auto tx = storage::Transaction::Begin(*db_, storage::Transaction::Mode::kWrite);
  if (!tx.ok()) return fail_all(tx.status());
  if (Status s = scope_.empty() ? CatchUp() : ReloadScopeIfChanged(); !s.ok()) return fail_all(s);

  // Each batch is applied to the ledger in place, after a savepoint of its own, so a failing
  // batch leaves no trace. At the end the group's savepoint undoes them all: queries must not see
  // the events until they are durable (FinishPrepared applies them again).
  Ledger& ledger = *ledger_;
  LedgerSavepoint all(ledger);
  const std::string recorded = clock_->NowRfc3339();
  const Date today = clock_->Today();
  std::vector<Event>& events = group->events;
  // An event made: applied in place, an item's is moved into the ledger, which keeps it, and
  // found there once its batch is whole (until then an item's events move as others are added).
  struct Made {
    bool in_ledger = false;  // true: found in the ledger by item, effective date and seq
    std::string item;
    Date effective;
    int64_t seq = 0;
    size_t index = 0;   // in `mine`, when not in the ledger
    std::string where;  // of the command that made it, when its transition has a guard
  };
  for (size_t i = 0; i < batches.size(); ++i) {
    const Ledger::Mark batch = ledger.Savepoint();
    // Applied in place, a command is dropped once its event is made (and its evidence kept).
    CommandsInOrder commands(batches[i].commands, in_place_);
    ApplyReport report;
    std::vector<Event> mine;
    std::vector<Made> made;
    made.reserve(commands.size());  // an import's 300,000, without slack
    if (!in_place_) mine.reserve(commands.size());
    auto context = [](const std::string& where, const Status& s) {
      return where.empty() ? s : s.WithContext(where);
    };
    // Who records it goes into every event, and out in every feed and answer: text, one line.
    Status failed =
        batches[i].actor.empty()
            ? Status::InvalidArgument("the actor is empty: say who records it")
            : CheckStoredText("the actor", batches[i].actor, kMaxNameBytes, TextLines::kOne);
    for (size_t c = 0; failed.ok() && c < commands.size(); ++c) {
      auto built = BuildEvent(commands[c], workflow_, ledger, today, text_limits_);
      if (!built.ok()) {
        failed = context(WhereOf(commands[c]), built.status());
        break;
      }
      if (!built->has_value()) {
        ++report.unchanged;
        continue;
      }
      Event event = std::move(**built);
      event.seq = last_seq_ + static_cast<int64_t>(events.size() + made.size()) + 1;
      event.recorded = recorded;
      event.actor = batches[i].actor;
      if (Status within = CheckEvidenceQuota(event); !within.ok()) {
        failed = context(WhereOf(commands[c]), within);
        break;
      }
      Made m{in_place_ && IsItemKind(event.kind),
             event.subject_id,
             event.effective,
             event.seq,
             mine.size(),
             HasGuard(ledger, event) ? WhereOf(commands[c]) : std::string()};
      Status added;
      if (m.in_ledger) {
        added = ledger.Add(std::move(event), Ledger::Undo::kSkip);
      } else {
        added = ledger.Add(event, in_place_ ? Ledger::Undo::kSkip : Ledger::Undo::kRecord);
        if (added.ok()) mine.push_back(std::move(event));
      }
      if (added.ok() && in_place_) added = KeepEvidence(commands[c]);
      if (!added.ok()) {
        failed = context(WhereOf(commands[c]), added.WithContext(m.item));
        break;
      }
      made.push_back(std::move(m));
      commands.DropBefore(c + 1);
    }
    // Guards look at the batch as a whole: an import may list a recommendation's close before
    // the events that close its actions.
    Appended mine_appended;
    for (size_t g = 0; failed.ok() && g < made.size(); ++g) {
      const Made& m = made[g];
      const Event* event =
          m.in_ledger ? ledger.FindEvent(m.item, m.effective, m.seq) : &mine[m.index];
      if (!event) {
        failed = Status::Corruption("event " + std::to_string(m.seq) + " of '" + m.item +
                                    "' is not in the world it was just added to");
      } else if (Status s = ledger.CheckGuard(*event); !s.ok()) {
        failed = context(m.where, s.WithContext(event->subject_id));
      }
      mine_appended.push_back(event);
    }
    if (!failed.ok()) {
      ledger.RollbackTo(batch);
      results[i] = failed;
      continue;
    }
    for (const Made& m : made) report.seqs.push_back(m.seq);
    if (in_place_) {
      // One batch (ApplyInPlace's): a swap keeps `mine`'s elements where they are.
      events.swap(mine);
      group->appended = std::move(mine_appended);
    } else if (events.empty()) {
      events = std::move(mine);  // the common case, one batch: no second vector of them all
    } else {
      std::move(mine.begin(), mine.end(), std::back_inserter(events));
    }
    report.appended = static_cast<int>(report.seqs.size());
    results[i] = report;
  }
  Appended& appended = group->appended;
  if (!in_place_) {
    for (const Event& e : events) appended.push_back(&e);
  }
  // Nothing to write: the transaction rolls back as `tx` goes (a batch that failed in place may
  // have kept evidence files).
  if (appended.empty()) return group;
  // Rows not all written: the batches that had succeeded fail with `s`, and nothing is shown
  // (the transaction rolls back as `tx` goes).
  auto abandon = [&](const Status& s) {
    appended.clear();
    events.clear();
    for (auto& r : results) {
      if (r.ok()) r = s;
    }
    return std::move(group);
  };

  // Encoded and appended a part at a time: an import's 300,000 rows need not be held at once.
  constexpr size_t kRowsPerAppend = 4096;
  Status written;
  std::vector<storage::EventRow> rows;
  for (size_t from = 0; written.ok() && from < appended.size(); from += kRowsPerAppend) {
    rows.clear();
    for (size_t i = from; i < std::min(appended.size(), from + kRowsPerAppend); ++i) {
      rows.push_back(EncodeEvent(*appended[i], *ledger.WorkflowOf(appended[i]->kind)));
    }
    written = store_->Append(rows);
    for (size_t i = 0; written.ok() && i < rows.size(); ++i) {
      // We hold the write lock and caught up first, so the store must agree with our numbering.
      if (rows[i].seq != appended[from + i]->seq) {
        written = Status::Corruption("event numbering diverged from the database");
      }
    }
  }
  if (!written.ok()) return abandon(written);
  // The evidence files of the batches written, and the index rows of their events, go in with
  // their events, or nothing does.
  Status kept = in_place_ ? Status() : KeepEvidence(batches, results);
  if (kept.ok()) kept = IndexAppended(appended);
  if (!kept.ok()) return abandon(kept);
  group->tx.emplace(std::move(*tx));
  prepared_ = true;
  return group;
}

Status Engine::CommitPrepared(PreparedGroup& group) {
  if (!group.tx) return Status();
  return group.tx->Commit();
}

std::vector<Result<ApplyReport>> Engine::FinishPrepared(Prepared group, Status committed) {
  prepared_ = false;
  std::vector<Result<ApplyReport>> results = std::move(group->results);
  if (group->appended.empty()) return results;
  if (in_place_) {
    // Already in the world (PrepareAll kept them there); ApplyInPlace replays the log if the
    // commit failed.
    if (!committed.ok()) {
      for (auto& r : results) {
        if (r.ok()) r = committed;
      }
      return results;
    }
    last_seq_ = group->appended.back()->seq;
    for (const Event* e : group->appended) NoteChanged(*e);
    return results;
  }
  // The same events on the same world as PrepareAll validated them on, so they fit again. If
  // they did not (or an exception came), the ledger stays as it was and last_seq_ with it: the
  // next write's catch-up meets the committed events again and reports what is wrong.
  LedgerSavepoint shown(*ledger_);
  for (size_t i = 0; committed.ok() && i < group->events.size(); ++i) {
    const Event& e = group->events[i];
    if (Status s = ledger_->Add(e); !s.ok()) {
      committed = Status::Corruption("event " + std::to_string(e.seq) +
                                     " was committed but does not apply: " + s.message());
    }
  }
  if (!committed.ok()) {
    for (auto& r : results) {
      if (r.ok()) r = committed;
    }
    return results;
  }
  shown.Release();
  last_seq_ = group->events.back().seq;
  for (const Event& e : group->events) NoteChanged(e);
  // Failing, it lets nothing go: the histories stay held until a later look succeeds.
  (void)DropHistoriesIfDue();
  return results;
}

}  // namespace rectrack
