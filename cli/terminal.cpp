#include "cli/terminal.h"

namespace rectrack::cli {
namespace {

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::streambuf::int_type ControlEscapingBuf::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  const auto c = static_cast<unsigned char>(traits_type::to_char_type(ch));
  if (pending_c2_) {
    pending_c2_ = false;
    if (c >= 0x80 && c <= 0x9f) {
      target_ << "\\u00" << kHex[c >> 4] << kHex[c & 0xf];
      return ch;
    }
    target_.put(static_cast<char>(0xc2));
  }
  if (c == 0xc2) {
    pending_c2_ = true;
  } else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
    target_ << "\\x" << kHex[c >> 4] << kHex[c & 0xf];
  } else {
    target_.put(static_cast<char>(c));
  }
  return target_ ? ch : traits_type::eof();
}

std::streamsize ControlEscapingBuf::xsputn(const char* s, std::streamsize n) {
  std::streamsize start = 0;  // s[start, i) is plain text not yet written
  for (std::streamsize i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool plain =
        !pending_c2_ && c != 0xc2 && c != 0x7f && (c >= 0x20 || c == '\t' || c == '\n');
    if (plain) continue;
    if (i > start) target_.write(s + start, i - start);
    overflow(traits_type::to_int_type(s[i]));
    start = i + 1;
  }
  if (n > start) target_.write(s + start, n - start);
  return target_ ? n : 0;
}

int ControlEscapingBuf::sync() {
  FlushPending();
  target_.flush();
  return target_ ? 0 : -1;
}

void ControlEscapingBuf::FlushPending() {
  if (!pending_c2_) return;
  pending_c2_ = false;
  target_.put(static_cast<char>(0xc2));
}

}  // namespace rectrack::cli
