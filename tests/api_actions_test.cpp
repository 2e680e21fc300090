// The HTTP API for actions (Api::Handle over a real SQLite file holding the demo imports, CPS
// South West's action plan among them): the authorization matrix for actions, unit-scoped leads
// on recommendations, the close guard and its override, not-found and malformed requests.
// Reading actions, units, the progress report and a round trip over a real socket are in
// api_actions_reads_test.cpp.
#include "tests/api_actions_fixture.h"

namespace rectrack::http {
namespace {

// --- 1. The authorization matrix: who may plan, start, close and comment on an action.

struct ActionRoute {
  const char* name;
  const char* target;
  const char* body;
  std::array<int, kWhoCount> expect;  // indexed by Who
};

// sw22-i1-a4 is owned by unit cps-sw of CPS and still planned. The SFO lead may not see CPS's
// actions or recommendations, nor the Crown Court unit's lead another unit's actions, so they
// get 404 (the unit's lead may still plan under its body's recommendation, for its own unit
// only); the reader's role may do nothing (403); the inspectorate plans and comments but does
// not start or close a body's actions.
// clang-format off
const ActionRoute kRoutes[] = {
    {"Plan", "/api/v1/recommendations/sw22-i1/actions",
     R"({"id":"sw22-i1-a9","title":"Refresher training","unit":"cps-sw","due":"2027-03-31"})",
     {201, 201, 201, 403, 404, 403}},
    {"Start", "/api/v1/actions/sw22-i1-a4/events", R"({"do":"start"})",
     {403, 201, 201, 404, 404, 403}},
    {"Close", "/api/v1/actions/sw22-i1-a4/events",
     R"({"do":"close","evidence":["committee-minutes.pdf"]})", {403, 201, 201, 404, 404, 403}},
    {"Comment", "/api/v1/actions/sw22-i1-a4/events", R"({"do":"comment","note":"seen"})",
     {201, 201, 201, 404, 404, 403}},
};
// clang-format on

struct MatrixCase {
  size_t route;
  Who who;
};

class ApiActionsMatrixTest : public ApiActionsTest,
                             public ::testing::WithParamInterface<MatrixCase> {};

TEST_P(ApiActionsMatrixTest, AnswersAsTheRoleBodyAndUnitAllow) {
  const ActionRoute& route = kRoutes[GetParam().route];
  const Who who = GetParam().who;
  const int expected = route.expect[who];
  const int64_t before = Events();
  Response r = Post(route.target, route.body, who);
  if (expected < 400) {
    ASSERT_EQ(r.status, expected) << r.body;
    EXPECT_EQ(Events(), before + 1);
    json::value action = ParseJson(r.body);
    const std::string id = Str(action, "id");
    EXPECT_EQ(HeaderOf(r, "Location"), "/api/v1/actions/" + id);
    EXPECT_FALSE(HeaderOf(r, "ETag").empty());
    // Planning answers the whole action; an event on it, the event recorded.
    const json::value& last = action.as_object().contains("event")
                                  ? action.at("event")
                                  : action.at("timeline").as_array().back();
    EXPECT_EQ(last.at("seq").as_int64(), Events());
    EXPECT_EQ(Str(last, "actor"), "token:" + token_ids_[who]);
    EXPECT_EQ(Str(last, "role"), who == kInspectorate ? "inspectorate" : "body_lead");
    EXPECT_EQ(Str(last, "body"), who == kInspectorate ? "" : "CPS");
    EXPECT_EQ(Str(last, "unit"), who == kSwLead ? "cps-sw" : "");
    return;
  }
  const char* detail = expected == 404 ? "no " : "";
  EXPECT_TRUE(IsProblem(r, expected, detail));
  EXPECT_EQ(Events(), before) << "a refused write changed the log";
}

std::vector<MatrixCase> AllCases() {
  std::vector<MatrixCase> cases;
  for (size_t route = 0; route < std::size(kRoutes); ++route) {
    for (int who = 0; who < kWhoCount; ++who) cases.push_back({route, static_cast<Who>(who)});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(ActionRoutes, ApiActionsMatrixTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<MatrixCase>& info) {
                           return std::string(kRoutes[info.param.route].name) + "_" +
                                  kWhoNames[info.param.who];
                         });

TEST_F(ApiActionsTest, TheRefusalsSayWhy) {
  // Another unit's action is not the unit lead's to see (issue 14), so not to act on either.
  EXPECT_TRUE(IsProblem(Post("/api/v1/actions/sw22-i1-a4/events", R"({"do":"start"})", kCrownLead),
                        404, "no action 'sw22-i1-a4'"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations/sw22-i1/actions",
                             R"({"id":"x-a1","title":"T","unit":"cps-sw"})", kCrownLead),
                        403, "plans only its unit's actions"));
  EXPECT_TRUE(
      IsProblem(Post("/api/v1/actions/sw22-i1-a4/events", R"({"do":"close"})"), 403, "may not"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/actions/sw22-i1-a4/events", R"({"do":"start"})", kSfoLead),
                        404, "no action 'sw22-i1-a4'"));
}

TEST_F(ApiActionsTest, AUnitLeadMayNotActOnTheBodysOwnActions) {
  // sw22-i3-a3 belongs to CPS as a whole.
  const std::string events = "/api/v1/actions/sw22-i3-a3/events";
  const int64_t before = Events();
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"update","note":"n"})", kSwLead), 404,
                        "no action 'sw22-i3-a3'"));
  EXPECT_EQ(Events(), before);
  EXPECT_EQ(Post(events, R"({"do":"update","note":"n"})", kCpsLead).status, 201);
}

// --- 2. Unit-scoped leads and recommendations.

TEST_F(ApiActionsTest, AUnitScopedLeadMayNotActOnARecommendation) {
  const int64_t before = Events();
  for (const char* body :
       {R"({"do":"close","override":"all done"})", R"({"do":"update","note":"n"})"}) {
    EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations/sw22-i2/events", body, kSwLead), 403,
                          "'sw22-i2' is a recommendation"))
        << body;
  }
  EXPECT_EQ(Events(), before);
  // It still reads its body's recommendations.
  EXPECT_EQ(Get("/api/v1/recommendations/sw22-i2", kSwLead).status, 200);
  EXPECT_EQ(
      Post("/api/v1/recommendations/sw22-i2/events", R"({"do":"update","note":"n"})", kCpsLead)
          .status,
      201);
}

// --- 3. The close guard.

TEST_F(ApiActionsTest, CloseWithOpenActionsIs409NamingThemAndAnOverrideIsRecorded) {
  const std::string events = "/api/v1/recommendations/sw22-i1/events";
  const int64_t before = Events();
  Response refused = Post(events, R"({"do":"close","note":"done"})", kCpsLead);
  EXPECT_TRUE(IsProblem(refused, 409, "3 actions are still open"));
  EXPECT_EQ(ProblemField(refused), "override");  // the input that answers it
  for (const char* open : {"sw22-i1-a2 (in_progress)", "sw22-i1-a3 (in_progress)",
                           "sw22-i1-a4 (planned)", "give 'override'"}) {
    EXPECT_TRUE(IsProblem(refused, 409, open)) << open;
  }
  EXPECT_EQ(refused.body.find("sw22-i1-a1"), std::string::npos) << "a1 is done";
  EXPECT_EQ(Events(), before);

  Response closed =
      Post(events, R"({"do":"close","override":"the rest moves to the national plan"})", kCpsLead);
  ASSERT_EQ(closed.status, 201) << closed.body;
  json::value view = ParseJson(closed.body);
  EXPECT_EQ(Str(view, "state"), "closed");
  const json::value& last = view.at("event");
  EXPECT_EQ(Str(last, "do"), "close");
  EXPECT_EQ(last.at("fields").at("override"),
            json::value(json::array{"the rest moves to the national plan"}));
  // The answer carries the recommendation's actions, still open.
  EXPECT_EQ(view.at("actions").as_array().size(), 4u);
}

TEST_F(ApiActionsTest, CloseSucceedsOnceTheActionsAreClosed) {
  for (const char* id : {"sw22-i1-a2", "sw22-i1-a3", "sw22-i1-a4"}) {
    ASSERT_EQ(Post(std::string("/api/v1/actions/") + id + "/events", R"({"do":"close"})", kCpsLead)
                  .status,
              201)
        << id;
  }
  EXPECT_EQ(Post("/api/v1/recommendations/sw22-i1/events", R"({"do":"close"})", kCpsLead).status,
            201);
}

// --- 4. Not found.

TEST_F(ApiActionsTest, UnknownActionsAndKindMismatchesAre404) {
  const int64_t before = Events();
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions/nope"), 404, "no action 'nope'"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/actions/nope/events", R"({"do":"comment"})"), 404,
                        "no action 'nope'"));
  // An action's id on the recommendation routes, and a recommendation's on the action routes.
  EXPECT_TRUE(
      IsProblem(Get("/api/v1/recommendations/sw22-i1-a1"), 404, "no recommendation 'sw22-i1-a1'"));
  EXPECT_TRUE(
      IsProblem(Post("/api/v1/recommendations/sw22-i1-a4/events", R"({"do":"start"})", kCpsLead),
                404, "no recommendation 'sw22-i1-a4'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions/sw22-i1"), 404, "no action 'sw22-i1'"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/actions/sw22-i1/events", R"({"do":"update"})", kCpsLead), 404,
                        "no action 'sw22-i1'"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/recommendations/nope/actions", R"({"id":"a","title":"t"})"),
                        404, "no recommendation 'nope'"));
  // Another body's action is not found either, so its existence is not revealed.
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions/sw22-i1-a1", kSfoLead), 404, "no action"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions/sw22-i1-a1?as_of=2020-01-01", kSfoLead), 404,
                        "no action 'sw22-i1-a1'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/units?body=XYZ"), 404, "no body 'XYZ'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/progress?body=XYZ"), 404, "no body 'XYZ'"));
  // Nor does a list of actions filtered by another body's recommendation or unit say that it
  // exists (an empty list did, against a 404 for one that does not); another body is 403.
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?recommendation=sw22-i1", kSfoLead), 404,
                        "no recommendation 'sw22-i1'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?unit=cps-sw", kSfoLead), 404, "no unit 'cps-sw'"));
  EXPECT_TRUE(
      IsProblem(Get("/api/v1/actions?body=CPS", kSfoLead), 403, "this token sees only SFO"));
  EXPECT_EQ(Get("/api/v1/actions?recommendation=sw22-i1", kCpsLead).status, 200);
  EXPECT_EQ(Get("/api/v1/actions?unit=cps-sw", kSwLead).status, 200);
  EXPECT_EQ(Events(), before);
}

// --- 5. Malformed requests.

TEST_F(ApiActionsTest, BadDatesJsonAndParametersAre400) {
  const std::string plan = "/api/v1/recommendations/sw22-i1/actions";
  const std::string events = "/api/v1/actions/sw22-i1-a4/events";
  const int64_t before = Events();
  EXPECT_TRUE(IsProblem(Post(plan, R"({"id":"a","title":"t","due":"2027-02-30"})"), 400,
                        "'due' must be a real date written YYYY-MM-DD, not '2027-02-30'"));
  EXPECT_TRUE(IsProblem(Post(plan, R"({"id":"a","title":"t","planned":"soon"})"), 400,
                        "'planned' must be a real date written YYYY-MM-DD, not 'soon'"));
  EXPECT_TRUE(IsProblem(Post(plan, R"({"id":"a"})"), 400, "'title' is required"));
  // A due date before the action is planned is a slip, not a plan.
  EXPECT_TRUE(
      IsProblem(Post(plan, R"({"id":"a","title":"t","planned":"2026-11-01","due":"2026-10-31"})"),
                422, "action 'a': due 2026-10-31, before it is planned (2026-11-01)"));
  EXPECT_TRUE(IsProblem(Post(plan, R"({"id":"a","title":"t","colour":"red"})"), 400,
                        "unknown member 'colour'"));
  EXPECT_TRUE(IsProblem(Post(plan, R"({"id":"a","title":7})"), 400, "'title' must be a string"));
  EXPECT_TRUE(IsProblem(Post(plan, R"({"id":)"), 400, "malformed JSON: "));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"start","effective":"2026-13-01"})", kCpsLead), 400,
                        "'effective' must be a real date written YYYY-MM-DD, not '2026-13-01'"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do": )", kCpsLead), 400, "malformed JSON: "));
  EXPECT_TRUE(IsProblem(Post(events, "[]", kCpsLead), 400, "must be a JSON object"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"start","unit":"cps-sw"})", kCpsLead), 400,
                        "'unit' comes from your token, not the request"));
  EXPECT_TRUE(IsProblem(Post(events, R"({"do":"start"})", kCpsLead, {{"if-match", "nonsense"}}),
                        400, "If-Match must list ETags this server gave"));
  EXPECT_TRUE(
      IsProblem(Post("/api/v1/units", R"({"id":"u","body":"CPS"})"), 400, "'name' is required"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?as_of=2025-13-01"), 400,
                        "as_of must be a real date written YYYY-MM-DD, not '2025-13-01'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions/sw22-i1-a1?as_of=yesterday"), 400,
                        "as_of must be a real date written YYYY-MM-DD, not 'yesterday'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?open=yes"), 400, "open must be true or false"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?state=done"), 400, "unknown query parameter 'state'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/units?x=1"), 400, "unknown query parameter 'x'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/progress"), 400, "body is required"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/progress?body=CPS&format=rtf"), 400,
                        "format must be json, md, csv, html, xlsx, docx, odt or pdf"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/progress?body=CPS&as_of=x"), 400,
                        "as_of must be a real date"));
  EXPECT_EQ(Events(), before);
}

TEST_F(ApiActionsTest, WellFormedPlansThatBreakARuleAre422) {
  const std::string plan = "/api/v1/recommendations/sw22-i1/actions";
  const int64_t before = Events();
  EXPECT_TRUE(
      IsProblem(Post(plan, R"({"id":"a","title":"t","unit":"nope"})"), 422, "no unit 'nope'"));
  EXPECT_TRUE(IsProblem(Post(plan, R"({"id":"a","title":"t","milestone":"m9"})"), 422,
                        "has no milestone 'm9'"));
  EXPECT_TRUE(
      IsProblem(Post("/api/v1/actions/sw22-i2-a4/events", R"({"do":"reschedule"})", kCpsLead), 422,
                "needs field"));
  EXPECT_EQ(Events(), before);
}

}  // namespace
}  // namespace rectrack::http
