#include "storage/checkpointer.h"

namespace rectrack::storage {

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path,
                                                          std::chrono::milliseconds every) {
  ASSIGN_OR_RETURN(auto db, Database::Open(path, Database::OpenMode::kExisting));
  std::unique_ptr<Checkpointer> checkpointer(new Checkpointer(std::move(db), every));
  checkpointer->thread_ = std::thread([c = checkpointer.get()] { c->Run(); });
  return checkpointer;
}

Checkpointer::~Checkpointer() {
  {
    MutexLock lock(&mutex_);
    stopping_ = true;
  }
  wake_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

int64_t Checkpointer::rounds() const {
  MutexLock lock(&mutex_);
  return rounds_;
}

int64_t Checkpointer::last_checkpointed() const {
  MutexLock lock(&mutex_);
  return last_;
}

void Checkpointer::Run() {
  MutexLock lock(&mutex_);
  for (;;) {
    const auto due = std::chrono::steady_clock::now() + every_;
    for (auto now = std::chrono::steady_clock::now(); !stopping_ && now < due;
         now = std::chrono::steady_clock::now()) {
      wake_.WaitFor(due - now);
    }
    if (stopping_) return;
    lock.Unlock();
    // One row: busy, frames in the log, frames checkpointed (-1s when not in WAL mode).
    int64_t log = 0, checkpointed = 0;
    if (auto stmt = db_->Prepare("PRAGMA wal_checkpoint(PASSIVE)"); stmt.ok()) {
      if (auto row = stmt->Step(); row.ok() && *row) {
        log = stmt->ColumnInt(1);
        checkpointed = stmt->ColumnInt(2);
      }
    }
    lock.Lock();
    if (log > 0) {
      ++rounds_;
      last_ = checkpointed;
    }
  }
}

}  // namespace rectrack::storage
