#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#if defined(__linux__) && defined(__GLIBC__)
#include <sys/auxv.h>
#include <unistd.h>
#endif

#include "cli/cli.h"
#include "common/strings.h"

namespace {

#if defined(__linux__) && defined(__GLIBC__) && !defined(RECTRACK_SANITIZED) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define RECTRACK_STARTS_AGAIN 1
// Whether the kernel gives transparent huge pages to memory that asks for them, which is all
// glibc's tunable does ("always": every heap has them unasked; "never": none).
bool KernelGivesHugePagesWhenAsked() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(in, modes);
  return modes.find("[madvise]") != std::string::npos;
}
#endif

// rectrack builds its world in millions of small blocks (an import of 100,000 recommendations
// allocates some 400 MB), and on a virtual machine most of that time goes on page faults: 4 KB
// at a time, each one zeroed and mapped by the kernel. glibc's malloc can ask for transparent
// huge pages for its heap (2 MB a fault, 512 times fewer), but only when told at start-up, by
// the GLIBC_TUNABLES environment variable: measured, an import of 100,000 takes 7.1 to 7.6 s
// with it and 10.6 to 11.7 s without. So a rectrack whose memory grows with the log
// (GrowsWithTheLog, cli.h) starts itself again once, with the tunable added, unless it is already
// there, whatever its value (GLIBC_TUNABLES=glibc.malloc.hugetlb=0 keeps them off). Never twice: a
// process started again is marked, and a secure one (setuid, file capabilities), whose
// GLIBC_TUNABLES glibc cleans, is left as it is. Built with a sanitizer, whose allocator is not
// glibc's, nothing is done.
void StartAgainWithHugePages(char** argv) {
#ifdef RECTRACK_STARTS_AGAIN
  constexpr char kMark[] = "RECTRACK_STARTED_AGAIN=1";
  const std::string kTunable = "glibc.malloc.hugetlb";
  if (!argv[0] || getauxval(AT_SECURE) || std::getenv("RECTRACK_STARTED_AGAIN")) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, kTunable.c_str())) return;
  if (!KernelGivesHugePagesWhenAsked()) return;
  // A new environment rather than setenv: glibc keeps its own copy of GLIBC_TUNABLES in the
  // environment at start-up, and setenv can leave the old one beside the new.
  std::string value = "GLIBC_TUNABLES=";
  if (tunables && *tunables) value += std::string(tunables) + ":";
  value += kTunable + "=1";
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "GLIBC_TUNABLES=", 15) != 0) env.push_back(*e);
  }
  env.push_back(value.data());
  env.push_back(const_cast<char*>(kMark));
  env.push_back(nullptr);
  execve("/proc/self/exe", argv, env.data());
  // No /proc, or the binary is gone: go on as we are, with malloc's defaults.
#else
  (void)argv;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  // Starting again costs about 20 ms (the dynamic linker, again): worth it only for a command
  // whose memory grows with the log, not for one that reads an item or a short list of heads.
  if (rectrack::GrowsWithTheLog(args)) StartAgainWithHugePages(argv);
  try {
    const int code = rectrack::RunCli(args, std::cout, std::cerr);
    // What a command printed may still sit in stdout's buffer: a full disk or a file-size limit
    // says so only now. A report cut short must not pass for a whole one (nor a token's secret
    // for shown), so that is a failure, said, as a write to -o FILE is.
    std::cout.flush();
    if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout) {
      const int error = errno;
      std::cerr << "rectrack: error: cannot write standard output" << rectrack::SystemReason(error)
                << "\n";
      return code == 0 ? 1 : code;
    }
    return code;
  } catch (const std::exception& e) {
    // Nothing should throw this far (adapters turn exceptions into Status); if something does,
    // say so instead of aborting. Every write is one transaction, so nothing is half-written.
    std::cerr << "rectrack: internal error: " << e.what() << "\n";
    return 1;
  }
}
