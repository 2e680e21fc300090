// EngineHost: the one Engine of a process that many threads use at once (the HTTP API, the web
// pages, the alert scheduler), and everything that sharing needs: the engine's lock, the
// group-commit writer, read access under the lock, and the listeners woken when the log grows.
// Adapters hold an EngineHost, never a bare Engine and a mutex of their own, so a second adapter
// writes and reads exactly as the first does (leveldb keeps its writer queue inside
// DBImpl::Write for the same reason).
//
// Writes: Submit() queues a batch of commands and returns at once. A writer thread takes
// everything queued (up to kMaxGroup batches), applies each batch all or nothing, commits them
// all in one transaction (one fsync), and answers each: first `committed` under the lock, with
// the engine showing the group's events (read what the answer needs), then `then` after the lock
// is released (hand the answer over). While the group's commit becomes durable the lock is
// released, so readers go on (seeing the world before the group) and more writes queue up: that
// is what makes the next group large. Every queued write is committed and answered, also when
// the host is destroyed.
//
// Reads: Read(fn) runs fn with the engine under the lock, after taking in what other processes
// committed since (Engine::Refresh); Update(fn) does the same with write access, after any
// commit in flight has landed (the alert scheduler raises alerts through it).
//
// Listeners are called, on the thread that noticed and without the lock, after the log grew: by
// a write through this host, or by another process's commit that Read, Update or Poll took in.
//
// Starting: `serve` answers before it has read the log (reading 1,000,000 recommendations'
// events takes seconds). A host made with kStarting has no engine until Start: Read and Update
// are Unavailable (their fn is not run) and Poll does nothing, writes wait in the queue, and
// ReadHeads, for the reads the item heads answer (lists: Engine::VisitList on an engine opened
// heads_only), runs on the engine it was given for that. Once started, ReadHeads is Read.
//
// Thread-safety: every method may be called from any thread, except from inside the callbacks
// it runs (they hold the lock): a callback must not call back into the host.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "engine/commands.h"

namespace rectrack {

class Engine;

class EngineHost {
 public:
  // A batch to commit and how to answer once it is committed or refused. Both callbacks run on
  // the writer thread and must not block: the writer answers a whole group in turn.
  struct Write {
    WriteBatch batch;
    // With the lock held; the engine shows every event of the group. May be empty.
    std::function<void(const Result<ApplyReport>&, const Engine&)> committed;
    // After the lock is released. May be empty.
    std::function<void()> then;
  };

  // REQUIRES: `engine` outlives the host, and nothing else uses it while the host exists.
  explicit EngineHost(Engine* engine);
  // Starting (above), answering ReadHeads from `heads`, an engine opened heads_only, until
  // Start. REQUIRES: as for `engine`, for both.
  struct StartingTag {};
  static constexpr StartingTag kStarting{};
  EngineHost(StartingTag, Engine* heads);
  // Hands the host its engine: from now on it answers everything. REQUIRES: made kStarting,
  // called once.
  void Start(Engine* engine) EXCLUDES(mutex_);
  // Gives up waiting for an engine (a server whose engine could not read the log): writes
  // queued, and those to come, are answered Unavailable. Start must not be called after.
  void Abandon() EXCLUDES(mutex_);
  // Whether the host has its engine (made with one, or Start called).
  bool started() const { return started_.load(std::memory_order_acquire); }
  // What Read and Update are while starting.
  static Status Starting();
  // Commits and answers every write still queued, then stops the writer thread.
  ~EngineHost();
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  // Queues `write` for the writer thread (started on first use).
  void Submit(Write write) EXCLUDES(writers_mutex_);
  // Submit, waiting for the result.
  Result<ApplyReport> Apply(WriteBatch batch) EXCLUDES(writers_mutex_, mutex_);
  // Waits until every write submitted so far has been committed and answered.
  void Drain() EXCLUDES(writers_mutex_);

  // Takes in other processes' commits, then runs `fn(const Engine&)` under the lock. Returns the
  // refresh's error without running `fn`. Listeners are woken once the lock is released if the
  // refresh took anything in (also when it then failed).
  template <typename Fn>
  Status Read(Fn&& fn) EXCLUDES(mutex_) {
    bool caught_up = false;
    Status refreshed;
    {
      MutexLock lock(&mutex_);
      if (!engine_) return Starting();
      refreshed = RefreshLocked(&caught_up);
      if (refreshed.ok()) fn(static_cast<const Engine&>(*engine_));
    }
    if (caught_up) Notify();
    return refreshed;
  }
  // Read, for what the item heads answer: while starting, `fn` runs on the heads_only engine
  // (whose VisitList reads the heads; anything else it answers is not the log's).
  template <typename Fn>
  Status ReadHeads(Fn&& fn) EXCLUDES(mutex_, heads_mutex_) {
    if (!started()) {
      MutexLock lock(&heads_mutex_);
      Status refreshed = RefreshHeadsLocked();
      if (refreshed.ok()) fn(static_cast<const Engine&>(*heads_));
      return refreshed;
    }
    return Read(std::forward<Fn>(fn));
  }
  // Read without taking in other processes' commits first: for a second look within one
  // request that has just Read (a write's command is checked again inside its transaction).
  // While starting, `fn` runs on the heads_only engine: for what any engine of these
  // workflows answers alike (the workflows themselves), not for what the log says. It then
  // waits for a list from the heads in progress (ReadHeads), which callers keep short.
  template <typename Fn>
  void ReadAsIs(Fn&& fn) EXCLUDES(mutex_, heads_mutex_) {
    MutexLock lock(&mutex_);
    if (engine_) {
      fn(static_cast<const Engine&>(*engine_));
      return;
    }
    MutexLock heads_lock(&heads_mutex_);
    fn(static_cast<const Engine&>(*heads_));
  }
  // Read with write access, once no group's commit is in flight: for work that writes outside
  // the group commit (the alert scheduler's outbox). `fn` must not call Engine::Apply.
  Status Update(const std::function<void(Engine&)>& fn) EXCLUDES(mutex_);
  // Takes in other processes' commits and wakes the listeners if there were any (a server calls
  // it every second or so, so streams hear of the CLI's writes without a request).
  void Poll() EXCLUDES(mutex_);

  // Listeners: called after the log grew (see above), or when Notify() is called, on the
  // thread that noticed (the writer thread for a write) and without the host's lock; a listener
  // must be quick and must not call Apply or Drain (the writer may be the caller). Subscribe
  // returns an id for Unsubscribe; after Unsubscribe returns the listener is not called again,
  // except by a Notify already under way on another thread. An exception a listener throws is
  // dropped.
  int Subscribe(std::function<void()> listener) EXCLUDES(listeners_mutex_);
  void Unsubscribe(int id) EXCLUDES(listeners_mutex_);
  // Wakes every listener: for changes the host cannot see itself (alerts raised through Update).
  void Notify() EXCLUDES(listeners_mutex_);

  // Write transactions (groups) committed so far, and the batches they held: the ratio is how
  // much grouping saves (/metrics shows both).
  struct WriteCounts {
    long long groups = 0;
    long long batches = 0;
  };
  WriteCounts write_counts() const {
    return {groups_.load(std::memory_order_relaxed), batches_.load(std::memory_order_relaxed)};
  }

  // How many batches one group commits at most.
  static constexpr size_t kMaxGroup = 512;

  // One import file is parsed at a time, whoever sent it (the API or the web workspace): a large
  // file takes seconds and hundreds of MB on the thread that received it, so a second is told to
  // come back (503) rather than taking another I/O thread and as much memory again. The turn is
  // held while the ImportTurn lives; `if (!turn)` means another import has it.
  class ImportTurn {
   public:
    explicit ImportTurn(std::atomic<bool>* busy) : busy_(busy->exchange(true) ? nullptr : busy) {}
    ~ImportTurn() {
      if (busy_) busy_->store(false);
    }
    ImportTurn(const ImportTurn&) = delete;
    ImportTurn& operator=(const ImportTurn&) = delete;
    explicit operator bool() const { return busy_ != nullptr; }

   private:
    std::atomic<bool>* busy_;
  };
  ImportTurn TakeImportTurn() { return ImportTurn(&importing_); }

 private:
  Status RefreshLocked(bool* caught_up) REQUIRES(mutex_);
  // The heads' engine's Refresh (it forgets the tokens it saw when the database changed).
  Status RefreshHeadsLocked() REQUIRES(heads_mutex_);
  void RunWriter() EXCLUDES(writers_mutex_);
  void CommitGroup(std::vector<Write>& group) EXCLUDES(mutex_, writers_mutex_);

  // Guards the engine (engine_ below).
  Mutex mutex_;
  // The engine is only touched with mutex_ held (checked), except by CommitPrepared. Null
  // while starting.
  Engine* engine_ GUARDED_BY(mutex_) PT_GUARDED_BY(mutex_);
  bool commit_in_flight_ GUARDED_BY(mutex_) = false;
  CondVar commit_landed_{&mutex_};
  // While starting: Start signals the writer, which waits for an engine; the destructor gives
  // up waiting (abandoned_), answering what is queued Unavailable.
  CondVar engine_given_{&mutex_};
  bool abandoned_ GUARDED_BY(mutex_) = false;
  std::atomic<bool> started_{false};
  // The heads_only engine ReadHeads uses while starting (null for a host made with its engine).
  Mutex heads_mutex_;  // taken after mutex_, never before
  Engine* const heads_ PT_GUARDED_BY(heads_mutex_) = nullptr;

  Mutex writers_mutex_;  // never held while taking mutex_
  CondVar writers_cv_{&writers_mutex_};
  std::deque<Write> writes_ GUARDED_BY(writers_mutex_);
  bool group_in_hand_ GUARDED_BY(writers_mutex_) = false;  // taken from writes_, not answered
  bool stopping_ GUARDED_BY(writers_mutex_) = false;
  std::thread writer_ GUARDED_BY(writers_mutex_);

  std::atomic<long long> groups_{0};
  std::atomic<long long> batches_{0};
  std::atomic<bool> importing_{false};

  Mutex listeners_mutex_;
  std::map<int, std::function<void()>> listeners_ GUARDED_BY(listeners_mutex_);
  int next_listener_ GUARDED_BY(listeners_mutex_) = 0;
};

}  // namespace rectrack
