#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#if defined(__linux__) && defined(__GLIBC__)
#include <unistd.h>
#endif

#include "cli/cli.h"

namespace {

// rectrack builds its world in millions of small blocks (an import of 100,000 recommendations
// allocates some 400 MB), and on a virtual machine most of that time goes on page faults: 4 KB
// at a time, each one zeroed and mapped by the kernel. glibc's malloc can ask for transparent
// huge pages for its heap (2 MB a fault, 512 times fewer), but only when told at start-up, by
// the GLIBC_TUNABLES environment variable: measured, an import of 100,000 takes 6.8 s with it
// and 10.6 s without. So rectrack starts itself again once, with the tunable added, unless it
// is already there, whatever its value (GLIBC_TUNABLES=glibc.malloc.hugetlb=0 keeps them off).
// Built with a sanitizer (RECTRACK_SANITIZED), whose allocator is not glibc's, nothing is done.
void StartAgainWithHugePages(char** argv) {
#if defined(__linux__) && defined(__GLIBC__) && !defined(RECTRACK_SANITIZED)
  const std::string kTunable = "glibc.malloc.hugetlb";
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, kTunable.c_str())) return;
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
  env.push_back(nullptr);
  execve("/proc/self/exe", argv, env.data());
  // No /proc, or the binary is gone: go on as we are, with malloc's defaults.
#else
  (void)argv;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  StartAgainWithHugePages(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return rectrack::RunCli(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    // Nothing should throw this far (adapters turn exceptions into Status); if something does,
    // say so instead of aborting. Every write is one transaction, so nothing is half-written.
    std::cerr << "rectrack: internal error: " << e.what() << "\n";
    return 1;
  }
}
