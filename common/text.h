// Text checks shared by every module: what rectrack stores must be valid UTF-8, because the
// event log is JSON and a payload that does not decode would make the log unreadable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rectrack {

bool IsValidUtf8(std::string_view text);
// `text` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view text);

// Control characters other than tab and newline (the C0 controls, DEL, and the C1 controls
// U+0080-U+009F) move a terminal's cursor, clear its screen or rename its window; rectrack
// refuses them in what it stores and escapes them in what it prints.
//
// The byte offset of the first such control in `text`, or npos. REQUIRES: valid UTF-8.
size_t FindControl(std::string_view text);
// "U+001B": how messages name the control at `text[at]` (as FindControl found it).
std::string ControlName(std::string_view text, size_t at);

// Noncharacters (U+FDD0-U+FDEF, and the last two code points of every plane, U+FFFE and U+FFFF
// among them) are not for interchange, and XML (XLSX, DOCX, ODT, Atom) cannot hold U+FFFE and
// U+FFFF at all: rectrack refuses them in what it stores.
//
// The byte offset of the first noncharacter in `text`, or npos; `*code_point` set to it.
// REQUIRES: valid UTF-8.
size_t FindNoncharacter(std::string_view text, char32_t* code_point);
// "U+FFFF", "U+10FFFE".
std::string CodePointName(char32_t code_point);

// Whether `value`, a text rectrack is to store as `field` ("note", "label"), may be: valid UTF-8,
// at most `limit` bytes, no control character (with kOne, not tab or newline either: a label
// printed in a table), no noncharacter. InvalidArgument saying which and where otherwise.
enum class TextLines { kMany, kOne };
Status CheckStoredText(std::string_view field, std::string_view value, size_t limit,
                       TextLines lines = TextLines::kMany);

}  // namespace rectrack
