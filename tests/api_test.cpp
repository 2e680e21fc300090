// The HTTP API as a function (Api::Handle, no sockets) over a real SQLite file holding both demo
// imports, for writes and access: the authorization matrix, group commit, read scoping, every
// error class and idempotent imports. Reads (lists, ETags and the cache, reports) are in
// api_reads_test.cpp; the fixture is tests/api_fixture.h.
#include "http/api.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "http/api_util.h"
#include "storage/crypto.h"
#include "storage/database.h"
#include "tests/api_fixture.h"
#include "tests/api_support.h"

namespace rectrack::http {
namespace {

// --- 1. The authorization matrix: every role against every write route.

struct WriteRoute {
  const char* name;
  const char* target;
  const char* type;
  const char* body;
  std::array<int, kWhoCount> expect;  // indexed by Who
};

// da25-n1 is CPS's; sfo24-r1 is SFO's. The API answers 404 for a recommendation the token may
// not see, so the SFO lead gets 404 on CPS's and the CPS lead 404 on SFO's.
// clang-format off
const WriteRoute kRoutes[] = {
    {"DefineInspection", "/api/v1/inspections", kJson,
     R"({"id":"x26","title":"New","published":"2026-01-10"})", {201, 403, 403, 403, 401, 401, 401}},
    {"DefineRecommendation", "/api/v1/recommendations", kJson,
     R"({"id":"x26-r1","inspection":"da25","owners":["CPS"],"text":"By March 2027, do it."})",
     {201, 403, 403, 403, 401, 401, 401}},
    {"Import", "/api/v1/import", kYaml,
     "inspections:\n  - {id: x26, title: New, published: 2026-01-10}\n",
     {200, 403, 403, 403, 401, 401, 401}},
    {"UpdateCpsRec", "/api/v1/recommendations/da25-n1/events", kJson,
     R"({"do":"update","note":"progress"})", {201, 201, 404, 403, 401, 401, 401}},
    {"CloseCpsRec", "/api/v1/recommendations/da25-n1/events", kJson,
     R"({"do":"close","note":"done"})", {403, 201, 404, 403, 401, 401, 401}},
    {"UpdateSfoRec", "/api/v1/recommendations/sfo24-r1/events", kJson,
     R"({"do":"update","note":"progress"})", {201, 404, 201, 403, 401, 401, 401}},
    {"CloseSfoRec", "/api/v1/recommendations/sfo24-r1/events", kJson,
     R"({"do":"close","note":"done"})", {403, 404, 201, 403, 401, 401, 401}},
    {"AssessCpsRec", "/api/v1/recommendations/da25-n1/events", kJson,
     R"({"do":"assess","outcome":"partially_achieved","in":"da25"})",
     {201, 403, 404, 403, 401, 401, 401}},
    {"AssessSfoRec", "/api/v1/recommendations/sfo24-r1/events", kJson,
     R"({"do":"assess","outcome":"partially_achieved","in":"sfo24"})",
     {201, 404, 403, 403, 401, 401, 401}},
};
// clang-format on

struct MatrixCase {
  size_t route;
  Who who;
};

class ApiMatrixTest : public ApiTest, public ::testing::WithParamInterface<MatrixCase> {};

TEST_P(ApiMatrixTest, AnswersAsTheRoleAndScopeAllow) {
  const WriteRoute& route = kRoutes[GetParam().route];
  const Who who = GetParam().who;
  const int expected = route.expect[who];
  const int64_t before = Events();
  Response r = Send(Make("POST", route.target, route.body, route.type), who);
  if (expected < 400) {
    EXPECT_EQ(r.status, expected) << r.body;
    EXPECT_GT(Events(), before);
    return;
  }
  const char* detail = expected == 403   ? "may not"
                       : expected == 404 ? "no recommendation '"
                       : who == kNoToken ? "send Authorization: Bearer <token>"
                                         : "unknown, revoked or expired token";
  EXPECT_TRUE(IsProblem(r, expected, detail));
  EXPECT_EQ(HeaderOf(r, "WWW-Authenticate"), expected == 401 ? "Bearer realm=\"rectrack\"" : "");
  EXPECT_EQ(Events(), before) << "a refused write changed the log";
}

std::vector<MatrixCase> AllCases() {
  std::vector<MatrixCase> cases;
  for (size_t route = 0; route < std::size(kRoutes); ++route) {
    for (int who = 0; who < kWhoCount; ++who) cases.push_back({route, static_cast<Who>(who)});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(WriteRoutes, ApiMatrixTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<MatrixCase>& info) {
                           return std::string(kRoutes[info.param.route].name) + "_" +
                                  kWhoNames[info.param.who];
                         });

TEST_F(ApiTest, AnEventRecordsTheRoleBodyAndActorOfTheToken) {
  Response r = Post("/api/v1/recommendations/cfq24-r1/events", R"({"do":"close"})", kCpsLead);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(HeaderOf(r, "Location"), "/api/v1/recommendations/cfq24-r1");
  json::value view = ParseJson(r.body);
  EXPECT_EQ(Str(view, "state"), "closed");
  // The event recorded, not the whole timeline: the answer does not grow with the history.
  EXPECT_FALSE(view.as_object().contains("timeline"));
  const json::value& last = view.at("event");
  EXPECT_EQ(Str(last, "do"), "close");
  EXPECT_EQ(Str(last, "from"), "issued");
  EXPECT_EQ(Str(last, "to"), "closed");
  EXPECT_EQ(last.at("seq").as_int64(), Events());
  EXPECT_EQ(HeaderOf(r, "ETag"), "\"" + std::to_string(Events()) + "-2026-11-22\"");
  EXPECT_EQ(Str(last, "role"), "body_lead");
  EXPECT_EQ(Str(last, "body"), "CPS");
  EXPECT_EQ(Str(last, "voice"), "body");
  EXPECT_EQ(Str(last, "actor"), "token:" + token_ids_[kCpsLead]);
  EXPECT_EQ(Str(last, "effective"), "2026-11-22");
}

TEST_F(ApiTest, WritesQueuedWhileAGroupCommitsShareTheNextTransaction) {
  auto request = [&](int i) {
    Request r = Make("POST", "/api/v1/recommendations/da25-n1/events",
                     R"({"do":"update","note":"note )" + std::to_string(i) + R"("})", kJson);
    r.headers["authorization"] = "Bearer " + secrets_[kCpsLead];
    return r;
  };
  const int64_t before = Events();
  std::mutex mutex;
  std::condition_variable changed;
  bool first_answered = false, release = false;
  std::vector<int> statuses;
  // The writer thread answers the first write and is held there, as by a slow client, while
  // twenty more arrive: they must all go into the next transaction.
  api_->HandleAsync(request(0), [&](Response r) {
    std::unique_lock<std::mutex> lock(mutex);
    statuses.push_back(r.status);
    first_answered = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return first_answered; }));
  }
  for (int i = 1; i <= 20; ++i) {
    api_->HandleAsync(request(i), [&](Response r) {
      std::lock_guard<std::mutex> lock(mutex);
      statuses.push_back(r.status);
      changed.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    EXPECT_EQ(statuses.size(), 1u) << "answered before the writer was free";
    release = true;
    changed.notify_all();
    ASSERT_TRUE(
        changed.wait_for(lock, std::chrono::seconds(10), [&] { return statuses.size() == 21; }));
  }
  EXPECT_EQ(statuses, std::vector<int>(21, 201));
  EXPECT_EQ(Events(), before + 21);
  const std::string metrics = Get("/metrics").body;
  EXPECT_NE(metrics.find("\nrectrack_write_groups_total 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nrectrack_grouped_writes_total 21\n"), std::string::npos) << metrics;
}

TEST_F(ApiTest, TheApiCommitsAndAnswersQueuedWritesWhenItIsDestroyed) {
  const int64_t before = Events();
  std::atomic<int> created{0};
  for (int i = 0; i < 10; ++i) {
    Request r = Make("POST", "/api/v1/recommendations/da25-n1/events",
                     R"({"do":"update","note":"late"})", kJson);
    r.headers["authorization"] = "Bearer " + secrets_[kCpsLead];
    api_->HandleAsync(r, [&](Response answer) { created += answer.status == 201; });
  }
  api_.reset();
  EXPECT_EQ(created, 10);
  EXPECT_EQ(Events(), before + 10);
}

TEST_F(ApiTest, ATokenIsStoredOnlyAsTheHashOfItsSecret) {
  auto db = storage::Database::Open(db_path_);
  ASSERT_TRUE(db.ok()) << db.status().message();
  auto rows = (*db)->Prepare(
      "SELECT hash, id || role || body || label || created || expires || revoked || unit "
      "FROM tokens");
  ASSERT_TRUE(rows.ok());
  int matched = 0;
  for (;;) {
    auto row = rows->Step();
    ASSERT_TRUE(row.ok());
    if (!*row) break;
    for (const std::string& secret : secrets_) {
      if (secret.empty()) continue;  // kNoToken has none
      EXPECT_EQ(rows->ColumnText(1).find(secret), std::string::npos);
      EXPECT_NE(rows->ColumnText(0), secret);
      matched += rows->ColumnText(0) == storage::Sha256Hex(secret);
    }
  }
  EXPECT_EQ(matched, 6) << "each of the six tokens, by the SHA-256 of its secret";
}

// --- 2. Read scoping.

TEST_F(ApiTest, ABodyLeadReadsOnlyWhatItsBodyOwns) {
  const IdSet cps = {"cfq24-r1", "da23-r1", "da23-r2", "da23-r3", "da23-r4",
                     "da23-r5",  "da23-r6", "da25-n1", "da25-n2", "iqa25-r1"};
  EXPECT_EQ(AsSet(Ids("/api/v1/recommendations", kCpsLead)), cps);
  EXPECT_EQ(AsSet(Ids("/api/v1/recommendations", kSfoLead)), (IdSet{"sfo24-r1", "sfo24-r2"}));
  EXPECT_TRUE(Ids("/api/v1/recommendations?body=SFO", kCpsLead).empty());
  EXPECT_EQ(Ids("/api/v1/recommendations", kReader).size(), kAllRecs);
  EXPECT_EQ(Ids("/api/v1/recommendations", kInspectorate).size(), kAllRecs);
  EXPECT_EQ(Get("/api/v1/recommendations/cfq24-r1", kCpsLead).status, 200);
  EXPECT_TRUE(IsProblem(Get("/api/v1/recommendations/sfo24-r1", kCpsLead), 404,
                        "no recommendation 'sfo24-r1'"));
  EXPECT_EQ(Get("/api/v1/recommendations/sfo24-r1", kReader).status, 200);
  EXPECT_TRUE(
      IsProblem(Get("/api/v1/reports/annex?body=SFO", kCpsLead), 403, "this token sees only CPS"));
  EXPECT_EQ(Get("/api/v1/reports/annex?body=CPS", kCpsLead).status, 200);
  EXPECT_EQ(Get("/api/v1/reports/annex?body=SFO", kReader).status, 200);
}

// --- 3. Every error class, with a precise detail.

TEST(TargetTest, PlainTargetsAreReadAsTheFullParserReadsThem) {
  const char* targets[] = {"/",
                           "/healthz",
                           "/api/v1/recommendations/",
                           "/api/v1/recommendations?open=true&body=CPS",
                           "/a?",
                           "/a?&",
                           "/a?&&b=1&",
                           "/a?=x",
                           "/a?x",
                           "/a?a=b=c",
                           "/a?a=1&a=2",
                           "/a?a=&a",
                           "/a?x=1,2:3",
                           "/a?next=/b/c",
                           "/a?x=1?y",
                           "//a",
                           "/a//b",
                           "/./__Q_../",
                           "/a/../b",
                           "/a/./b?x=../y",
                           "/a%2Fb",
                           "/a?x=%41",
                           "/a?x=a+b",
                           "/a?x=\xff",
                           "a"};
  for (const char* text : targets) {
    auto plain = ParseTarget(text);
    auto full = ParseTargetInFull(text);
    ASSERT_EQ(plain.ok(), full.ok()) << text;
    if (!full.ok()) {
      EXPECT_EQ(plain.status().message(), full.status().message()) << text;
      continue;
    }
    EXPECT_EQ(plain->path, full->path) << text;
    EXPECT_EQ(plain->query, full->query) << text;
  }
  auto repeated = ParseTarget("/a?a=1&a=2");
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.status().message(), "query parameter 'a' repeated");
}

TEST_F(ApiTest, MalformedRequestsAre400) {
  const std::string events = "/api/v1/recommendations/da25-n1/events";
  const int64_t before = Events();
  EXPECT_TRUE(IsProblem(Post(events, R"({"do": )", kCpsLead), 400, "malformed JSON: "));
  EXPECT_TRUE(
      IsProblem(Post(events, "[]", kCpsLead), 400, "the request body must be a JSON object"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"update","effective":"2025-02-30"})", kCpsLead), 400,
                        "'effective' must be a real date written YYYY-MM-DD, not '2025-02-30'"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"update","role":"inspectorate"})", kCpsLead), 400,
                        "'role' comes from your token, not the request"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"close","by":"CPS"})", kInspectorate), 400,
                        "'by' comes from your token, not the request"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"update","note":7})", kCpsLead), 400,
                        "'note' must be a string"));
  EXPECT_TRUE(IsProblem(Post(events + "?dry=1", R"({"do":"update"})", kCpsLead), 400,
                        "POST takes no query parameters"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/inspections", R"({"id":"x26","published":"2026-01-10"})"),
                        400, "'title' is required"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/inspections",
                             R"({"id":"x26","title":"T","published":"2026-01-10","colour":1})"),
                        400, "unknown member 'colour'"));
  const std::string list = "/api/v1/recommendations?";
  EXPECT_TRUE(IsProblem(Get(list + "as_of=2025-13-01"), 400,
                        "as_of must be a real date written YYYY-MM-DD, not '2025-13-01'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/recommendations/da23-r1?as_of=yesterday"), 400,
                        "as_of must be a real date written YYYY-MM-DD, not 'yesterday'"));
  EXPECT_TRUE(IsProblem(Get(list + "colour=red"), 400, "unknown query parameter 'colour'"));
  for (const char* limit : {"0", "abc", "1001", "", "-1"}) {
    EXPECT_TRUE(
        IsProblem(Get(list + "limit=" + limit), 400, "limit must be a number from 1 to 1000"))
        << limit;
  }
  EXPECT_TRUE(IsProblem(Get(list + "cursor=nope"), 400, "cursor 'nope' names no recommendation"));
  EXPECT_TRUE(IsProblem(Get(list + "open=yes"), 400, "open must be true or false"));
  EXPECT_TRUE(IsProblem(Get(list + "state=pending"), 400, "unknown state 'pending'"));
  EXPECT_TRUE(IsProblem(Get(list + "body=CPS&body=SFO"), 400, "query parameter 'body' repeated"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/annex"), 400, "body is required"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/annex?body=CPS&format=rtf"), 400,
                        "format must be json, csv, md, html, xlsx, docx, odt or pdf"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/bodies?x=1"), 400, "unknown query parameter 'x'"));
  EXPECT_EQ(Events(), before);
}

TEST_F(ApiTest, MalformedImportYamlIs400NamingLineAndColumn) {
  const int64_t before = Events();
  Response bad_yaml = Send(Make("POST", "/api/v1/import",
                                "inspections:\n  - {id: x26, title: [New\nevents: []\n", kYaml),
                           kInspectorate);
  EXPECT_TRUE(IsProblem(bad_yaml, 400, "malformed YAML"));
  EXPECT_TRUE(std::regex_search(bad_yaml.body, std::regex("request body:[0-9]+:[0-9]+: ")))
      << bad_yaml.body;
  Response bad_key = Send(
      Make("POST", "/api/v1/import",
           "inspections:\n  - {id: x26, title: New, published: 2026-01-10, colour: red}\n", kYaml),
      kInspectorate);
  EXPECT_TRUE(IsProblem(bad_key, 400, "request body:2:"));
  EXPECT_TRUE(IsProblem(bad_key, 400, "colour"));
  // Well formed but refused by the workflow: 409, still naming the line of the event.
  Response refused =
      Send(Make("POST", "/api/v1/import",
                "events:\n  - {rec: da23-r4, do: close, effective: 2025-06-02, by: CPS}\n", kYaml),
           kInspectorate);
  EXPECT_TRUE(IsProblem(refused, 409, "request body:2:5: "));
  EXPECT_TRUE(IsProblem(refused, 409, "it is 'superseded'"));
  EXPECT_EQ(Events(), before);
}

TEST_F(ApiTest, CredentialProblemsAre401WithABearerChallenge) {
  auto with = [&](const std::string& auth) {
    return api_->Handle(Make("GET", "/api/v1/bodies", "", "", {{"authorization", auth}}));
  };
  const std::pair<Response, const char*> cases[] = {
      {Get("/api/v1/bodies", kNoToken), "send Authorization: Bearer <token>"},
      {with("Basic dXNlcjpwYXNz"), "use the Bearer authorization scheme"},
      {with("Bearer rt_not-a-token"), "unknown, revoked or expired token"},
      {Get("/api/v1/bodies", kRevoked), "unknown, revoked or expired token"},
      {Get("/api/v1/bodies", kExpired), "unknown, revoked or expired token"}};
  for (const auto& [r, detail] : cases) {
    EXPECT_TRUE(IsProblem(r, 401, detail));
    EXPECT_EQ(HeaderOf(r, "WWW-Authenticate"), "Bearer realm=\"rectrack\"");
  }
  // A token is good through its expiry day: the same secret works on 2026-11-22.
  EXPECT_EQ(with("Bearer " + secrets_[kExpired]).status, 200);
}

TEST_F(ApiTest, UnknownRoutesAndRecommendationsAre404AndOtherMethods405) {
  EXPECT_TRUE(IsProblem(Get("/api/v1/nothing"), 404, "no route GET /api/v1/nothing"));
  EXPECT_TRUE(IsProblem(Get("/elsewhere"), 404, "no route /elsewhere"));
  EXPECT_TRUE(
      IsProblem(Get("/api/v1/recommendations/da99-r1"), 404, "no recommendation 'da99-r1'"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations/da99-r1/events", R"({"do":"update"})"), 404,
                        "no recommendation 'da99-r1'"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/nothing", "{}"), 404, "no route POST /api/v1/nothing"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/annex?body=XYZ"), 404, "no body 'XYZ'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/recommendations?body=XYZ"), 404, "no body 'XYZ'"));
  const int64_t before = Events();
  for (const char* method : {"PUT", "DELETE", "PATCH"}) {
    EXPECT_TRUE(
        IsProblem(Send(Make(method, "/api/v1/recommendations/da25-n1", R"({"do":"update"})", kJson),
                       kInspectorate),
                  405, "this route answers GET, HEAD, POST"))
        << method;
  }
  EXPECT_TRUE(
      IsProblem(Send(Make("POST", "/healthz"), kNoToken), 405, "this route answers GET, HEAD"));
  EXPECT_EQ(Events(), before);
}

TEST_F(ApiTest, ATransitionTheStateDoesNotAllowIs409NamingTheStateAndTheChoices) {
  const int64_t before = Events();
  EXPECT_TRUE(
      IsProblem(Post("/api/v1/recommendations/da23-r4/events", R"({"do":"close"})", kCpsLead), 409,
                "'close' is not allowed: it is 'superseded'; as body_lead you may: "
                "nothing"));
  EXPECT_EQ(Events(), before);
  const std::string events = "/api/v1/recommendations/da25-n1/events";
  ASSERT_EQ(Post(events, R"({"do":"close","note":"first"})", kCpsLead).status, 201);
  const int64_t closed = Events();
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"close","note":"second"})", kCpsLead), 409,
                        "it is 'closed'; as body_lead you may: update"));
  EXPECT_EQ(Events(), closed);
}

TEST_F(ApiTest, IfMatchWithAStaleETagIs412AndWithTheCurrentOneSucceeds) {
  const std::string events = "/api/v1/recommendations/da25-n1/events";
  const std::string old_tag = HeaderOf(Get("/api/v1/recommendations/da25-n1", kCpsLead), "ETag");
  ASSERT_FALSE(old_tag.empty());
  Response first =
      Post(events, R"({"do":"update","note":"one"})", kCpsLead, {{"if-match", old_tag}});
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string new_tag = HeaderOf(first, "ETag");
  EXPECT_NE(new_tag, old_tag);
  const int64_t before = Events();
  EXPECT_TRUE(IsProblem(
      Post(events, R"({"do":"update","note":"two"})", kCpsLead, {{"if-match", old_tag}}), 412,
      "'da25-n1' is at version " + new_tag.substr(1, new_tag.find('-') - 1) + ", not " +
          old_tag.substr(1, old_tag.find('-') - 1) + ": it changed since you read it"));
  EXPECT_EQ(Events(), before);
  EXPECT_EQ(
      Post(events, R"({"do":"update","note":"two"})", kCpsLead, {{"if-match", new_tag}}).status,
      201);
  EXPECT_EQ(Post(events, R"({"do":"update","note":"three"})", kCpsLead, {{"if-match", "*"}}).status,
            201);
}

TEST_F(ApiTest, AWrongContentTypeIs415) {
  const std::string events = "/api/v1/recommendations/da25-n1/events";
  const std::string update = R"({"do":"update","note":"n"})";
  const int64_t before = Events();
  EXPECT_TRUE(IsProblem(Send(Make("POST", events, update), kCpsLead), 415,
                        "send Content-Type: application/json"));
  EXPECT_TRUE(IsProblem(Send(Make("POST", events, update, "text/plain"), kCpsLead), 415,
                        "send Content-Type: application/json"));
  EXPECT_TRUE(IsProblem(Send(Make("POST", "/api/v1/import", "bodies: []\n", kJson), kInspectorate),
                        415, "send the import file with Content-Type: application/yaml"));
  // The media type is compared whole, not as a prefix.
  EXPECT_TRUE(IsProblem(
      Send(Make("POST", "/api/v1/import", "bodies: []\n", "application/yamlfoo"), kInspectorate),
      415, "send the import file with Content-Type: application/yaml"));
  EXPECT_TRUE(IsProblem(Send(Make("POST", events, update, "application/jsonx"), kCpsLead), 415,
                        "send Content-Type: application/json"));
  EXPECT_EQ(Events(), before);
  EXPECT_EQ(Send(Make("POST", events, update, "application/json; charset=utf-8"), kCpsLead).status,
            201);
}

TEST_F(ApiTest, WellFormedRequestsThatBreakARuleAre422) {
  const std::string events = "/api/v1/recommendations/da25-n1/events";
  const int64_t before = Events();
  // Each names the input it is about ("field"), for a form to show the error beside it.
  Response missing = Post(events, R"({"do":"assess","outcome":"achieved"})");
  EXPECT_TRUE(IsProblem(missing, 422, "'assess' needs field 'in'"));
  EXPECT_EQ(ProblemField(missing), "in");
  Response unknown = Post(events, R"({"do":"update","colour":"red"})", kCpsLead);
  EXPECT_TRUE(IsProblem(unknown, 422, "'update' takes no field 'colour' (it takes: met)"));
  EXPECT_EQ(ProblemField(unknown), "colour");
  // A note-only transition with nothing in it would be an empty entry in the history.
  Response empty = Post(events, R"({"do":"update"})", kCpsLead);
  EXPECT_TRUE(IsProblem(empty, 422, "'update' records nothing without a note or a field (met)"));
  EXPECT_EQ(ProblemField(empty), "note");
  Response early = Post(events, R"({"do":"update","note":"n","effective":"2001-01-01"})", kCpsLead);
  EXPECT_TRUE(IsProblem(early, 409, "comes before the recommendation was created"));
  EXPECT_EQ(ProblemField(early), "effective");
  Response future =
      Post(events, R"({"do":"update","note":"n","effective":"2999-01-01"})", kCpsLead);
  EXPECT_TRUE(IsProblem(future, 422, "is in the future"));
  EXPECT_EQ(ProblemField(future), "effective");
  for (const char* blank : {R"({"do":"update","note":""})", R"({"do":"update","note":" \n\t"})"}) {
    EXPECT_TRUE(IsProblem(Post(events, blank, kCpsLead), 422, "records nothing")) << blank;
  }
  // Who may not write is told so first, not what to write.
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"update"})", kReader), 403, "may not"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"assess","outcome":"achieved","in":"zz99"})"), 422,
                        "field 'in': no inspection 'zz99'"));
  EXPECT_TRUE(IsProblem(
      Post(events,
           R"({"do":"assess","outcome":"not_achieved","in":"da25","superseded_by":["da99-n1"]})"),
      422, "field 'superseded_by': no recommendation 'da99-n1'"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"approve"})"), 422, "unknown transition 'approve'"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"update","effective":"2027-01-01"})", kCpsLead), 422,
                        "is in the future (today is 2026-11-22)"));
  EXPECT_TRUE(IsProblem(
      Post("/api/v1/recommendations",
           R"({"id":"x1","inspection":"zz99","owners":"CPS","text":"By March 2027, do it."})"),
      422, "no inspection 'zz99'"));
  EXPECT_TRUE(IsProblem(
      Post("/api/v1/recommendations",
           R"({"id":"x1","inspection":"da25","owners":["XYZ"],"text":"By March 2027, do it."})"),
      422, "no body 'XYZ'"));
  // A milestone says its label and due date, nothing else; a recommendation has at most 50.
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations",
                             R"({"id":"x1","inspection":"da25","owners":["CPS"],"text":"Do it.",)"
                             R"("milestones":[{"label":"due","due":"2027-03-31","x":1}]})"),
                        400, "a milestone: unknown member 'x'"));
  // A deadline before the recommendation is issued (da25: 6 March 2025) is a slip.
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations",
                             R"({"id":"x1","inspection":"da25","owners":["CPS"],"text":"Do it.",)"
                             R"("milestones":[{"label":"due","due":"2025-03-05"}]})"),
                        422,
                        "milestone 'due' is due 2025-03-05, before it is issued (2025-03-06)"));
  std::string many;
  for (int i = 0; i < 51; ++i) {
    many += std::string(i ? "," : "") + R"({"label":"m)" + std::to_string(i) +
            R"(","due":"2027-03-31"})";
  }
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations",
                             R"({"id":"x1","inspection":"da25","owners":["CPS"],"text":"Do it.",)"
                             R"("milestones":[)" +
                                 many + "]}"),
                        422, "has 51 milestones: at most 50"));
  EXPECT_EQ(Events(), before);
}

// --- 4. Idempotent import.

TEST_F(ApiTest, ImportingTheSameYamlTwiceAppendsNothingTheSecondTime) {
  const std::string yaml = R"(inspections:
  - {id: x26, title: New, published: 2026-01-10}
recommendations:
  - {id: x26-r1, inspection: x26, owners: [CPS], text: "By March 2027, do it."}
events:
  - {rec: x26-r1, do: update, effective: 2026-06-01, by: CPS, note: started}
)";
  Response first = Send(Make("POST", "/api/v1/import", yaml, kYaml), kInspectorate);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(ParseJson(first.body), json::value({{"appended", 3}, {"unchanged", 0}}));
  const int64_t after_first = Events();
  Response second = Send(Make("POST", "/api/v1/import", yaml, "text/yaml"), kInspectorate);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(ParseJson(second.body), json::value({{"appended", 0}, {"unchanged", 3}}));
  EXPECT_EQ(Events(), after_first);
  json::value rec = ParseJson(Get("/api/v1/recommendations/x26-r1").body);
  EXPECT_EQ(Str(rec.at("timeline").as_array().at(0), "actor"),
            "token:" + token_ids_[kInspectorate]);
}

// One import is read at a time (EngineHost::ImportTurn): while another holds the turn, an import
// is 503 with Retry-After and writes nothing; once the turn is given back it goes through.
TEST_F(ApiTest, AnImportWhileAnotherIsBeingReadIs503AndWritesNothing) {
  const std::string yaml = "bodies:\n  - {id: NEW, name: A new body}\n";
  const int64_t before = Events();
  {
    const EngineHost::ImportTurn other = host_->TakeImportTurn();
    ASSERT_TRUE(other);
    EXPECT_FALSE(host_->TakeImportTurn()) << "one turn at a time";
    Response busy = Send(Make("POST", "/api/v1/import", yaml, kYaml), kInspectorate);
    EXPECT_TRUE(IsProblem(busy, 503, "another import is being read")) << busy.body;
    EXPECT_EQ(HeaderOf(busy, "Retry-After"), "5");
    EXPECT_EQ(Events(), before);
  }
  Response after = Send(Make("POST", "/api/v1/import", yaml, kYaml), kInspectorate);
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Events(), before + 1);
}

// A known path asked with a method it does not answer is a 405 naming the methods it does
// (RFC 9110 §15.5.6), after the caller is known; an unknown path is a 404.
TEST_F(ApiTest, AKnownPathWithAnotherMethodIs405NamingWhatItAnswers) {
  Response get_import = Get("/api/v1/import", kInspectorate);
  EXPECT_TRUE(IsProblem(get_import, 405, "this route answers POST")) << get_import.body;
  EXPECT_EQ(HeaderOf(get_import, "Allow"), "POST");
  Response post_bodies = Post("/api/v1/bodies", "{}");
  EXPECT_TRUE(IsProblem(post_bodies, 405, "this route answers GET, HEAD")) << post_bodies.body;
  Response put_alerts = Send(Make("PUT", "/api/v1/alerts", "{}", kJson), kInspectorate);
  EXPECT_TRUE(IsProblem(put_alerts, 405, "this route answers GET, HEAD")) << put_alerts.body;
  EXPECT_TRUE(IsProblem(Get("/api/v1/import", kNoToken), 401, "")) << "405 before the token";
}

// An encoded '/' is part of the segment it is in: it cannot turn an id into a route (which would
// record an event through GET-looking paths), while other encoded characters decode as usual.
TEST_F(ApiTest, AnEncodedSlashStaysInsideItsSegment) {
  const int64_t before = Events();
  Response sneaked = Post("/api/v1/recommendations/da25-n1%2Fevents",
                          R"({"do":"update","note":"through the id"})", kCpsLead);
  EXPECT_NE(sneaked.status, 201) << sneaked.body;
  EXPECT_GE(sneaked.status, 400) << sneaked.body;
  EXPECT_EQ(Events(), before);
  Response unseen = Get("/api/v1/recommendations/da25-n1%2F..%2Fda23-r1", kReader);
  EXPECT_TRUE(IsProblem(unseen, 404, "no recommendation")) << unseen.body;
  EXPECT_EQ(Get("/api/v1/recommendations/da25%2Dn1", kReader).status, 200);
  EXPECT_EQ(
      Post("/api/v1/recommendations/da25-n1/events", R"({"do":"update","note":"n"})", kCpsLead)
          .status,
      201);
}

// The engine's limits and control-character rule reach API clients as 422s naming the field.
TEST_F(ApiTest, AnOversizedNoteOrAControlCharacterIs422AndWritesNothing) {
  const int64_t before = Events();
  const std::string big = R"({"do":"update","note":")" + std::string(9000, 'n') + "\"}";
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations/da25-n1/events", big, kCpsLead), 422,
                        "note is 9000 bytes long; at most 8192 are allowed"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations/da25-n1/events",
                             R"({"do":"update","note":"\u001b[2J"})", kCpsLead),
                        422, "note holds the control character U+001B"));
  EXPECT_EQ(Events(), before);
}

// The defect as a body lead found it: back-dating a note marking da23-r2's milestone met, to
// before the inspectorate judged it not achieved, was accepted (201). It is refused (409).
TEST_F(ApiTest, ABodyLeadCannotBackDateBehindTheInspectoratesJudgement) {
  const int64_t before = Events();
  Response r = Post("/api/v1/recommendations/da23-r2/events",
                    R"({"do":"update","met":"due","effective":"2023-07-01"})", kCpsLead);
  EXPECT_TRUE(IsProblem(r, 409, "may not record behind it")) << r.body;
  EXPECT_EQ(Events(), before);
}

}  // namespace
}  // namespace rectrack::http
