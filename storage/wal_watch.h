// WalWatch: whether a WAL database may have had a commit since the last look, answered without a
// lock, a system call or SQLite.
//
// Every commit to a database in WAL mode rewrites the WAL-index header at the start of its
// "-shm" file (SQLite's file format, "The WAL-Index Format"), which every connection maps: the
// last valid frame grows, or the salts change when the log starts over. SQLite's own readers
// compare that header before they take a lock; a long-running server does the same, through its
// connection's mapping, before asking `PRAGMA data_version` (a read transaction, two fcntl
// calls), so a request that finds nothing new costs a 48-byte compare.
//
// A header that differs says only "maybe": the caller then asks SQLite. One that is the same as
// at Mark() means no commit has become visible since: a commit is visible to readers only once
// its header is written.
//
// Thread-safety: one thread at a time (the engine's lock).
#pragma once

#include <cstddef>
#include <memory>

namespace rectrack::storage {

class Database;

class WalWatch {
 public:
  // Watches the WAL-index of `db`'s connection, through SQLite's own mapping of the -shm file
  // (opening the file again would not do: closing any descriptor of a file drops every POSIX
  // lock this process holds on it, SQLite's included, and another process would then truncate
  // the file under us). Null when there is nothing to watch (an in-memory database, no read
  // yet, a VFS without shared memory): the caller then always asks SQLite.
  // REQUIRES: `db` outlives the watch.
  static std::unique_ptr<WalWatch> Open(Database& db);
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
  explicit WalWatch(const volatile void* header) : header_(header) {}
  void Copy(unsigned char* out) const;

  const volatile void* header_;  // SQLite's mapping, unmapped when its connection closes
  bool marked_ = false;
  unsigned char seen_[kHeaderBytes] = {};
};

}  // namespace rectrack::storage
