// The `rectrack` command line: parses arguments, opens the Engine and runs one subcommand.
// A thin adapter: every subcommand is one or two Engine calls and a renderer.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace rectrack {

// Runs `rectrack args...` (args excludes the program name), printing results to `out` and errors
// to `err`, each with control characters escaped (cli/terminal.h). Returns the process exit
// status: 0 success, 1 the command failed, 2 bad usage.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Whether what `rectrack args...` builds in memory grows with the log: the whole world (serve,
// import, verify, a token, a progress report), or an answer of every head it asks for (Annex
// A, a list without a --limit of at most kSmallList); not show or record, which read one item,
// or a short list. Such a command is worth starting again with huge pages for its heap
// (main.cpp). False for a command line that is not one.
inline constexpr long kSmallList = 1000;
bool GrowsWithTheLog(const std::vector<std::string>& args);

}  // namespace rectrack
