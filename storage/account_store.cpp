#include "storage/account_store.h"

namespace rectrack::storage {
namespace {

constexpr const char* kAccountColumns =
    "email, role, body, unit, password_hash, created, disabled, totp_secret, totp_last_step";
constexpr const char* kSessionColumns = "hash, account, csrf, started, last_seen, pending";

AccountRecord ReadAccount(const Statement& stmt) {
  return AccountRecord{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2),
                       stmt.ColumnText(3), stmt.ColumnText(4), stmt.ColumnText(5),
                       stmt.ColumnText(6), stmt.ColumnText(7), stmt.ColumnInt(8)};
}

}  // namespace

Status AccountStore::Add(const AccountRecord& record) {
  ASSIGN_OR_RETURN(Statement find, db_->Prepare("SELECT 1 FROM accounts WHERE email = ?"));
  find.Bind(1, record.email);
  ASSIGN_OR_RETURN(bool taken, find.Step());
  if (taken) return Status::Conflict("an account for '" + record.email + "' already exists");
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO accounts (email, role, body, unit, password_hash, "
                                "created, disabled, totp_secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt.Bind(1, record.email)
      .Bind(2, record.role)
      .Bind(3, record.body)
      .Bind(4, record.unit)
      .Bind(5, record.password_hash)
      .Bind(6, record.created)
      .Bind(7, record.disabled)
      .Bind(8, record.totp_secret);
  return stmt.Run();
}

Result<AccountRecord> AccountStore::Find(const std::string& email) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kAccountColumns +
                                                " FROM accounts WHERE email = ?"));
  stmt.Bind(1, email);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return Status::NotFound("no account '" + email + "'");
  return ReadAccount(stmt);
}

Result<std::vector<AccountRecord>> AccountStore::List() {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kAccountColumns +
                                                " FROM accounts ORDER BY email"));
  std::vector<AccountRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(ReadAccount(stmt));
  }
  return out;
}

Status AccountStore::SetPasswordHash(const std::string& email, const std::string& hash) {
  RETURN_IF_ERROR(Find(email).status());
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("UPDATE accounts SET password_hash = ? WHERE email = ?"));
  stmt.Bind(1, hash).Bind(2, email);
  return stmt.Run();
}

Status AccountStore::SetDisabled(const std::string& email, const std::string& when) {
  RETURN_IF_ERROR(Find(email).status());
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("UPDATE accounts SET disabled = ? WHERE email = ?"));
  stmt.Bind(1, when).Bind(2, email);
  RETURN_IF_ERROR(stmt.Run());
  return EndSessions(email).status();
}

Status AccountStore::SetTotpSecret(const std::string& email, const std::string& secret) {
  RETURN_IF_ERROR(Find(email).status());
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("UPDATE accounts SET totp_secret = ?, "
                                                "totp_last_step = 0 WHERE email = ?"));
  stmt.Bind(1, secret).Bind(2, email);
  return stmt.Run();
}

Status AccountStore::SetTotpLastStep(const std::string& email, int64_t step) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("UPDATE accounts SET totp_last_step = ? WHERE email = ?"));
  stmt.Bind(1, step).Bind(2, email);
  return stmt.Run();
}

Status AccountStore::AddSession(const SessionRecord& session) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("INSERT INTO sessions (") +
                                                kSessionColumns + ") VALUES (?, ?, ?, ?, ?, ?)"));
  stmt.Bind(1, session.hash)
      .Bind(2, session.account)
      .Bind(3, session.csrf)
      .Bind(4, session.started)
      .Bind(5, session.last_seen)
      .Bind(6, int64_t{session.pending ? 1 : 0});
  return stmt.Run();
}

Result<std::optional<SessionRecord>> AccountStore::FindSession(const std::string& hash) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kSessionColumns +
                                                " FROM sessions WHERE hash = ?"));
  stmt.Bind(1, hash);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::optional<SessionRecord>();
  return std::optional<SessionRecord>(SessionRecord{stmt.ColumnText(0), stmt.ColumnText(1),
                                                    stmt.ColumnText(2), stmt.ColumnInt(3),
                                                    stmt.ColumnInt(4), stmt.ColumnInt(5) != 0});
}

Status AccountStore::TouchSession(const std::string& hash, int64_t now) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("UPDATE sessions SET last_seen = ? WHERE hash = ?"));
  stmt.Bind(1, now).Bind(2, hash);
  return stmt.Run();
}

Status AccountStore::EndSession(const std::string& hash) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM sessions WHERE hash = ?"));
  stmt.Bind(1, hash);
  return stmt.Run();
}

Result<int> AccountStore::EndSessions(const std::string& email) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM sessions WHERE account = ?"));
  stmt.Bind(1, email);
  RETURN_IF_ERROR(stmt.Run());
  return static_cast<int>(db_->Changes());
}

Status AccountStore::ExpireSessions(int64_t idle_before, int64_t started_before) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("DELETE FROM sessions WHERE last_seen < ? OR started < ?"));
  stmt.Bind(1, idle_before).Bind(2, started_before);
  return stmt.Run();
}

Status AccountStore::AddPasswordLink(const std::string& hash, const std::string& email,
                                     int64_t expires) {
  // One transaction: two processes making links at once leave one of them, not both.
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_, Transaction::Mode::kWrite));
  RETURN_IF_ERROR(EndPasswordLinks(email));
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("INSERT INTO password_links (hash, account, "
                                                "expires) VALUES (?, ?, ?)"));
  stmt.Bind(1, hash).Bind(2, email).Bind(3, expires);
  RETURN_IF_ERROR(stmt.Run());
  return txn.Commit();
}

Result<std::optional<std::string>> AccountStore::TakePasswordLink(const std::string& hash,
                                                                  int64_t now) {
  ASSIGN_OR_RETURN(Statement find,
                   db_->Prepare("SELECT account, expires FROM password_links WHERE hash = ?"));
  find.Bind(1, hash);
  ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return std::optional<std::string>();
  std::string account = find.ColumnText(0);
  const int64_t expires = find.ColumnInt(1);
  ASSIGN_OR_RETURN(Statement remove,
                   db_->Prepare("DELETE FROM password_links WHERE hash = ? OR expires < ?"));
  remove.Bind(1, hash).Bind(2, now);
  RETURN_IF_ERROR(remove.Run());
  if (expires < now) return std::optional<std::string>();
  return std::optional<std::string>(std::move(account));
}

Result<bool> AccountStore::HasPasswordLink(const std::string& hash, int64_t now) {
  ASSIGN_OR_RETURN(Statement find, db_->Prepare("SELECT 1 FROM password_links WHERE hash = ? AND "
                                                "expires >= ?"));
  find.Bind(1, hash).Bind(2, now);
  return find.Step();
}

Status AccountStore::EndPasswordLinks(const std::string& email) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM password_links WHERE account = ?"));
  stmt.Bind(1, email);
  return stmt.Run();
}

Status AccountStore::Audit(const AuditRecord& record) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO audit (at, account, what, address, detail) "
                                "VALUES (?, ?, ?, ?, ?)"));
  stmt.Bind(1, record.at)
      .Bind(2, record.account)
      .Bind(3, record.what)
      .Bind(4, record.address)
      .Bind(5, record.detail);
  return stmt.Run();
}

Result<std::vector<AuditRecord>> AccountStore::AuditList(size_t limit) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT seq, at, account, what, address, detail FROM audit "
                                "ORDER BY seq DESC LIMIT ?"));
  stmt.Bind(1, static_cast<int64_t>(limit));
  std::vector<AuditRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(AuditRecord{stmt.ColumnInt(0), stmt.ColumnText(1), stmt.ColumnText(2),
                              stmt.ColumnText(3), stmt.ColumnText(4), stmt.ColumnText(5)});
  }
  return out;
}

}  // namespace rectrack::storage
