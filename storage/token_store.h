// TokenStore: bearer tokens for the HTTP API. A token's secret is shown once, when it is created;
// only its SHA-256 is stored, so a copy of the database does not hand out access.
//
// Thread-safety: as the Database it wraps, one thread at a time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

struct TokenRecord {
  std::string id;  // first 12 hex digits of the hash: names the token in lists and revocation
  std::string role;
  std::string body;     // "" when the role is not scoped to a body
  std::string unit;     // a unit of `body` the token is narrowed to; "" for the whole body
  std::string label;    // who or what holds it
  std::string created;  // RFC 3339
  std::string expires;  // YYYY-MM-DD: valid up to the end of that day; "" for never
  std::string revoked;  // RFC 3339 when revoked, else ""
};

class TokenStore {
 public:
  explicit TokenStore(Database* db) : db_(db) {}

  // Mints a random secret ("rt_" + 43 base64url characters), stores its hash with `record`'s
  // role, body, unit, label, created and expires, and returns the stored record and the secret.
  Result<std::pair<TokenRecord, std::string>> Create(TokenRecord record);
  // The record whose hash matches `secret`, revoked or not (the caller judges validity);
  // NotFound when no token has that secret.
  Result<TokenRecord> FindBySecret(const std::string& secret);
  // Marks the token revoked at `when`. NotFound for an unknown id; revoking twice is a no-op.
  Status Revoke(const std::string& id, const std::string& when);
  Result<std::vector<TokenRecord>> List();

 private:
  Database* db_;
};

}  // namespace rectrack::storage
