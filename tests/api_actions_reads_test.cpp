// The HTTP API's reads of actions (as_of, ETags, filters, visibility, metrics), units, the
// progress report, and one round trip over a real socket (Api::Handle over a real SQLite file
// holding the demo imports; the fixture is api_actions_fixture.h).
#include "tests/api_actions_fixture.h"
#include "tests/server_fixture.h"

namespace rectrack::http {
namespace {

// --- 6. Reading actions: as_of, ETags, filters, visibility.

TEST_F(ApiActionsTest, AnActionAsAtADate) {
  const std::string a2 = "/api/v1/actions/sw22-i2-a2";
  auto state_at = [&](const std::string& date) {
    Response r = Get(a2 + "?as_of=" + date, kCpsLead);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? Str(ParseJson(r.body), "state") : "";
  };
  EXPECT_EQ(state_at("2022-09-30"), "planned");
  EXPECT_EQ(state_at("2022-12-31"), "in_progress");
  EXPECT_EQ(state_at("2023-03-01"), "done");
  EXPECT_TRUE(IsProblem(Get(a2 + "?as_of=2022-09-01"), 404,
                        "'sw22-i2-a2' was not planned until 2022-09-15"));
  // The reschedule moved sw22-i2-a4's due date on 2023-04-20; the original date stays.
  json::value before = ParseJson(Get("/api/v1/actions/sw22-i2-a4?as_of=2023-03-31").body);
  json::value after = ParseJson(Get("/api/v1/actions/sw22-i2-a4?as_of=2023-05-01").body);
  EXPECT_EQ(Str(before, "due"), "2023-04-30");
  EXPECT_EQ(Str(after, "due"), "2023-09-30");
  EXPECT_EQ(Str(after, "original_due"), "2023-04-30");
  EXPECT_EQ(Str(after, "as_of"), "2023-05-01");
  EXPECT_EQ(Str(after, "recommendation"), "sw22-i2");
  EXPECT_EQ(Str(after, "unit"), "cps-sw");
}

TEST_F(ApiActionsTest, ETagsAndIfMatchOnActions) {
  const std::string action = "/api/v1/actions/sw22-i1-a4";
  Response first = Get(action, kSwLead);
  ASSERT_EQ(first.status, 200);
  const std::string tag = HeaderOf(first, "ETag");
  EXPECT_NE(tag, HeaderOf(Get(action + "?as_of=2023-01-01", kSwLead), "ETag"));
  EXPECT_EQ(Get(action, kSwLead, {{"if-none-match", tag}}).status, 304);
  Response started = Post(action + "/events", R"({"do":"start"})", kSwLead, {{"if-match", tag}});
  ASSERT_EQ(started.status, 201) << started.body;
  EXPECT_EQ(Str(ParseJson(started.body), "state"), "in_progress");
  const int64_t before = Events();
  EXPECT_TRUE(IsProblem(
      Post(action + "/events", R"({"do":"update","note":"x"})", kSwLead, {{"if-match", tag}}), 412,
      "it changed since you read it"));
  EXPECT_EQ(Events(), before);
  EXPECT_EQ(Get(action, kSwLead, {{"if-none-match", tag}}).status, 200);
  EXPECT_EQ(Post(action + "/events", R"({"do":"update","note":"x"})", kSwLead,
                 {{"if-match", HeaderOf(started, "ETag")}})
                .status,
            201);
}

TEST_F(ApiActionsTest, ARecommendationsETagChangesWhenOneOfItsActionsDoes) {
  const std::string rec = "/api/v1/recommendations/sw22-i1";
  Response first = Get(rec, kCpsLead);
  ASSERT_EQ(first.status, 200);
  const std::string tag = HeaderOf(first, "ETag");
  EXPECT_EQ(Get(rec, kCpsLead, {{"if-none-match", tag}}).status, 304);
  ASSERT_EQ(Post("/api/v1/actions/sw22-i1-a4/events", R"({"do":"start"})", kSwLead).status, 201);
  // The recommendation's own version is the same, but the actions it shows are not.
  Response after = Get(rec, kCpsLead, {{"if-none-match", tag}});
  EXPECT_EQ(after.status, 200);
  EXPECT_NE(HeaderOf(after, "ETag"), tag);
  // If-Match compares the recommendation's own version: the old tag still guards it.
  EXPECT_EQ(
      Post(rec + "/events", R"({"do":"update","note":"x"})", kCpsLead, {{"if-match", tag}}).status,
      201);
}

TEST_F(ApiActionsTest, MetricsCountOpenAndOverdueActionsByBodyAndUnit) {
  Response m = Get("/metrics", kInspectorate);
  ASSERT_EQ(m.status, 200) << m.body;
  // As at today (the test clock), every open dated action of the plan is overdue.
  EXPECT_NE(m.body.find("rectrack_actions_open{body=\"CPS\",unit=\"cps-sw-crown\"} 2\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("rectrack_actions_overdue{body=\"CPS\",unit=\"cps-sw-crown\"} 2\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("rectrack_actions_open{body=\"CPS\",unit=\"\"} 1\n"), std::string::npos);
  ASSERT_EQ(Post("/api/v1/actions/sw22-i2-a3/events", R"({"do":"close"})", kCrownLead).status, 201);
  m = Get("/metrics", kInspectorate);
  EXPECT_NE(m.body.find("rectrack_actions_open{body=\"CPS\",unit=\"cps-sw-crown\"} 1\n"),
            std::string::npos)
      << m.body;
}

// The gauges count every body's work, so only an unscoped token reads them.
TEST_F(ApiActionsTest, MetricsAreForUnscopedTokensOnly) {
  EXPECT_EQ(Get("/metrics", kInspectorate).status, 200);
  EXPECT_EQ(Get("/metrics", kReader).status, 200);
  for (Who scoped : {kCpsLead, kSwLead, kSfoLead}) {
    Response m = Get("/metrics", scoped);
    EXPECT_TRUE(IsProblem(m, 403, "use an unscoped token")) << m.body;
    EXPECT_EQ(m.body.find("rectrack_actions_open"), std::string::npos);
  }
}

TEST_F(ApiActionsTest, UnknownFiltersAreNotFound) {
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?unit=nope", kInspectorate), 404, "no unit 'nope'"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?body=NOPE", kInspectorate), 404, "no body 'NOPE'"));
  // A unit of another body than the one asked for, as the calendar has it.
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?unit=cps-sw&body=SFO", kInspectorate), 404,
                        "no unit 'cps-sw' in SFO"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?recommendation=sw22-i1-a1", kInspectorate), 404,
                        "no recommendation 'sw22-i1-a1'"));
}

TEST_F(ApiActionsTest, ListFiltersAndBodyScoping) {
  const IdSet all = IdsOf("/api/v1/actions");
  EXPECT_EQ(all.size(), 13u);
  EXPECT_EQ(IdsOf("/api/v1/actions", kCpsLead), all);
  // A unit's lead sees its own unit's actions only (issue 14), not the body's nor other units'.
  EXPECT_EQ(IdsOf("/api/v1/actions", kSwLead), IdsOf("/api/v1/actions?unit=cps-sw"));
  EXPECT_EQ(IdsOf("/api/v1/actions?unit=cps-sw-crown", kSwLead), IdSet{});
  EXPECT_TRUE(IdsOf("/api/v1/actions", kSfoLead).empty());
  // Another body's, asked for by name, is refused as for recommendations (it was an empty list).
  EXPECT_EQ(Get("/api/v1/actions?body=CPS", kSfoLead).status, 403);
  EXPECT_EQ(IdsOf("/api/v1/actions?recommendation=sw22-i1"),
            (IdSet{"sw22-i1-a1", "sw22-i1-a2", "sw22-i1-a3", "sw22-i1-a4"}));
  EXPECT_EQ(IdsOf("/api/v1/actions?unit=cps-sw-crown"), (IdSet{"sw22-i1-a2", "sw22-i2-a3"}));
  EXPECT_EQ(IdsOf("/api/v1/actions?unit=cps-sw&recommendation=sw22-i2&open=true"),
            (IdSet{"sw22-i2-a4", "sw22-i2-a5"}));
  EXPECT_EQ(IdsOf("/api/v1/actions?as_of=2022-12-31&recommendation=sw22-i2&open=false"),
            (IdSet{"sw22-i2-a1"}));
  const IdSet overdue = IdsOf("/api/v1/actions?overdue=true&as_of=2023-06-30");
  // sw22-i1-a3 falls due that very day, so it is not overdue yet.
  EXPECT_EQ(overdue, (IdSet{"sw22-i1-a2", "sw22-i2-a3"}));
  const IdSet not_overdue = IdsOf("/api/v1/actions?overdue=false&as_of=2023-06-30");
  EXPECT_EQ(not_overdue.size() + overdue.size(), 13u);
  for (const auto& id : overdue) EXPECT_FALSE(not_overdue.count(id)) << id;
  EXPECT_TRUE(IdsOf("/api/v1/actions?as_of=2022-01-01").empty());
}

TEST_F(ApiActionsTest, ActionsComeInPagesThatFollowOnFromTheCursor) {
  // The whole list in one page (13 actions, the default page is 100), in its order: by
  // recommendation, then due date (undated last), then id.
  Response whole = Get("/api/v1/actions");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const json::value listed = ParseJson(whole.body);
  ASSERT_TRUE(listed.at("next_cursor").is_null());
  std::vector<std::string> in_order;
  std::vector<std::tuple<std::string, bool, std::string, std::string>> places;
  for (const auto& a : listed.at("items").as_array()) {
    in_order.push_back(Str(a, "id"));
    places.emplace_back(Str(a, "recommendation"), Str(a, "due").empty(), Str(a, "due"),
                        Str(a, "id"));
  }
  ASSERT_EQ(in_order.size(), 13u);
  EXPECT_TRUE(std::is_sorted(places.begin(), places.end())) << whole.body;
  // A first page that ends with an open action (one that can be rescheduled below), not the
  // last: its cursor names that action and its due date.
  size_t end = 1;
  while (end < in_order.size() - 1 && !listed.at("items").as_array()[end].at("open").as_bool()) {
    ++end;
  }
  ASSERT_LT(end, in_order.size() - 1) << "the demo has open actions";
  Response first = Get("/api/v1/actions?limit=" + std::to_string(end + 1));
  ASSERT_EQ(first.status, 200) << first.body;
  const json::value page = ParseJson(first.body);
  ASSERT_EQ(page.at("items").as_array().size(), end + 1);
  EXPECT_EQ(Str(page, "next_cursor"), in_order[end] + "@" + std::get<2>(places[end]));
  // Every page size walks the same list, once.
  EXPECT_EQ(Ids("/api/v1/actions?limit=5"), in_order);
  EXPECT_EQ(Ids("/api/v1/actions?limit=1"), in_order);
  EXPECT_EQ(Ids("/api/v1/actions?limit=1", kSwLead), Ids("/api/v1/actions?unit=cps-sw"));
  EXPECT_EQ(Ids("/api/v1/actions?limit=2&unit=cps-sw&open=true"),
            Ids("/api/v1/actions?unit=cps-sw&open=true"));
  // The next page follows on from where the last one ended, even when the action it ended with
  // has been rescheduled since: none is given twice, none is left out.
  const std::string cursor = Str(page, "next_cursor");
  const std::string moved = in_order[end];
  Response moving = Post("/api/v1/actions/" + moved + "/events",
                         R"({"do":"reschedule","due":"2030-01-31","reason":"later"})", kCpsLead);
  ASSERT_EQ(moving.status, 201) << moving.body;
  std::vector<std::string> rest = Ids("/api/v1/actions?cursor=" + cursor);
  const std::vector<std::string> expected_rest(in_order.begin() + end + 1, in_order.end());
  std::erase(rest, moved);  // now later in its recommendation's actions, so in the rest
  EXPECT_EQ(rest, expected_rest);
  // Cursors this list did not give, and pages it does not make, are refused.
  EXPECT_TRUE(
      IsProblem(Get("/api/v1/actions?cursor=nope@"), 400, "cursor 'nope@' names no action"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?cursor=" + moved), 400, "is not a next_cursor"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?cursor=" + moved + "@2023-02-30"), 400,
                        "is not a next_cursor"));
  EXPECT_TRUE(
      IsProblem(Get("/api/v1/actions?cursor=" + moved + "@", kSfoLead), 400, "names no action"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?limit=0"), 400, "limit must be a number"));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions?limit=1001"), 400, "limit must be a number"));
  EXPECT_TRUE(
      IsProblem(Get("/api/v1/actions?format=csv&limit=5"), 400, "format=csv is the whole list"));
}

TEST_F(ApiActionsTest, ARecommendationShowsTheActionsItsReaderMaySee) {
  // Without actions the list is empty; with them, as at the same date.
  json::value da = ParseJson(Get("/api/v1/recommendations/da25-n1").body);
  EXPECT_TRUE(da.at("actions").as_array().empty());
  json::value now = ParseJson(Get("/api/v1/recommendations/sw22-i2").body);
  EXPECT_EQ(now.at("actions").as_array().size(), 5u);
  json::value then = ParseJson(Get("/api/v1/recommendations/sw22-i2?as_of=2022-12-31").body);
  for (const auto& a : then.at("actions").as_array()) {
    EXPECT_EQ(Str(a, "as_of"), "2022-12-31");
    if (Str(a, "id") == "sw22-i2-a2") {
      EXPECT_EQ(Str(a, "state"), "in_progress");
    }
  }
  // A recommendation of two bodies: each body's lead sees its own body's actions only.
  ASSERT_EQ(Post("/api/v1/recommendations",
                 R"({"id":"j26-r1","inspection":"da25","owners":["CPS","SFO"],)"
                 R"("text":"By March 2027, work together."})")
                .status,
            201);
  ASSERT_EQ(Post("/api/v1/recommendations/j26-r1/actions",
                 R"({"id":"j26-cps","title":"CPS part","body":"CPS"})", kCpsLead)
                .status,
            201);
  ASSERT_EQ(Post("/api/v1/recommendations/j26-r1/actions", R"({"id":"j26-sfo","title":"SFO part"})",
                 kSfoLead)
                .status,
            201);
  auto actions_of = [&](Who who) {
    IdSet ids;
    Response r = Get("/api/v1/recommendations/j26-r1", who);
    EXPECT_EQ(r.status, 200) << r.body;
    const json::value view = ParseJson(r.body);
    for (const auto& a : view.at("actions").as_array()) ids.insert(Str(a, "id"));
    return ids;
  };
  EXPECT_EQ(actions_of(kReader), (IdSet{"j26-cps", "j26-sfo"}));
  EXPECT_EQ(actions_of(kCpsLead), (IdSet{"j26-cps"}));
  EXPECT_EQ(actions_of(kSfoLead), (IdSet{"j26-sfo"}));
  EXPECT_TRUE(IsProblem(Get("/api/v1/actions/j26-sfo", kCpsLead), 404, "no action 'j26-sfo'"));
}

TEST_F(ApiActionsTest, APlannedActionAnswersWithItsJson) {
  Response r = Post("/api/v1/recommendations/sw22-i1/actions",
                    R"({"id":"sw22-i1-a9","title":"Refresher training","unit":"cps-sw-crown",)"
                    R"("due":"2027-03-31","planned":"2026-11-01","note":"agreed"})",
                    kCrownLead);
  ASSERT_EQ(r.status, 201) << r.body;
  json::value a = ParseJson(r.body);
  EXPECT_EQ(Str(a, "id"), "sw22-i1-a9");
  EXPECT_EQ(Str(a, "recommendation"), "sw22-i1");
  EXPECT_EQ(Str(a, "body"), "CPS");
  EXPECT_EQ(Str(a, "unit"), "cps-sw-crown");
  EXPECT_EQ(Str(a, "due"), "2027-03-31");
  EXPECT_EQ(Str(a, "state"), "planned");
  EXPECT_EQ(Str(a, "planned"), "2026-11-01");
  EXPECT_EQ(Str(a.at("timeline").as_array().at(0), "note"), "agreed");
  // The same plan again writes nothing; a different one under the same id is a conflict.
  const int64_t before = Events();
  EXPECT_EQ(Post("/api/v1/recommendations/sw22-i1/actions",
                 R"({"id":"sw22-i1-a9","title":"Refresher training","unit":"cps-sw-crown",)"
                 R"("due":"2027-03-31","planned":"2026-11-01","note":"agreed"})",
                 kCrownLead)
                .status,
            200);
  EXPECT_TRUE(
      IsProblem(Post("/api/v1/recommendations/sw22-i1/actions",
                     R"({"id":"sw22-i1-a9","title":"Other","unit":"cps-sw-crown"})", kCrownLead),
                409, "a definition cannot be changed"));
  EXPECT_EQ(Events(), before);
}

// --- 7. Units.

TEST_F(ApiActionsTest, UnitsAreListedAndDefinedByWhoMayDefine) {
  const IdSet cps = {"cps-cw",      "cps-hq-ops",   "cps-sw", "cps-sw-crown",
                     "cps-sw-mags", "cps-sw-rasso", "cps-yh"};
  EXPECT_EQ(IdsOf("/api/v1/units?body=CPS"), cps);
  // A body's token sees its own body's units only (it used to list every body's).
  EXPECT_TRUE(IdsOf("/api/v1/units", kSfoLead).empty());
  EXPECT_EQ(IdsOf("/api/v1/units", kCpsLead), cps);
  EXPECT_TRUE(IsProblem(Get("/api/v1/units?body=CPS", kSfoLead), 403, "this token sees only SFO"));
  EXPECT_TRUE(IdsOf("/api/v1/units?body=SFO").empty());
  json::value units = ParseJson(Get("/api/v1/units?body=CPS").body);
  const json::value& sw = units.as_array().at(2);
  EXPECT_EQ(sw, json::parse(R"({"id":"cps-sw","body":"CPS","name":"CPS South West",)"
                            R"("kind":"area"})"));

  const std::string unit = R"({"id":"sfo-cases","body":"SFO","name":"SFO case teams"})";
  const int64_t before = Events();
  for (Who who : {kCpsLead, kSwLead, kSfoLead, kReader}) {
    EXPECT_TRUE(IsProblem(Post("/api/v1/units", unit, who), 403, "may not")) << kWhoNames[who];
  }
  EXPECT_EQ(Events(), before);
  Response made = Post("/api/v1/units", unit);
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(ParseJson(made.body), json::parse(R"({"id":"sfo-cases","body":"SFO",)"
                                              R"("name":"SFO case teams","kind":""})"));
  EXPECT_EQ(Post("/api/v1/units", unit).status, 200);
  EXPECT_EQ(IdsOf("/api/v1/units?body=SFO"), (IdSet{"sfo-cases"}));
  EXPECT_TRUE(IsProblem(Post("/api/v1/units", R"({"id":"u1","body":"XYZ","name":"U"})"), 422,
                        "no body 'XYZ'"));
  EXPECT_TRUE(IsProblem(Post("/api/v1/units", R"({"id":"sfo-cases","body":"SFO","name":"Other"})"),
                        409, "a definition cannot be changed"));
}

// --- 8. The progress report.

TEST_F(ApiActionsTest, TheProgressReportInJsonMarkdownAndCsv) {
  const std::string target = "/api/v1/reports/progress?body=CPS&as_of=2023-06-30";
  Response r = Get(target, kCpsLead);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json::value report = ParseJson(r.body);
  EXPECT_EQ(Str(report, "body"), "CPS");
  EXPECT_EQ(Str(report, "as_of"), "2023-06-30");
  int closed = 0, open = 0, overdue = 0;
  for (const auto& u : report.at("units").as_array()) {
    closed += static_cast<int>(u.at("closed").as_int64());
    open += static_cast<int>(u.at("open").as_int64());
    overdue += static_cast<int>(u.at("overdue").as_int64());
  }
  // At 2023-06-30: a1s of i1 and i2, i2-a2, i3-a1, i3-a2, i3-a4 are done; two are overdue.
  EXPECT_EQ(closed, 6);
  EXPECT_EQ(open, 7);
  EXPECT_EQ(overdue, 2);
  // Furthest behind first: the Crown Court unit has two overdue actions.
  EXPECT_EQ(Str(report.at("units").as_array().at(0), "unit"), "cps-sw-crown");
  bool found = false;
  for (const auto& rec : report.at("recommendations").as_array()) {
    if (Str(rec, "id") != "sw22-i1") continue;
    found = true;
    EXPECT_EQ(rec.at("all").at("total").as_int64(), 4);
  }
  EXPECT_TRUE(found);
  Response md = Get(target + "&format=md", kCpsLead);
  EXPECT_EQ(md.status, 200);
  EXPECT_EQ(md.content_type, "text/markdown; charset=utf-8");
  EXPECT_NE(md.body.find("CPS South West"), std::string::npos) << md.body;
  Response csv = Get(target + "&format=csv");
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_NE(csv.body.find("cps-sw-crown"), std::string::npos) << csv.body;
  // A unit's lead: its own unit's rows only, whatever the format, as it sees only its actions.
  json::value own = ParseJson(Get(target, kSwLead).body);
  ASSERT_EQ(own.at("units").as_array().size(), 1u) << own;
  EXPECT_EQ(Str(own.at("units").as_array().at(0), "unit"), "cps-sw");
  for (const auto& rec : own.at("recommendations").as_array()) {
    for (const auto& u : rec.at("units").as_array()) EXPECT_EQ(Str(u, "unit"), "cps-sw") << rec;
    if (Str(rec, "id") == "sw22-i1") EXPECT_EQ(rec.at("all").at("total").as_int64(), 2) << rec;
  }
  for (const char* format : {"csv", "md", "html"}) {
    Response file = Get(target + "&format=" + format, kSwLead);
    EXPECT_EQ(file.status, 200) << format;
    EXPECT_EQ(file.body.find("cps-sw-crown"), std::string::npos) << format << ": " << file.body;
    EXPECT_EQ(file.body.find("CPS South West Crown Court"), std::string::npos) << format;
  }
  EXPECT_TRUE(IsProblem(Get("/api/v1/reports/progress?body=CPS", kSfoLead), 403,
                        "this token sees only SFO"));
  EXPECT_EQ(Get("/api/v1/reports/progress?body=SFO", kSfoLead).status, 200);
}

// --- 9. Over a real socket: `rectrack serve` on 127.0.0.1 plans and closes an action.

// Sends one request on a fresh connection and returns (status, body).
std::pair<int, std::string> HttpRequest(int port, const std::string& method,
                                        const std::string& target, const std::string& token,
                                        const std::string& body = "") {
  test_http::Reply reply = test_http::RequestOnce(port, method, target, token, body);
  return {reply.status, std::move(reply.body)};
}

TEST_F(ApiActionsTest, OverARealSocket) {
  // The server is another process over the same database; our tokens are in it.
  api_.reset();
  host_.reset();
  ServeProcess server({"--db", db_path_, "--clock", "2026-11-22"});
  const int port = server.port();
  if (port > 0) {
    auto planned =
        HttpRequest(port, "POST", "/api/v1/recommendations/sw22-i1/actions", secrets_[kSwLead],
                    R"({"id":"sock-a1","title":"Over the wire","unit":"cps-sw-crown"})");
    EXPECT_EQ(planned.first, 403) << planned.second;  // not its unit
    // Without a unit, a unit lead's action is its unit's.
    planned = HttpRequest(port, "POST", "/api/v1/recommendations/sw22-i1/actions",
                          secrets_[kSwLead], R"({"id":"sock-a1","title":"Over the wire"})");
    EXPECT_EQ(planned.first, 201) << planned.second;
    EXPECT_NE(planned.second.find("\"unit\":\"cps-sw\""), std::string::npos) << planned.second;
    auto closed = HttpRequest(port, "POST", "/api/v1/actions/sock-a1/events", secrets_[kSwLead],
                              R"({"do":"close"})");
    EXPECT_EQ(closed.first, 201) << closed.second;
    auto read = HttpRequest(port, "GET", "/api/v1/actions/sock-a1", secrets_[kReader]);
    EXPECT_EQ(read.first, 200) << read.second;
    EXPECT_NE(read.second.find("\"state\":\"done\""), std::string::npos) << read.second;
    auto units = HttpRequest(port, "GET", "/api/v1/units?body=CPS", secrets_[kReader]);
    EXPECT_EQ(units.first, 200);
  }
  EXPECT_EQ(server.Stop(), 0);
  ASSERT_GT(port, 0) << "server did not start: " << server.first_line();
}

// A server keeping histories out of memory (the default) whose item index lost an action's rows
// behind its back: what needs that history answers 500 naming the action and `rectrack
// rebuild`, rather than leave the action out of a list or a recommendation's page; what needs
// only heads still answers.
TEST_F(ApiActionsTest, AServerSaysWhichHistoryItCannotReadRatherThanLeaveItOut) {
  api_.reset();
  host_.reset();
  const std::string rectrack = std::string(RECTRACK_BINARY) + " --db " + db_path_;
  ASSERT_EQ(std::system((rectrack + " rebuild > /dev/null").c_str()), 0);
  // sw22-i1-a3: planned 2022-09-15, started 2023-01-09. Its rows but the first taken out.
  ASSERT_TRUE(DamageHistoryOf(db_path_, "sw22-i1-a3").ok());
  // Read without signing in (public_read), so that the web workspace's page can be asked too.
  ServeProcess server({"--db", db_path_, "--clock", "2026-11-22"}, {"RECTRACK_PUBLIC_READ=true"});
  const int port = server.port();
  ASSERT_GT(port, 0) << "server did not start: " << server.first_line();
  auto names_it = [](const std::pair<int, std::string>& answer) {
    return answer.first == 500 && answer.second.find("'sw22-i1-a3'") != std::string::npos &&
           answer.second.find("rectrack rebuild") != std::string::npos;
  };
  // The server answers while its alerts' first pass and first raise still hold the histories
  // its start read: wait until they are let go, and so read back from the damaged index.
  ASSERT_NO_FATAL_FAILURE(server_test::WaitUntilHistoriesAreLetGo(port, secrets_[kReader]));
  // As at a day before its start: its history is needed.
  auto actions = HttpRequest(port, "GET", "/api/v1/actions?as_of=2022-12-01", secrets_[kReader]);
  EXPECT_TRUE(names_it(actions)) << actions.first << " " << actions.second;
  auto page = HttpRequest(port, "GET", "/api/v1/recommendations/sw22-i1?as_of=2022-12-01",
                          secrets_[kReader]);
  EXPECT_TRUE(names_it(page)) << page.first << " " << page.second;
  // A person sees the workspace's error page saying which item and what to do, not a page
  // without the action nor "Page not found".
  auto web = HttpRequest(port, "GET", "/recommendations/sw22-i1?as_at=2022-12-01", "");
  EXPECT_EQ(web.first, 500) << web.second.substr(0, 2000);
  EXPECT_NE(web.second.find("Sorry, there is a problem with the service"), std::string::npos);
  EXPECT_NE(web.second.find("sw22-i1-a3&apos;"), std::string::npos) << "escaped, and named";
  EXPECT_NE(web.second.find("rectrack rebuild"), std::string::npos);
  // Today: heads only.
  auto today = HttpRequest(port, "GET", "/api/v1/actions", secrets_[kReader]);
  EXPECT_EQ(today.first, 200) << today.second;
  EXPECT_NE(today.second.find("\"sw22-i1-a3\""), std::string::npos);
  EXPECT_EQ(server.Stop(), 0);
  // `rectrack rebuild` puts the rows back.
  ASSERT_EQ(std::system((rectrack + " rebuild > /dev/null").c_str()), 0);
  ServeProcess again({"--db", db_path_, "--clock", "2026-11-22"}, {});
  ASSERT_GT(again.port(), 0) << again.first_line();
  actions = HttpRequest(again.port(), "GET", "/api/v1/actions?as_of=2022-12-01", secrets_[kReader]);
  EXPECT_EQ(actions.first, 200) << actions.second;
  EXPECT_NE(actions.second.find("\"sw22-i1-a3\""), std::string::npos);
  EXPECT_EQ(again.Stop(), 0);
}

TEST_F(ApiActionsTest, AServerKeepingHistoriesOutAnswersAndWritesAsOneHoldingThem) {
  api_.reset();
  host_.reset();
  // The item index and heads brought up to the log, so that every history can be let go.
  ASSERT_EQ(
      std::system(
          (std::string(RECTRACK_BINARY) + " --db " + db_path_ + " rebuild > /dev/null").c_str()),
      0);
  // What a server says of a recommendation and an action with their timelines, and after a
  // write to each; and how many histories it read back.
  auto answers = [&](const std::vector<std::string>& settings, int64_t* read_back) {
    ServeProcess server({"--db", db_path_, "--clock", "2026-11-22"}, settings);
    std::string said;
    const int port = server.port();
    if (port > 0) {
      server_test::WaitUntilHistoriesAreLetGo(port, secrets_[kReader]);
      for (const char* path : {"/api/v1/recommendations/sw22-i1", "/api/v1/actions/sw22-i1-a1"}) {
        said += HttpRequest(port, "GET", path, secrets_[kReader]).second + "\n";
      }
      said += std::to_string(HttpRequest(port, "POST", "/api/v1/recommendations/sw22-i1/events",
                                         secrets_[kCpsLead], R"({"do":"update","note":"seen"})")
                                 .first) +
              "\n";
      said += HttpRequest(port, "GET", "/api/v1/recommendations/sw22-i1", secrets_[kReader]).second;
      const std::string metrics = HttpRequest(port, "GET", "/metrics", secrets_[kReader]).second;
      const std::string name = "\nrectrack_histories_read_back_total ";
      const size_t at = metrics.find(name);
      *read_back = at == std::string::npos ? -1 : std::atoll(metrics.c_str() + at + name.size());
    }
    EXPECT_EQ(server.Stop(), 0);
    EXPECT_GT(port, 0) << "server did not start: " << server.first_line();
    return said;
  };
  // The second server starts from the same file (and its write-ahead log) as the first.
  const std::string copy = db_path_ + ".copy";
  for (const char* part : {"", "-wal"}) {
    if (fs::exists(db_path_ + part)) fs::copy_file(db_path_ + part, copy + part);
  }
  int64_t out_read = 0, held_read = 0;
  const std::string out = answers({"RECTRACK_HISTORY_CACHE_MB=1"}, &out_read);
  fs::remove(db_path_);
  fs::remove(db_path_ + "-wal");
  fs::remove(db_path_ + "-shm");
  for (const char* part : {"", "-wal"}) {
    if (fs::exists(copy + part)) fs::copy_file(copy + part, db_path_ + part);
  }
  const std::string held = answers({"RECTRACK_HISTORY_CACHE_MB=0"}, &held_read);
  EXPECT_NE(out.find("\"timeline\""), std::string::npos) << out;
  EXPECT_NE(out.find("\n201\n"), std::string::npos) << out;
  EXPECT_EQ(out, held);
  EXPECT_GT(out_read, 0);  // the timelines were read back, not held
  EXPECT_EQ(held_read, 0);
}

}  // namespace
}  // namespace rectrack::http
