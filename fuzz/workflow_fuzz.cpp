// libFuzzer target: the workflow loader (engine/workflow.h) on any YAML text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/workflow.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto loaded = rectrack::Workflow::Parse(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  (void)loaded;
  return 0;
}
