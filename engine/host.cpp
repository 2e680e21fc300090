#include "engine/host.h"

#include <optional>

#include "engine/engine.h"

namespace rectrack {
namespace {

// Each write's `committed` with its result (results[i]) and the engine as the group left it.
void AnswerCommitted(std::vector<EngineHost::Write>& group,
                     const std::vector<Result<ApplyReport>>& results, const Engine& engine) {
  for (size_t i = 0; i < group.size(); ++i) {
    if (!group[i].committed) continue;
    try {
      group[i].committed(results[i], engine);
    } catch (const std::exception&) {
      // A caller's own failure is its own to report; the others still get their answers.
    }
  }
}

// Each write's `then`, once the lock is released.
void RunThen(std::vector<EngineHost::Write>& group) {
  for (EngineHost::Write& write : group) {
    if (!write.then) continue;
    try {
      write.then();
    } catch (const std::exception&) {
      // One caller's failure to take its answer must not cost the others theirs.
    }
  }
}

}  // namespace

EngineHost::EngineHost(Engine* engine) : engine_(engine), started_(true) {}

EngineHost::EngineHost(StartingTag, Engine* heads) : engine_(nullptr), heads_(heads) {}

void EngineHost::Start(Engine* engine) {
  MutexLock lock(&mutex_);
  engine_ = engine;
  started_.store(true, std::memory_order_release);
  engine_given_.SignalAll();
}

Status EngineHost::Starting() {
  return Status::Unavailable(
      "rectrack is starting: it is reading the event log, and answers lists of recommendations "
      "meanwhile; try again in a few seconds");
}

void EngineHost::Abandon() {
  MutexLock lock(&mutex_);
  abandoned_ = true;
  engine_given_.SignalAll();
}

EngineHost::~EngineHost() {
  Abandon();
  std::thread writer;
  {
    MutexLock lock(&writers_mutex_);
    stopping_ = true;
    writer = std::move(writer_);
  }
  writers_cv_.SignalAll();
  if (writer.joinable()) writer.join();
}

void EngineHost::Submit(Write write) {
  MutexLock lock(&writers_mutex_);
  writes_.push_back(std::move(write));
  if (!writer_.joinable()) writer_ = std::thread([this] { RunWriter(); });
  writers_cv_.SignalAll();
}

Result<ApplyReport> EngineHost::Apply(WriteBatch batch) {
  Mutex mutex;
  CondVar answered(&mutex);
  std::optional<Result<ApplyReport>> result;
  bool done = false;
  Submit({std::move(batch),
          [&](const Result<ApplyReport>& r, const Engine&) {
            MutexLock lock(&mutex);
            result = r;
          },
          [&] {
            // Signalled with `mutex` held, so this frame outlives the signal.
            MutexLock lock(&mutex);
            done = true;
            answered.SignalAll();
          }});
  MutexLock lock(&mutex);
  while (!done) answered.Wait();
  return std::move(*result);
}

void EngineHost::RunWriter() {
  MutexLock lock(&writers_mutex_);
  for (;;) {
    while (!stopping_ && writes_.empty()) writers_cv_.Wait();
    if (writes_.empty()) return;  // stopping, and every write answered
    // Everyone who queued while the last group was committing goes in this one.
    std::vector<Write> group;
    while (!writes_.empty() && group.size() < kMaxGroup) {
      group.push_back(std::move(writes_.front()));
      writes_.pop_front();
    }
    group_in_hand_ = true;
    lock.Unlock();
    CommitGroup(group);
    lock.Lock();
    group_in_hand_ = false;
    writers_cv_.SignalAll();  // Drain
  }
}

void EngineHost::Drain() {
  MutexLock lock(&writers_mutex_);
  while (!writes_.empty() || group_in_hand_) writers_cv_.Wait();
}

void EngineHost::CommitGroup(std::vector<Write>& group) {
  std::vector<WriteBatch> batches;
  batches.reserve(group.size());
  for (Write& write : group) batches.push_back(std::move(write.batch));
  // Whatever happens, every queued writer gets an answer and the queue moves on.
  auto failed = [&](const std::exception& e) {
    return std::vector<Result<ApplyReport>>(
        group.size(), Status::IOError(std::string("write failed: ") + e.what()));
  };
  std::vector<Result<ApplyReport>> results;
  MutexLock lock(&mutex_);
  while (!engine_ && !abandoned_) engine_given_.Wait();
  if (!engine_) {  // never started: answered from the heads' engine, Unavailable
    lock.Unlock();
    MutexLock heads_lock(&heads_mutex_);
    AnswerCommitted(group, std::vector<Result<ApplyReport>>(group.size(), Starting()), *heads_);
    heads_lock.Unlock();
    RunThen(group);
    return;
  }
  const int64_t before = engine_->last_seq();
  Engine::Prepared prepared;
  try {
    prepared = engine_->PrepareAll(batches);
  } catch (const std::exception& e) {
    results = failed(e);
  }
  if (prepared) {
    commit_in_flight_ = true;
    // The one use of the engine without mutex_, through an unguarded copy of the pointer:
    // while commit_in_flight_ is set, readers only query and nothing else writes
    // (Engine::CommitPrepared's contract).
    Engine* const unlocked = engine_;
    // The fsync, without the lock: requests are read, checked and queued meanwhile (they still
    // see the world before this group), which is what makes the next group large.
    lock.Unlock();
    Status committed;
    try {
      committed = unlocked->CommitPrepared(*prepared);
    } catch (const std::exception& e) {
      committed = Status::IOError(std::string("write failed: ") + e.what());
    }
    lock.Lock();
    commit_in_flight_ = false;
    try {
      results = engine_->FinishPrepared(std::move(prepared), committed);
    } catch (const std::exception& e) {
      results = failed(e);
    }
  }
  commit_landed_.SignalAll();  // Update
  groups_.fetch_add(1, std::memory_order_relaxed);
  batches_.fetch_add(static_cast<long long>(group.size()), std::memory_order_relaxed);
  const bool grown = engine_->last_seq() > before;
  AnswerCommitted(group, results, *engine_);
  lock.Unlock();
  if (grown) Notify();
  RunThen(group);
}

Status EngineHost::RefreshLocked(bool* caught_up) {
  const int64_t before = engine_->last_seq();
  Status refreshed = engine_->Refresh();
  *caught_up = *caught_up || engine_->last_seq() != before;
  return refreshed;
}

Status EngineHost::RefreshHeadsLocked() { return heads_->Refresh(); }

Status EngineHost::Update(const std::function<void(Engine&)>& fn) {
  bool caught_up = false;
  Status refreshed;
  {
    MutexLock lock(&mutex_);
    if (!engine_) return Starting();
    while (commit_in_flight_) commit_landed_.Wait();
    refreshed = RefreshLocked(&caught_up);
    if (refreshed.ok()) fn(*engine_);
  }
  if (caught_up) Notify();
  return refreshed;
}

void EngineHost::Poll() {
  (void)Read([](const Engine&) {});  // an error is the next request's to report
}

int EngineHost::Subscribe(std::function<void()> listener) {
  MutexLock lock(&listeners_mutex_);
  listeners_[++next_listener_] = std::move(listener);
  return next_listener_;
}

void EngineHost::Unsubscribe(int id) {
  MutexLock lock(&listeners_mutex_);
  listeners_.erase(id);
}

void EngineHost::Notify() {
  std::vector<std::function<void()>> listeners;
  {
    MutexLock lock(&listeners_mutex_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const auto& listener : listeners) {
    try {
      listener();
    } catch (const std::exception&) {
      // A listener's failure is its own; the others, and the writer that called, go on.
    }
  }
}

}  // namespace rectrack
