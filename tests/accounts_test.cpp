// The web workspace's accounts without a browser (web/accounts.h): password hashing, TOTP,
// sessions (expiry, sign-out everywhere, throttling), set-password links and second factors
// on a real SQLite file, the CSRF comparison.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "web/accounts.h"

namespace rectrack::web {
namespace {

TEST(PasswordTest, Argon2idHashesVerifyOnlyTheRightPassword) {
  auto hash = HashPassword("correct horse battery");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse batterY"));
  EXPECT_NE(*HashPassword("correct horse battery"), *hash);  // salted
  EXPECT_FALSE(HashPassword("short").ok());
}

TEST(TotpTest, MatchesRfc6238) {
  // RFC 6238 appendix B's SHA-1 key "12345678901234567890", in base32; its 8-digit codes end in
  // these 6 digits.
  const std::string secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  EXPECT_EQ(TotpCode(secret, 59 / 30), "287082");
  EXPECT_EQ(TotpCode(secret, 1111111109 / 30), "081804");
  EXPECT_EQ(TotpCode(secret, 1234567890 / 30), "005924");
  EXPECT_EQ(TotpCode(secret, 2000000000 / 30), "279037");
  EXPECT_EQ(TotpCode("not base32!", 1), "");
  auto fresh = NewTotpSecret();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->size(), 32u);  // 20 bytes
}

TEST(CsrfTest, SecretsCompareWhole) {
  EXPECT_TRUE(SameSecret("abc", "abc"));
  EXPECT_FALSE(SameSecret("abc", "abd"));
  EXPECT_FALSE(SameSecret("abc", "ab"));
  EXPECT_FALSE(SameSecret("", ""));  // a session always has one; an empty one matches nothing
}

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("rectrack-accounts-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path_);
    auto opened = Accounts::Open(path_.string(), {}, [this] { return now_.load(); });
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    accounts_ = std::move(opened).value();
    storage::AccountRecord lead{"Lead@CPS.example", "body_lead", "CPS", "cps-sw", "", "", ""};
    ASSERT_TRUE(accounts_->Add(lead, "correct horse battery", "test", "").ok());
  }
  void TearDown() override {
    accounts_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_.string() + suffix);
  }
  std::filesystem::path path_;
  std::atomic<int64_t> now_{1'700'000'000};
  std::unique_ptr<Accounts> accounts_;
};

TEST_F(AccountsTest, SignInGivesAFreshSessionWithTheAccountsScope) {
  auto first = accounts_->SignIn("lead@cps.example", "correct horse battery", "127.0.0.1");
  auto second = accounts_->SignIn("LEAD@cps.example", "correct horse battery", "127.0.0.1");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->id, second->id);
  EXPECT_NE(first->session.csrf, second->session.csrf);
  auto resumed = accounts_->Resume(first->id);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->who.account, "lead@cps.example");
  EXPECT_EQ(resumed->who.unit, "cps-sw");
  EXPECT_FALSE(accounts_->Resume(first->id + "x"));
  EXPECT_EQ(accounts_->SignIn("lead@cps.example", "wrong password!", "127.0.0.1").status().code(),
            Code::kUnauthenticated);
}

TEST_F(AccountsTest, SessionsEndWhenIdleAfterTheirMaximumAndEverywhere) {
  auto s = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(s.ok());
  now_ += 29 * 60;
  EXPECT_TRUE(accounts_->Resume(s->id));  // and that request keeps it alive
  now_ += 29 * 60;
  EXPECT_TRUE(accounts_->Resume(s->id));
  now_ += 31 * 60;
  EXPECT_FALSE(accounts_->Resume(s->id));  // idle too long

  auto a = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  auto b = accounts_->SignIn("lead@cps.example", "correct horse battery", "b");
  ASSERT_TRUE(a.ok() && b.ok());
  accounts_->SignOut(a->id, "a");
  EXPECT_FALSE(accounts_->Resume(a->id));
  EXPECT_TRUE(accounts_->Resume(b->id));
  ASSERT_TRUE(accounts_->SignOutEverywhere("lead@cps.example", "b").ok());
  EXPECT_FALSE(accounts_->Resume(b->id));

  auto c = accounts_->SignIn("lead@cps.example", "correct horse battery", "c");
  ASSERT_TRUE(c.ok());
  const int64_t signed_in = now_;
  while (now_ + 25 * 60 < signed_in + 12 * 3600) {  // a request every 25 minutes
    now_ += 25 * 60;
    ASSERT_TRUE(accounts_->Resume(c->id)) << (now_ - signed_in) / 60 << " minutes in";
  }
  now_ += 25 * 60;
  EXPECT_FALSE(accounts_->Resume(c->id));  // 12 hours after sign-in, however busy
}

TEST_F(AccountsTest, FailedSignInsAreThrottledAndAudited) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(accounts_->SignIn("lead@cps.example", "wrong password!", "x").status().code(),
              Code::kUnauthenticated);
  }
  EXPECT_EQ(accounts_->SignIn("lead@cps.example", "correct horse battery", "x").status().code(),
            Code::kUnprocessable);
  now_ += 16 * 60;
  EXPECT_TRUE(accounts_->SignIn("lead@cps.example", "correct horse battery", "x").ok());
  auto audit = accounts_->AuditList(100);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().what, "sign_in");
  EXPECT_EQ(audit->back().what, "account_added");
  EXPECT_EQ(std::count_if(audit->begin(), audit->end(),
                          [](const auto& a) { return a.what == "sign_in_failed"; }),
            5);
}

// Attempts made at once are counted before their passwords are checked: no more than the
// allowed failures are checked, however many arrive together.
TEST_F(AccountsTest, SignInsAtOnceCheckNoMorePasswordsThanTheThrottleAllows) {
  std::atomic<int> checked{0}, throttled{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 24; ++i) {
    threads.emplace_back([&, i] {
      auto tried = accounts_->SignIn("lead@cps.example", "wrong password!",
                                     "address-" + std::to_string(i % 2));
      (tried.status().code() == Code::kUnprocessable ? throttled : checked)++;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(checked.load(), 5);
  EXPECT_EQ(throttled.load(), 19);
  // A right password after a failure takes back its own mark only: the address's four allowed
  // failures (of twenty) are what they were.
  now_ += 16 * 60;
  ASSERT_EQ(accounts_->SignIn("lead@cps.example", "wrong password!", "z").status().code(),
            Code::kUnauthenticated);
  EXPECT_TRUE(accounts_->SignIn("lead@cps.example", "correct horse battery", "z").ok());
  for (int i = 0; i < 19; ++i) {
    ASSERT_EQ(accounts_->SignIn("x" + std::to_string(i) + "@cps.example", "wrong password!", "z")
                  .status()
                  .code(),
              Code::kUnauthenticated)
        << i;
  }
  EXPECT_EQ(accounts_->SignIn("y@cps.example", "wrong password!", "z").status().code(),
            Code::kUnprocessable);
}

TEST_F(AccountsTest, ASecondFactorIsAskedForOnceSetUpAndItsCodesWorkOnce) {
  auto secret = NewTotpSecret();
  ASSERT_TRUE(secret.ok());
  const int64_t step = now_ / 30;
  EXPECT_FALSE(accounts_->EnableTotp("lead@cps.example", *secret, "000000", "a").ok() &&
               TotpCode(*secret, step) != "000000");
  ASSERT_TRUE(
      accounts_->EnableTotp("lead@cps.example", *secret, TotpCode(*secret, step), "a").ok());
  // Once on, it is not replaced by someone holding only a session: an administrator turns it
  // off first.
  auto other = NewTotpSecret();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(accounts_->EnableTotp("lead@cps.example", *other, TotpCode(*other, step), "a").code(),
            Code::kFailedPrecondition);
  {  // Turned off by an administrator (a lost authenticator): signed out, and may set up another.
    auto before = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
    ASSERT_TRUE(before.ok());
    ASSERT_TRUE(accounts_->DisableTotp("Lead@cps.example", "cli:test", "").ok());
    EXPECT_FALSE(accounts_->Resume(before->id));
    EXPECT_EQ(accounts_->DisableTotp("nobody@cps.example", "cli:test", "").code(), Code::kNotFound);
    ASSERT_TRUE(
        accounts_->EnableTotp("lead@cps.example", *secret, TotpCode(*secret, step), "a").ok());
  }
  auto half = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(half.ok());
  EXPECT_TRUE(half->session.needs_code);
  EXPECT_TRUE(accounts_->Resume(half->id)->needs_code);
  // The setup's code is spent; a wrong one fails; the next step's is taken once.
  EXPECT_FALSE(accounts_->ConfirmCode(half->id, TotpCode(*secret, step), "a").ok());
  EXPECT_FALSE(accounts_->ConfirmCode(half->id, "12345", "a").ok());
  auto full = accounts_->ConfirmCode(half->id, TotpCode(*secret, step + 1), "a");
  ASSERT_TRUE(full.ok()) << full.status().message();
  EXPECT_NE(full->id, half->id);
  EXPECT_FALSE(accounts_->Resume(half->id));  // the half-signed-in id is gone
  auto resumed = accounts_->Resume(full->id);
  ASSERT_TRUE(resumed);
  EXPECT_FALSE(resumed->needs_code);
  EXPECT_TRUE(resumed->has_second_factor);
  auto again = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(accounts_->ConfirmCode(again->id, TotpCode(*secret, step + 1), "a").ok());
}

// Knowing the password buys no fresh guesses at the code: a right password clears only its own
// mark while the code is still to be given; the right code clears the rest.
TEST_F(AccountsTest, ARightPasswordDoesNotResetTheCodesWrongGuesses) {
  auto secret = NewTotpSecret();
  ASSERT_TRUE(secret.ok());
  const int64_t step = now_ / 30;
  ASSERT_TRUE(
      accounts_->EnableTotp("lead@cps.example", *secret, TotpCode(*secret, step), "a").ok());
  auto half = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(half.ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(accounts_->ConfirmCode(half->id, "000000", "a").status().code(),
              Code::kUnauthenticated);
  }
  auto again = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(accounts_->ConfirmCode(again->id, "000000", "a").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(accounts_->ConfirmCode(again->id, TotpCode(*secret, step + 1), "a").status().code(),
            Code::kUnprocessable);  // five wrong codes: throttled, right code or not
  now_ += 16 * 60;
  auto later = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(accounts_->ConfirmCode(later->id, TotpCode(*secret, now_ / 30), "a").ok());
}

TEST_F(AccountsTest, ARoleThatRequiresASecondFactorMustSetOneUp) {
  accounts_.reset();
  AccountOptions options;
  options.second_factor_roles = {"body_lead"};
  auto opened = Accounts::Open(path_.string(), options, [this] { return now_.load(); });
  ASSERT_TRUE(opened.ok());
  accounts_ = std::move(opened).value();
  auto s = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->session.must_enrol);
  EXPECT_FALSE(s->session.needs_code);
}

TEST_F(AccountsTest, ASetPasswordLinkWorksOnceAndFor24Hours) {
  auto session = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(session.ok());
  auto link = accounts_->CreatePasswordLink("lead@cps.example", "test", "");
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(accounts_->PasswordLinkWorks(*link));
  EXPECT_FALSE(accounts_->PasswordLinkWorks(*link + "x"));
  EXPECT_FALSE(accounts_->UsePasswordLink(*link, "short", "a").ok());  // the link stays good
  EXPECT_TRUE(accounts_->PasswordLinkWorks(*link));
  ASSERT_TRUE(accounts_->UsePasswordLink(*link, "a brand new password", "a").ok());
  EXPECT_FALSE(accounts_->Resume(session->id));  // every session of the account ended
  EXPECT_TRUE(accounts_->SignIn("lead@cps.example", "a brand new password", "a").ok());
  EXPECT_EQ(accounts_->UsePasswordLink(*link, "another new password", "a").code(),
            Code::kUnauthenticated);  // spent
  EXPECT_FALSE(accounts_->PasswordLinkWorks(*link));
  auto late = accounts_->CreatePasswordLink("lead@cps.example", "test", "");
  ASSERT_TRUE(late.ok());
  now_ += 24 * 3600 + 1;
  EXPECT_EQ(accounts_->UsePasswordLink(*late, "another new password", "a").code(),
            Code::kUnauthenticated);  // expired
  EXPECT_FALSE(accounts_->CreatePasswordLink("nobody@cps.example", "test", "").ok());
}

// A link leaked or sent twice does not outlive the one used after it: a new link ends the
// older ones, and a password set by an administrator ends the link.
TEST_F(AccountsTest, OnlyTheNewestSetPasswordLinkWorks) {
  auto first = accounts_->CreatePasswordLink("lead@cps.example", "test", "");
  auto second = accounts_->CreatePasswordLink("lead@cps.example", "test", "");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(accounts_->UsePasswordLink(*first, "a brand new password", "a").code(),
            Code::kUnauthenticated);
  ASSERT_TRUE(accounts_->UsePasswordLink(*second, "a brand new password", "a").ok());
  auto third = accounts_->CreatePasswordLink("lead@cps.example", "test", "");
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(
      accounts_->SetPassword("lead@cps.example", "set by an administrator", "test", "").ok());
  EXPECT_EQ(accounts_->UsePasswordLink(*third, "another new password", "a").code(),
            Code::kUnauthenticated);
  EXPECT_TRUE(accounts_->SignIn("lead@cps.example", "set by an administrator", "a").ok());
}

TEST_F(AccountsTest, AnAccountDisabledByAnotherProcessLosesItsSessionsWithinSeconds) {
  auto s = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(accounts_->Resume(s->id));  // remembered now
  // The command line is another process with its own connection: `rectrack user disable`.
  auto cli = Accounts::Open(path_.string(), {}, [this] { return now_.load(); });
  ASSERT_TRUE(cli.ok());
  ASSERT_TRUE((*cli)->SetDisabled("lead@cps.example", true, "cli:test", "").ok());
  now_ += 6;  // past the few seconds the server trusts what it remembers
  EXPECT_FALSE(accounts_->Resume(s->id));
}

// `rectrack user password` is how an administrator answers a lost or stolen password: whoever
// signed in with the old one is signed out, in the server (another process) within seconds.
TEST_F(AccountsTest, APasswordSetByTheCommandLineEndsTheAccountsSessions) {
  auto s = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(accounts_->Resume(s->id));  // remembered now
  auto cli = Accounts::Open(path_.string(), {}, [this] { return now_.load(); });
  ASSERT_TRUE(cli.ok());
  ASSERT_TRUE((*cli)->SetPassword("Lead@cps.example", "a brand new password", "cli:test", "").ok());
  now_ += 6;  // past the few seconds the server trusts what it remembers
  EXPECT_FALSE(accounts_->Resume(s->id));
  EXPECT_FALSE(accounts_->SignIn("lead@cps.example", "correct horse battery", "a").ok());
  auto again = accounts_->SignIn("lead@cps.example", "a brand new password", "a");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(accounts_->Resume(again->id));
}

TEST_F(AccountsTest, ADisabledAccountCannotSignInAndLosesItsSessions) {
  auto s = accounts_->SignIn("lead@cps.example", "correct horse battery", "a");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(accounts_->SetDisabled("lead@cps.example", true, "test", "").ok());
  EXPECT_FALSE(accounts_->Resume(s->id));
  EXPECT_FALSE(accounts_->SignIn("lead@cps.example", "correct horse battery", "a").ok());
  // Each refusal names the input it is about (Status::field), for the form to show it there.
  const Status taken =
      accounts_->Add({"lead@cps.example", "reader", "", "", "", "", ""}, "", "t", "");
  EXPECT_EQ(taken.code(), Code::kConflict);
  EXPECT_EQ(taken.field(), "email");
  EXPECT_EQ(accounts_->Add({"not an email", "reader", "", "", "", "", ""}, "", "t", "").field(),
            "email");
  EXPECT_EQ(
      accounts_->Add({"short@cps.example", "reader", "", "", "", "", ""}, "short", "t", "").field(),
      "password");
}

}  // namespace
}  // namespace rectrack::web
