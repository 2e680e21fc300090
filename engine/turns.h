// Turns: engine work done a turn at a time on a thread of its own, each turn through
// EngineHost::Update, so that the requests waiting for the engine are answered between turns
// rather than after the whole of it. `serve` lets go, so, of the histories its start read
// (Engine::LetHistoriesGo), once it is already answering.
//
// The work's function runs under the host's lock and says what comes next: another turn at
// once (a moment later, for the requests waiting), one 100 ms later (the work waits on other
// work), or nothing (done); an error (or an exception) is written to the log, naming the work,
// and the turn tried again 5 s later. The thread stops when the work is done, or between turns
// when the Turns is destroyed.
//
// Thread-safety: construct and destroy on one thread; the work runs on the Turns' own.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace rectrack {

class Engine;
class EngineHost;

class Turns {
 public:
  enum class Next { kTurn, kWait, kDone };
  // Starts turning at once; once `turn` says the work is done, runs `done` (if any) on the
  // Turns' thread without the lock. REQUIRES: `host` outlives the Turns.
  Turns(EngineHost* host, std::string what, std::function<Result<Next>(Engine&)> turn,
        std::function<void()> done = {});
  // Waits for a turn under way, then stops.
  ~Turns();
  Turns(const Turns&) = delete;
  Turns& operator=(const Turns&) = delete;

 private:
  void Run();
  // Waits `ms` milliseconds, or until the Turns is destroyed: false then.
  bool Pause(int ms) EXCLUDES(mutex_);

  EngineHost* const host_;
  const std::string what_;
  const std::function<Result<Next>(Engine&)> turn_;
  const std::function<void()> done_;
  Mutex mutex_;
  CondVar stop_cv_{&mutex_};
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::thread thread_;  // last: started once the rest is made
};

}  // namespace rectrack
