#include "web/accounts.h"

#include <openssl/hmac.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>

#include "common/strings.h"
#include "engine/clock.h"
#include "storage/crypto.h"
#include "storage/database.h"

namespace rectrack::web {
namespace {

constexpr size_t kMinPassword = 10;
constexpr size_t kMaxPassword = 256;

// Argon2id at libsodium's "interactive" cost takes 64 MiB a hash: two at once bound what a
// flood of sign-ins can make the server spend.
class HashSlots {
 public:
  void Acquire() {
    std::unique_lock lock(mutex_);
    free_.wait(lock, [&] { return in_use_ < 2; });
    ++in_use_;
  }
  void Release() {
    {
      std::lock_guard lock(mutex_);
      --in_use_;
    }
    free_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable free_;
  int in_use_ = 0;
};

HashSlots& Slots() {
  static HashSlots slots;
  return slots;
}

struct SlotGuard {
  SlotGuard() { Slots().Acquire(); }
  ~SlotGuard() { Slots().Release(); }
};

bool ValidEmail(const std::string& email) {
  const size_t at = email.find('@');
  return email.size() <= 254 && at != std::string::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string::npos &&
         std::none_of(email.begin(), email.end(),
                      [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

std::string Instant(int64_t seconds) {
  return FormatInstant(Clock::TimePoint(std::chrono::seconds(seconds)));
}

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string Base32(std::string_view bytes) {
  std::string out;
  int bits = 0;
  unsigned value = 0;
  for (unsigned char c : bytes) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(value >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32[(value << (5 - bits)) & 31];
  return out;
}

std::optional<std::string> FromBase32(std::string_view text) {
  std::string out;
  int bits = 0;
  unsigned value = 0;
  for (char c : text) {
    if (c == '=' || c == ' ') continue;
    const char* at = std::strchr(kBase32, std::toupper(static_cast<unsigned char>(c)));
    if (!at || !*at) return std::nullopt;
    value = (value << 5) | static_cast<unsigned>(at - kBase32);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((value >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

constexpr int64_t kTotpStep = 30;

}  // namespace

std::string TotpCode(const std::string& secret, int64_t step) {
  auto key = FromBase32(secret);
  if (!key || key->empty()) return "";
  unsigned char counter[8];
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha1(), key->data(), static_cast<int>(key->size()), counter, sizeof counter, mac,
            &length) ||
      length < 20) {
    return "";
  }
  const int offset = mac[length - 1] & 0x0f;  // RFC 4226's dynamic truncation
  const uint32_t binary = (uint32_t{mac[offset] & 0x7fu} << 24) |
                          (uint32_t{mac[offset + 1]} << 16) | (uint32_t{mac[offset + 2]} << 8) |
                          uint32_t{mac[offset + 3]};
  std::string code = std::to_string(binary % 1000000);
  return std::string(6 - code.size(), '0') + code;
}

Result<std::string> NewTotpSecret() {
  ASSIGN_OR_RETURN(std::string random, storage::RandomBytes(20));
  return Base32(random);
}

Result<std::string> HashPassword(const std::string& password) {
  if (sodium_init() < 0) return Status::IOError("libsodium cannot start");
  if (password.size() < kMinPassword) {
    return Status::InvalidArgument("a password needs at least " + std::to_string(kMinPassword) +
                                   " characters");
  }
  if (password.size() > kMaxPassword) {
    return Status::InvalidArgument("a password may have at most " + std::to_string(kMaxPassword) +
                                   " bytes");
  }
  char out[crypto_pwhash_STRBYTES];
  SlotGuard slot;
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::IOError("out of memory hashing a password");
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  if (sodium_init() < 0 || hash.empty() || password.size() > kMaxPassword) return false;
  SlotGuard slot;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Accounts::Accounts(std::unique_ptr<storage::Database> db, AccountOptions options,
                   std::function<int64_t()> now)
    : options_(options), now_(std::move(now)), db_(std::move(db)) {
  store_ = std::make_unique<storage::AccountStore>(db_.get());
}

Accounts::~Accounts() = default;

Result<std::unique_ptr<Accounts>> Accounts::Open(const std::string& db_path, AccountOptions options,
                                                 std::function<int64_t()> now, bool read_only) {
  if (sodium_init() < 0) return Status::IOError("libsodium cannot start");
  if (!now) {
    now = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  ASSIGN_OR_RETURN(
      auto db, storage::Database::Open(db_path, read_only ? storage::Database::OpenMode::kReadOnly
                                                          : storage::Database::OpenMode::kCreate));
  return std::unique_ptr<Accounts>(new Accounts(std::move(db), options, std::move(now)));
}

void Accounts::AuditLocked(const std::string& account, const std::string& what,
                           const std::string& address, const std::string& detail) {
  // The audit list is a record, not a control: a failure to write it does not refuse the act.
  (void)store_->Audit({0, Instant(now_()), account, what, address, detail});
}

Status Accounts::Add(const storage::AccountRecord& account, const std::string& password,
                     const std::string& by, const std::string& address) {
  storage::AccountRecord record = account;
  record.email = Lower(record.email);
  if (!ValidEmail(record.email)) {
    return Status::InvalidArgument(
               "Enter an email address in the correct format, like name@example.com (not '" +
               account.email + "')")
        .AtField("email");
  }
  if (!password.empty()) {
    Result<std::string> hash = HashPassword(password);
    if (!hash.ok()) return hash.status().AtField("password");
    record.password_hash = std::move(*hash);
  }
  MutexLock lock(&mutex_);
  record.created = Instant(now_());
  if (Status added = store_->Add(record); !added.ok()) return added.AtField("email");
  std::string scope = record.role;
  if (!record.body.empty()) scope += " of " + record.body;
  if (!record.unit.empty()) scope += " (" + record.unit + ")";
  AuditLocked(record.email, "account_added", address, "by " + by + ": " + scope);
  return Status();
}

Status Accounts::SetPassword(const std::string& email, const std::string& password,
                             const std::string& by, const std::string& address) {
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  MutexLock lock(&mutex_);
  RETURN_IF_ERROR(store_->SetPasswordHash(Lower(email), hash));
  // A password is set for someone when theirs is lost or stolen: whoever signed in with the old
  // one is signed out, as after a one-time link, and a link to set it no longer works.
  Result<int> ended = store_->EndSessions(Lower(email));
  if (Status links = store_->EndPasswordLinks(Lower(email)); !links.ok() && ended.ok()) {
    ended = links;
  }
  ForgetLocked(Lower(email));
  AuditLocked(Lower(email), "password_set", address,
              "by " + by + (ended.ok() ? "; " + Plural(*ended, "session") + " ended" : ""));
  if (!ended.ok()) {
    return Status::IOError(
        "the password is set, but its sessions and set-password links could not be ended: " +
        ended.status().message());
  }
  return Status();
}

Status Accounts::SetDisabled(const std::string& email, bool disabled, const std::string& by,
                             const std::string& address) {
  MutexLock lock(&mutex_);
  RETURN_IF_ERROR(store_->SetDisabled(Lower(email), disabled ? Instant(now_()) : ""));
  ForgetLocked(Lower(email));
  AuditLocked(Lower(email), disabled ? "account_disabled" : "account_enabled", address, "by " + by);
  return Status();
}

Result<std::string> Accounts::CreatePasswordLink(const std::string& email, const std::string& by,
                                                 const std::string& address) {
  ASSIGN_OR_RETURN(std::string random, storage::RandomBytes(32));
  const std::string token = Base64Url(random);
  MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(storage::AccountRecord account, store_->Find(Lower(email)));
  RETURN_IF_ERROR(
      store_->AddPasswordLink(storage::Sha256Hex(token), account.email, now_() + 24 * 3600));
  AuditLocked(account.email, "password_link_created", address, "by " + by);
  return token;
}

bool Accounts::PasswordLinkWorks(const std::string& token) {
  if (token.empty() || token.size() > 100) return false;
  MutexLock lock(&mutex_);
  Result<bool> found = store_->HasPasswordLink(storage::Sha256Hex(token), now_());
  return found.ok() && *found;
}

Status Accounts::UsePasswordLink(const std::string& token, const std::string& password,
                                 const std::string& address) {
  // Checked first, so a password the rules refuse does not spend the link.
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  MutexLock lock(&mutex_);
  if (token.empty() || token.size() > 100) return Status::Unauthenticated("this link is not valid");
  ASSIGN_OR_RETURN(auto account, store_->TakePasswordLink(storage::Sha256Hex(token), now_()));
  if (!account) return Status::Unauthenticated("this link is not valid, or was used or expired");
  RETURN_IF_ERROR(store_->SetPasswordHash(*account, hash));
  Result<int> ended = store_->EndSessions(*account);
  ForgetLocked(*account);
  AuditLocked(*account, "password_set", address, "with a one-time link");
  if (!ended.ok()) {
    return Status::IOError("the password is set, but its sessions could not be ended: " +
                           ended.status().message());
  }
  return Status();
}

Result<std::vector<storage::AccountRecord>> Accounts::List() {
  MutexLock lock(&mutex_);
  return store_->List();
}

bool Accounts::ThrottledLocked(const std::string& key, int limit) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  const int64_t since = now_() - options_.throttle_minutes * 60;
  std::erase_if(it->second, [&](int64_t t) { return t < since; });
  if (it->second.empty()) {
    failures_.erase(it);
    return false;
  }
  return static_cast<int>(it->second.size()) >= limit;
}

void Accounts::TakeBackFailureLocked(const std::string& key, int64_t at) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return;
  auto noted = std::find(it->second.rbegin(), it->second.rend(), at);
  if (noted != it->second.rend()) it->second.erase(std::next(noted).base());
  if (it->second.empty()) failures_.erase(it);
}

int64_t Accounts::NoteFailureLocked(const std::string& key) {
  if (failures_.size() >= kMaxThrottleKeys && !failures_.count(key)) {
    // Full: forget the key whose newest failure is oldest.
    auto oldest = std::min_element(failures_.begin(), failures_.end(), [](auto& a, auto& b) {
      return a.second.back() < b.second.back();
    });
    failures_.erase(oldest);
  }
  auto& times = failures_[key];
  const int64_t now = now_();
  times.push_back(now);
  if (times.size() > 100) times.erase(times.begin());
  return now;
}

Result<NewSession> Accounts::SignIn(const std::string& email_given, const std::string& password,
                                    const std::string& address) {
  const std::string email = Lower(email_given);
  const std::string account_key = "account:" + email;
  const std::string address_key = "address:" + address;
  std::optional<storage::AccountRecord> account;
  int64_t noted_at = 0, account_noted_at = 0;
  {
    MutexLock lock(&mutex_);
    if (ThrottledLocked(account_key, options_.max_failures) ||
        ThrottledLocked(address_key, options_.max_failures * 4)) {
      AuditLocked(email, "sign_in_throttled", address, "");
      return Status::Unprocessable("too many failed sign-ins: try again in " +
                                   std::to_string(options_.throttle_minutes) + " minutes");
    }
    auto found = store_->Find(email);
    if (found.ok()) account = *found;
    // Counted as a failure before the password is checked, without the lock: attempts made at
    // once would otherwise each pass the throttle before any had failed. A right password takes
    // its mark back.
    account_noted_at = NoteFailureLocked(account_key);
    noted_at = NoteFailureLocked(address_key);
  }
  // The password is checked without the lock (it takes a tenth of a second); an unknown account
  // costs the same, so the time taken does not tell which emails have accounts.
  // A hash of no one's password, checked when the email has no account.
  static const std::string kNoAccountHash = [] {
    auto hash = HashPassword("not a real password at all");
    return hash.ok() ? *hash : std::string();
  }();
  const bool right = VerifyPassword(account ? account->password_hash : kNoAccountHash, password) &&
                     account && !account->password_hash.empty() && account->disabled.empty();
  MutexLock lock(&mutex_);
  if (!right) {
    AuditLocked(account ? email : "", "sign_in_failed", address,
                account ? (account->disabled.empty() ? "" : "account disabled") : "as " + email);
    return Status::Unauthenticated("wrong email or password");
  }
  TakeBackFailureLocked(address_key, noted_at);
  const bool pending = !account->totp_secret.empty();
  // A right password clears the account's failures, unless a second factor is still to be
  // given: then only its own mark, so that the code's wrong guesses count on (knowing the
  // password must not buy fresh guesses at the code); the right code clears them.
  if (pending) {
    TakeBackFailureLocked(account_key, account_noted_at);
  } else {
    failures_.erase(account_key);
  }
  ASSIGN_OR_RETURN(NewSession fresh, StartSessionLocked(*account, pending));
  AuditLocked(email, pending ? "password_accepted" : "sign_in", address,
              pending ? "awaiting the second factor" : "");
  return fresh;
}

Result<NewSession> Accounts::StartSessionLocked(const storage::AccountRecord& account,
                                                bool pending) {
  ASSIGN_OR_RETURN(std::string random, storage::RandomBytes(32));
  ASSIGN_OR_RETURN(std::string csrf_random, storage::RandomBytes(32));
  NewSession fresh;
  fresh.id = Base64Url(random);
  const int64_t now = now_();
  const std::string csrf = Base64Url(csrf_random);
  RETURN_IF_ERROR(
      store_->AddSession({storage::Sha256Hex(fresh.id), account.email, csrf, now, now, pending}));
  (void)store_->ExpireSessions(now - options_.idle_minutes * 60,
                               now - int64_t{options_.absolute_hours} * 3600);
  fresh.session = SessionFor(account, csrf, pending);
  return fresh;
}

Session Accounts::SessionFor(const storage::AccountRecord& account, const std::string& csrf,
                             bool pending) const {
  Session session{Principal{"", account.role, account.body, account.unit, account.email}, csrf};
  session.needs_code = pending;
  session.has_second_factor = !account.totp_secret.empty();
  session.must_enrol =
      !session.has_second_factor && options_.second_factor_roles.count(account.role) > 0;
  return session;
}

bool Accounts::AcceptCodeLocked(const storage::AccountRecord& account, const std::string& code,
                                int64_t* accepted_step) {
  if (code.size() != 6 || account.totp_secret.empty()) return false;
  const int64_t now_step = now_() / kTotpStep;
  for (int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    if (step <= account.totp_last_step) continue;  // a code is good once
    const std::string expected = TotpCode(account.totp_secret, step);
    if (!expected.empty() && sodium_memcmp(expected.data(), code.data(), 6) == 0) {
      (void)store_->SetTotpLastStep(account.email, step);
      if (accepted_step) *accepted_step = step;
      return true;
    }
  }
  return false;
}

Result<NewSession> Accounts::ConfirmCode(const std::string& id, const std::string& code,
                                         const std::string& address) {
  const std::string hash = storage::Sha256Hex(id);
  MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(auto session, store_->FindSession(hash));
  if (!session || !session->pending) return Status::Unauthenticated("sign in again");
  const std::string account_key = "account:" + session->account;
  if (ThrottledLocked(account_key, options_.max_failures) ||
      ThrottledLocked("address:" + address, options_.max_failures * 4)) {
    AuditLocked(session->account, "sign_in_throttled", address, "");
    return Status::Unprocessable("too many failed sign-ins: try again in " +
                                 std::to_string(options_.throttle_minutes) + " minutes");
  }
  ASSIGN_OR_RETURN(storage::AccountRecord account, store_->Find(session->account));
  if (!account.disabled.empty() || !AcceptCodeLocked(account, code)) {
    NoteFailureLocked(account_key);
    NoteFailureLocked("address:" + address);
    AuditLocked(account.email, "second_factor_failed", address, "");
    return Status::Unauthenticated("the code is wrong or has expired");
  }
  failures_.erase(account_key);
  // A fresh id once fully signed in: the half-signed-in one is worth nothing now.
  (void)store_->EndSession(hash);
  recent_.erase(hash);
  ASSIGN_OR_RETURN(NewSession fresh, StartSessionLocked(account, false));
  AuditLocked(account.email, "sign_in", address, "with a second factor");
  return fresh;
}

Status Accounts::EnableTotp(const std::string& email, const std::string& secret,
                            const std::string& code, const std::string& address) {
  auto key = FromBase32(secret);
  if (!key || key->size() < 16) return Status::InvalidArgument("the secret is malformed");
  MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(storage::AccountRecord account, store_->Find(Lower(email)));
  // Replacing one would need only a session, not the factor it replaces.
  if (!account.totp_secret.empty()) {
    return Status::FailedPrecondition(
        "a second factor is already on; an administrator can turn it off for you to set up "
        "another");
  }
  account.totp_secret = secret;
  account.totp_last_step = 0;
  int64_t used = 0;
  if (!AcceptCodeLocked(account, code, &used)) {
    return Status::InvalidArgument("the code does not match: check the authenticator's clock");
  }
  RETURN_IF_ERROR(store_->SetTotpSecret(account.email, secret));
  RETURN_IF_ERROR(store_->SetTotpLastStep(account.email, used));  // the setup's code is spent
  ForgetLocked(account.email);  // its sessions now show the second factor
  AuditLocked(account.email, "second_factor_enabled", address, "");
  return Status();
}

Status Accounts::DisableTotp(const std::string& email, const std::string& by,
                             const std::string& address) {
  MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(storage::AccountRecord account, store_->Find(Lower(email)));
  RETURN_IF_ERROR(store_->SetTotpSecret(account.email, ""));
  // Turned off for a lost or stolen authenticator: whoever is signed in with it is signed out.
  Result<int> ended = store_->EndSessions(account.email);
  ForgetLocked(account.email);
  AuditLocked(account.email, "second_factor_disabled", address, "by " + by);
  if (!ended.ok()) {
    return Status::IOError("the second factor is off, but its sessions could not be ended: " +
                           ended.status().message());
  }
  return Status();
}

std::optional<Session> Accounts::Resume(const std::string& id) {
  if (id.empty() || id.size() > 100) return std::nullopt;
  const std::string hash = storage::Sha256Hex(id);
  MutexLock lock(&mutex_);
  const int64_t now = now_();
  if (auto hit = recent_.find(hash); hit != recent_.end()) {
    Recent& r = hit->second;
    if (now - r.checked < kRecheckSeconds && r.last_seen >= now - options_.idle_minutes * 60 &&
        r.started >= now - int64_t{options_.absolute_hours} * 3600) {
      // A write a minute at most per session: the idle clock needs no finer grain.
      if (now - r.last_seen >= 60) {
        (void)store_->TouchSession(hash, now);
        r.last_seen = now;
      }
      return r.session;
    }
    recent_.erase(hit);
  }
  auto found = store_->FindSession(hash);
  if (!found.ok() || !*found) return std::nullopt;
  const storage::SessionRecord& s = **found;
  if (s.last_seen < now - options_.idle_minutes * 60 ||
      s.started < now - int64_t{options_.absolute_hours} * 3600) {
    (void)store_->EndSession(hash);
    return std::nullopt;
  }
  auto account = store_->Find(s.account);
  if (!account.ok() || !account->disabled.empty()) return std::nullopt;
  // A write a minute at most per session: the idle clock needs no finer grain.
  int64_t last_seen = s.last_seen;
  if (now - s.last_seen >= 60) {
    (void)store_->TouchSession(hash, now);
    last_seen = now;
  }
  Session session = SessionFor(*account, s.csrf, s.pending);
  if (recent_.size() >= kMaxRecent) recent_.clear();
  recent_[hash] = Recent{session, s.started, last_seen, now};
  return session;
}

void Accounts::ForgetLocked(const std::string& email) {
  std::erase_if(recent_,
                [&](const auto& entry) { return entry.second.session.who.account == email; });
}

void Accounts::SignOut(const std::string& id, const std::string& address) {
  const std::string hash = storage::Sha256Hex(id);
  MutexLock lock(&mutex_);
  auto found = store_->FindSession(hash);
  if (!found.ok() || !*found) return;
  (void)store_->EndSession(hash);
  recent_.erase(hash);
  AuditLocked((*found)->account, "sign_out", address, "");
}

Status Accounts::SignOutEverywhere(const std::string& email, const std::string& address) {
  MutexLock lock(&mutex_);
  ASSIGN_OR_RETURN(int ended, store_->EndSessions(Lower(email)));
  ForgetLocked(Lower(email));
  AuditLocked(Lower(email), "sign_out_everywhere", address, Plural(ended, "session") + " ended");
  return Status();
}

Result<std::vector<storage::AuditRecord>> Accounts::AuditList(size_t limit) {
  MutexLock lock(&mutex_);
  return store_->AuditList(limit);
}

}  // namespace rectrack::web
