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

// Whether `rectrack args...` reads the whole log into memory (serve, import, verify, a token, a
// progress report; not show, record, list or Annex A, which read the item index and heads):
// such a command is worth starting again with huge pages for its heap (main.cpp). False for a
// command line that is not one.
bool ReadsWholeLog(const std::vector<std::string>& args);

}  // namespace rectrack
