// Reading a ZIP archive's central directory (zip_directory.h).
#include "draft/zip_directory.h"

#include <limits>

namespace rectrack {
namespace {

uint64_t LittleEndian(std::string_view bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = width; i-- > 0;) value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

}  // namespace

std::optional<uint64_t> ZipUnpackedBytes(std::string_view zip) {
  constexpr size_t kEndSize = 22, kEntrySize = 46;
  const size_t from = zip.size() > 65535 + kEndSize ? zip.size() - 65535 - kEndSize : 0;
  const size_t end = zip.rfind(std::string_view("PK\x05\x06", 4));
  if (end == std::string_view::npos || end < from || end + kEndSize > zip.size()) {
    return std::nullopt;
  }
  const uint64_t entries = LittleEndian(zip, end + 10, 2);
  uint64_t at = LittleEndian(zip, end + 16, 4);
  uint64_t unpacked = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    if (at + kEntrySize > end || zip.substr(at, 4) != std::string_view("PK\x01\x02", 4)) {
      return std::nullopt;
    }
    const uint64_t size = LittleEndian(zip, at + 24, 4);
    if (size == 0xFFFFFFFF) return std::numeric_limits<uint64_t>::max();
    unpacked += size;
    at += kEntrySize + LittleEndian(zip, at + 28, 2) + LittleEndian(zip, at + 30, 2) +
          LittleEndian(zip, at + 32, 2);
  }
  return unpacked;
}

}  // namespace rectrack
