// ReadAhead: the log's rows read from SQLite on a thread of its own, a batch at a time, while the
// caller's thread decodes and replays them. The first catch-up of a long log (serve's start,
// a CLI command that reads the whole log) then costs the slower of reading and replaying, not
// their sum: on two cores, about half the time. At most kBatchesAhead batches wait decoded, so
// what it holds is bounded however long the log.
//
// Typical use:
//   ReadAhead ahead(store, after_seq);
//   std::vector<storage::EventRow> batch;
//   while (ahead.Next(&batch)) for (const storage::EventRow& row : batch) ...
//
// Thread-safety: from construction until Next returns false or the ReadAhead is destroyed, its
// thread alone uses `store` (and the Database under it); the caller must not. Next and the
// destructor are for the thread that made it. (The rows are decoded by the caller, not here: the
// events are then made in the caller's malloc arena, beside the rest of the ledger, and the
// reading thread's arena holds only the rows in flight.)
#pragma once

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "storage/event_store.h"

namespace rectrack {
class ReadAhead {
 public:
  static constexpr size_t kBatchSize = 1024;
  static constexpr size_t kBatchesAhead = 4;

  // Starts reading the events after `after_seq`, in seq order. REQUIRES: `store` outlives this.
  ReadAhead(storage::EventStore* store, int64_t after_seq);
  // Stops the reading (a batch in progress is dropped) and waits for its thread.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Replaces `*batch` with the next rows, in seq order; false when every row has been given, or
  // the read failed (then `status()` says why, and every row before the failure was given).
  bool Next(std::vector<storage::EventRow>* batch);
  // Whether the rows were read through. REQUIRES: Next returned false.
  Status status();

 private:
  void Read(storage::EventStore* store, int64_t after_seq);
  // Queues a batch, waiting while kBatchesAhead are queued; false once told to stop.
  bool Hand(std::vector<storage::EventRow> batch);

  Mutex mu_;
  CondVar changed_{&mu_};  // a batch queued or taken, the end reached, or told to stop
  std::deque<std::vector<storage::EventRow>> ready_ GUARDED_BY(mu_);
  bool read_all_ GUARDED_BY(mu_) = false;
  Status read_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread reader_;  // last: started once the members above are made
};

}  // namespace rectrack
