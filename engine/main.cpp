#include <iostream>

#include "engine/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return rectrack::RunCli(args, std::cout, std::cerr);
}
