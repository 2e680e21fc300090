#include "storage/alert_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "storage/crypto.h"
#include "storage/event_store.h"

namespace rectrack::storage {
namespace {

constexpr char kRaised[] = "2025-03-31T09:00:00Z";

AlertRecord MakeAlert(const std::string& key, const std::string& kind = "due",
                      const std::string& recommendation = "da23-r1",
                      std::vector<std::string> owners = {"CPX"},
                      std::vector<std::string> audience = {"inspectorate"}) {
  AlertRecord alert;
  alert.dedupe_key = key;
  alert.kind = kind;
  alert.recommendation = recommendation;
  alert.milestone = "m1";
  alert.occurrence = 1;
  alert.due = "2025-03-31";
  alert.raised = kRaised;
  alert.owners = std::move(owners);
  alert.audience = std::move(audience);
  alert.payload = R"({"key":")" + key + R"("})";
  return alert;
}

DeliveryRecord Sub(const std::string& subscription) {
  DeliveryRecord d;
  d.subscription = subscription;
  d.channel = "webhook";
  d.target = "https://hooks.example.org/" + subscription;
  return d;
}

class AlertStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = ::testing::TempDir() + "rectrack_alert_store_test_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++) + ".db";
    RemoveFiles();
    db_ = OpenOrDie(path_);
    ASSERT_NE(db_, nullptr);
    store_ = std::make_unique<AlertStore>(db_.get());
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

  static std::unique_ptr<Database> OpenOrDie(const std::string& path) {
    auto db = Database::Open(path);
    EXPECT_TRUE(db.ok()) << db.status().message();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  // Raises `alert` with one delivery per subscription in its own committed transaction.
  bool RaiseOne(const AlertRecord& alert, const std::vector<std::string>& subscriptions = {"s1"}) {
    std::vector<DeliveryRecord> deliveries;
    for (const std::string& s : subscriptions) deliveries.push_back(Sub(s));
    auto txn = Transaction::Begin(*db_, Transaction::Mode::kWrite);
    EXPECT_TRUE(txn.ok()) << txn.status().message();
    Result<bool> raised = store_->Raise(alert, deliveries);
    EXPECT_TRUE(raised.ok()) << raised.status().message();
    Status commit = txn->Commit();
    EXPECT_TRUE(commit.ok()) << commit.message();
    return raised.ok() && *raised;
  }

  int64_t Count(const char* table) {
    auto stmt = db_->Prepare(std::string("SELECT COUNT(*) FROM ") + table);
    EXPECT_TRUE(stmt.ok()) << stmt.status().message();
    auto has_row = stmt->Step();
    EXPECT_TRUE(has_row.ok() && *has_row);
    return stmt->ColumnInt(0);
  }

  std::vector<std::string> Keys(const AlertFilter& filter) {
    auto alerts = store_->List(filter);
    EXPECT_TRUE(alerts.ok()) << alerts.status().message();
    std::vector<std::string> keys;
    if (alerts.ok()) {
      for (const AlertRecord& a : *alerts) keys.push_back(a.dedupe_key);
    }
    return keys;
  }

  DeliveryRecord DeliveryOf(const std::string& key, const std::string& subscription) {
    auto deliveries = store_->Deliveries(AlertIdFor(key));
    EXPECT_TRUE(deliveries.ok()) << deliveries.status().message();
    if (deliveries.ok()) {
      for (const DeliveryRecord& d : *deliveries) {
        if (d.subscription == subscription) return d;
      }
    }
    ADD_FAILURE() << "no delivery of " << key << " to " << subscription;
    return DeliveryRecord();
  }

  std::vector<DeliveryRecord> Claim(const std::string& now, const std::string& until,
                                    size_t limit = 100) {
    auto claimed = store_->ClaimDue(now, until, limit);
    EXPECT_TRUE(claimed.ok()) << claimed.status().message();
    return claimed.ok() ? *claimed : std::vector<DeliveryRecord>();
  }

  std::string path_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<AlertStore> store_;
};

TEST_F(AlertStoreTest, AlertIdIsPrefixedSha256OfKey) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.
  EXPECT_EQ(AlertIdFor("abc"), "alrt_ba7816bf8f01cfea414140de");
  EXPECT_EQ(AlertIdFor("da23-r1|m1|due|1"), "alrt_" + Sha256Hex("da23-r1|m1|due|1").substr(0, 24));
  EXPECT_NE(AlertIdFor("a"), AlertIdFor("b"));
}

TEST_F(AlertStoreTest, NewDatabaseIsAtSchemaVersion12) {
  EXPECT_EQ(db_->schema_version(), 12);
  auto version = db_->Prepare("PRAGMA user_version");
  ASSERT_TRUE(version.ok());
  ASSERT_TRUE(*version->Step());
  EXPECT_EQ(version->ColumnInt(0), 12);
  for (const char* table :
       {"alerts", "deliveries", "delivery_attempts", "subscription_state", "scheduler_state"}) {
    EXPECT_EQ(Count(table), 0) << table;
  }
}

TEST_F(AlertStoreTest, RaiseInsertsAlertWithOnePendingDeliveryPerSubscription) {
  AlertRecord alert = MakeAlert("k1");
  alert.late = true;
  alert.id = "ignored";  // the id always comes from the key
  ASSERT_TRUE(RaiseOne(alert, {"s2", "s1"}));

  auto found = store_->Find(AlertIdFor("k1"));
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->seq, 1);
  EXPECT_EQ(found->id, AlertIdFor("k1"));
  EXPECT_EQ(found->dedupe_key, "k1");
  EXPECT_EQ(found->kind, "due");
  EXPECT_EQ(found->recommendation, "da23-r1");
  EXPECT_EQ(found->milestone, "m1");
  EXPECT_EQ(found->occurrence, 1);
  EXPECT_EQ(found->due, "2025-03-31");
  EXPECT_EQ(found->raised, kRaised);
  EXPECT_TRUE(found->late);
  EXPECT_EQ(found->owners, std::vector<std::string>{"CPX"});
  EXPECT_EQ(found->audience, std::vector<std::string>{"inspectorate"});
  EXPECT_EQ(found->payload, R"({"key":"k1"})");

  auto deliveries = store_->Deliveries(AlertIdFor("k1"));
  ASSERT_TRUE(deliveries.ok()) << deliveries.status().message();
  ASSERT_EQ(deliveries->size(), 2u);
  const DeliveryRecord& d = (*deliveries)[0];
  EXPECT_EQ(d.alert_id, AlertIdFor("k1"));
  EXPECT_EQ(d.subscription, "s1");
  EXPECT_EQ(d.channel, "webhook");
  EXPECT_EQ(d.target, "https://hooks.example.org/s1");
  EXPECT_EQ(d.state, "pending");
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.next_attempt, kRaised);
  EXPECT_EQ(d.last_status, 0);
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ((*deliveries)[1].subscription, "s2");
  EXPECT_EQ(*store_->StateOf(AlertIdFor("k1")), "pending");
  EXPECT_TRUE(store_->Attempts(AlertIdFor("k1"))->empty());
}

TEST_F(AlertStoreTest, SecondRaiseWithSameKeyReturnsFalseAndChangesNothing) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  AlertRecord again = MakeAlert("k1", "overdue", "da23-r9", {"OTHER"}, {});
  again.payload = "{}";
  EXPECT_FALSE(RaiseOne(again, {"s1", "s2"}));

  EXPECT_EQ(Count("alerts"), 1);
  EXPECT_EQ(Count("deliveries"), 1);
  auto found = store_->Find(AlertIdFor("k1"));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->kind, "due");
  EXPECT_EQ(found->recommendation, "da23-r1");
  EXPECT_EQ(found->owners, std::vector<std::string>{"CPX"});
  EXPECT_EQ(found->payload, R"({"key":"k1"})");
  // The refused raise consumed no seq.
  ASSERT_TRUE(RaiseOne(MakeAlert("k2")));
  EXPECT_EQ(store_->Find(AlertIdFor("k2"))->seq, 2);
}

TEST_F(AlertStoreTest, RaiseOutsideTransactionIsRefusedAndWritesNothing) {
  Result<bool> raised = store_->Raise(MakeAlert("k1"), {Sub("s1")});
  ASSERT_FALSE(raised.ok());
  EXPECT_NE(raised.status().message().find("no transaction is open"), std::string::npos)
      << raised.status().message();
  EXPECT_EQ(Count("alerts"), 0);
}

TEST_F(AlertStoreTest, RaiseRefusesEmptyKeyAndBadSubscriptionsBeforeWriting) {
  auto txn = Transaction::Begin(*db_, Transaction::Mode::kWrite);
  ASSERT_TRUE(txn.ok());
  EXPECT_EQ(store_->Raise(MakeAlert(""), {}).status().code(), Code::kInvalidArgument);
  Result<bool> twice = store_->Raise(MakeAlert("k1"), {Sub("s1"), Sub("s1")});
  EXPECT_EQ(twice.status().code(), Code::kInvalidArgument);
  EXPECT_NE(twice.status().message().find("'s1' is given twice"), std::string::npos);
  EXPECT_EQ(store_->Raise(MakeAlert("k1"), {Sub("")}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Count("alerts"), 0);
  EXPECT_EQ(Count("deliveries"), 0);
}

TEST_F(AlertStoreTest, RolledBackTransactionAroundRaiseLeavesNothing) {
  {
    auto txn = Transaction::Begin(*db_, Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(*store_->Raise(MakeAlert("k1"), {Sub("s1"), Sub("s2")}));
    ASSERT_TRUE(store_->SetProcessedThrough("2025-03-31").ok());
    EXPECT_EQ(Count("alerts"), 1);
    EXPECT_EQ(Count("deliveries"), 2);
  }  // rolled back
  EXPECT_EQ(Count("alerts"), 0);
  EXPECT_EQ(Count("deliveries"), 0);
  EXPECT_EQ(store_->Find(AlertIdFor("k1")).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->KeysFor("da23-r1")->empty());
  EXPECT_EQ(*store_->ProcessedThrough(), "");
  // The key is free again.
  EXPECT_TRUE(RaiseOne(MakeAlert("k1")));
}

TEST_F(AlertStoreTest, AlertsRefuseUpdateAndDelete) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1")));
  Status update = db_->Exec("UPDATE alerts SET payload = '{}'");
  EXPECT_EQ(update.code(), Code::kConflict);
  EXPECT_NE(update.message().find("alerts are append-only"), std::string::npos);
  auto del = db_->Prepare("DELETE FROM alerts WHERE id = ?");
  ASSERT_TRUE(del.ok());
  Status deleted = del->Bind(1, AlertIdFor("k1")).Run();
  EXPECT_EQ(deleted.code(), Code::kConflict);
  EXPECT_NE(deleted.message().find("alerts are append-only"), std::string::npos);
  EXPECT_EQ(store_->Find(AlertIdFor("k1"))->payload, R"({"key":"k1"})");
}

TEST_F(AlertStoreTest, OwnersAndAudienceRoundTripAnyBodyId) {
  const std::vector<std::string> odd = {
      "plain",      "with \"quotes\"", "back\\slash", "new\nline",
      "comma,]\"[", "tab\there",       "ctl\x01",     "caf\xc3\xa9 \xe2\x9c\x93",
      "",           "\\u0041"};
  ASSERT_TRUE(RaiseOne(MakeAlert("k1", "due", "da23-r1", odd, {})));
  ASSERT_TRUE(RaiseOne(MakeAlert("k2", "due", "da23-r1", {}, odd)));
  auto k1 = store_->Find(AlertIdFor("k1"));
  ASSERT_TRUE(k1.ok()) << k1.status().message();
  EXPECT_EQ(k1->owners, odd);
  EXPECT_TRUE(k1->audience.empty());
  auto k2 = store_->Find(AlertIdFor("k2"));
  ASSERT_TRUE(k2.ok()) << k2.status().message();
  EXPECT_TRUE(k2->owners.empty());
  EXPECT_EQ(k2->audience, odd);

  // Stored as valid JSON, so SQLite's json_each finds each id exactly.
  auto valid = db_->Prepare("SELECT MIN(json_valid(owners) AND json_valid(audience)) FROM alerts");
  ASSERT_TRUE(valid.ok() && *valid->Step());
  EXPECT_EQ(valid->ColumnInt(0), 1);
  for (const std::string& body : odd) {
    if (body.empty()) continue;  // "" means no body filter
    AlertFilter filter;
    filter.body = body;
    EXPECT_EQ(Keys(filter), (std::vector<std::string>{"k1", "k2"})) << body;
  }
  AlertFilter prefix;
  prefix.body = "with";  // no substring matches
  EXPECT_TRUE(Keys(prefix).empty());
}

TEST_F(AlertStoreTest, FindAndStateOfUnknownAlertAreNotFound) {
  EXPECT_EQ(store_->Find("alrt_nope").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->StateOf("alrt_nope").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->Deliveries("alrt_nope")->empty());
  EXPECT_TRUE(store_->Attempts("alrt_nope")->empty());
}

TEST_F(AlertStoreTest, KeysForListsKeysOfOneRecommendation) {
  ASSERT_TRUE(RaiseOne(MakeAlert("r1-a", "due", "da23-r1")));
  ASSERT_TRUE(RaiseOne(MakeAlert("r1-b", "overdue", "da23-r1")));
  ASSERT_TRUE(RaiseOne(MakeAlert("r2-a", "due", "da23-r2")));
  EXPECT_EQ(*store_->KeysFor("da23-r1"), (std::set<std::string>{"r1-a", "r1-b"}));
  EXPECT_EQ(*store_->KeysFor("da23-r2"), (std::set<std::string>{"r2-a"}));
  EXPECT_TRUE(store_->KeysFor("da23-r3")->empty());
}

TEST_F(AlertStoreTest, ListFiltersByBodyInOwnersOrAudience) {
  ASSERT_TRUE(RaiseOne(MakeAlert("a", "due", "r1", {"CPX"}, {"inspectorate"})));
  ASSERT_TRUE(RaiseOne(MakeAlert("b", "due", "r1", {"HMPPS"}, {"CPX", "inspectorate"})));
  ASSERT_TRUE(RaiseOne(MakeAlert("c", "due", "r1", {"HMPPS", "MOJ"}, {})));
  AlertFilter filter;
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"a", "b", "c"}));
  filter.body = "CPX";
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"a", "b"}));
  filter.body = "HMPPS";
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"b", "c"}));
  filter.body = "inspectorate";
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"a", "b"}));
  filter.body = "MOJ";
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"c"}));
  filter.body = "CP";
  EXPECT_TRUE(Keys(filter).empty());
}

TEST_F(AlertStoreTest, ListFiltersByOverallState) {
  // pending: one pending; delivered: all delivered; failed: delivered + failed;
  // mixed: pending + failed (pending wins); none: no subscription.
  ASSERT_TRUE(RaiseOne(MakeAlert("pending"), {"s1"}));
  ASSERT_TRUE(RaiseOne(MakeAlert("delivered"), {"s1", "s2"}));
  ASSERT_TRUE(RaiseOne(MakeAlert("failed"), {"s1", "s2"}));
  ASSERT_TRUE(RaiseOne(MakeAlert("mixed"), {"s1", "s2"}));
  ASSERT_TRUE(RaiseOne(MakeAlert("none"), {}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 7u);
  const std::string done = "2025-03-31T09:00:01Z";
  auto finish = [&](const std::string& key, const std::string& sub, const std::string& state) {
    Status s = store_->Finish(AlertIdFor(key), sub, state == "delivered" ? 200 : 500, "", done,
                              state, "2025-03-31T10:00:00Z");
    EXPECT_TRUE(s.ok()) << s.message();
  };
  finish("delivered", "s1", "delivered");
  finish("delivered", "s2", "delivered");
  finish("failed", "s1", "delivered");
  finish("failed", "s2", "failed");
  finish("mixed", "s1", "pending");
  finish("mixed", "s2", "failed");

  for (const auto& [state, keys] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"pending", {"pending", "mixed"}},
           {"delivered", {"delivered"}},
           {"failed", {"failed"}},
           {"unsubscribed", {"none"}},
           {"", {"pending", "delivered", "failed", "mixed", "none"}}}) {
    AlertFilter filter;
    filter.state = state;
    EXPECT_EQ(Keys(filter), keys) << state;
  }
  for (const std::string key : {"pending", "delivered", "failed", "none"}) {
    EXPECT_EQ(*store_->StateOf(AlertIdFor(key)), key == "none" ? "unsubscribed" : key);
  }
  EXPECT_EQ(*store_->StateOf(AlertIdFor("mixed")), "pending");

  AlertFilter bad;
  bad.state = "lost";
  EXPECT_EQ(store_->List(bad).status().code(), Code::kInvalidArgument);
}

TEST_F(AlertStoreTest, ListFiltersByKindRecommendationSeqAndLimitInEitherOrder) {
  ASSERT_TRUE(RaiseOne(MakeAlert("1", "due", "r1")));
  ASSERT_TRUE(RaiseOne(MakeAlert("2", "overdue", "r1")));
  ASSERT_TRUE(RaiseOne(MakeAlert("3", "due", "r2")));
  ASSERT_TRUE(RaiseOne(MakeAlert("4", "due", "r1")));
  AlertFilter filter;
  filter.kind = "due";
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"1", "3", "4"}));
  filter.recommendation = "r1";
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"1", "4"}));
  filter.kind = "";
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"1", "2", "4"}));
  filter.after_seq = 1;
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"2", "4"}));
  filter.newest_first = true;
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"4", "2"}));
  filter.limit = 1;
  EXPECT_EQ(Keys(filter), (std::vector<std::string>{"4"}));

  AlertFilter page;
  page.limit = 2;
  EXPECT_EQ(Keys(page), (std::vector<std::string>{"1", "2"}));
  page.after_seq = 2;
  EXPECT_EQ(Keys(page), (std::vector<std::string>{"3", "4"}));
  page.after_seq = 4;
  EXPECT_TRUE(Keys(page).empty());
  auto all = store_->List(AlertFilter());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
}

TEST_F(AlertStoreTest, ClaimDueClaimsOnlyDueUnclaimedPendingDeliveries) {
  AlertRecord early = MakeAlert("early");
  early.raised = "2025-03-31T08:00:00Z";
  AlertRecord later = MakeAlert("later");
  later.raised = "2025-03-31T10:00:00Z";
  ASSERT_TRUE(RaiseOne(MakeAlert("now"), {"s1", "s2"}));
  ASSERT_TRUE(RaiseOne(early, {"s1"}));
  ASSERT_TRUE(RaiseOne(later, {"s1"}));

  // Earliest next_attempt first, then the order raised, then subscription.
  std::vector<DeliveryRecord> claimed = Claim(kRaised, "2025-03-31T09:05:00Z", 2);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].alert_id, AlertIdFor("early"));
  EXPECT_EQ(claimed[0].attempts, 1);
  EXPECT_EQ(claimed[0].state, "pending");
  EXPECT_EQ(claimed[0].channel, "webhook");
  EXPECT_EQ(claimed[0].target, "https://hooks.example.org/s1");
  EXPECT_EQ(claimed[1].alert_id, AlertIdFor("now"));
  EXPECT_EQ(claimed[1].subscription, "s1");
  EXPECT_EQ(DeliveryOf("now", "s1").attempts, 1);

  auto attempts = store_->Attempts(AlertIdFor("now"));
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].subscription, "s1");
  EXPECT_EQ((*attempts)[0].attempt, 1);
  EXPECT_EQ((*attempts)[0].started, kRaised);
  EXPECT_EQ((*attempts)[0].finished, "");
  EXPECT_EQ((*attempts)[0].status, 0);

  // The rest of what is due; "later" is not due yet; claimed ones are not claimed twice.
  claimed = Claim("2025-03-31T09:01:00Z", "2025-03-31T09:06:00Z");
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].alert_id, AlertIdFor("now"));
  EXPECT_EQ(claimed[0].subscription, "s2");
  EXPECT_TRUE(Claim("2025-03-31T09:02:00Z", "2025-03-31T09:07:00Z").empty());
  EXPECT_EQ(DeliveryOf("now", "s1").attempts, 1);
  EXPECT_EQ(DeliveryOf("later", "s1").attempts, 0);

  // Claims expire at 09:05 and 09:06; "later" falls due at 10:00.
  claimed = Claim("2025-03-31T10:00:00Z", "2025-03-31T10:05:00Z");
  EXPECT_EQ(claimed.size(), 4u);
}

TEST_F(AlertStoreTest, DeliveryInFlightWhenProcessDiedIsClaimedAgainAfterClaimExpires) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);
  // The process dies: no Finish. A new one (a fresh connection) starts.
  store_.reset();
  db_.reset();
  db_ = OpenOrDie(path_);
  ASSERT_NE(db_, nullptr);
  store_ = std::make_unique<AlertStore>(db_.get());
  EXPECT_TRUE(Claim("2025-03-31T09:04:59Z", "2025-03-31T09:10:00Z").empty());

  std::vector<DeliveryRecord> again = Claim("2025-03-31T09:05:00Z", "2025-03-31T09:10:00Z");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].alert_id, AlertIdFor("k1"));
  EXPECT_EQ(again[0].attempts, 2);
  auto attempts = store_->Attempts(AlertIdFor("k1"));
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].attempt, 1);
  EXPECT_EQ((*attempts)[0].finished, "");  // died in flight, stays so
  EXPECT_EQ((*attempts)[1].attempt, 2);
  EXPECT_EQ((*attempts)[1].started, "2025-03-31T09:05:00Z");

  ASSERT_TRUE(
      store_->Finish(AlertIdFor("k1"), "s1", 204, "", "2025-03-31T09:05:01Z", "delivered", "")
          .ok());
  attempts = store_->Attempts(AlertIdFor("k1"));
  EXPECT_EQ((*attempts)[0].finished, "");
  EXPECT_EQ((*attempts)[1].finished, "2025-03-31T09:05:01Z");
  EXPECT_EQ((*attempts)[1].status, 204);
}

TEST_F(AlertStoreTest, TwoConnectionsNeverClaimTheSameDelivery) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1", "s2", "s3"}));
  auto other_db = OpenOrDie(path_);
  ASSERT_NE(other_db, nullptr);
  AlertStore other(other_db.get());
  auto first = store_->ClaimDue(kRaised, "2025-03-31T09:05:00Z", 2);
  auto second = other.ClaimDue(kRaised, "2025-03-31T09:05:00Z", 10);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(first->size(), 2u);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].subscription, "s3");
  EXPECT_TRUE(other.ClaimDue(kRaised, "2025-03-31T09:05:00Z", 10)->empty());
}

TEST_F(AlertStoreTest, FinishDeliveredRecordsAttemptAndReleasesClaim) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);
  ASSERT_TRUE(
      store_->Finish(AlertIdFor("k1"), "s1", 200, "", "2025-03-31T09:00:02Z", "delivered", "")
          .ok());
  DeliveryRecord d = DeliveryOf("k1", "s1");
  EXPECT_EQ(d.state, "delivered");
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_status, 200);
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ(d.next_attempt, kRaised);
  EXPECT_EQ(*store_->StateOf(AlertIdFor("k1")), "delivered");
  auto attempts = store_->Attempts(AlertIdFor("k1"));
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].finished, "2025-03-31T09:00:02Z");
  EXPECT_EQ((*attempts)[0].status, 200);
  EXPECT_TRUE(Claim("2025-04-30T00:00:00Z", "2025-04-30T00:05:00Z").empty());
  // Nothing is in flight any more.
  EXPECT_EQ(store_->Finish(AlertIdFor("k1"), "s1", 200, "", "x", "delivered", "").code(),
            Code::kFailedPrecondition);
}

TEST_F(AlertStoreTest, FinishFailedGivesUp) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);
  ASSERT_TRUE(store_
                  ->Finish(AlertIdFor("k1"), "s1", 0, "connection refused", "2025-03-31T09:00:03Z",
                           "failed", "")
                  .ok());
  DeliveryRecord d = DeliveryOf("k1", "s1");
  EXPECT_EQ(d.state, "failed");
  EXPECT_EQ(d.last_status, 0);
  EXPECT_EQ(d.last_error, "connection refused");
  EXPECT_EQ(*store_->StateOf(AlertIdFor("k1")), "failed");
  EXPECT_EQ((*store_->Attempts(AlertIdFor("k1")))[0].error, "connection refused");
  EXPECT_TRUE(Claim("2025-04-30T00:00:00Z", "2025-04-30T00:05:00Z").empty());
  EXPECT_FALSE(store_->NextAttempt()->has_value());
}

TEST_F(AlertStoreTest, FinishPendingSchedulesNextAttempt) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);
  ASSERT_TRUE(store_
                  ->Finish(AlertIdFor("k1"), "s1", 503, "Service Unavailable",
                           "2025-03-31T09:00:01Z", "pending", "2025-03-31T09:00:06Z")
                  .ok());
  DeliveryRecord d = DeliveryOf("k1", "s1");
  EXPECT_EQ(d.state, "pending");
  EXPECT_EQ(d.next_attempt, "2025-03-31T09:00:06Z");
  EXPECT_EQ(d.last_status, 503);
  EXPECT_EQ(d.last_error, "Service Unavailable");
  EXPECT_EQ(**store_->NextAttempt(), "2025-03-31T09:00:06Z");
  // Not before next_attempt, although the claim was released.
  EXPECT_TRUE(Claim("2025-03-31T09:00:05Z", "2025-03-31T09:05:05Z").empty());
  std::vector<DeliveryRecord> retry = Claim("2025-03-31T09:00:06Z", "2025-03-31T09:05:06Z");
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempts, 2);
  EXPECT_EQ(retry[0].last_status, 503);
  auto attempts = store_->Attempts(AlertIdFor("k1"));
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].status, 503);
  EXPECT_EQ((*attempts)[0].finished, "2025-03-31T09:00:01Z");
  EXPECT_EQ((*attempts)[1].finished, "");
}

TEST_F(AlertStoreTest, FinishRefusesBadArgumentsAndUnknownDeliveries) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  const std::string id = AlertIdFor("k1");
  EXPECT_EQ(store_->Finish(id, "s1", 200, "", "t", "sent", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->Finish(id, "s1", 500, "", "t", "pending", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->Finish(id, "s9", 200, "", "t", "delivered", "").code(), Code::kNotFound);
  // Never claimed: no attempt to finish.
  EXPECT_EQ(store_->Finish(id, "s1", 200, "", "t", "delivered", "").code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(DeliveryOf("k1", "s1").state, "pending");
}

TEST_F(AlertStoreTest, StaleAttemptOutcomeDoesNotReleaseNewerClaim) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  const std::string id = AlertIdFor("k1");
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);                 // attempt 1 hangs
  ASSERT_EQ(Claim("2025-03-31T09:05:00Z", "2025-03-31T09:10:00Z").size(), 1u);  // attempt 2
  // Attempt 2 fails and is rescheduled.
  ASSERT_TRUE(
      store_
          ->Finish(id, "s1", 500, "boom", "2025-03-31T09:05:01Z", "pending", "2025-03-31T09:06:00Z")
          .ok());
  // Attempt 1 finally reports a failure: logged, but the schedule stands.
  ASSERT_TRUE(store_->Finish(id, "s1", 0, "timeout", "2025-03-31T09:05:02Z", "failed", "").ok());
  DeliveryRecord d = DeliveryOf("k1", "s1");
  EXPECT_EQ(d.state, "pending");
  EXPECT_EQ(d.next_attempt, "2025-03-31T09:06:00Z");
  EXPECT_EQ(d.last_error, "boom");
  auto attempts = store_->Attempts(AlertIdFor("k1"));
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].attempt, 1);
  EXPECT_EQ((*attempts)[0].error, "timeout");
  EXPECT_EQ((*attempts)[1].error, "boom");

  // A stale attempt that did deliver is a fact: the delivery is done.
  ASSERT_EQ(Claim("2025-03-31T09:06:00Z", "2025-03-31T09:11:00Z").size(), 1u);  // attempt 3
  ASSERT_EQ(Claim("2025-03-31T09:11:00Z", "2025-03-31T09:16:00Z").size(), 1u);  // attempt 4
  ASSERT_TRUE(store_
                  ->Finish(id, "s1", 500, "again", "2025-03-31T09:11:01Z", "pending",
                           "2025-03-31T10:00:00Z")
                  .ok());  // attempt 4
  ASSERT_TRUE(
      store_->Finish(id, "s1", 200, "", "2025-03-31T09:11:02Z", "delivered", "").ok());  // 3
  d = DeliveryOf("k1", "s1");
  EXPECT_EQ(d.state, "delivered");
  EXPECT_EQ(d.last_status, 200);
  EXPECT_TRUE(Claim("2025-03-31T10:00:00Z", "2025-03-31T10:05:00Z").empty());
}

TEST_F(AlertStoreTest, NextAttemptIsEarliestPendingIgnoringClaims) {
  EXPECT_FALSE(store_->NextAttempt()->has_value());
  AlertRecord later = MakeAlert("later");
  later.raised = "2025-03-31T11:00:00Z";
  ASSERT_TRUE(RaiseOne(later, {"s1"}));
  ASSERT_TRUE(RaiseOne(MakeAlert("now"), {"s1"}));
  EXPECT_EQ(**store_->NextAttempt(), kRaised);
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);
  EXPECT_EQ(**store_->NextAttempt(), kRaised);  // claimed, still pending
  ASSERT_TRUE(
      store_->Finish(AlertIdFor("now"), "s1", 200, "", "2025-03-31T09:00:01Z", "delivered", "")
          .ok());
  EXPECT_EQ(**store_->NextAttempt(), "2025-03-31T11:00:00Z");
}

TEST_F(AlertStoreTest, DisableSubscriptionFailsItsPendingDeliveriesAndIsListed) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"gone", "kept"}));
  ASSERT_TRUE(RaiseOne(MakeAlert("k2"), {"gone"}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z", 1).size(), 1u);  // k1 to "gone"
  ASSERT_TRUE(
      store_->Finish(AlertIdFor("k1"), "gone", 200, "", "2025-03-31T09:00:01Z", "delivered", "")
          .ok());
  EXPECT_TRUE(store_->DisabledSubscriptions()->empty());

  ASSERT_TRUE(store_->DisableSubscription("gone", "2025-03-31T09:01:00Z", "HTTP 410 Gone").ok());
  EXPECT_EQ(*store_->DisabledSubscriptions(), std::set<std::string>{"gone"});
  EXPECT_EQ(DeliveryOf("k1", "gone").state, "delivered");  // done before: untouched
  EXPECT_EQ(DeliveryOf("k1", "kept").state, "pending");
  DeliveryRecord failed = DeliveryOf("k2", "gone");
  EXPECT_EQ(failed.state, "failed");
  EXPECT_EQ(failed.last_error, "subscription disabled: HTTP 410 Gone");
  EXPECT_EQ(*store_->StateOf(AlertIdFor("k2")), "failed");

  // Disabling again keeps the first reason and changes nothing else.
  ASSERT_TRUE(store_->DisableSubscription("gone", "2025-03-31T09:02:00Z", "again").ok());
  EXPECT_EQ(DeliveryOf("k2", "gone").last_error, "subscription disabled: HTTP 410 Gone");

  // An alert raised for it afterwards is failed rather than sent.
  ASSERT_TRUE(RaiseOne(MakeAlert("k3"), {"gone", "kept"}));
  std::vector<DeliveryRecord> claimed = Claim(kRaised, "2025-03-31T09:05:00Z");
  ASSERT_EQ(claimed.size(), 2u);
  for (const DeliveryRecord& d : claimed) EXPECT_EQ(d.subscription, "kept");
  EXPECT_EQ(DeliveryOf("k3", "gone").state, "failed");
  EXPECT_EQ(DeliveryOf("k3", "gone").last_error, "subscription disabled: HTTP 410 Gone");
  EXPECT_EQ(store_->DisableSubscription("", "t", "r").code(), Code::kInvalidArgument);
}

TEST_F(AlertStoreTest, DisablingWhileInFlightIsNotUndoneByTheAttemptsOutcome) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);
  ASSERT_TRUE(store_->DisableSubscription("s1", "2025-03-31T09:00:01Z", "gone").ok());
  ASSERT_TRUE(store_
                  ->Finish(AlertIdFor("k1"), "s1", 500, "err", "2025-03-31T09:00:02Z", "pending",
                           "2025-03-31T09:01:00Z")
                  .ok());
  DeliveryRecord d = DeliveryOf("k1", "s1");
  EXPECT_EQ(d.state, "failed");
  EXPECT_EQ(d.last_error, "subscription disabled: gone");
  EXPECT_EQ((*store_->Attempts(AlertIdFor("k1")))[0].error, "err");
}

// Two attempts to one receiver in flight, both answered 410: whichever is recorded second finds
// its delivery already failed by the first's disabling, and still shows its own 410.
TEST_F(AlertStoreTest, AFinalFailureInFlightAtDisablingIsItsStatus) {
  ASSERT_TRUE(RaiseOne(MakeAlert("k1"), {"s1"}));
  ASSERT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);
  ASSERT_TRUE(store_->DisableSubscription("s1", "2025-03-31T09:00:01Z", "410 to another").ok());
  ASSERT_TRUE(store_
                  ->Finish(AlertIdFor("k1"), "s1", 410, "HTTP 410 Gone: subscription disabled",
                           "2025-03-31T09:00:02Z", "failed", "")
                  .ok());
  DeliveryRecord d = DeliveryOf("k1", "s1");
  EXPECT_EQ(d.state, "failed");
  EXPECT_EQ(d.last_status, 410);
  EXPECT_EQ(d.last_error, "HTTP 410 Gone: subscription disabled");
}

TEST_F(AlertStoreTest, ProcessedThroughRoundTripsAndJoinsCallersTransaction) {
  EXPECT_EQ(*store_->ProcessedThrough(), "");
  ASSERT_TRUE(store_->SetProcessedThrough("2025-03-30").ok());
  EXPECT_EQ(*store_->ProcessedThrough(), "2025-03-30");
  ASSERT_TRUE(store_->SetProcessedThrough("2025-03-31").ok());
  EXPECT_EQ(*store_->ProcessedThrough(), "2025-03-31");
  EXPECT_EQ(store_->SetProcessedThrough("31/03/2025").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->SetProcessedThrough("2025-02-30").code(), Code::kInvalidArgument);
  {
    auto txn = Transaction::Begin(*db_, Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(store_->SetProcessedThrough("2025-04-01").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  store_.reset();
  db_.reset();
  db_ = OpenOrDie(path_);
  ASSERT_NE(db_, nullptr);
  store_ = std::make_unique<AlertStore>(db_.get());
  EXPECT_EQ(*store_->ProcessedThrough(), "2025-04-01");
  EXPECT_EQ(Count("scheduler_state"), 1);
}

TEST_F(AlertStoreTest, MigratesVersion2DatabaseKeepingItsData) {
  // Turn the fresh database back into a version 2 one with data in it.
  store_.reset();
  ASSERT_TRUE(db_->Exec("DROP TABLE scheduler_state; DROP TABLE subscription_state; "
                        "DROP TABLE delivery_attempts; DROP TABLE deliveries; "
                        "DROP TABLE alerts; ALTER TABLE tokens DROP COLUMN unit; "
                        "PRAGMA user_version = 2")
                  .ok());
  {
    auto txn = Transaction::Begin(*db_, Transaction::Mode::kWrite);
    ASSERT_TRUE(txn.ok());
    EventRow row;
    row.subject_id = "da23-r1";
    row.transition = "open";
    row.effective = "2024-08-15";
    row.recorded = "2024-08-16T09:30:00Z";
    row.actor = "alice";
    row.role = "owner";
    row.payload = "{}";
    std::vector<EventRow> rows = {row};
    ASSERT_TRUE(EventStore(db_.get()).Append(rows).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  db_.reset();

  db_ = OpenOrDie(path_);
  ASSERT_NE(db_, nullptr);
  store_ = std::make_unique<AlertStore>(db_.get());
  EXPECT_EQ(db_->schema_version(), 12);
  auto version = db_->Prepare("PRAGMA user_version");
  ASSERT_TRUE(version.ok() && *version->Step());
  EXPECT_EQ(version->ColumnInt(0), 12);
  EXPECT_EQ(Count("events"), 1);
  EXPECT_TRUE(EventStore(db_.get()).Verify().ok());
  EXPECT_TRUE(RaiseOne(MakeAlert("k1")));
  EXPECT_EQ(Claim(kRaised, "2025-03-31T09:05:00Z").size(), 1u);

  auto triggers = db_->Prepare(
      "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
      "ORDER BY name");
  ASSERT_TRUE(triggers.ok());
  triggers->Bind(1, "alerts");
  std::vector<std::string> names;
  while (*triggers->Step()) names.push_back(triggers->ColumnText(0));
  EXPECT_EQ(names, (std::vector<std::string>{"alerts_no_delete", "alerts_no_update"}));
}

}  // namespace
}  // namespace rectrack::storage
