// The fixture of the API tests for units and actions (api_actions_test.cpp,
// api_actions_reads_test.cpp): Api::Handle over a real SQLite file holding the demo imports,
// CPS South West's action plan among them, with a token for each kind of caller, two of them
// narrowed to a unit.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>
#include <tuple>

#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "http/api.h"
#include "tests/api_support.h"
#include "tests/serve_process.h"
#include "tests/test_support.h"

namespace rectrack::http {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kSource = RECTRACK_SOURCE_DIR;
const std::string kWorkflow = kSource + "/workflows/recommendation.yaml";
constexpr const char* kJson = "application/json";

// Who sends a request. kSwLead's token is narrowed to unit cps-sw, kCrownLead's to cps-sw-crown
// (another unit of the same body).
enum Who { kInspectorate, kCpsLead, kSwLead, kCrownLead, kSfoLead, kReader, kWhoCount };
const char* const kWhoNames[] = {"Inspectorate", "CpsLead", "SwLead",
                                 "CrownLead",    "SfoLead", "Reader"};

using IdSet = std::set<std::string>;

class ApiActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::path(::testing::TempDir()) /
           ("api_actions_test_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "rectrack.db").string();
    auto engine = Engine::Open({db_path_, kWorkflow, &clock_, true, "", ""});
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    ASSERT_NE(engine_->action_workflow(), nullptr);
    for (const char* demo :
         {"/demo/domestic-abuse.yaml", "/demo/more-bodies.yaml", "/demo/cps-south-west.yaml"}) {
      auto commands =
          ParseImportFile(kSource + demo, engine_->workflow(), engine_->action_workflow());
      ASSERT_TRUE(commands.ok()) << commands.status().message();
      auto report = engine_->Apply(*commands, "test");
      ASSERT_TRUE(report.ok()) << report.status().message();
    }
    NewToken(kInspectorate, "inspectorate", "", "");
    NewToken(kCpsLead, "body_lead", "CPS", "");
    NewToken(kSwLead, "body_lead", "CPS", "cps-sw");
    NewToken(kCrownLead, "body_lead", "CPS", "cps-sw-crown");
    NewToken(kSfoLead, "body_lead", "SFO", "");
    NewToken(kReader, "reader", "", "");
    host_ = std::make_unique<EngineHost>(engine_.get());
    api_ = std::make_unique<Api>(host_.get(), ApiOptions{});
  }
  void TearDown() override {
    api_.reset();
    host_.reset();
    engine_.reset();
    fs::remove_all(dir_);
  }

  void NewToken(Who who, const char* role, const char* body, const char* unit) {
    auto created = engine_->CreateToken(role, body, std::nullopt, kWhoNames[who], unit);
    ASSERT_TRUE(created.ok()) << created.status().message();
    token_ids_[who] = created->first.id;
    secrets_[who] = created->second;
  }

  Response Send(const std::string& method, const std::string& target, const std::string& body,
                Who who, std::map<std::string, std::string> headers = {}) {
    Request req{method, target, std::move(headers), body, "127.0.0.1"};
    if (!body.empty()) req.headers["content-type"] = kJson;
    req.headers["authorization"] = "Bearer " + secrets_[who];
    return api_->Handle(req);
  }
  Response Get(const std::string& target, Who who = kReader,
               std::map<std::string, std::string> headers = {}) {
    return Send("GET", target, "", who, std::move(headers));
  }
  Response Post(const std::string& target, const std::string& body, Who who = kInspectorate,
                std::map<std::string, std::string> headers = {}) {
    return Send("POST", target, body, who, std::move(headers));
  }

  // The ids of a JSON array answer (units), or of every page of a list (actions: each page's
  // `items`, following `next_cursor` until it is null); expects 200.
  std::vector<std::string> Ids(const std::string& target, Who who = kReader) {
    std::vector<std::string> ids;
    std::string page = target;
    for (int pages = 0; pages < 1000; ++pages) {
      Response r = Get(page, who);
      EXPECT_EQ(r.status, 200) << page << ": " << r.body;
      if (r.status != 200) return ids;
      json::value v = ParseJson(r.body);
      const json::value* items = &v;
      if (v.is_object() && v.as_object().contains("items")) items = &v.as_object().at("items");
      if (!items->is_array()) {
        ADD_FAILURE() << page << ": not a list: " << r.body;
        return ids;
      }
      for (const auto& item : items->as_array()) {
        if (!item.is_object() || !item.as_object().contains("id")) {
          ADD_FAILURE() << page << ": an item without an id: " << r.body;
          return ids;
        }
        ids.push_back(Str(item, "id"));
      }
      if (!v.is_object() || !v.as_object().contains("next_cursor") ||
          v.as_object().at("next_cursor").is_null()) {
        return ids;
      }
      page = target + (target.find('?') == std::string::npos ? "?" : "&") +
             "cursor=" + Str(v, "next_cursor");
    }
    ADD_FAILURE() << target << ": more than 1,000 pages";
    return ids;
  }
  IdSet IdsOf(const std::string& target, Who who = kReader) {
    auto ids = Ids(target, who);
    return IdSet(ids.begin(), ids.end());
  }

  int64_t Events() {
    auto v = engine_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? v->events : -1;
  }

  FixedClock clock_{"2026-11-22T10:00:00Z"};
  fs::path dir_;
  std::string db_path_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<Api> api_;
  std::array<std::string, kWhoCount> secrets_;
  std::array<std::string, kWhoCount> token_ids_;
};

}  // namespace
}  // namespace rectrack::http
