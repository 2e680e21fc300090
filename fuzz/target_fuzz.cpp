// libFuzzer target: the request-target and query parser (http/api_util.h) on any bytes. Its
// fast path for plain targets must answer exactly as the full parser (Boost.URL) does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/api_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto target = rectrack::http::ParseTarget(text);
  auto full = rectrack::http::ParseTargetInFull(text);
  if (target.ok() != full.ok()) std::abort();
  if (target.ok() && (target->path != full->path || target->query != full->query)) std::abort();
  if (!target.ok() && target.status().message() != full.status().message()) std::abort();
  return 0;
}
