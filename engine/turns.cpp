#include "engine/turns.h"

#include <chrono>
#include <exception>
#include <iostream>

#include "engine/engine.h"
#include "engine/host.h"

namespace rectrack {

namespace {
// Between turns: long enough for the requests that queued on the lock during one to take it.
constexpr int kBetweenTurnsMs = 2;
constexpr int kWaitingMs = 100;
constexpr int kAfterAFailureMs = 5000;
}  // namespace

Turns::Turns(EngineHost* host, std::string what, std::function<Result<Next>(Engine&)> turn,
             std::function<void()> done)
    : host_(host),
      what_(std::move(what)),
      turn_(std::move(turn)),
      done_(std::move(done)),
      thread_([this] { Run(); }) {}

Turns::~Turns() {
  {
    MutexLock lock(&mutex_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  thread_.join();
}

void Turns::Run() {
  while (true) {
    Result<Next> next = Next::kTurn;
    Status updated = host_->Update([&](Engine& engine) {
      try {
        next = turn_(engine);
      } catch (const std::exception& e) {  // a thread's exception would end the process
        next = Status::IOError(e.what());
      }
    });
    if (!updated.ok()) next = updated;
    if (next.ok() && *next == Next::kDone) {
      if (done_) done_();
      return;
    }
    if (!next.ok()) {
      std::cerr << "rectrack: " << what_ << ": " << next.status().message()
                << " (trying again in 5 s)" << std::endl;
    }
    const int pause = !next.ok()             ? kAfterAFailureMs
                      : *next == Next::kWait ? kWaitingMs
                                             : kBetweenTurnsMs;
    if (!Pause(pause)) return;
  }
}

bool Turns::Pause(int ms) {
  MutexLock lock(&mutex_);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stopping_ && std::chrono::steady_clock::now() < until) {
    stop_cv_.WaitFor(until - std::chrono::steady_clock::now());
  }
  return !stopping_;
}

}  // namespace rectrack
