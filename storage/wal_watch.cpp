#include "storage/wal_watch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace rectrack::storage {

std::unique_ptr<WalWatch> WalWatch::Open(const std::string& db_path) {
  if (db_path.empty() || db_path == ":memory:" || db_path.rfind("file:", 0) == 0) return nullptr;
  const std::string shm = db_path + "-shm";
  const int fd = ::open(shm.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st;
  void* map = MAP_FAILED;
  const size_t length = 4096;
  if (::fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(length)) {
    map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  }
  ::close(fd);  // the mapping stays
  if (map == MAP_FAILED) return nullptr;
  return std::unique_ptr<WalWatch>(new WalWatch(map, length));
}

WalWatch::~WalWatch() { ::munmap(map_, length_); }

void WalWatch::Copy(unsigned char* out) const {
  // Another process writes these bytes: read them once each, after every write this process
  // has seen (SQLite's writers order theirs with a memory barrier too).
  std::atomic_thread_fence(std::memory_order_acquire);
  const volatile unsigned char* header = static_cast<const volatile unsigned char*>(map_);
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
