// libFuzzer target: what a client uploads. The bytes are a multipart/form-data body (boundary
// "b"), read by http/multipart.h; every part is then taken as an evidence file and described by
// engine/evidence.h (its kind from its content, its hash). Neither may crash, read out of bounds
// or hang, whatever the bytes; and a part must lie inside the body it was read from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/evidence.h"
#include "http/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto parts = rectrack::http::ParseMultipartForm("multipart/form-data; boundary=b", body);
  if (!parts.ok()) return 0;
  std::vector<rectrack::EvidenceFile> files;
  for (const auto& part : *parts) {
    if (part.body.size() > body.size() || part.name.empty()) std::abort();
    (void)rectrack::EvidenceMediaType(part.filename.empty() ? "x.txt" : part.filename, part.body);
    files.push_back({part.filename, part.body});
  }
  (void)rectrack::DescribeEvidence(files, {});
  return 0;
}
