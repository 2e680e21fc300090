// libFuzzer target: the deadline-text reader (engine/deadline_text.h), which reads milestones
// out of a recommendation's words ("By March 2024, ...").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/deadline_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto milestones =
      rectrack::MilestonesFromText(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)milestones;
  return 0;
}
