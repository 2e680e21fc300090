// The Engine's tokens and scopes: who may hold which role for which body and unit, bearer
// tokens made, revoked and looked up (engine.h).
#include <algorithm>

#include "common/strings.h"
#include "common/text.h"
#include "engine/commands.h"
#include "engine/engine.h"
#include "engine/ledger.h"
#include "storage/crypto.h"
#include "storage/token_store.h"

namespace rectrack {

Status Engine::CheckScope(const std::string& what, const std::string& role, const std::string& body,
                          const std::string& unit) const {
  const RoleSpec* spec = workflow_.FindRole(role);
  if (!spec) {
    std::vector<std::string> roles;
    for (const auto& r : workflow_.roles()) roles.push_back(r.name);
    return Status::InvalidArgument("unknown role '" + role + "' (the workflow has: " + Join(roles) +
                                   ")")
        .AtField("role");
  }
  const bool defines = workflow_.creating().AllowsRole(role);
  if (spec->acts_for_owner && body.empty()) {
    return Status::InvalidArgument("a " + role + " " + what + " needs --body").AtField("body");
  }
  if (defines && !body.empty()) {
    return Status::InvalidArgument("a " + role + " " + what + " is not scoped to a body")
        .AtField("body");
  }
  if (!body.empty() && !ledger_->FindBody(body)) {
    return Status::NotFound("no body '" + body + "'").AtField("body");
  }
  if (!unit.empty()) {
    if (!spec->acts_for_owner) {
      return Status::InvalidArgument("a " + role + " " + what + " is not scoped to a unit")
          .AtField("unit");
    }
    const Unit* u = ledger_->FindUnit(unit);
    if (!u) return Status::NotFound("no unit '" + unit + "'").AtField("unit");
    if (u->body != body) {
      return Status::InvalidArgument("unit '" + unit + "' belongs to " + u->body + ", not " + body)
          .AtField("unit");
    }
  }
  return Status();
}

Result<std::pair<storage::TokenRecord, std::string>> Engine::CreateToken(
    const std::string& role, const std::string& body, std::optional<Date> expires,
    const std::string& label, const std::string& unit) {
  RETURN_IF_ERROR(CheckScope("token", role, body, unit));
  // A label is printed in `token list` and the web's table: one line, a name's length.
  RETURN_IF_ERROR(
      CheckStoredText("the label", label, kMaxNameBytes, TextLines::kOne).AtField("label"));
  if (expires && *expires < clock_->Today()) {
    return Status::InvalidArgument("--expires " + expires->ToString() + " is in the past");
  }
  storage::TokenRecord record;
  record.role = role;
  record.body = body;
  record.unit = unit;
  record.label = label;
  record.created = clock_->NowRfc3339();
  record.expires = expires ? expires->ToString() : "";
  return tokens_->Create(std::move(record));
}

Status Engine::RevokeToken(const std::string& id) {
  known_tokens_.clear();
  return tokens_->Revoke(id, clock_->NowRfc3339());
}

Result<std::vector<storage::TokenRecord>> Engine::Tokens() { return tokens_->List(); }

Result<Principal> Engine::Authenticate(const std::string& secret, std::string secret_hash) const {
  // Tokens seen since the database last changed are kept in memory (by the secret's hash, never
  // the secret), so a busy client costs one hash, not a query, per request.
  const std::string key = secret_hash.empty() ? storage::Sha256Hex(secret) : std::move(secret_hash);
  auto known = known_tokens_.find(key);
  if (known == known_tokens_.end()) {
    auto found = tokens_->FindBySecret(secret);
    if (!found.ok() && found.status().code() != Code::kNotFound) return found.status();
    if (known_tokens_.size() >= 10000) known_tokens_.clear();  // bound memory under guessing
    known = known_tokens_.emplace(key, found.ok() ? std::optional(*found) : std::nullopt).first;
  }
  const std::optional<storage::TokenRecord>& record = known->second;
  const Status rejected = Status::Unauthenticated("unknown, revoked or expired token");
  if (!record) return rejected;
  if (!record->revoked.empty()) return rejected;
  if (!record->expires.empty() && record->expires < clock_->Today().ToString()) return rejected;
  return Principal{record->id, record->role, record->body, record->unit};
}

bool Engine::MaySee(const Principal& principal, const std::vector<std::string>& owners) const {
  return principal.body.empty() ||
         std::find(owners.begin(), owners.end(), principal.body) != owners.end();
}

bool Engine::MayDefine(const Principal& principal) const {
  return workflow_.creating().AllowsRole(principal.role);
}

}  // namespace rectrack
