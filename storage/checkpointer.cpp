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
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t Checkpointer::rounds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rounds_;
}

int64_t Checkpointer::last_checkpointed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_;
}

void Checkpointer::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, every_, [&] { return stopping_; })) {
    lock.unlock();
    // One row: busy, frames in the log, frames checkpointed (-1s when not in WAL mode).
    int64_t log = 0, checkpointed = 0;
    if (auto stmt = db_->Prepare("PRAGMA wal_checkpoint(PASSIVE)"); stmt.ok()) {
      if (auto row = stmt->Step(); row.ok() && *row) {
        log = stmt->ColumnInt(1);
        checkpointed = stmt->ColumnInt(2);
      }
    }
    lock.lock();
    if (log > 0) {
      ++rounds_;
      last_ = checkpointed;
    }
  }
}

}  // namespace rectrack::storage
