// What the command line prints goes to terminals, where a control character in a note (ESC and
// its sequences, a bare carriage return, a C1 control) could clear the screen, move the cursor
// to overwrite what is shown, or retitle the window. rectrack refuses such characters in what it
// stores; this filter makes sure that whatever reaches a terminal from an older database, a
// file name or an error message shows them as text ("\x1b", "\u009b") instead.
#pragma once

#include <ostream>
#include <streambuf>

namespace rectrack::cli {

// A streambuf that writes to `target` with every control character but tab and newline
// escaped: C0 and DEL as "\xHH", the C1 controls (UTF-8 0xC2 0x80-0x9F) as "\u00HH". Other
// bytes, UTF-8 included, pass through unchanged. Flush (or destroy) it to write a pending 0xC2.
class ControlEscapingBuf : public std::streambuf {
 public:
  explicit ControlEscapingBuf(std::ostream& target) : target_(target) {}
  ~ControlEscapingBuf() override { FlushPending(); }

 protected:
  int_type overflow(int_type ch) override;
  // Whole runs without controls go to `target` in one write: output is mostly plain text.
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  void FlushPending();

  std::ostream& target_;
  bool pending_c2_ = false;  // a 0xC2 whose next byte says whether it starts a C1 control
};

}  // namespace rectrack::cli
