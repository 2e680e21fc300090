// Text checks shared by every module: what rectrack stores must be valid UTF-8, because the
// event log is JSON and a payload that does not decode would make the log unreadable.
#pragma once

#include <string>
#include <string_view>

namespace rectrack {

bool IsValidUtf8(std::string_view text);
// `text` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view text);

}  // namespace rectrack
