#include "storage/token_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "storage/crypto.h"

namespace rectrack::storage {
namespace {

TokenRecord MakeRecord(std::string label, std::string created = "2025-03-31T09:00:00Z") {
  TokenRecord record;
  record.role = "body_lead";
  record.body = "CPS";
  record.unit = "cps-sw";
  record.label = std::move(label);
  record.created = std::move(created);
  record.expires = "2026-03-31";
  return record;
}

bool IsBase64Url(const std::string& text) {
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = ::testing::TempDir() + "rectrack_token_store_test_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++) + ".db";
    RemoveFiles();
    Open(":memory:");
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    RemoveFiles();
  }

  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

  // Replaces the store with one over `path` (":memory:" or a file).
  void Open(const std::string& path) {
    store_.reset();
    db_.reset();
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(db).value();
    store_ = std::make_unique<TokenStore>(db_.get());
  }

  // Creates a token for `record`, returning its stored record and its secret.
  std::pair<TokenRecord, std::string> CreateOrDie(TokenRecord record) {
    auto created = store_->Create(std::move(record));
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? std::move(created).value() : std::pair<TokenRecord, std::string>();
  }

  // Every column of every row of the tokens table, as text.
  std::vector<std::string> AllStoredValues() {
    std::vector<std::string> columns = ColumnsOfTokens();
    std::vector<std::string> values;
    auto stmt = db_->Prepare("SELECT * FROM tokens");
    EXPECT_TRUE(stmt.ok()) << stmt.status().message();
    while (*stmt->Step()) {
      for (size_t i = 0; i < columns.size(); ++i) values.push_back(stmt->ColumnText(int(i)));
    }
    return values;
  }

  std::vector<std::string> ColumnsOfTokens() {
    auto stmt = db_->Prepare("SELECT name FROM pragma_table_info('tokens') ORDER BY cid");
    EXPECT_TRUE(stmt.ok()) << stmt.status().message();
    std::vector<std::string> names;
    while (*stmt->Step()) names.push_back(stmt->ColumnText(0));
    return names;
  }

  std::string path_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<TokenStore> store_;
};

TEST_F(TokenStoreTest, CreateReturnsAnRtSecretOf43Base64UrlCharactersAndTheStoredRecord) {
  auto [record, secret] = CreateOrDie(MakeRecord("Area lead, South West"));
  ASSERT_EQ(secret.size(), 3u + 43u) << secret;
  EXPECT_EQ(secret.substr(0, 3), "rt_");
  EXPECT_TRUE(IsBase64Url(secret.substr(3))) << secret;
  EXPECT_EQ(record.role, "body_lead");
  EXPECT_EQ(record.body, "CPS");
  EXPECT_EQ(record.unit, "cps-sw");
  EXPECT_EQ(record.label, "Area lead, South West");
  EXPECT_EQ(record.created, "2025-03-31T09:00:00Z");
  EXPECT_EQ(record.expires, "2026-03-31");
  EXPECT_EQ(record.revoked, "");
}

TEST_F(TokenStoreTest, TheIdIsTheFirst12HexDigitsOfTheSecretsSha256) {
  auto [record, secret] = CreateOrDie(MakeRecord("auditor"));
  const std::string hash = Sha256Hex(secret);
  ASSERT_EQ(hash.size(), 64u);
  EXPECT_EQ(record.id, hash.substr(0, 12));
  EXPECT_EQ(record.id.find_first_not_of("0123456789abcdef"), std::string::npos) << record.id;
}

TEST_F(TokenStoreTest, ARevokedTimeGivenToCreateIsNotStored) {
  TokenRecord given = MakeRecord("fresh");
  given.revoked = "2025-01-01T00:00:00Z";
  given.id = "chosen-by-caller";
  auto [record, secret] = CreateOrDie(given);
  EXPECT_EQ(record.revoked, "");
  EXPECT_NE(record.id, "chosen-by-caller");
  auto found = store_->FindBySecret(secret);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->revoked, "");
  EXPECT_EQ(found->id, record.id);
}

TEST_F(TokenStoreTest, TheTokensTableHoldsTheHashOfTheSecretAndNeverTheSecret) {
  auto [record, secret] = CreateOrDie(MakeRecord("holder"));
  // No column is meant for the secret: the schema is the one migrations 2 and 4 define.
  EXPECT_EQ(ColumnsOfTokens(), (std::vector<std::string>{"id", "hash", "role", "body", "label",
                                                         "created", "expires", "revoked", "unit"}));
  auto stmt = db_->Prepare("SELECT hash FROM tokens WHERE id = ?");
  ASSERT_TRUE(stmt.ok()) << stmt.status().message();
  stmt->Bind(1, record.id);
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnText(0), Sha256Hex(secret));
  // Nor does any value of any column hold it, or its random part.
  const std::vector<std::string> values = AllStoredValues();
  ASSERT_EQ(values.size(), 9u);
  for (const std::string& value : values) {
    EXPECT_EQ(value.find(secret.substr(3)), std::string::npos) << value;
  }
}

TEST_F(TokenStoreTest, ACopyOfTheDatabaseFilesDoesNotContainTheSecret) {
  Open(path_);
  auto [record, secret] = CreateOrDie(MakeRecord("holder"));
  store_.reset();
  db_.reset();  // the log is checkpointed into the file when the last connection closes
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-journal"}) bytes += ReadFileBytes(path_ + suffix);
  ASSERT_NE(bytes.find(Sha256Hex(secret)), std::string::npos) << "the file was read";
  EXPECT_EQ(bytes.find(secret.substr(3)), std::string::npos);
}

TEST_F(TokenStoreTest, FindBySecretFindsEachTokenByItsOwnSecret) {
  auto [first, first_secret] = CreateOrDie(MakeRecord("first"));
  TokenRecord reader;
  reader.role = "reader";
  reader.created = "2025-04-01T10:00:00Z";
  auto [second, second_secret] = CreateOrDie(reader);

  auto found = store_->FindBySecret(first_secret);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->id, first.id);
  EXPECT_EQ(found->role, "body_lead");
  EXPECT_EQ(found->body, "CPS");
  EXPECT_EQ(found->unit, "cps-sw");
  EXPECT_EQ(found->label, "first");
  EXPECT_EQ(found->created, "2025-03-31T09:00:00Z");
  EXPECT_EQ(found->expires, "2026-03-31");
  EXPECT_EQ(found->revoked, "");

  found = store_->FindBySecret(second_secret);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->id, second.id);
  EXPECT_EQ(found->role, "reader");
  EXPECT_EQ(found->body, "");
  EXPECT_EQ(found->unit, "");
  EXPECT_EQ(found->label, "");
  EXPECT_EQ(found->expires, "");
}

TEST_F(TokenStoreTest, FindBySecretIsNotFoundForAnythingButTheExactSecret) {
  auto [record, secret] = CreateOrDie(MakeRecord("holder"));
  std::string altered = secret;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  const std::vector<std::string> wrong = {
      "",
      "rt_",
      "rt_" + std::string(43, 'A'),
      altered,
      secret.substr(3),   // without its prefix
      secret + " ",       // with a trailing space
      record.id,          // the public id
      Sha256Hex(secret),  // the stored hash is not a credential
  };
  for (const std::string& guess : wrong) {
    auto found = store_->FindBySecret(guess);
    ASSERT_FALSE(found.ok()) << "'" << guess << "' was accepted";
    EXPECT_EQ(found.status().code(), Code::kNotFound) << guess;
  }
  EXPECT_TRUE(store_->FindBySecret(secret).ok());
}

TEST_F(TokenStoreTest, ARevokedTokenIsStillFoundButMarkedRevoked) {
  auto [record, secret] = CreateOrDie(MakeRecord("leaver"));
  auto [other, other_secret] = CreateOrDie(MakeRecord("stayer"));
  ASSERT_TRUE(store_->Revoke(record.id, "2025-05-01T12:00:00Z").ok());
  auto found = store_->FindBySecret(secret);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->id, record.id);
  EXPECT_EQ(found->revoked, "2025-05-01T12:00:00Z");
  // Only that token.
  auto untouched = store_->FindBySecret(other_secret);
  ASSERT_TRUE(untouched.ok());
  EXPECT_EQ(untouched->revoked, "");
}

TEST_F(TokenStoreTest, RevokingTwiceIsANoOpThatKeepsTheFirstTime) {
  auto [record, secret] = CreateOrDie(MakeRecord("leaver"));
  ASSERT_TRUE(store_->Revoke(record.id, "2025-05-01T12:00:00Z").ok());
  Status again = store_->Revoke(record.id, "2025-06-01T08:00:00Z");
  EXPECT_TRUE(again.ok()) << again.message();
  auto found = store_->FindBySecret(secret);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->revoked, "2025-05-01T12:00:00Z");
}

TEST_F(TokenStoreTest, RevokingAnUnknownIdIsNotFoundAndChangesNothing) {
  auto [record, secret] = CreateOrDie(MakeRecord("holder"));
  for (const std::string& id :
       {std::string("000000000000"), secret, record.id.substr(0, 11), std::string()}) {
    Status s = store_->Revoke(id, "2025-05-01T12:00:00Z");
    EXPECT_EQ(s.code(), Code::kNotFound) << "'" << id << "': " << s.message();
  }
  Status s = store_->Revoke("feedfacecafe", "2025-05-01T12:00:00Z");
  EXPECT_NE(s.message().find("feedfacecafe"), std::string::npos) << s.message();
  auto found = store_->FindBySecret(secret);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->revoked, "");
}

TEST_F(TokenStoreTest, ListIsEmptyAtFirstThenEveryTokenByCreatedTime) {
  auto empty = store_->List();
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->empty());

  auto [late, late_secret] = CreateOrDie(MakeRecord("late", "2025-06-01T00:00:00Z"));
  auto [early, early_secret] = CreateOrDie(MakeRecord("early", "2025-01-01T00:00:00Z"));
  auto [middle, middle_secret] = CreateOrDie(MakeRecord("middle", "2025-03-01T00:00:00Z"));
  ASSERT_TRUE(store_->Revoke(middle.id, "2025-04-01T00:00:00Z").ok());

  auto listed = store_->List();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, early.id);
  EXPECT_EQ((*listed)[0].label, "early");
  EXPECT_EQ((*listed)[1].id, middle.id);
  EXPECT_EQ((*listed)[1].revoked, "2025-04-01T00:00:00Z");
  EXPECT_EQ((*listed)[2].id, late.id);
  EXPECT_EQ((*listed)[2].revoked, "");
  EXPECT_EQ((*listed)[2].role, "body_lead");
  EXPECT_EQ((*listed)[2].unit, "cps-sw");
  EXPECT_EQ((*listed)[2].expires, "2026-03-31");
}

TEST_F(TokenStoreTest, TokensCreatedAtTheSameInstantAreListedByIdAndNoneIsLost) {
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.insert(CreateOrDie(MakeRecord("t" + std::to_string(i))).first.id);
  auto listed = store_->List();
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> listed_ids;
  for (const TokenRecord& r : *listed) listed_ids.push_back(r.id);
  EXPECT_EQ(listed_ids, std::vector<std::string>(ids.begin(), ids.end()));
}

TEST_F(TokenStoreTest, TwoTokensNeverShareASecretOrAnId) {
  std::set<std::string> secrets, ids;
  constexpr int kTokens = 200;
  for (int i = 0; i < kTokens; ++i) {
    auto [record, secret] = CreateOrDie(MakeRecord("same label"));
    secrets.insert(secret);
    ids.insert(record.id);
  }
  EXPECT_EQ(secrets.size(), size_t{kTokens});
  EXPECT_EQ(ids.size(), size_t{kTokens});
  auto listed = store_->List();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), size_t{kTokens});
}

TEST_F(TokenStoreTest, TokensSurviveReopeningTheDatabase) {
  Open(path_);
  auto [record, secret] = CreateOrDie(MakeRecord("kept"));
  ASSERT_TRUE(store_->Revoke(record.id, "2025-05-01T12:00:00Z").ok());
  Open(path_);
  auto found = store_->FindBySecret(secret);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->id, record.id);
  EXPECT_EQ(found->label, "kept");
  EXPECT_EQ(found->revoked, "2025-05-01T12:00:00Z");
}

}  // namespace
}  // namespace rectrack::storage
