// SealedBody: the bytes of a large cached answer, kept a second time in an anonymous in-memory
// file that can no longer change (memfd_create, sealed against writes and resizing), so that the
// server sends them with sendfile(2): the kernel hands the file's pages to the socket instead of
// copying the bytes out of the process for every answer. A list of 1,000 recommendations is
// 370 KB; that copy was most of a cached GET's cost, and its speed swung by half from one run to
// the next on a shared machine (bench/README.md), where nginx sends files the same way.
//
// Make() gives null, and the caller sends its std::string as before, for fewer than kMinBytes
// (a copy costs less than the calls), when kMaxOpen files are already open (each holds a file
// descriptor, which the server's connections also need: with the default 256 connections and
// a soft limit of 1,024 descriptors there is room for both), or when the system refuses.
//
// Thread-safety: a SealedBody never changes after Make; any thread may read or send it.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace rectrack::http {

class SealedBody {
 public:
  static constexpr size_t kMinBytes = 64 * 1024;
  static constexpr int kMaxOpen = 128;

  // A sealed file holding `bytes`, or null (above).
  static std::shared_ptr<const SealedBody> Make(std::string_view bytes);
  ~SealedBody();
  SealedBody(const SealedBody&) = delete;
  SealedBody& operator=(const SealedBody&) = delete;

  int fd() const { return fd_; }
  size_t size() const { return size_; }

 private:
  SealedBody(int fd, size_t size) : fd_(fd), size_(size) {}
  const int fd_;
  const size_t size_;
};

}  // namespace rectrack::http
