// The fixture of the Api tests (api_test.cpp, api_reads_test.cpp): an Api over a real SQLite
// file holding both demo imports, with a token for each kind of caller.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "http/api.h"
#include "tests/api_support.h"
#include "tests/test_support.h"

namespace rectrack::http {

namespace fs = std::filesystem;
namespace json = boost::json;

inline const std::string kSource = RECTRACK_SOURCE_DIR;
inline const std::string kWorkflow = kSource + "/workflows/recommendation.yaml";
inline constexpr const char* kJson = "application/json";
inline constexpr const char* kYaml = "application/yaml";
inline constexpr size_t kAllRecs = 12;  // 8 in domestic-abuse.yaml, 4 in more-bodies.yaml

// Who sends a request. kExpired's token expires at the end of 2026-11-22; it is sent to an Api
// over a second Engine whose clock reads 2026-11-23.
enum Who { kInspectorate, kCpsLead, kSfoLead, kReader, kNoToken, kRevoked, kExpired, kWhoCount };
inline const char* const kWhoNames[] = {"Inspectorate", "CpsLead", "SfoLead", "Reader",
                                        "NoToken",      "Revoked", "Expired"};

// Runs the rectrack binary; stdout only.
inline std::string Cli(const std::string& args) {
  FILE* pipe = ::popen((std::string(RECTRACK_BINARY) + " " + args + " 2>/dev/null").c_str(), "r");
  std::string out;
  if (!pipe) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(::pclose(pipe), 0) << args << "\n" << out;
  return out;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::path(::testing::TempDir()) / ("api_test_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "rectrack.db").string();
    engine_ = OpenEngine(&clock_);
    ASSERT_NE(engine_, nullptr);
    for (const char* demo : {"/demo/domestic-abuse.yaml", "/demo/more-bodies.yaml"}) {
      auto commands = ParseImportFile(kSource + demo, engine_->workflow());
      ASSERT_TRUE(commands.ok()) << commands.status().message();
      auto report = engine_->Apply(*commands, "test");
      ASSERT_TRUE(report.ok()) << report.status().message();
    }
    NewToken(kInspectorate, "inspectorate", "", std::nullopt);
    NewToken(kCpsLead, "body_lead", "CPS", std::nullopt);
    NewToken(kSfoLead, "body_lead", "SFO", std::nullopt);
    NewToken(kReader, "reader", "", std::nullopt);
    NewToken(kRevoked, "inspectorate", "", std::nullopt);
    ASSERT_TRUE(engine_->RevokeToken(token_ids_[kRevoked]).ok());
    NewToken(kExpired, "inspectorate", "", *Date::Parse("2026-11-22"));
    later_engine_ = OpenEngine(&later_clock_);
    ASSERT_NE(later_engine_, nullptr);
    host_ = std::make_unique<EngineHost>(engine_.get());
    api_ = std::make_unique<Api>(host_.get(), ApiOptions{});
    later_host_ = std::make_unique<EngineHost>(later_engine_.get());
    later_api_ = std::make_unique<Api>(later_host_.get(), ApiOptions{});
  }
  void TearDown() override {
    api_.reset();
    host_.reset();
    later_api_.reset();
    later_host_.reset();
    engine_.reset();
    later_engine_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Engine> OpenEngine(const Clock* clock) {
    auto engine = Engine::Open({db_path_, kWorkflow, clock, true, ""});
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  void NewToken(Who who, const char* role, const char* body, std::optional<Date> expires) {
    auto created = engine_->CreateToken(role, body, expires, kWhoNames[who]);
    ASSERT_TRUE(created.ok()) << created.status().message();
    token_ids_[who] = created->first.id;
    secrets_[who] = created->second;
  }

  static Request Make(const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& type = "",
                      std::map<std::string, std::string> headers = {}) {
    Request req{method, target, std::move(headers), body, "127.0.0.1"};
    if (!type.empty()) req.headers["content-type"] = type;
    return req;
  }

  Response Send(Request req, Who who) {
    if (who != kNoToken) req.headers["authorization"] = "Bearer " + secrets_[who];
    return (who == kExpired ? later_api_ : api_)->Handle(req);
  }
  Response Get(const std::string& target, Who who = kReader,
               std::map<std::string, std::string> headers = {}) {
    return Send(Make("GET", target, "", "", std::move(headers)), who);
  }
  Response Post(const std::string& target, const std::string& body, Who who = kInspectorate,
                std::map<std::string, std::string> headers = {}) {
    return Send(Make("POST", target, body, kJson, std::move(headers)), who);
  }

  // The ids a list request answers, in order; expects 200 and a single page.
  std::vector<std::string> Ids(const std::string& target, Who who = kReader) {
    Response r = Get(target, who);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    std::vector<std::string> ids;
    if (r.status != 200) return ids;
    json::value v = ParseJson(r.body);
    EXPECT_TRUE(v.at("next_cursor").is_null()) << target;
    for (const auto& item : v.at("items").as_array()) ids.push_back(Str(item, "id"));
    return ids;
  }

  int64_t Events() {
    auto v = engine_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? v->events : -1;
  }

  FixedClock clock_{"2026-11-22T10:00:00Z"};
  FixedClock later_clock_{"2026-11-23T10:00:00Z"};
  fs::path dir_;
  std::string db_path_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<Engine> later_engine_;
  std::unique_ptr<EngineHost> later_host_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Api> later_api_;
  std::array<std::string, kWhoCount> secrets_;
  std::array<std::string, kWhoCount> token_ids_;
};

using IdSet = std::set<std::string>;
inline IdSet AsSet(const std::vector<std::string>& ids) { return IdSet(ids.begin(), ids.end()); }

}  // namespace rectrack::http
