// `serve` while it reads the log (cli_serve.cpp; EngineHost::kStarting): over real sockets on
// 127.0.0.1, a server whose host has only the engine opened for lists answers /healthz, the
// lists of recommendations and the bodies from the item heads, and 503 with Retry-After to
// everything else, API and pages alike, recording nothing; once given its engine it answers
// everything, the lists as they were. The server runs in this process (http::Serve on a
// thread of its own, stopped by http::Stop), so that the test says when the log has been read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "engine/host.h"
#include "http/api.h"
#include "http/server.h"
#include "storage/database.h"
#include "tests/http_client.h"
#include "tests/test_support.h"
#include "web/accounts.h"
#include "web/workspace.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;
using test_http::Connection;
using test_http::Reply;

const std::string kWorkflow = std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml";

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

class StartingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("server_start_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "rectrack.db").string();
    const std::string cli = "--db " + db_ + " --clock 2026-01-15 ";
    Rectrack(cli + "import " + RECTRACK_SOURCE_DIR + "/demo/domestic-abuse.yaml");
    inspectorate_ = FirstLine(Rectrack(cli + "token create --role inspectorate").out);
    cps_ = FirstLine(Rectrack(cli + "token create --role body_lead --body CPS").out);
    ASSERT_EQ(inspectorate_.rfind("rt_", 0), 0u) << inspectorate_;

    Engine::Options for_lists = Options();
    for_lists.heads_only = true;
    auto heads = Engine::Open(for_lists);
    ASSERT_TRUE(heads.ok()) << heads.status().message();
    heads_ = std::move(heads).value();
    ASSERT_TRUE(heads_->reads_heads());
    ASSERT_TRUE(heads_->HeadsAreCurrent().value());
    host_ = std::make_unique<EngineHost>(EngineHost::kStarting, heads_.get());
    api_ = std::make_unique<http::Api>(host_.get(), http::ApiOptions{});
    auto accounts = web::Accounts::Open(db_, web::AccountOptions{}, nullptr);
    ASSERT_TRUE(accounts.ok()) << accounts.status().message();
    accounts_ = std::move(accounts).value();
    auto workspace = web::Workspace::Create(host_.get(), accounts_.get(), web::WorkspaceOptions{});
    ASSERT_TRUE(workspace.ok()) << workspace.status().message();
    workspace_ = std::move(workspace).value();

    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.shutdown_grace_seconds = 1;
    server_ = std::thread([this, options] {
      served_ = http::Serve(
          *host_, *api_, options,
          [&](const std::string& where) {
            bound_.set_value(std::stoi(where.substr(where.rfind(':') + 1)));
          },
          workspace_.get(), &stop_);
    });
    auto port = bound_.get_future();
    ASSERT_EQ(port.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    port_ = port.get();
  }

  void TearDown() override {
    stop_.Request();  // noticed within a second, whether it listens yet or not
    if (server_.joinable()) server_.join();
    EXPECT_TRUE(served_.ok()) << served_.message();
    workspace_.reset();
    api_.reset();
    host_.reset();
    engine_.reset();
    heads_.reset();
    fs::remove_all(dir_);
  }

  Engine::Options Options() { return Engine::Options{db_, kWorkflow, &clock_, false, ""}; }

  // The host's engine, as `serve` gives it once it has read the log.
  void ReadTheLog() {
    auto engine = Engine::Open(Options());
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    host_->Start(engine_.get());
  }

  Reply Get(const std::string& target, const std::string& token) {
    Connection c(port_);
    return c.Request("GET", target, token);
  }

  FixedClock clock_{"2026-01-15T10:00:00Z"};
  fs::path dir_;
  std::string db_, inspectorate_, cps_;
  std::unique_ptr<Engine> heads_, engine_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<http::Api> api_;
  std::unique_ptr<web::Accounts> accounts_;
  std::unique_ptr<web::Workspace> workspace_;
  std::promise<int> bound_;
  http::Stop stop_;
  std::thread server_;
  Status served_;
  int port_ = 0;
};

TEST_F(StartingServerTest, AnswersListsFromTheHeadsAndTheRest503UntilTheLogIsRead) {
  EXPECT_EQ(Get("/healthz", "").status, 200);
  const Reply not_ready = Get("/readyz", "");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.head.find("Retry-After: 5"), std::string::npos) << not_ready.head;

  // The lists, whoever asks, with their filters and pages.
  const std::vector<std::pair<std::string, std::string>> lists = {
      {"/api/v1/recommendations", inspectorate_},
      {"/api/v1/recommendations?limit=3", inspectorate_},
      {"/api/v1/recommendations?body=CPS&open=true", inspectorate_},
      {"/api/v1/recommendations?overdue=false&limit=2", inspectorate_},
      {"/api/v1/recommendations?q=victim", inspectorate_},
      {"/api/v1/recommendations?limit=4", cps_},
      {"/api/v1/bodies", inspectorate_}};
  std::vector<Reply> from_heads;
  for (const auto& [target, token] : lists) {
    from_heads.push_back(Get(target, token));
    EXPECT_EQ(from_heads.back().status, 200) << target << ": " << from_heads.back().body;
  }
  EXPECT_NE(from_heads[1].body.find("\"next_cursor\":\"da"), std::string::npos)
      << from_heads[1].body;
  // A token revoked meanwhile stops working at once, though the heads' engine saw it before.
  const std::string cli = "--db " + db_ + " --clock 2026-01-15 ";
  const std::string created = Rectrack(cli + "token create --role reader").out;
  const std::string short_lived = FirstLine(created);
  EXPECT_EQ(Get("/api/v1/bodies", short_lived).status, 200);
  const size_t id_at = created.find("\ntoken ") + 7;  // "token ID: role reader. ..."
  const std::string id = created.substr(id_at, created.find(':', id_at) - id_at);
  Rectrack(cli + "token revoke " + id);
  EXPECT_EQ(Get("/api/v1/bodies", short_lived).status, 401) << "revoked " << id;
  // What the heads' engine cannot say is not guessed: an unknown body is still 404, a bad token
  // still 401, and a next page waits for the log (its cursor is a recommendation to look up).
  EXPECT_EQ(Get("/api/v1/recommendations?body=XYZ", inspectorate_).status, 404);
  EXPECT_EQ(Get("/api/v1/recommendations", "rt_not-a-token").status, 401);
  const std::string& first_page = from_heads[1].body;
  const size_t cursor_at = first_page.find("\"next_cursor\":\"") + 15;
  const std::string page_two =
      "/api/v1/recommendations?limit=3&cursor=" +
      first_page.substr(cursor_at, first_page.find('"', cursor_at) - cursor_at);
  EXPECT_EQ(Get(page_two, inspectorate_).status, 503);

  // Everything else: 503 with Retry-After, for the API and the pages alike.
  // And the whole list as CSV, which would hold the others up.
  for (const std::string target :
       {"/api/v1/recommendations/da25-n1", "/api/v1/actions", "/api/v1/inspections",
        "/api/v1/reports/annex?body=CPS", "/feed.atom", "/metrics",
        "/api/v1/recommendations?format=csv"}) {
    const Reply r = Get(target, inspectorate_);
    EXPECT_EQ(r.status, 503) << target << ": " << r.body;
    EXPECT_NE(r.head.find("Retry-After: 5"), std::string::npos) << target;
    EXPECT_NE(r.body.find("rectrack is starting"), std::string::npos) << target << ": " << r.body;
  }
  for (const std::string target : {"/", "/sign-in", "/recommendations"}) {
    const Reply page = Get(target, "");
    EXPECT_EQ(page.status, 503) << target;
    EXPECT_NE(page.body.find("Sorry, rectrack is starting"), std::string::npos) << page.body;
    EXPECT_NE(page.head.find("Retry-After: 5"), std::string::npos) << target;
  }
  // The page's stylesheet is still served, so the page looks as it should.
  EXPECT_EQ(Get("/assets/rectrack.css", "").status, 200);
  // A write is refused, not held: nothing is recorded.
  Connection writer(port_);
  const Reply refused =
      writer.Request("POST", "/api/v1/recommendations/da25-n1/events", inspectorate_,
                     R"({"transition":"update","effective":"2026-01-10","note":"too soon"})");
  EXPECT_EQ(refused.status, 503) << refused.body;

  // A body defined meanwhile (by the command line): the bodies the heads' engine read when it
  // opened are no longer all there are, so its lists wait for the log too.
  const std::string more = (dir_ / "more.yaml").string();
  {
    std::ofstream out(more);
    out << "bodies:\n  - {id: HMIC, name: HM Inspectorate of Constabulary}\n";
  }
  ASSERT_EQ(Rectrack(cli + "import " + more).status, 0);
  EXPECT_EQ(Get("/api/v1/bodies", inspectorate_).status, 503);
  EXPECT_EQ(Get("/api/v1/recommendations?limit=3", inspectorate_).status, 503);

  ReadTheLog();
  EXPECT_EQ(Get("/readyz", "").status, 200);
  EXPECT_NE(Get("/api/v1/bodies", inspectorate_).body.find("HMIC"), std::string::npos);
  // The same lists, now from the engine that read the log.
  for (size_t i = 0; i + 1 < lists.size(); ++i) {  // (the bodies have one more)
    const Reply r = Get(lists[i].first, lists[i].second);
    EXPECT_EQ(r.status, 200) << lists[i].first;
    EXPECT_EQ(r.body, from_heads[i].body) << lists[i].first;
  }
  EXPECT_EQ(Get(page_two, inspectorate_).status, 200);
  const Reply shown = Get("/api/v1/recommendations/da25-n1", inspectorate_);
  EXPECT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.body.find("too soon"), std::string::npos) << "a write while starting landed";
  EXPECT_EQ(Get("/sign-in", "").status, 200);
}

// `rectrack serve` whose log no longer replays: the item heads still answer lists (nothing
// reads the log to open them), so the server listens, and the engine that reads the log on its
// thread fails; the server then stops by itself and says why, rather than answering lists
// forever and 503 to the rest.
TEST(ServeStart, AServerWhoseLogDoesNotReadStopsAndSaysWhy) {
  DemoDatabase demo("start_fails");
  ASSERT_EQ(demo.imported().status, 0) << demo.imported().out;
  {
    auto db = storage::Database::Open(demo.path());
    ASSERT_TRUE(db.ok()) << db.status().message();
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER IF EXISTS events_no_update").ok());
    ASSERT_TRUE((*db)->Exec("UPDATE events SET transition = 'vanish' WHERE seq = 15").ok());
  }
  const CliRun run = Shell("timeout 60 " + std::string(RECTRACK_BINARY) + " " + demo.base() +
                           "--clock 2026-01-15 serve --listen 127.0.0.1:0");
  EXPECT_NE(run.status, 124) << "still serving a minute later: " << run.out;
  EXPECT_NE(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("event 15"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("rectrack serving"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace rectrack
