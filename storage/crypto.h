// Small cryptographic helpers over OpenSSL's libcrypto, kept behind plain types so no header of
// rectrack includes OpenSSL.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace rectrack::storage {

// Lowercase hex SHA-256 of `data`; "" only when OpenSSL cannot allocate.
std::string Sha256Hex(std::string_view data);
// Lowercase hex HMAC-SHA-256 of `data` under `key`; "" only when OpenSSL cannot compute it.
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// `n` bytes from the operating system's CSPRNG (RAND_bytes); IOError when it is unavailable.
Result<std::string> RandomBytes(size_t n);
}  // namespace rectrack::storage
