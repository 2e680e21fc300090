#include "storage/wal_watch.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>

#include "storage/database.h"

namespace rectrack::storage {

std::unique_ptr<WalWatch> WalWatch::Open(Database& db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr || file->pMethods->iVersion < 2 ||
      file->pMethods->xShmMap == nullptr) {
    return nullptr;
  }
  // Region 0 of the WAL-index (32 KiB), as the pager maps it; not extended if there is none.
  volatile void* region = nullptr;
  if (file->pMethods->xShmMap(file, 0, 32768, 0, &region) != SQLITE_OK || region == nullptr) {
    return nullptr;
  }
  return std::unique_ptr<WalWatch>(new WalWatch(region));
}

void WalWatch::Copy(unsigned char* out) const {
  // Another process writes these bytes: read them once each, after every write this process
  // has seen (SQLite's writers order theirs with a memory barrier too).
  std::atomic_thread_fence(std::memory_order_acquire);
  const volatile unsigned char* header = static_cast<const volatile unsigned char*>(header_);
  for (size_t i = 0; i < kHeaderBytes; ++i) out[i] = header[i];
}

bool WalWatch::Changed() const {
  if (!marked_) return true;
  unsigned char now[kHeaderBytes];
  Copy(now);
  return std::memcmp(now, seen_, kHeaderBytes) != 0;
}

void WalWatch::Mark() {
  Copy(seen_);
  marked_ = true;
}

}  // namespace rectrack::storage
