// What many tests share: a clock that stands still, and running the rectrack binary as a user
// would.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "engine/clock.h"

namespace rectrack {

// Always `instant` ("2025-03-31T09:00:00Z").
class FixedClock : public Clock {
 public:
  explicit FixedClock(const char* instant) : now_(*ParseInstant(instant)) {}
  TimePoint Now() const override { return now_; }

 private:
  TimePoint now_;
};

struct CliRun {
  int status;       // the exit status; -1 when it did not exit normally
  std::string out;  // stdout and stderr together
};

#ifdef RECTRACK_BINARY
// Runs the rectrack binary with `args`, shell-quoted by the caller where needed.
inline CliRun Rectrack(const std::string& args) {
  std::string command = std::string(RECTRACK_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  CliRun run{-1, ""};
  if (!pipe) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}
#endif

}  // namespace rectrack
