// The fixture of the engine's tests: a database file of its own per test, an engine on it over
// the bundled workflow, and helpers that import the demo, record an event, read a state as at a
// date and count the log's events (verifying it).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/importer.h"
#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

const std::string kWorkflow = std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml";
const std::string kDemo = std::string(RECTRACK_SOURCE_DIR) + "/demo/domestic-abuse.yaml";

Date D(const char* iso) { return *Date::Parse(iso); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("engine_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "rectrack.db").string();
    engine_ = OpenEngine();
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Engine> OpenEngine() {
    auto engine = Engine::Open({db_path_, kWorkflow, &clock_, true, ""});
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  std::vector<Command> Parse(const std::string& yaml) {
    auto commands = ParseImport(yaml, "t.yaml", engine_->workflow());
    EXPECT_TRUE(commands.ok()) << commands.status().message();
    return commands.ok() ? *commands : std::vector<Command>{};
  }

  void ImportDemo() {
    auto commands = ParseImportFile(kDemo, engine_->workflow());
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    auto report = engine_->Apply(*commands, "test");
    ASSERT_TRUE(report.ok()) << report.status().message();
  }

  Result<ApplyReport> Record(const std::string& id, const std::string& transition,
                             const char* effective, const std::string& body = "",
                             Fields fields = {}) {
    RecordEvent e;
    e.subject_id = id;
    e.transition = transition;
    e.effective = D(effective);
    e.body = body;
    e.role = body.empty() ? "inspectorate" : "body_lead";
    e.fields = std::move(fields);
    // A note-only transition with nothing in it is refused (it would record nothing).
    if ((transition == "update" || transition == "comment") && e.fields.empty()) e.note = "noted";
    return engine_->Apply({e}, "test");
  }

  // The CPS lead's close of `id`, effective today.
  static RecordEvent CpsLeadCloses(const std::string& id) {
    RecordEvent close;
    close.subject_id = id;
    close.transition = "close";
    close.role = "body_lead";
    close.body = "CPS";
    return close;
  }

  std::string State(const std::string& id, const char* as_of) {
    auto view = engine_->Show(id, D(as_of));
    return view.ok() ? view->state : "error: " + view.status().message();
  }

  int64_t EventCount() {
    auto v = engine_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? v->events : -1;
  }

  FixedClock clock_{"2026-11-22T10:00:00Z"};
  fs::path dir_;
  std::string db_path_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace
}  // namespace rectrack
