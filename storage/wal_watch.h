// WalWatch: whether a WAL database may have had a commit since the last look, answered without a
// lock, a system call or SQLite.
//
// Every commit to a database in WAL mode rewrites the WAL-index header at the start of its
// "-shm" file (SQLite's file format, "The WAL-Index Format"): the last valid frame grows, or the
// salts change when the log starts over. SQLite's own readers compare that header before they
// take a lock; a long-running server does the same before asking `PRAGMA data_version` (a read
// transaction, two fcntl calls), so a request that finds nothing new costs a 48-byte compare.
//
// A header that differs says only "maybe": the caller then asks SQLite. One that is the same as
// at Mark() means no commit has become visible since: a commit is visible to readers only once
// its header is written.
//
// Thread-safety: one thread at a time (the engine's lock).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace rectrack::storage {

class WalWatch {
 public:
  // Maps `db_path` + "-shm" read-only. Null when there is nothing to watch (":memory:", no
  // -shm file yet, a file too short to hold the header): the caller then always asks SQLite.
  // REQUIRES: a connection to the database stays open while the watch lives (it keeps the
  // -shm file from being truncated).
  static std::unique_ptr<WalWatch> Open(const std::string& db_path);
  ~WalWatch();
  WalWatch(const WalWatch&) = delete;
  WalWatch& operator=(const WalWatch&) = delete;

  // Whether the header differs from the copy Mark() took (true before the first Mark()).
  bool Changed() const;
  // Copies the header as it is now.
  void Mark();
  // Drops the copy: Changed() is true until the next Mark().
  void Forget() { marked_ = false; }

 private:
  static constexpr size_t kHeaderBytes = 48;  // the first copy of the WAL-index header
  WalWatch(void* map, size_t length) : map_(map), length_(length) {}
  void Copy(unsigned char* out) const;

  void* map_;
  size_t length_;
  bool marked_ = false;
  unsigned char seen_[kHeaderBytes] = {};
};

}  // namespace rectrack::storage
