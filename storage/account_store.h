// AccountStore: people who sign in to the web workspace, their sessions and the audit list of
// sign-ins and account changes. Passwords arrive already hashed (Argon2id, by the caller) and
// session ids as their SHA-256, so nothing here can hand out access from a copy of the database.
//
// Thread-safety: as the Database it wraps, one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

struct AccountRecord {
  std::string email;  // lower case; names the account in the log ("account:<email>")
  std::string role;
  std::string body;            // "" when the role is not scoped to a body
  std::string unit;            // a unit of `body` the account is narrowed to; "" for the whole body
  std::string password_hash;   // an Argon2id string; "" until a password is set
  std::string created;         // RFC 3339
  std::string disabled;        // RFC 3339 when disabled, else ""
  std::string totp_secret;     // base32 TOTP secret (RFC 6238) when a second factor is set up
  int64_t totp_last_step = 0;  // the newest time step a code was accepted for (no replays)
};

struct SessionRecord {
  std::string hash;  // SHA-256 of the session id the browser holds
  std::string account;
  std::string csrf;       // the token every form of this session carries
  int64_t started = 0;    // unix seconds
  int64_t last_seen = 0;  // unix seconds
  bool pending = false;   // the password was right; the second factor is awaited
};

struct AuditRecord {
  int64_t seq = 0;
  std::string at;       // RFC 3339
  std::string account;  // whom it is about ("" when a sign-in named no known account)
  std::string what;     // "sign_in", "sign_in_failed", "sign_out", "account_added", ...
  std::string address;  // the client's address, "" from the CLI
  std::string detail;
};

class AccountStore {
 public:
  explicit AccountStore(Database* db) : db_(db) {}

  // AlreadyExists-like Conflict when the email is taken.
  Status Add(const AccountRecord& record);
  // NotFound for an unknown email.
  Result<AccountRecord> Find(const std::string& email);
  Result<std::vector<AccountRecord>> List();
  // Replaces the password hash; NotFound for an unknown email.
  Status SetPasswordHash(const std::string& email, const std::string& hash);
  // Marks the account disabled at `when` ("" enables it again) and ends its sessions.
  Status SetDisabled(const std::string& email, const std::string& when);
  // Sets (or with "" removes) the account's TOTP secret; NotFound for an unknown email.
  Status SetTotpSecret(const std::string& email, const std::string& secret);
  Status SetTotpLastStep(const std::string& email, int64_t step);

  Status AddSession(const SessionRecord& session);
  // The session with this hash, or nullopt.
  Result<std::optional<SessionRecord>> FindSession(const std::string& hash);
  Status TouchSession(const std::string& hash, int64_t now);
  Status EndSession(const std::string& hash);
  // Ends every session of `email`; returns how many.
  Result<int> EndSessions(const std::string& email);
  // Removes sessions idle since before `idle_before` or started before `started_before`.
  Status ExpireSessions(int64_t idle_before, int64_t started_before);

  // One-time set-password links: stored by the SHA-256 of their token, until `expires` (unix
  // seconds), one an account: a new link ends the account's older ones. TakePasswordLink
  // returns the account of an unexpired link and deletes it. EndPasswordLinks deletes every
  // link of `email` (its password was set another way).
  Status AddPasswordLink(const std::string& hash, const std::string& email, int64_t expires);
  Result<std::optional<std::string>> TakePasswordLink(const std::string& hash, int64_t now);
  // Whether a link is there and unexpired, without spending it.
  Result<bool> HasPasswordLink(const std::string& hash, int64_t now);
  Status EndPasswordLinks(const std::string& email);

  Status Audit(const AuditRecord& record);
  // The newest `limit` entries, newest first.
  Result<std::vector<AuditRecord>> AuditList(size_t limit);

 private:
  Database* db_;
};

}  // namespace rectrack::storage
