// Running another program (pandoc, WeasyPrint) as a filter: bytes in on its standard input,
// bytes out of its standard output, bounded in time and in what it may print.
//
// The program runs in a process group of its own, so that a timeout kills it and whatever it
// started; nothing of this process but the three pipes reaches it (every other descriptor
// rectrack opens is close-on-exec). Thread-safe: posix_spawn, no fork of a threaded process.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rectrack {

struct ProgramLimits {
  std::chrono::milliseconds timeout{60'000};  // from start to exit
  size_t max_output_bytes = 64 << 20;         // standard output; standard error is kept to 4 KiB
};

struct ProgramOutput {
  int exit_code = 0;  // 0 when it succeeded
  std::string out;    // its standard output
  std::string err;    // the start of its standard error
};

// Runs argv[0], looked up in PATH, with `args`, writes `input` to its standard input and returns
// what it printed once it has exited (whatever its exit code). IOError when it cannot be started
// (naming the program) or when it is killed by a signal; TooLarge when it prints more than
// max_output_bytes (it is killed): the caller says whose fault that is; Unavailable when it has
// not exited within `timeout` (it and its process group are killed). Never leaves a child
// behind.
Result<ProgramOutput> RunProgram(const std::vector<std::string>& argv, std::string_view input,
                                 const ProgramLimits& limits);

}  // namespace rectrack
