// GET /api/v1/alerts, alerts in the Atom feed and in the live stream, through Api::Handle with a
// real Engine that raised real alerts (rules/ of the repository, the demo data).
#include <unistd.h>

#include <boost/json.hpp>

#include <filesystem>

#include <gtest/gtest.h>

#include "engine/access.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "http/api.h"

namespace rectrack::http {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kSource = RECTRACK_SOURCE_DIR;

class FixedClock : public Clock {
 public:
  TimePoint Now() const override { return *ParseInstant("2025-12-01T08:00:00Z"); }
};

class ApiAlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("api_alerts_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto engine =
        Engine::Open({(dir_ / "rectrack.db").string(), kSource + "/workflows/recommendation.yaml",
                      &clock_, true, kSource + "/rules"});
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    for (const char* demo :
         {"/demo/domestic-abuse.yaml", "/demo/more-bodies.yaml", "/demo/cps-south-west.yaml"}) {
      auto commands =
          ParseImportFile(kSource + demo, engine_->workflow(), engine_->action_workflow());
      ASSERT_TRUE(commands.ok()) << commands.status().message();
      ASSERT_TRUE(engine_->Apply(*commands, "test").ok());
    }
    for (auto [name, role, body] : {std::tuple{"insp", "inspectorate", ""},
                                    {"cps", "body_lead", "CPS"},
                                    {"sfo", "body_lead", "SFO"},
                                    {"reader", "reader", ""}}) {
      auto created = engine_->CreateToken(role, body, std::nullopt, name);
      ASSERT_TRUE(created.ok()) << created.status().message();
      tokens_[name] = created->second;
    }
    // The lead of one unit of the CPS (its South West Area, not the Area's casework units).
    auto unit_lead = engine_->CreateToken("body_lead", "CPS", std::nullopt, "sw", "cps-sw");
    ASSERT_TRUE(unit_lead.ok()) << unit_lead.status().message();
    tokens_["sw"] = unit_lead->second;
    host_ = std::make_unique<EngineHost>(engine_.get());
    api_ = std::make_unique<Api>(host_.get(), ApiOptions{});
    // Streams opened before the alerts are raised see them arrive.
    stream_ = std::get<StreamRequest>(api_->OpenStream(Get("/api/v1/stream", "reader")));
    cursor_ = stream_.after;
    Status started;
    (void)host_->Update([&](Engine& e) {
      started = e.StartAlerts({"http://rt.example"});
      if (started.ok()) started = e.RaiseDueAlerts().status();
    });
    ASSERT_TRUE(started.ok()) << started.message();
  }
  void TearDown() override {
    api_->CloseStream(stream_);
    api_.reset();
    host_.reset();
    engine_.reset();
    fs::remove_all(dir_);
  }

  Request Get(const std::string& target, const std::string& who) {
    return Request{"GET", target, {{"authorization", "Bearer " + tokens_[who]}}, "", "127.0.0.1"};
  }
  json::array Items(const std::string& target, const std::string& who) {
    Response r = api_->Handle(Get(target, who));
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    if (r.status != 200) return {};
    return json::parse(r.body).as_object()["items"].as_array();
  }
  static std::set<std::string> Recs(const json::array& items) {
    std::set<std::string> out;
    for (const auto& i : items)
      out.insert(std::string(i.as_object().at("recommendation").as_string()));
    return out;
  }

  FixedClock clock_;
  fs::path dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<Api> api_;
  std::map<std::string, std::string> tokens_;
  StreamRequest stream_;
  StreamCursor cursor_;
};

TEST_F(ApiAlertsTest, TheInspectorateSeesEveryAlertBodyLeadsTheirOwn) {
  json::array all = Items("/api/v1/alerts", "insp");
  ASSERT_FALSE(all.empty());
  // On 1 December 2025: da25-n1 and da25-n2 are due on 31 December (30 days' warning);
  // sfo24-r1 (due 31 March 2025) and da23-r2 (July 2023) are overdue.
  const std::set<std::string> recs = Recs(all);
  for (const char* rec : {"da25-n1", "da25-n2", "sfo24-r1", "da23-r2"}) {
    EXPECT_TRUE(recs.count(rec)) << rec;
  }
  for (const auto& item : all) {
    const json::object& a = item.as_object();
    EXPECT_EQ(a.at("state").as_string(), "unsubscribed");  // the bundled rules subscribe nobody
    EXPECT_TRUE(a.at("data").as_object().contains("link"));
  }
  std::set<std::string> sfo = Recs(Items("/api/v1/alerts", "sfo"));
  EXPECT_TRUE(sfo.count("sfo24-r1"));
  EXPECT_FALSE(sfo.count("da25-n1")) << "a body lead saw another body's alert";
  EXPECT_EQ(Recs(Items("/api/v1/alerts?body=SFO", "insp")), sfo);
  EXPECT_EQ(api_->Handle(Get("/api/v1/alerts?body=CPS", "sfo")).status, 403);

  const std::string cps_alert(all.front().as_object().at("id").as_string());
  const bool cps_owned = Recs(json::array{all.front()}).count("sfo24-r1") == 0;
  Response one = api_->Handle(Get("/api/v1/alerts/" + cps_alert, "insp"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_TRUE(json::parse(one.body).as_object().at("deliveries").as_array().empty());
  if (cps_owned) {
    EXPECT_EQ(api_->Handle(Get("/api/v1/alerts/" + cps_alert, "sfo")).status, 404);
  }
  EXPECT_EQ(api_->Handle(Get("/api/v1/alerts/alrt_nope", "insp")).status, 404);
}

TEST_F(ApiAlertsTest, FiltersPagesAndRefusals) {
  json::array all = Items("/api/v1/alerts", "reader");
  ASSERT_GE(all.size(), 3u);
  json::array overdue = Items("/api/v1/alerts?kind=overdue", "reader");
  for (const auto& a : overdue) EXPECT_EQ(a.as_object().at("kind").as_string(), "overdue");
  EXPECT_EQ(Items("/api/v1/alerts?state=delivered", "reader").size(), 0u);
  EXPECT_EQ(Items("/api/v1/alerts?state=unsubscribed", "reader").size(), all.size());
  // Pages of two follow each other by next_after, without gaps or repeats.
  std::vector<int64_t> seqs;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    Response r = api_->Handle(Get("/api/v1/alerts?limit=2" + after, "reader"));
    ASSERT_EQ(r.status, 200) << r.body;
    json::object body = json::parse(r.body).as_object();
    for (const auto& a : body["items"].as_array())
      seqs.push_back(a.as_object().at("seq").as_int64());
    if (body["next_after"].is_null()) break;
    after = "&after=" + std::to_string(body["next_after"].as_int64());
  }
  ASSERT_EQ(seqs.size(), all.size());
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_LT(seqs[i - 1], seqs[i]);
  for (const char* bad :
       {"/api/v1/alerts?state=lost", "/api/v1/alerts?limit=0", "/api/v1/alerts?limit=abc",
        "/api/v1/alerts?after=-1", "/api/v1/alerts?colour=red"}) {
    EXPECT_EQ(api_->Handle(Get(bad, "reader")).status, 400) << bad;
  }
  Request post = Get("/api/v1/alerts", "insp");
  post.method = "POST";
  EXPECT_EQ(api_->Handle(post).status, 405);
  Request anonymous{"GET", "/api/v1/alerts", {}, "", "127.0.0.1"};
  EXPECT_EQ(api_->Handle(anonymous).status, 401);
}

// A unit's lead sees an action's alerts only when the action is its unit's, as it sees the
// action itself: in the list, one by one, in the feed and in a stream from the start.
TEST_F(ApiAlertsTest, AUnitsLeadSeesTheAlertsOfItsOwnUnitsActionsOnly) {
  std::set<std::string> own, others;  // action alerts' ids, by whose the action is
  for (const auto& item : Items("/api/v1/alerts?limit=500", "insp")) {
    const std::string id(item.as_object().at("id").as_string());
    const std::string about(item.as_object().at("recommendation").as_string());
    if (engine_->KindOf(about) != SubjectKind::kAction) continue;
    auto action = engine_->ShowAction(about, std::nullopt, Detail::kHead);
    ASSERT_TRUE(action.ok()) << about;
    (action->action->unit == "cps-sw" ? own : others).insert(id);
  }
  ASSERT_FALSE(own.empty());
  ASSERT_FALSE(others.empty());  // other units' actions, and the CPS's own (no unit)
  std::set<std::string> seen;
  for (const auto& item : Items("/api/v1/alerts?limit=500", "sw")) {
    seen.insert(std::string(item.as_object().at("id").as_string()));
  }
  for (const std::string& id : own) EXPECT_TRUE(seen.count(id)) << id;
  Response feed = api_->Handle(Get("/feed.atom", "sw"));
  ASSERT_EQ(feed.status, 200);
  Request from_the_start = Get("/api/v1/stream", "sw");
  from_the_start.headers["last-event-id"] = "0.0";
  auto opened = api_->OpenStream(from_the_start);
  ASSERT_TRUE(std::holds_alternative<StreamRequest>(opened));
  StreamCursor cursor = std::get<StreamRequest>(opened).after;
  std::string streamed;
  for (int batches = 0; batches < 100; ++batches) {
    auto frames = api_->StreamFrames(std::get<StreamRequest>(opened), &cursor);
    if (!frames || frames->empty()) break;
    streamed += *frames;
  }
  api_->CloseStream(std::get<StreamRequest>(opened));
  EXPECT_NE(streamed.find("event: alert"), std::string::npos);
  for (const std::string& id : others) {
    EXPECT_FALSE(seen.count(id)) << id;
    EXPECT_EQ(api_->Handle(Get("/api/v1/alerts/" + id, "sw")).status, 404) << id;
    EXPECT_EQ(api_->Handle(Get("/api/v1/alerts/" + id, "cps")).status, 200) << id;
    EXPECT_EQ(feed.body.find("urn:rectrack:alert:" + id), std::string::npos) << id;
    EXPECT_EQ(streamed.find("\"id\":\"" + id + "\""), std::string::npos) << id;
  }
}

// The newest alerts a unit's lead may see, however many newer ones it may not: the web's page
// and the feed take them so, not the body's newest cut down afterwards.
TEST_F(ApiAlertsTest, TheNewestVisibleAlertsAreTheNewestOfThoseItMaySee) {
  Principal crown{"", "body_lead", "CPS", "cps-sw-crown", ""};
  storage::AlertFilter every;
  every.limit = 100000;
  every.newest_first = true;
  auto all = engine_->ListAlerts(every);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> expected;
  for (const auto& a : *all) {
    if (MaySeeAlert(*engine_, crown, a)) expected.push_back(a.id);
  }
  ASSERT_GE(expected.size(), 2u);
  ASSERT_NE(expected.front(), all->front().id);  // newer alerts it may not see come first
  for (size_t limit : {size_t{1}, size_t{2}, expected.size(), expected.size() + 5}) {
    storage::AlertFilter filter;
    filter.body = "CPS";
    auto got = NewestVisibleAlerts(*engine_, crown, filter, limit);
    ASSERT_TRUE(got.ok());
    std::vector<std::string> ids;
    for (const auto& a : *got) ids.push_back(a.id);
    EXPECT_EQ(ids, std::vector<std::string>(expected.begin(),
                                            expected.begin() + std::min(limit, expected.size())))
        << limit;
  }
}

TEST_F(ApiAlertsTest, AlertsAppearInTheAtomFeedAndTheStream) {
  Response atom = api_->Handle(Get("/feed.atom", "reader"));
  ASSERT_EQ(atom.status, 200);
  EXPECT_NE(atom.body.find("<id>urn:rectrack:alert:alrt_"), std::string::npos);
  EXPECT_NE(atom.body.find("<category term=\"alert:overdue\"/>"), std::string::npos);
  Response sfo_atom = api_->Handle(Get("/feed.atom", "sfo"));
  EXPECT_EQ(sfo_atom.body.find("alert for da25-n1"), std::string::npos);

  auto frames = api_->StreamFrames(stream_, &cursor_);
  ASSERT_TRUE(frames.has_value());
  EXPECT_NE(frames->find("event: alert\ndata: {\"type\":\"alert."), std::string::npos) << *frames;
  EXPECT_GT(cursor_.alert, 0);
  EXPECT_NE(frames->find("id: " + cursor_.Id() + "\n"), std::string::npos) << *frames;
  EXPECT_EQ(*api_->StreamFrames(stream_, &cursor_), "") << "sent twice";

  // Resuming from "E.A" replays only what came after A.
  Request resume = Get("/api/v1/stream", "reader");
  resume.headers["last-event-id"] =
      std::to_string(cursor_.event) + "." + std::to_string(cursor_.alert - 1);
  auto reopened = api_->OpenStream(resume);
  ASSERT_TRUE(std::holds_alternative<StreamRequest>(reopened));
  StreamCursor again = std::get<StreamRequest>(reopened).after;
  auto replay = api_->StreamFrames(std::get<StreamRequest>(reopened), &again);
  api_->CloseStream(std::get<StreamRequest>(reopened));
  ASSERT_TRUE(replay.has_value());
  size_t count = 0;
  for (size_t at = replay->find("event: alert"); at != std::string::npos;
       at = replay->find("event: alert", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << *replay;
  resume.headers["last-event-id"] = "3.x";
  auto refused = api_->OpenStream(resume);
  ASSERT_TRUE(std::holds_alternative<Response>(refused));
  EXPECT_EQ(std::get<Response>(refused).status, 400);
}

}  // namespace
}  // namespace rectrack::http
