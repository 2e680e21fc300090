// The fixture of the alert scheduler's tests (alerts_test.cpp, alerts_turns_test.cpp): an
// Engine over a real SQLite file with two recommendations, the bundled rules and two
// subscriptions, and a clock the test moves.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "engine/alert_queue.h"
#include "engine/engine.h"
#include "engine/importer.h"
#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

const std::string kSource = RECTRACK_SOURCE_DIR;

Date D(const char* iso) { return *Date::Parse(iso); }

class MovableClock : public Clock {
 public:
  explicit MovableClock(const char* instant) : now_(*ParseInstant(instant)) {}
  TimePoint Now() const override { return now_; }
  void Set(const char* instant) { now_ = *ParseInstant(instant); }

 private:
  TimePoint now_;
};

constexpr const char* kData = R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service}
  - {id: SFO, name: Serious Fraud Office}
inspections:
  - {id: i1, title: Casework, published: 2025-01-06}
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "By 31 March 2025, the CPS to do one thing."}
  - {id: s1, inspection: i1, owners: [SFO], text: "By 30 June 2025, the SFO to do another."}
events:
  - {rec: r1, do: update, effective: 2025-01-20, by: CPS, note: "started"}
  - {rec: s1, do: update, effective: 2025-01-20, by: SFO, note: "started"}
)";

class AlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("alerts_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
    fs::copy(kSource + "/rules", dir_ / "rules", fs::copy_options::recursive);
    std::ofstream(dir_ / "rules" / "subscriptions.yaml") << R"(
subscriptions:
  - {id: cps-hook, body: CPS, kinds: [overdue, escalation], webhook: "http://127.0.0.1:9/h", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
  - {id: insp-mail, body: inspectorate, email: alerts@hmcpsi.example}
)";
    engine_ = Open();
    ASSERT_NE(engine_, nullptr);
    auto commands = ParseImport(kData, "t.yaml", engine_->workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    ASSERT_TRUE(engine_->Apply(*commands, "test").ok());
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }

  // `batch`: the item index and heads are written every `batch` events (0: the default).
  std::unique_ptr<Engine> Open(int64_t batch = 0) {
    Engine::Options options{(dir_ / "rectrack.db").string(),
                            kSource + "/workflows/recommendation.yaml", &clock_, true,
                            (dir_ / "rules").string()};
    if (batch > 0) options.index_batch = options.heads_batch = batch;
    // StartAlerts splits the items between two threads, as on a long log (serve's start): every
    // test here then checks the days worked out on both (and ThreadSanitizer, that they share
    // nothing but what they read). Every catch-up of another engine's commits is read ahead too.
    options.two_threads_from = 1;
    auto engine = Engine::Open(options);
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  // An event recorded by the CPS's body lead.
  static RecordEvent ByCpsLead(const std::string& id, const std::string& transition) {
    RecordEvent e;
    e.subject_id = id;
    e.transition = transition;
    e.role = "body_lead";
    e.body = "CPS";
    return e;
  }

  // Raises what is due and returns "rec/milestone/kind/occurrence[ late]" for each.
  std::vector<std::string> Raise() {
    auto raised = engine_->RaiseDueAlerts();
    EXPECT_TRUE(raised.ok()) << raised.status().message();
    std::vector<std::string> out;
    if (!raised.ok()) return out;
    for (const auto& a : *raised) {
      EXPECT_EQ(a.id, storage::AlertIdFor(a.dedupe_key));
      out.push_back(a.dedupe_key + (a.late ? " late" : ""));
    }
    return out;
  }

  fs::path dir_;
  MovableClock clock_{"2025-01-21T12:00:00Z"};
  std::unique_ptr<Engine> engine_;
};

using V = std::vector<std::string>;

}  // namespace
}  // namespace rectrack
