// The HTTP API as a function (Api::Handle, no sockets) for reads: list filters and pagination,
// ETags and the GET cache, the annex report, health and public reads, and edge cases found in
// review. The fixture is tests/api_fixture.h.
#include "http/api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <future>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "tests/api_fixture.h"
#include "tests/api_support.h"

namespace rectrack::http {
namespace {

// --- 1. Filters and pagination.

TEST_F(ApiTest, ListFiltersByBodyStateOpennessOverdueDateAndText) {
  const std::string at = "/api/v1/recommendations?as_of=2025-03-31";
  EXPECT_EQ(Ids(at).size(), kAllRecs);
  EXPECT_EQ(AsSet(Ids(at + "&body=SFO")), (IdSet{"sfo24-r1", "sfo24-r2"}));
  EXPECT_EQ(AsSet(Ids(at + "&body=NPCC")), (IdSet{"cfq24-r1"}));
  EXPECT_EQ(AsSet(Ids(at + "&state=superseded")), (IdSet{"da23-r4", "da23-r5"}));
  EXPECT_EQ(AsSet(Ids(at + "&state=verified")), (IdSet{"da23-r1", "da23-r3", "da23-r6"}));
  EXPECT_EQ(AsSet(Ids(at + "&open=true")), (IdSet{"da23-r2", "da25-n1", "da25-n2", "iqa25-r1",
                                                  "cfq24-r1", "sfo24-r1", "sfo24-r2"}));
  EXPECT_EQ(AsSet(Ids(at + "&open=false")),
            (IdSet{"da23-r1", "da23-r3", "da23-r4", "da23-r5", "da23-r6"}));
  EXPECT_EQ(AsSet(Ids(at + "&overdue=true")), (IdSet{"da23-r2", "cfq24-r1"}));
  EXPECT_EQ(AsSet(Ids(at + "&open=true&body=CPS")),
            (IdSet{"da23-r2", "da25-n1", "da25-n2", "iqa25-r1", "cfq24-r1"}));
  EXPECT_EQ(AsSet(Ids(at + "&q=TRAUMA")), (IdSet{"da23-r5", "da25-n2"}));
  EXPECT_EQ(AsSet(Ids(at + "&q=case%20progression")), (IdSet{"sfo24-r1"}));
  EXPECT_EQ(AsSet(Ids(at + "&q=iqa25")), (IdSet{"iqa25-r1"}));  // matches the id too
  EXPECT_EQ(AsSet(Ids("/api/v1/recommendations?as_of=2024-01-01")),
            (IdSet{"da23-r1", "da23-r2", "da23-r3", "da23-r4", "da23-r5", "da23-r6"}));
  EXPECT_TRUE(Ids("/api/v1/recommendations?as_of=2020-01-01").empty());
}

TEST_F(ApiTest, CursorPaginationVisitsEveryItemOnce) {
  for (const auto& [filter, who, expected] :
       {std::tuple<std::string, Who, size_t>{"as_of=2026-11-22", kReader, kAllRecs},
        {"body=CPS", kCpsLead, 10u},
        {"open=true&as_of=2025-03-31", kInspectorate, 7u},
        // A whole number of pages: the last full one says no page follows.
        {"as_of=2024-01-01", kReader, 6u},
        // Filters the engine's list does not know (text, not overdue): pages still follow.
        {"q=r1", kReader, 4u},
        {"overdue=false", kInspectorate, 6u}}) {
    SCOPED_TRACE(filter);
    const std::vector<std::string> unpaged = Ids("/api/v1/recommendations?" + filter, who);
    ASSERT_EQ(unpaged.size(), expected);
    std::vector<std::string> paged;
    std::string cursor;
    int pages = 0;
    for (; pages < 20; ++pages) {
      Response r = Get("/api/v1/recommendations?" + filter + "&limit=3" +
                           (cursor.empty() ? "" : "&cursor=" + cursor),
                       who);
      ASSERT_EQ(r.status, 200) << r.body;
      json::value page = ParseJson(r.body);
      const json::array& items = page.at("items").as_array();
      EXPECT_LE(items.size(), 3u);
      for (const auto& item : items) paged.push_back(Str(item, "id"));
      if (page.at("next_cursor").is_null()) break;
      cursor = std::string(page.at("next_cursor").as_string());
      EXPECT_EQ(cursor, paged.back());
    }
    EXPECT_EQ(pages + 1, static_cast<int>((expected + 2) / 3));
    EXPECT_EQ(AsSet(paged).size(), paged.size()) << "a page repeated an item";
    EXPECT_EQ(paged, unpaged);
  }
}

TEST_F(ApiTest, ARecommendationAsOfADateShowsItsStateMilestonesLinksAndTimelineThen) {
  const std::string rec = "/api/v1/recommendations/da23-r4";
  const json::value before_close = ParseJson(Get(rec + "?as_of=2024-12-31").body);
  EXPECT_EQ(Str(before_close, "state"), "issued");
  EXPECT_TRUE(before_close.at("open").as_bool());
  EXPECT_TRUE(before_close.at("overdue").as_bool());
  const json::value& milestone = before_close.at("milestones").at(0);
  EXPECT_EQ(Str(milestone, "due"), "2023-12-31");  // "By December 2023" in the text
  EXPECT_TRUE(milestone.at("overdue").as_bool());
  EXPECT_EQ(before_close.at("timeline").as_array().size(), 1u);
  EXPECT_TRUE(before_close.at("superseded_by").as_array().empty());

  const json::value closed = ParseJson(Get(rec + "?as_of=2025-02-28").body);
  EXPECT_EQ(Str(closed, "state"), "closed");
  EXPECT_FALSE(closed.at("open").as_bool());
  EXPECT_FALSE(closed.at("milestones").at(0).at("overdue").as_bool());
  EXPECT_EQ(Str(closed.at("timeline").at(1), "do"), "close");
  EXPECT_EQ(closed.at("timeline").as_array().size(), 2u);

  const json::value today = ParseJson(Get(rec).body);
  EXPECT_EQ(Str(today, "state"), "superseded");
  EXPECT_EQ(Str(today, "as_of"), "2026-11-22");
  EXPECT_EQ(today.at("superseded_by"), json::parse(R"(["da25-n1"])"));
  const json::value& assessed = today.at("timeline").at(2);
  EXPECT_EQ(Str(assessed, "from"), "closed");
  EXPECT_EQ(Str(assessed, "to"), "superseded");
  EXPECT_EQ(assessed.at("fields").at("outcome"), json::parse(R"(["not_achieved"])"));
  EXPECT_EQ(ParseJson(Get("/api/v1/recommendations/da25-n1").body).at("supersedes"),
            json::parse(R"(["da23-r4"])"));
}

TEST_F(ApiTest, BodiesAndInspectionsListWhatWasDefined) {
  const json::value bodies = ParseJson(Get("/api/v1/bodies").body);
  bool cps = false;
  for (const json::value& body : bodies.as_array()) {
    if (Str(body, "id") == "CPS") {
      cps = true;
      EXPECT_EQ(Str(body, "name"), "Crown Prosecution Service");
    }
  }
  EXPECT_TRUE(cps);
  const json::value inspections = ParseJson(Get("/api/v1/inspections").body);
  bool follow_up = false;
  for (const json::value& inspection : inspections.as_array()) {
    if (Str(inspection, "id") == "da25") {
      follow_up = true;
      EXPECT_EQ(Str(inspection, "published"), "2025-03-06");
      EXPECT_EQ(Str(inspection, "kind"), "follow_up");
      EXPECT_EQ(Str(inspection, "follow_up_of"), "da23");
    }
  }
  EXPECT_TRUE(follow_up);
}

// --- 2. ETags and the GET cache.

TEST_F(ApiTest, AnUnchangedRecommendationIs304AndAWriteChangesItsETag) {
  const std::string rec = "/api/v1/recommendations/da25-n1";
  Response first = Get(rec, kCpsLead);
  ASSERT_EQ(first.status, 200);
  const std::string tag = HeaderOf(first, "ETag");
  EXPECT_TRUE(std::regex_match(tag, std::regex("\"[0-9]+-2026-11-22\""))) << tag;
  Response again = Get(rec, kCpsLead, {{"if-none-match", tag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(HeaderOf(again, "ETag"), tag);
  EXPECT_NE(HeaderOf(Get(rec + "?as_of=2025-06-30", kCpsLead), "ETag"), tag);
  const size_t events_before = ParseJson(first.body).at("timeline").as_array().size();
  ASSERT_EQ(Post(rec + "/events", R"({"do":"update","note":"n"})", kCpsLead).status, 201);
  Response after = Get(rec, kCpsLead, {{"if-none-match", tag}});
  EXPECT_EQ(after.status, 200);
  EXPECT_NE(HeaderOf(after, "ETag"), tag);
  EXPECT_EQ(ParseJson(after.body).at("timeline").as_array().size(), events_before + 1);
  EXPECT_EQ(Get(rec, kCpsLead, {{"if-none-match", HeaderOf(after, "ETag")}}).status, 304);
}

// The Atom feed is written after the engine's lock is released (Response::render), then cached
// like any answer: the same ETag until a write, 304 to it, and the write's entry on top after.
TEST_F(ApiTest, TheAtomFeedRenderedOutsideTheLockIsCachedAndFollowsWrites) {
  Response first = Get("/feed.atom?body=CPS", kCpsLead);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.content_type, "application/atom+xml; charset=utf-8");
  EXPECT_NE(first.body.find("<feed xmlns=\"http://www.w3.org/2005/Atom\">"), std::string::npos);
  EXPECT_FALSE(first.render) << "rendered before it left the Api";
  const std::string tag = HeaderOf(first, "ETag");
  ASSERT_FALSE(tag.empty());
  EXPECT_EQ(Get("/feed.atom?body=CPS", kCpsLead, {{"if-none-match", tag}}).status, 304);
  ASSERT_EQ(Post("/api/v1/recommendations/da25-n1/events", R"({"do":"update","note":"feed me"})",
                 kCpsLead)
                .status,
            201);
  Response after = Get("/feed.atom?body=CPS", kCpsLead, {{"if-none-match", tag}});
  ASSERT_EQ(after.status, 200);
  EXPECT_NE(HeaderOf(after, "ETag"), tag);
  const size_t entry = after.body.find("<entry>");
  ASSERT_NE(entry, std::string::npos);
  EXPECT_LT(after.body.find("da25-n1: update", entry), after.body.find("</entry>", entry))
      << after.body.substr(entry, 600);
}

TEST_F(ApiTest, ACachedAnswerIsSharedWithEachRequestNotCopied) {
  Request list = Make("GET", "/api/v1/recommendations?open=true");
  list.headers["authorization"] = "Bearer " + secrets_[kReader];
  auto answer = [&] {
    std::promise<Response> answered;
    api_->HandleAsync(list, [&](Response r) { answered.set_value(std::move(r)); });
    return answered.get_future().get();
  };
  const Response first = answer();
  const Response second = answer();
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(first.shared_body && second.shared_body);
  EXPECT_TRUE(first.body.empty());
  EXPECT_EQ(first.shared_body.get(), second.shared_body.get()) << "one copy of the bytes";
  // Api::Handle hands back a body of its own, the same bytes.
  const Response handled = api_->Handle(list);
  EXPECT_FALSE(handled.shared_body);
  EXPECT_EQ(handled.body, *first.shared_body);
  // A write makes a new answer; the old one stays whole for whoever still sends it.
  const std::string before = *first.shared_body;
  ASSERT_EQ(
      Post("/api/v1/recommendations/da25-n1/events", R"({"do":"update","note":"n"})", kCpsLead)
          .status,
      201);
  const Response after = answer();
  EXPECT_NE(after.shared_body.get(), first.shared_body.get());
  EXPECT_EQ(*first.shared_body, before);
  // Answers that are not cached keep their own body: a 304, and an error.
  list.headers["if-none-match"] = HeaderOf(after, "ETag");
  const Response not_modified = answer();
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_FALSE(not_modified.shared_body);
  list.target = "/api/v1/recommendations?open=maybe";
  const Response refused = answer();
  EXPECT_EQ(refused.status, 400);
  EXPECT_FALSE(refused.shared_body);
  EXPECT_NE(refused.body.find("open"), std::string::npos) << refused.body;
}

TEST_F(ApiTest, ARequestThatTakesInAnotherProcesssCommitWakesTheListenersWhateverItsAnswer) {
  std::atomic<int> woken{0};
  const int listener = host_->Subscribe([&] { ++woken; });
  // later_api_ has an engine of its own on the same file: another process, as far as api_ knows.
  Request write = Make("POST", "/api/v1/recommendations/da25-n1/events",
                       R"({"do":"update","note":"n"})", kJson);
  write.headers["authorization"] = "Bearer " + secrets_[kCpsLead];
  ASSERT_EQ(later_api_->Handle(write).status, 201);
  EXPECT_EQ(woken, 0);
  EXPECT_EQ(Get("/api/v1/bodies", kNoToken).status, 401);  // refused, yet it took the commit in
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(Get("/api/v1/bodies", kNoToken).status, 401);
  EXPECT_EQ(woken, 1) << "nothing new the second time";
  host_->Unsubscribe(listener);
}

// --- 3. The annex report.

TEST_F(ApiTest, ListsComeAsCsvWholeAndSayWhatIsWrongWithTheirFormat) {
  Response csv = Get("/api/v1/recommendations?body=CPS&format=csv", kCpsLead);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8; header=present");
  EXPECT_EQ(csv.body.rfind("id,inspection,owners,state,open,overdue,milestones,text\n", 0), 0u);
  EXPECT_NE(csv.body.find("\nda23-r2,da23,CPS,"), std::string::npos) << csv.body;
  Response bom = Get("/api/v1/actions?format=csv&bom=true", kCpsLead);
  ASSERT_EQ(bom.status, 200) << bom.body;
  EXPECT_EQ(bom.body.rfind("\xEF\xBB\xBFid,recommendation,", 0), 0u) << bom.body;
  for (const auto& [target, detail] :
       {std::pair<std::string, std::string>{"/api/v1/recommendations?format=xml",
                                            "format must be json or csv, not 'xml'"},
        {"/api/v1/recommendations?bom=true", "bom goes only with format=csv"},
        {"/api/v1/recommendations?format=csv&bom=yes", "bom must be true or false"},
        {"/api/v1/recommendations?format=csv&limit=5", "format=csv is the whole list"},
        {"/api/v1/alerts?format=csv&after=3", "format=csv is the whole list"},
        {"/api/v1/actions?format=pdf", "format must be json or csv"}}) {
    Response r = Get(target, kCpsLead);
    EXPECT_TRUE(IsProblem(r, 400, detail)) << target << ": " << r.body;
  }
}

TEST_F(ApiTest, TheAnnexMatchesTheCliInEveryFormat) {
  const std::string target = "/api/v1/reports/annex?body=CPS&as_of=2025-03-31";
  const std::string cli = "--db " + db_path_ + " --clock 2026-11-22 report annex --body CPS " +
                          "--as-of 2025-03-31 --format ";
  Response r = Get(target, kCpsLead);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json::value annex = ParseJson(r.body);
  EXPECT_EQ(Str(annex, "body"), "CPS");
  EXPECT_EQ(Str(annex, "as_of"), "2025-03-31");
  EXPECT_EQ(Str(annex, "financial_year"), "2024-25");
  IdSet closed;
  for (const auto& row : annex.at("closed").as_array()) closed.insert(Str(row, "id"));
  EXPECT_EQ(closed, (IdSet{"da23-r1", "da23-r2", "da23-r3", "da23-r4", "da23-r5"}));
  for (const auto& row : annex.at("open").as_array())
    EXPECT_FALSE(row.as_object().contains("quarter"));
  EXPECT_EQ(annex, ParseJson(Cli(cli + "json")));
  for (const auto& [format, type] : {std::pair<std::string, std::string>{"csv", "text/csv"},
                                     {"md", "text/markdown"},
                                     {"html", "text/html"}}) {
    Response f = Get(target + "&format=" + format, kCpsLead);
    ASSERT_EQ(f.status, 200) << format;
    EXPECT_EQ(f.content_type, type + "; charset=utf-8");
    EXPECT_EQ(f.body, Cli(cli + format)) << format;
  }
}

// --- 4. Health and public reads.

TEST_F(ApiTest, HealthzNeedsNoTokenAndPublicReadOpensOnlyGets) {
  Response health = api_->Handle(Make("GET", "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(ParseJson(health.body), json::value({{"status", "ok"}}));
  EXPECT_TRUE(IsProblem(Get("/api/v1/recommendations", kNoToken), 401, "Bearer <token>"));

  Api open(host_.get(), ApiOptions{.public_read = true});
  Response list = open.Handle(Make("GET", "/api/v1/recommendations"));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(ParseJson(list.body).at("items").as_array().size(), kAllRecs);
  EXPECT_EQ(open.Handle(Make("GET", "/api/v1/reports/annex?body=SFO")).status, 200);
  // Metrics count every body's work and the service's traffic: not for the public.
  EXPECT_TRUE(IsProblem(open.Handle(Make("GET", "/metrics")), 401, "an unscoped token"));
  const int64_t before = Events();
  Response write = open.Handle(
      Make("POST", "/api/v1/recommendations/da25-n1/events", R"({"do":"update"})", kJson));
  EXPECT_TRUE(IsProblem(write, 401, "Bearer <token>"));
  EXPECT_EQ(HeaderOf(write, "WWW-Authenticate"), "Bearer realm=\"rectrack\"");
  EXPECT_EQ(Events(), before);
  // A bad token is still refused, not read as anonymous.
  EXPECT_TRUE(IsProblem(open.Handle(Make("GET", "/api/v1/bodies", "", "",
                                         {{"authorization", "Bearer " + secrets_[kRevoked]}})),
                        401, "unknown, revoked or expired token"));
}

// --- 5. Edge cases a review once found answered wrongly; each test states the right answer.

// A 404 for a recommendation the token may not see says nothing more, also when asked for a date
// before its issue ("not issued until 2025-03-06" would tell an SFO token that CPS's da25-n1
// exists, and when it was issued).
TEST_F(ApiTest, ANotFoundForAnUnseenRecommendationDoesNotRevealIt) {
  Response unseen = Get("/api/v1/recommendations/da25-n1?as_of=2025-01-01", kSfoLead);
  EXPECT_TRUE(IsProblem(unseen, 404, ""));
  EXPECT_EQ(unseen.body.find("2025-03-06"), std::string::npos) << unseen.body;
  EXPECT_TRUE(IsProblem(unseen, 404, "no recommendation 'da25-n1'"));
}

// overdue=false lists only what is not overdue, as open=false lists only what is closed.
TEST_F(ApiTest, OverdueFalseListsOnlyRecommendationsThatAreNotOverdue) {
  Response r = Get("/api/v1/recommendations?as_of=2025-03-31&overdue=false");
  ASSERT_EQ(r.status, 200);
  const json::value list = ParseJson(r.body);
  EXPECT_EQ(list.at("items").as_array().size(), kAllRecs - 2);
  for (const auto& item : list.at("items").as_array())
    EXPECT_FALSE(item.at("overdue").as_bool()) << Str(item, "id");
}

// RFC 9110 §15.5.6: a 405 response MUST carry an Allow header.
TEST_F(ApiTest, MethodNotAllowedNamesTheAllowedMethods) {
  Response r = Send(Make("PUT", "/api/v1/recommendations/da25-n1", "{}", kJson), kInspectorate);
  EXPECT_EQ(r.status, 405);
  EXPECT_FALSE(HeaderOf(r, "Allow").empty());
}

// RFC 9110 §9.1: servers MUST support HEAD wherever they support GET (the server drops the body).
TEST_F(ApiTest, HeadIsAnsweredLikeGet) {
  Response head = Send(Make("HEAD", "/api/v1/recommendations/da25-n1"), kReader);
  Response get = Get("/api/v1/recommendations/da25-n1", kReader);
  EXPECT_EQ(head.status, 200) << head.body;
  EXPECT_EQ(HeaderOf(head, "ETag"), HeaderOf(get, "ETag"));
}

// RFC 3986 allows an empty query: "/recommendations?" and a trailing '&' name no parameter.
TEST_F(ApiTest, AnEmptyQueryOrATrailingAmpersandNamesNoParameter) {
  EXPECT_EQ(Get("/api/v1/recommendations?").status, 200);
  EXPECT_EQ(Get("/api/v1/recommendations?open=true&").status, 200);
}

// RFC 9110 §11.1: the authentication scheme is a case-insensitive token.
TEST_F(ApiTest, TheAuthorizationSchemeIsCaseInsensitive) {
  Response r = api_->Handle(
      Make("GET", "/api/v1/bodies", "", "", {{"authorization", "bearer " + secrets_[kReader]}}));
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace rectrack::http
