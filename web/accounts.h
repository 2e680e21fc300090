// Accounts: the people who sign in to the web workspace, with a role and scope exactly like a
// bearer token's (inspectorate; body_lead of a body, optionally of one unit; reader), and their
// server-side sessions.
//
// - Passwords are stored as Argon2id strings (libsodium's crypto_pwhash_str); at most two are
//   hashed at once, since each takes 64 MiB.
// - A session id is 32 random bytes shown only to the browser (in its cookie); the database
//   keeps its SHA-256. A session ends after `idle_minutes` without a request, `absolute_hours`
//   after sign-in, at sign-out, or at "sign out everywhere".
// - Sign-in is throttled: after `max_failures` failed attempts in `throttle_minutes` for one
//   account, or four times as many from one address, further attempts are refused (without
//   checking the password) until the window passes.
// - Sign-ins, failures, sign-outs and account changes go to an audit list (AuditList).
// - Passwords and session ids are never logged nor kept in clear.
//
// Accounts opens a connection of its own to the database, so sessions never wait for the
// engine's lock. Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "engine/principal.h"
#include "storage/account_store.h"

namespace rectrack::storage {
class Database;
}

namespace rectrack::web {

struct AccountOptions {
  int idle_minutes = 30;
  int absolute_hours = 12;
  int max_failures = 5;
  int throttle_minutes = 15;
  // Roles whose accounts must use a second factor (TOTP): until one is set up, such a session
  // may only set it up (Session::must_enrol).
  std::set<std::string> second_factor_roles = {};
};

// A signed-in browser: who, and the token its forms carry.
struct Session {
  Principal who;
  std::string csrf;
  bool needs_code = false;  // the password was right; the authenticator's code is awaited
  bool must_enrol = false;  // the role requires a second factor and none is set up yet
  bool has_second_factor = false;
};

// RFC 6238 TOTP: the 6-digit code of base32 `secret` at 30-second time step `step`
// (HMAC-SHA1, as authenticator apps use). "" for a malformed secret.
std::string TotpCode(const std::string& secret, int64_t step);
// A new TOTP secret: 20 random bytes, base32 (RFC 4648, no padding).
Result<std::string> NewTotpSecret();

// What a successful sign-in gives the browser.
struct NewSession {
  std::string id;  // the cookie's value; shown once, never stored
  Session session;
};

// Argon2id string of `password`; InvalidArgument when it is shorter than 10 or longer than 256
// bytes.
Result<std::string> HashPassword(const std::string& password);
bool VerifyPassword(const std::string& hash, const std::string& password);

// Constant-time comparison of two secrets (CSRF tokens).
bool SameSecret(const std::string& a, const std::string& b);

class Accounts {
 public:
  // Opens `db_path` (created and migrated if need be). `now` gives unix seconds (a test clock).
  // `read_only`: an existing file, opened for reading only (storage::Database::OpenMode::
  // kReadOnly), for `user list` on a backup; every change then fails.
  static Result<std::unique_ptr<Accounts>> Open(const std::string& db_path, AccountOptions options,
                                                std::function<int64_t()> now,
                                                bool read_only = false);
  ~Accounts();

  // Adds an account. The caller has checked the scope (Engine::CheckScope). `password` may be
  // empty (no sign-in until one is set). Conflict when the email is taken; InvalidArgument for a
  // malformed email or a password too short. `by` and `address` go to the audit list.
  Status Add(const storage::AccountRecord& account, const std::string& password,
             const std::string& by, const std::string& address) EXCLUDES(mutex_);
  // Sets `email`'s password and ends every session of the account (signed in with the old one).
  Status SetPassword(const std::string& email, const std::string& password, const std::string& by,
                     const std::string& address) EXCLUDES(mutex_);
  Status SetDisabled(const std::string& email, bool disabled, const std::string& by,
                     const std::string& address) EXCLUDES(mutex_);
  Result<std::vector<storage::AccountRecord>> List() EXCLUDES(mutex_);

  // A one-time link token with which `email` sets a password (for 24 hours); shown once, only
  // its SHA-256 is stored. NotFound for an unknown email.
  Result<std::string> CreatePasswordLink(const std::string& email, const std::string& by,
                                         const std::string& address) EXCLUDES(mutex_);
  // Whether `token` is a link that works now (unspent, unexpired, the account's newest), without
  // spending it: the page says so before a password is typed.
  bool PasswordLinkWorks(const std::string& token) EXCLUDES(mutex_);
  // Sets the password of the link's account and spends the link; every session of the account
  // ends. Unauthenticated for an unknown, spent or expired link; InvalidArgument for a password
  // too short or too long (the link stays good then).
  Status UsePasswordLink(const std::string& token, const std::string& password,
                         const std::string& address) EXCLUDES(mutex_);

  // A new session for `email` when `password` is right and the account is enabled.
  // Unauthenticated ("wrong email or password", the same for every cause) or, when throttled,
  // ResourceExhausted-like Unprocessable saying when to try again.
  Result<NewSession> SignIn(const std::string& email, const std::string& password,
                            const std::string& address) EXCLUDES(mutex_);
  // Completes a sign-in that awaits its second factor: when `code` is the account's current
  // TOTP code (or the one before or after, for clock drift; never one already used), the
  // session is replaced by a fresh one, returned. Unauthenticated otherwise; throttled as
  // SignIn is.
  Result<NewSession> ConfirmCode(const std::string& id, const std::string& code,
                                 const std::string& address) EXCLUDES(mutex_);
  // Sets up TOTP for `email` with `secret` once `code` proves the authenticator has it.
  // FailedPrecondition when it has one already: DisableTotp first.
  Status EnableTotp(const std::string& email, const std::string& secret, const std::string& code,
                    const std::string& address) EXCLUDES(mutex_);
  // Turns `email`'s second factor off (`rectrack user second-factor-off`) and ends its sessions.
  // NotFound for no such account.
  Status DisableTotp(const std::string& email, const std::string& by, const std::string& address)
      EXCLUDES(mutex_);

  // The live session whose id is `id`, or nullopt (unknown, expired, account disabled).
  std::optional<Session> Resume(const std::string& id) EXCLUDES(mutex_);
  void SignOut(const std::string& id, const std::string& address) EXCLUDES(mutex_);
  // Ends every session of `email`.
  Status SignOutEverywhere(const std::string& email, const std::string& address) EXCLUDES(mutex_);

  Result<std::vector<storage::AuditRecord>> AuditList(size_t limit) EXCLUDES(mutex_);

 private:
  Accounts(std::unique_ptr<storage::Database> db, AccountOptions options,
           std::function<int64_t()> now);
  void AuditLocked(const std::string& account, const std::string& what, const std::string& address,
                   const std::string& detail) REQUIRES(mutex_);
  // Whether `key` ("account:x", "address:y") has had `limit` failures in the window.
  bool ThrottledLocked(const std::string& key, int limit) REQUIRES(mutex_);
  // Counts a failure of `key` now; returns when, for TakeBackFailureLocked.
  int64_t NoteFailureLocked(const std::string& key) REQUIRES(mutex_);
  // Forgets one failure of `key` counted at `at` (an attempt that turned out right).
  void TakeBackFailureLocked(const std::string& key, int64_t at) REQUIRES(mutex_);
  // Whether `code` is `account`'s TOTP code now (one step either side), not used before; if so,
  // records its step as used.
  bool AcceptCodeLocked(const storage::AccountRecord& account, const std::string& code,
                        int64_t* accepted_step = nullptr) REQUIRES(mutex_);
  Result<NewSession> StartSessionLocked(const storage::AccountRecord& account, bool pending)
      REQUIRES(mutex_);
  Session SessionFor(const storage::AccountRecord& account, const std::string& csrf,
                     bool pending) const;

  // Forgets what Resume remembers of `email`'s sessions (signed out, disabled, ...).
  void ForgetLocked(const std::string& email) REQUIRES(mutex_);

  const AccountOptions options_;
  const std::function<int64_t()> now_;
  Mutex mutex_;
  std::unique_ptr<storage::Database> db_ GUARDED_BY(mutex_);
  std::unique_ptr<storage::AccountStore> store_ GUARDED_BY(mutex_);
  // Failed sign-ins per account and per address: times (unix seconds) within the window.
  // Bounded: at most kMaxThrottleKeys keys; the oldest window is dropped first.
  static constexpr size_t kMaxThrottleKeys = 100000;
  std::map<std::string, std::vector<int64_t>> failures_ GUARDED_BY(mutex_);
  // Sessions Resume found lately, by the hash of their id, so that a page's request need not
  // ask SQLite each time. Every change made here forgets the account's entries at once; one made
  // by another process (`rectrack user disable` from the command line) is seen within
  // kRecheckSeconds.
  struct Recent {
    Session session;
    int64_t started = 0;
    int64_t last_seen = 0;  // as written to the database (once a minute at most)
    int64_t checked = 0;    // when the database last confirmed it
  };
  static constexpr int64_t kRecheckSeconds = 5;
  static constexpr size_t kMaxRecent = 10000;
  std::unordered_map<std::string, Recent> recent_ GUARDED_BY(mutex_);
};

}  // namespace rectrack::web
