#include "storage/token_store.h"

#include "common/strings.h"
#include "storage/crypto.h"

namespace rectrack::storage {
namespace {

constexpr const char* kColumns = "id, role, body, unit, label, created, expires, revoked";

TokenRecord ReadRecord(const Statement& stmt) {
  return TokenRecord{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2),
                     stmt.ColumnText(3), stmt.ColumnText(4), stmt.ColumnText(5),
                     stmt.ColumnText(6), stmt.ColumnText(7)};
}

}  // namespace

Result<std::pair<TokenRecord, std::string>> TokenStore::Create(TokenRecord record) {
  ASSIGN_OR_RETURN(std::string random, RandomBytes(32));
  const std::string secret = "rt_" + Base64Url(random);
  const std::string hash = Sha256Hex(secret);
  if (hash.empty()) return Status::IOError("cannot hash the new token");
  record.id = hash.substr(0, 12);
  record.revoked.clear();
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO tokens (id, hash, role, body, unit, label, "
                                "created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt.Bind(1, record.id)
      .Bind(2, hash)
      .Bind(3, record.role)
      .Bind(4, record.body)
      .Bind(5, record.unit)
      .Bind(6, record.label)
      .Bind(7, record.created)
      .Bind(8, record.expires);
  RETURN_IF_ERROR(stmt.Run());
  return std::make_pair(std::move(record), secret);
}

Result<TokenRecord> TokenStore::FindBySecret(const std::string& secret) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(std::string("SELECT ") + kColumns + " FROM tokens WHERE hash = ?"));
  stmt.Bind(1, Sha256Hex(secret));
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return Status::NotFound("no such token");
  return ReadRecord(stmt);
}

Status TokenStore::Revoke(const std::string& id, const std::string& when) {
  ASSIGN_OR_RETURN(Statement find, db_->Prepare("SELECT revoked FROM tokens WHERE id = ?"));
  find.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return Status::NotFound("no token '" + id + "'");
  if (!find.ColumnText(0).empty()) return Status();
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("UPDATE tokens SET revoked = ? WHERE id = ?"));
  stmt.Bind(1, when).Bind(2, id);
  return stmt.Run();
}

Result<std::vector<TokenRecord>> TokenStore::List() {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kColumns +
                                                " FROM tokens ORDER BY created, id"));
  std::vector<TokenRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(ReadRecord(stmt));
  }
  return out;
}

}  // namespace rectrack::storage
