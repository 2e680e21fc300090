// Checkpointer: moves a WAL database's log into the database file from a thread of its own, so
// that no commit has to. Left to itself, SQLite checkpoints inside the COMMIT that takes the log
// past `wal_autocheckpoint` pages, and that commit (and every write waiting behind it) pays for
// writing a thousand pages back. A server raises its connection's threshold to a backstop
// (Database::SetAutoCheckpoint) and runs one of these.
//
// It opens a connection of its own and runs PASSIVE checkpoints, which never block readers or
// writers and copy only what no reader still needs; errors (a busy database) are left for the
// next round. Stops, and joins its thread, when destroyed.
//
// Thread-safety: the public methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

class Checkpointer {
 public:
  // Checkpoints `path` every `every`. NotFound when there is no database there.
  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path,
                                                     std::chrono::milliseconds every);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Rounds that found the log holding frames, and how many of them the last such round had
  // copied into the database file (SQLite counts from the start of the current log).
  int64_t rounds() const EXCLUDES(mutex_);
  int64_t last_checkpointed() const EXCLUDES(mutex_);

 private:
  Checkpointer(std::unique_ptr<Database> db, std::chrono::milliseconds every)
      : db_(std::move(db)), every_(every) {}
  void Run() EXCLUDES(mutex_);

  std::unique_ptr<Database> db_;  // used by the thread only
  const std::chrono::milliseconds every_;
  mutable Mutex mutex_;
  CondVar wake_{&mutex_};
  bool stopping_ GUARDED_BY(mutex_) = false;
  int64_t rounds_ GUARDED_BY(mutex_) = 0;
  int64_t last_ GUARDED_BY(mutex_) = 0;
  std::thread thread_;
};

}  // namespace rectrack::storage
