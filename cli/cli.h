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

}  // namespace rectrack
