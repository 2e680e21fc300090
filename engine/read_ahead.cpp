#include "engine/read_ahead.h"

#include <exception>
#include <system_error>
#include <utility>

#include "engine/event_codec.h"

namespace rectrack {

std::unique_ptr<ReadAhead> ReadAhead::Start(storage::EventStore* store, int64_t after_seq) {
  std::unique_ptr<ReadAhead> ahead(new ReadAhead());
  try {
    ahead->reader_ =
        std::thread([raw = ahead.get(), store, after_seq] { raw->Read(store, after_seq); });
  } catch (const std::system_error&) {
    return nullptr;  // no thread to be had: the caller reads on its own
  }
  return ahead;
}

ReadAhead::~ReadAhead() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  changed_.SignalAll();
  reader_.join();
}

bool ReadAhead::Hand(std::vector<Decoded> batch) {
  MutexLock lock(&mu_);
  while (!stop_ && ready_.size() >= kBatchesAhead) changed_.Wait();
  if (stop_) return false;
  ready_.push_back(std::move(batch));
  changed_.SignalAll();
  return true;
}

void ReadAhead::Read(storage::EventStore* store, int64_t after_seq) {
  std::vector<Decoded> batch;
  batch.reserve(kBatchSize);
  bool stopped = false;
  Status read;
  try {
    read = store->Scan(after_seq, [&](const storage::EventRowView& row) -> Status {
      Decoded& decoded = batch.emplace_back(Decoded{row.seq, "", DecodeEvent(row)});
      if (!decoded.event.ok()) decoded.subject_id = row.subject_id;
      if (batch.size() < kBatchSize) return Status();
      stopped = !Hand(std::exchange(batch, {}));
      batch.reserve(kBatchSize);
      // Only ends the scan: the caller, who said stop, reads nothing more.
      return stopped ? Status::Unavailable("stopped") : Status();
    });
    if (!stopped && !batch.empty()) Hand(std::move(batch));
  } catch (const std::exception& e) {  // out of memory, most likely: a read that failed
    read = Status::IOError(std::string("cannot read the event log: ") + e.what());
  }
  MutexLock lock(&mu_);
  read_all_ = true;
  if (!stopped) read_ = read;
  changed_.SignalAll();
}

bool ReadAhead::Next(std::vector<Decoded>* batch) {
  // The rows already taken are freed here, not under the lock, where the reader would wait.
  std::vector<Decoded> taken = std::move(*batch);
  taken.clear();
  MutexLock lock(&mu_);
  while (ready_.empty() && !read_all_) changed_.Wait();
  if (ready_.empty()) return false;
  *batch = std::move(ready_.front());
  ready_.pop_front();
  changed_.SignalAll();
  return true;
}

Status ReadAhead::status() const {
  MutexLock lock(&mu_);
  return read_;
}

}  // namespace rectrack
