// libFuzzer target: the import file parser (engine/importer.h) on any bytes. It must answer a
// list of commands or an error, never crash, hang or run out of memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/importer.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rectrack::Workflow& workflow = rectrack::fuzz::BundledWorkflow();
  static const rectrack::Workflow& actions = rectrack::fuzz::BundledActionWorkflow();
  auto parsed = rectrack::ParseImport(std::string_view(reinterpret_cast<const char*>(data), size),
                                      "fuzz.yaml", workflow, &actions);
  (void)parsed;
  return 0;
}
