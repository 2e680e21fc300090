#include "engine/read_ahead.h"

#include <utility>

namespace rectrack {

ReadAhead::ReadAhead(storage::EventStore* store, int64_t after_seq)
    : reader_([this, store, after_seq] { Read(store, after_seq); }) {}

ReadAhead::~ReadAhead() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  changed_.SignalAll();
  reader_.join();
}

bool ReadAhead::Hand(std::vector<storage::EventRow> batch) {
  MutexLock lock(&mu_);
  while (!stop_ && ready_.size() >= kBatchesAhead) changed_.Wait();
  if (stop_) return false;
  ready_.push_back(std::move(batch));
  changed_.SignalAll();
  return true;
}

void ReadAhead::Read(storage::EventStore* store, int64_t after_seq) {
  std::vector<storage::EventRow> batch;
  batch.reserve(kBatchSize);
  bool stopped = false;
  Status read = store->Scan(after_seq, [&](const storage::EventRow& row) -> Status {
    batch.push_back(row);
    if (batch.size() < kBatchSize) return Status();
    stopped = !Hand(std::exchange(batch, {}));
    batch.reserve(kBatchSize);
    // Only ends the scan: the caller, who said stop, reads nothing more.
    return stopped ? Status::Unavailable("stopped") : Status();
  });
  if (!stopped && !batch.empty()) Hand(std::move(batch));
  MutexLock lock(&mu_);
  read_all_ = true;
  if (!stopped) read_ = read;
  changed_.SignalAll();
}

bool ReadAhead::Next(std::vector<storage::EventRow>* batch) {
  MutexLock lock(&mu_);
  while (ready_.empty() && !read_all_) changed_.Wait();
  if (ready_.empty()) return false;
  *batch = std::move(ready_.front());
  ready_.pop_front();
  changed_.SignalAll();
  return true;
}

Status ReadAhead::status() {
  MutexLock lock(&mu_);
  return read_;
}

}  // namespace rectrack
