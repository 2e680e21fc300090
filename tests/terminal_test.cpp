// cli/terminal.h: what the command line prints reaches terminals with its control characters
// shown as text, whether written a character or a block at a time; and the binary does it for
// results and errors alike.
#include "cli/terminal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "tests/test_support.h"

namespace rectrack::cli {
namespace {

// Written through the filter as one block, and again one character at a time.
std::pair<std::string, std::string> Filtered(const std::string& text) {
  std::ostringstream block_target, char_target;
  {
    ControlEscapingBuf buf(block_target);
    std::ostream out(&buf);
    out << text;
  }
  {
    ControlEscapingBuf buf(char_target);
    std::ostream out(&buf);
    for (char c : text) out.put(c);
  }
  return {block_target.str(), char_target.str()};
}

TEST(TerminalTest, PlainTextTabsNewlinesAndUtf8PassThrough) {
  const std::string text =
      "R2 reopened\tdue 31 July 2023\n\xC2\xA3"
      "5 \xE2\x80\x93 caf\xC3\xA9\n";
  EXPECT_EQ(Filtered(text).first, text);
  EXPECT_EQ(Filtered(text).second, text);
}

TEST(TerminalTest, C0ControlsAndDelAreShownAsHexEscapes) {
  static constexpr char kText[] = "a\x1b[2Jb\rc\x07\x7f\x00z";  // NUL included
  const std::string with_nul(kText, sizeof kText - 1);
  const std::string expected = "a\\x1b[2Jb\\x0dc\\x07\\x7f\\x00z";
  EXPECT_EQ(Filtered(with_nul).first, expected);
  EXPECT_EQ(Filtered(with_nul).second, expected);
}

TEST(TerminalTest, C1ControlsAreShownButOtherTwoByteCharactersAreNot) {
  // U+009B is CSI, a one-character escape sequence; U+00A0 (no-break space) is text.
  const std::string text =
      "x\xC2\x9B"
      "2Jy\xC2\xA0z\xC2";
  const std::string expected = "x\\u009b2Jy\xC2\xA0z\xC2";
  EXPECT_EQ(Filtered(text).first, expected);
  EXPECT_EQ(Filtered(text).second, expected);
}

// The binary escapes its error messages too, which echo what the user typed.
TEST(TerminalTest, TheBinaryPrintsNoRawControlCharacter) {
  namespace fs = std::filesystem;
  const fs::path db =
      fs::path(::testing::TempDir()) / ("terminal_test_" + std::to_string(::getpid()) + ".db");
  fs::remove(db);
  ASSERT_EQ(Rectrack("--db " + db.string() + " import " + RECTRACK_SOURCE_DIR +
                     "/demo/domestic-abuse.yaml")
                .status,
            0);
  // popen's shell is dash: printf makes the bytes (ESC, then U+009B as 0xC2 0x9B).
  const CliRun run =
      Rectrack("--db " + db.string() + " show \"$(printf 'da99\\033[2J\\302\\233')\"");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.out.find("da99\\x1b[2J\\u009b"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos) << "a raw ESC reached the terminal";
  fs::remove(db);
}

}  // namespace
}  // namespace rectrack::cli
