#include "common/text.h"

#include <algorithm>

namespace rectrack {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF).
size_t SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

size_t FindControl(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) return i;
    // U+0080-U+009F are 0xC2 0x80-0x9F in UTF-8.
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f &&
        static_cast<unsigned char>(text[i + 1]) >= 0x80) {
      return i;
    }
  }
  return std::string_view::npos;
}

std::string ControlName(std::string_view text, size_t at) {
  unsigned code = static_cast<unsigned char>(text[at]);
  if (code == 0xc2 && at + 1 < text.size()) code = static_cast<unsigned char>(text[at + 1]);
  return CodePointName(code);
}

size_t FindNoncharacter(std::string_view text, char32_t* code_point) {
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    if (length >= 3 && i + length <= text.size()) {
      char32_t c = lead & (length == 3 ? 0x0f : 0x07);
      for (size_t k = 1; k < length; ++k)
        c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
      if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe) {
        *code_point = c;
        return i;
      }
    }
    i += length;
  }
  return std::string_view::npos;
}

std::string CodePointName(char32_t code_point) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string digits;
  for (char32_t c = code_point; c != 0 || digits.size() < 4; c >>= 4) {
    digits.insert(digits.begin(), kHex[c & 0xf]);
  }
  return "U+" + digits;
}

Status CheckStoredText(std::string_view field, std::string_view value, size_t limit,
                       TextLines lines) {
  const std::string name(field);
  if (!IsValidUtf8(value)) {
    return Status::InvalidArgument(name + " is not valid UTF-8 text: '" +
                                   SanitizeUtf8(value.substr(0, 200)) + "'");
  }
  if (value.size() > limit) {
    return Status::InvalidArgument(name + " is " + std::to_string(value.size()) +
                                   " bytes long; at most " + std::to_string(limit) +
                                   " are allowed");
  }
  size_t control = FindControl(value);
  if (lines == TextLines::kOne) control = std::min(control, value.find_first_of("\t\n"));
  if (control != std::string::npos) {
    return Status::InvalidArgument(
        name + " holds the control character " + ControlName(value, control) + " at byte " +
        std::to_string(control + 1) +
        (lines == TextLines::kOne ? "; it must be one line of text"
                                  : "; only tab and newline are allowed"));
  }
  char32_t noncharacter = 0;
  if (const size_t at = FindNoncharacter(value, &noncharacter); at != std::string::npos) {
    return Status::InvalidArgument(name + " holds the noncharacter " + CodePointName(noncharacter) +
                                   " at byte " + std::to_string(at + 1) + ", which is not text");
  }
  return Status();
}

}  // namespace rectrack
