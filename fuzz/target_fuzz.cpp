// libFuzzer target: the request-target and query parser (http/api_util.h) on any bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/api_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto target = rectrack::http::ParseTarget(std::string(reinterpret_cast<const char*>(data), size));
  (void)target;
  return 0;
}
