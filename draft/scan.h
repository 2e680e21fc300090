// The small character and prefix tests the report reader scans with, by hand rather than with
// std::regex: the work stays linear in the text, and libstdc++'s regex can exhaust its stack on a
// long line of a hostile document. ASCII only: a report's structure (numbers, markers, the words
// looked for) is ASCII; other characters pass through untouched. Private to draft/.
#pragma once

#include <string_view>

#include "common/strings.h"

namespace rectrack::scan {

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v'; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
inline bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsLetter(char c) { return IsLower(c) || IsUpper(c); }
inline bool IsAlnum(char c) { return IsLetter(c) || IsDigit(c); }

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// `prefix` is lower case.
inline bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && Lower(s.substr(0, prefix.size())) == prefix;
}

}  // namespace rectrack::scan
