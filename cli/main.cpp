#include <exception>
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
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
