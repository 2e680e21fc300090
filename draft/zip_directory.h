// What a ZIP archive (a DOCX's, an ODT's) says of itself in its central directory, read without
// unpacking anything: how a report reader refuses a zip bomb before a converter runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rectrack {

// The bytes a ZIP archive's entries take unpacked, as its central directory says (APPNOTE
// 4.3.12 and 4.3.16); nullopt when the directory cannot be read. An entry whose size is ZIP64's
// (said elsewhere: over 4 GB) counts as the most there is. A directory may lie about the sizes:
// this refuses an honest bomb with a clear message, and the converter's memory limit
// (report_text.h: max_converter_heap_mb) bounds a dishonest one.
std::optional<uint64_t> ZipUnpackedBytes(std::string_view zip);

}  // namespace rectrack
