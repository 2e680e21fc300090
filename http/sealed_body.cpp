#include "http/sealed_body.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <new>

namespace rectrack::http {
namespace {

std::atomic<int> open_files{0};

// Writes all of `bytes` to `fd` from offset 0; false on any failure.
bool WriteAll(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::shared_ptr<const SealedBody> SealedBody::Make(std::string_view bytes) {
  if (bytes.size() < kMinBytes) return nullptr;
  if (open_files.fetch_add(1) >= kMaxOpen) {
    --open_files;
    return nullptr;
  }
  const int fd = ::memfd_create("rectrack-answer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    --open_files;
    return nullptr;
  }
  // Sealed, the bytes can no longer change under a sendfile in progress, whoever holds the fd.
  if (!WriteAll(fd, bytes) ||
      ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    ::close(fd);
    --open_files;
    return nullptr;
  }
  auto* sealed = new (std::nothrow) SealedBody(fd, bytes.size());
  if (!sealed) {
    ::close(fd);
    --open_files;
    return nullptr;
  }
  return std::shared_ptr<const SealedBody>(sealed);
}

SealedBody::~SealedBody() {
  ::close(fd_);
  --open_files;
}

}  // namespace rectrack::http
