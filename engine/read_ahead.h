// ReadAhead: the log's rows read from SQLite and decoded into events on a thread of its own, a
// batch at a time, while the caller's thread replays them. The first catch-up of a long log
// (serve's start, a CLI command that reads the whole log) then costs about the slower of the
// two, not their sum. At most kBatchesAhead batches wait to be taken, besides the one being read
// and the one the caller holds, so what it holds is bounded however long the log.
//
// Typical use:
//   std::unique_ptr<ReadAhead> ahead = ReadAhead::Start(store, after_seq);
//   if (!ahead) ...read on this thread instead...
//   std::vector<ReadAhead::Decoded> batch;
//   while (ahead->Next(&batch)) {
//     for (ReadAhead::Decoded& row : batch) {
//       if (!row.event.ok()) ...row.seq and row.subject_id do not decode: stop...
//       ...replay *row.event...
//     }
//   }
//   RETURN_IF_ERROR(ahead->status());  // the read itself, to the end
//
// Thread-safety: from Start until Next returns false or the ReadAhead is destroyed, its thread
// alone uses `store` (and the Database under it); the caller must not. Next, status and the
// destructor are for the thread that started it. (The rows are read as views into SQLite's
// copy, storage::EventRowView, and decoded from there: that thread makes no copy of a row, and
// allocates little but the events, which the ledger keeps, and the batches. An exception there,
// out of memory, ends the read as a failed one: status() says so.)
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "engine/model.h"
#include "storage/event_store.h"

namespace rectrack {

class ReadAhead {
 public:
  static constexpr size_t kBatchSize = 1024;
  static constexpr size_t kBatchesAhead = 4;

  // A row of the log, decoded: its event, or (an error) why it does not decode.
  struct Decoded {
    int64_t seq = 0;
    std::string subject_id;  // set when `event` is an error; the event has its own
    Result<Event> event;
  };

  // Starts reading the events after `after_seq`, in seq order; null when no thread can be
  // started (the caller reads on its own). REQUIRES: `store` outlives the ReadAhead.
  static std::unique_ptr<ReadAhead> Start(storage::EventStore* store, int64_t after_seq);
  // Stops the reading (a batch in progress is dropped) and waits for its thread.
  ~ReadAhead() EXCLUDES(mu_);
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Replaces `*batch` with the next rows, in seq order; false when every row has been given, or
  // the read failed (then `status()` says why, and every row before the failure was given). A
  // row that does not decode is given (as an error), and the rows after it too.
  bool Next(std::vector<Decoded>* batch) EXCLUDES(mu_);
  // Whether the rows were read through. REQUIRES: Next returned false.
  Status status() const EXCLUDES(mu_);

 private:
  ReadAhead() = default;
  // The thread's body: every row, into batches handed over, until the end, an error or stop.
  void Read(storage::EventStore* store, int64_t after_seq) EXCLUDES(mu_);
  // Queues a batch, waiting while kBatchesAhead are queued; false once told to stop.
  bool Hand(std::vector<Decoded> batch) EXCLUDES(mu_);

  mutable Mutex mu_;
  CondVar changed_{&mu_};  // a batch queued or taken, the end reached, or told to stop
  std::deque<std::vector<Decoded>> ready_ GUARDED_BY(mu_);
  bool read_all_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  Status read_ GUARDED_BY(mu_);
  std::thread reader_;
};

}  // namespace rectrack
