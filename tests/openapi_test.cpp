// docs/openapi.yaml is the contract: every documented path and method must answer (not "no
// route", not 405), and the document the server serves must be that file byte for byte.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "http/api.h"
#include "http/metrics.h"

namespace rectrack::http {
namespace {

namespace fs = std::filesystem;

class FixedClock : public Clock {
 public:
  TimePoint Now() const override { return *ParseInstant("2026-11-22T10:00:00Z"); }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("openapi_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto engine = Engine::Open({(dir_ / "r.db").string(),
                                std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml",
                                &clock_, true, ""});
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    for (const char* demo : {"/demo/domestic-abuse.yaml", "/demo/cps-south-west.yaml"}) {
      auto commands = ParseImportFile(std::string(RECTRACK_SOURCE_DIR) + demo, engine_->workflow(),
                                      engine_->action_workflow());
      ASSERT_TRUE(commands.ok()) << commands.status().message();
      ASSERT_TRUE(engine_->Apply(*commands, "test").ok());
    }
    token_ = engine_->CreateToken("inspectorate", "", std::nullopt, "test")->second;
    host_ = std::make_unique<EngineHost>(engine_.get());
    api_ = std::make_unique<Api>(host_.get(), ApiOptions{});
  }
  void TearDown() override { fs::remove_all(dir_); }

  FixedClock clock_;
  fs::path dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<Api> api_;
  std::string token_;
};

TEST_F(OpenApiTest, EveryDocumentedPathAndMethodAnswers) {
  const YAML::Node doc = YAML::LoadFile(std::string(RECTRACK_SOURCE_DIR) + "/docs/openapi.yaml");
  int checked = 0;
  for (const auto& path : doc["paths"]) {
    std::string target = path.first.as<std::string>();
    if (auto at = target.find("{id}"); at != std::string::npos) {
      target.replace(at, 4, target.rfind("/api/v1/actions/", 0) == 0 ? "sw22-i1-a1" : "da25-n1");
    }
    const bool alert_path = target.find("{alert_id}") != std::string::npos;
    if (alert_path) target.replace(target.find("{alert_id}"), 10, "alrt_none");
    const bool evidence_path = target.find("{sha256}") != std::string::npos;
    if (evidence_path) target.replace(target.find("{sha256}"), 8, std::string(64, 'a'));
    for (const auto& operation : path.second) {
      const std::string method = [&] {
        std::string m = operation.first.as<std::string>();
        for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return m;
      }();
      Request req{method, target, {{"authorization", "Bearer " + token_}}, "", "127.0.0.1"};
      if (target == "/api/v1/stream") {
        // Streams are served by the socket layer; the API's part is OpenStream.
        auto opened = api_->OpenStream(req);
        EXPECT_TRUE(std::holds_alternative<StreamRequest>(opened));
        if (auto* stream = std::get_if<StreamRequest>(&opened)) api_->CloseStream(*stream);
        ++checked;
        continue;
      }
      if (target == "/api/v1/reports/annex" || target == "/api/v1/reports/progress") {
        req.target += "?body=CPS";
      }
      Response r = api_->Handle(req);
      EXPECT_NE(r.status, 405) << method << " " << target;
      const bool no_route = r.status == 404 && r.body.find("no route") != std::string::npos;
      EXPECT_FALSE(no_route) << method << " " << target << ": " << r.body;
      if (alert_path || evidence_path) {
        // No alert has been raised and no file attached in this database: the route answers
        // that it has none.
        EXPECT_EQ(r.status, 404);
        EXPECT_NE(r.body.find(alert_path ? "no alert" : "no evidence file"), std::string::npos)
            << r.body;
      } else if (method == "GET") {
        EXPECT_EQ(r.status, 200) << target << ": " << r.body;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 26);  // 23 paths; inspections, recommendations and units also take POST
}

TEST_F(OpenApiTest, EveryRouteTheServerKnowsIsDocumented) {
  const YAML::Node doc = YAML::LoadFile(std::string(RECTRACK_SOURCE_DIR) + "/docs/openapi.yaml");
  for (const char* target : {"/healthz",
                             "/readyz",
                             "/metrics",
                             "/openapi.yaml",
                             "/feed.atom",
                             "/calendar.ics",
                             "/api/v1/bodies",
                             "/api/v1/inspections",
                             "/api/v1/recommendations",
                             "/api/v1/recommendations/x",
                             "/api/v1/recommendations/x/events",
                             "/api/v1/import",
                             "/api/v1/stream",
                             "/api/v1/reports/annex",
                             "/api/v1/alerts",
                             "/api/v1/alerts/x",
                             "/api/v1/units",
                             "/api/v1/actions",
                             "/api/v1/actions/x",
                             "/api/v1/actions/x/events",
                             "/api/v1/recommendations/x/actions",
                             "/api/v1/reports/progress"}) {
    const std::string label = RouteLabel(target);
    ASSERT_NE(label, "other") << target;
    EXPECT_TRUE(doc["paths"][label]) << label << " is not in docs/openapi.yaml";
  }
}

TEST_F(OpenApiTest, TheServedDocumentIsTheFileInTheRepository) {
  Response r = api_->Handle(Request{"GET", "/openapi.yaml", {}, "", "127.0.0.1"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, ReadAll(std::string(RECTRACK_SOURCE_DIR) + "/docs/openapi.yaml"));
}

// What a client generator needs (issue 15 item 10, in part): every operation named by a unique
// operationId, every one that needs a token says it may answer 401, and each response holds only
// what OpenAPI 3 allows there, so that an unquoted comma in a flow mapping (which once split a
// description into a stray key) is caught here.
TEST(OpenApiDocumentTest, OperationsHaveUniqueIdsList401WhenAuthenticatedAndWellFormedResponses) {
  const YAML::Node doc = YAML::LoadFile(std::string(RECTRACK_SOURCE_DIR) + "/docs/openapi.yaml");
  std::set<std::string> ids;
  int operations = 0;
  for (const auto& path : doc["paths"]) {
    const std::string where = path.first.as<std::string>();
    for (const auto& operation : path.second) {
      const std::string method = operation.first.as<std::string>();
      if (method != "get" && method != "post") continue;
      ++operations;
      const YAML::Node op = operation.second;
      ASSERT_TRUE(op["operationId"]) << method << " " << where;
      EXPECT_TRUE(ids.insert(op["operationId"].as<std::string>()).second)
          << "operationId repeated: " << op["operationId"].as<std::string>();
      const bool open = op["security"] && op["security"].IsSequence() && op["security"].size() == 0;
      ASSERT_TRUE(op["responses"]) << method << " " << where;
      if (!open) {
        EXPECT_TRUE(op["responses"]["401"]) << method << " " << where << " omits 401";
      }
      for (const auto& response : op["responses"]) {
        for (const auto& key : response.second) {
          const std::string k = key.first.as<std::string>();
          EXPECT_TRUE(k == "description" || k == "content" || k == "headers" || k == "$ref" ||
                      k == "links")
              << method << " " << where << " " << response.first.as<std::string>()
              << ": stray key '" << k << "'";
        }
      }
    }
  }
  EXPECT_EQ(operations, 26);
}

}  // namespace
}  // namespace rectrack::http
