// The domestic-abuse example of domain.md end to end through the `rectrack` binary: import the
// demo, then check both Annex A tables for the CPS, as at 31 March 2025 and at other dates.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>

#include "tests/test_support.h"

namespace {

using rectrack::CliRun;
using rectrack::Rectrack;
namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kSource = RECTRACK_SOURCE_DIR;
const std::string kRenderedReopenNote =
    "This was closed by the CPS but reopened following an assessment of 'not achieved' in the "
    "domestic abuse follow-up report published in March 2025";

class AnnexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("annex_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = "--db " + (dir_ / "rectrack.db").string() + " ";
    CliRun imported = Rectrack(db_ + "import " + kSource + "/demo/domestic-abuse.yaml");
    ASSERT_EQ(imported.status, 0) << imported.out;
  }
  void TearDown() override { fs::remove_all(dir_); }

  json::object Annex(const std::string& as_of, const std::string& body = "CPS") {
    CliRun run =
        Rectrack(db_ + "report annex --body " + body + " --as-of " + as_of + " --format json");
    EXPECT_EQ(run.status, 0) << run.out;
    json::error_code ec;
    json::value v = json::parse(run.out, ec);
    EXPECT_FALSE(ec) << run.out;
    return v.is_object() ? v.get_object() : json::object{};
  }

  // id -> the row object, for one table.
  static std::map<std::string, json::object> Rows(const json::object& annex, const char* table) {
    std::map<std::string, json::object> rows;
    for (const auto& row : annex.at(table).as_array()) {
      rows[std::string(row.at("id").as_string())] = row.as_object();
    }
    return rows;
  }

  static std::string S(const json::object& row, const char* key) {
    return std::string(row.at(key).as_string());
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(AnnexTest, ReproducesTheDomesticAbuseExampleAsAt31March2025) {
  json::object annex = Annex("2025-03-31");
  EXPECT_EQ(S(annex, "body"), "CPS");
  EXPECT_EQ(S(annex, "as_of"), "2025-03-31");
  EXPECT_EQ(S(annex, "financial_year"), "2024-25");

  // Open: R2 (reopened, with its note), New R1 and New R2 (no note).
  auto open = Rows(annex, "open");
  ASSERT_EQ(open.size(), 3u);
  ASSERT_TRUE(open.count("da23-r2") && open.count("da25-n1") && open.count("da25-n2"));
  EXPECT_EQ(S(open["da23-r2"], "note"), kRenderedReopenNote);
  EXPECT_EQ(S(open["da23-r2"], "published"), "Mar-23");
  EXPECT_EQ(S(open["da23-r2"], "inspection"),
            "The service from the Crown Prosecution Service (CPS) to victims of domestic abuse");
  EXPECT_EQ(S(open["da25-n1"], "note"), "");
  EXPECT_EQ(S(open["da25-n1"], "published"), "Mar-25");
  EXPECT_EQ(S(open["da25-n2"], "note"), "");

  // Closed by the CPS in 2024-25: R1, R3 (Q4, verified: no note), R2 (Q2, reopened), R4 and R5
  // (Q4, superseded by the new recommendations). R6 was closed before the year: absent.
  auto closed = Rows(annex, "closed");
  ASSERT_EQ(closed.size(), 5u);
  EXPECT_FALSE(closed.count("da23-r6"));
  EXPECT_EQ(S(closed["da23-r1"], "quarter"), "Q4 24/25");
  EXPECT_EQ(S(closed["da23-r1"], "note"), "");
  EXPECT_EQ(S(closed["da23-r2"], "quarter"), "Q2 24/25");
  EXPECT_EQ(S(closed["da23-r2"], "note"), kRenderedReopenNote);
  EXPECT_EQ(S(closed["da23-r3"], "quarter"), "Q4 24/25");
  EXPECT_EQ(S(closed["da23-r3"], "note"), "");
  EXPECT_EQ(S(closed["da23-r4"], "quarter"), "Q4 24/25");
  EXPECT_EQ(S(closed["da23-r4"], "note"),
            "This remains closed but superseded by new recommendation da25-n1");
  EXPECT_EQ(S(closed["da23-r5"], "quarter"), "Q4 24/25");
  EXPECT_EQ(S(closed["da23-r5"], "note"),
            "This remains closed but superseded by new recommendation da25-n2");
}

TEST_F(AnnexTest, MidYearTheReopeningHasNotHappenedYet) {
  json::object annex = Annex("2024-09-30");
  EXPECT_EQ(S(annex, "financial_year"), "2024-25");
  auto open = Rows(annex, "open");
  EXPECT_EQ(open.size(), 4u);  // R1, R3, R4, R5
  EXPECT_FALSE(open.count("da23-r2"));
  auto closed = Rows(annex, "closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(S(closed["da23-r2"], "quarter"), "Q2 24/25");
  EXPECT_EQ(S(closed["da23-r2"], "note"), "");
}

TEST_F(AnnexTest, ThePreviousFinancialYearListsR6AsClosed) {
  json::object annex = Annex("2024-03-31");
  EXPECT_EQ(S(annex, "financial_year"), "2023-24");
  EXPECT_EQ(Rows(annex, "open").size(), 5u);
  auto closed = Rows(annex, "closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(S(closed["da23-r6"], "quarter"), "Q2 23/24");
}

TEST_F(AnnexTest, AJointRecommendationAppearsForEachOwner) {
  CliRun more = Rectrack(db_ + "--clock 2025-09-30 import " + kSource + "/demo/more-bodies.yaml");
  ASSERT_EQ(more.status, 0) << more.out;
  CliRun closed = Rectrack(db_ + "record cfq24-r1 close --by NPCC --effective 2025-01-15");
  ASSERT_EQ(closed.status, 0) << closed.out;
  auto npcc = Rows(Annex("2025-03-31", "NPCC"), "closed");
  auto cps = Rows(Annex("2025-03-31", "CPS"), "closed");
  ASSERT_TRUE(npcc.count("cfq24-r1"));
  ASSERT_TRUE(cps.count("cfq24-r1"));
  EXPECT_EQ(S(npcc["cfq24-r1"], "note"), "");
  EXPECT_EQ(S(cps["cfq24-r1"], "note"), "Closed by the NPCC");
  EXPECT_EQ(S(cps["cfq24-r1"], "quarter"), "Q4 24/25");
}

TEST_F(AnnexTest, EveryFormatCarriesTheSameRows) {
  CliRun md = Rectrack(db_ + "report annex --body CPS --as-of 2025-03-31");
  ASSERT_EQ(md.status, 0) << md.out;
  EXPECT_NE(md.out.find("## Table of open recommendations as at 31 March 2025"), std::string::npos);
  EXPECT_NE(md.out.find("## 5 recommendations closed by the CPS in 2024-25"), std::string::npos);
  EXPECT_NE(md.out.find(kRenderedReopenNote), std::string::npos);
  CliRun csv = Rectrack(db_ + "report annex --body CPS --as-of 2025-03-31 --format csv");
  ASSERT_EQ(csv.status, 0) << csv.out;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 1 + 3 + 5) << csv.out;
  EXPECT_NE(csv.out.find("closed,da23-r2,"), std::string::npos);
  CliRun html = Rectrack(db_ + "report annex --body CPS --as-of 2025-03-31 --format html");
  ASSERT_EQ(html.status, 0) << html.out;
  EXPECT_NE(html.out.find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_NE(html.out.find("&#39;not achieved&#39;"), std::string::npos) << html.out;
}

TEST_F(AnnexTest, ListAsJsonHasTheDocumentedShape) {
  CliRun run = Rectrack(db_ + "list --as-of 2025-03-31 --open --format json");
  ASSERT_EQ(run.status, 0) << run.out;
  json::array list = json::parse(run.out).as_array();
  ASSERT_EQ(list.size(), 3u);
  const json::object& r2 = list[0].as_object();
  EXPECT_EQ(r2.at("id").as_string(), "da23-r2");
  EXPECT_EQ(r2.at("inspection").as_string(), "da23");
  EXPECT_EQ(r2.at("owners").as_array().at(0).as_string(), "CPS");
  EXPECT_EQ(r2.at("state").as_string(), "reopened");
  EXPECT_TRUE(r2.at("open").as_bool());
  EXPECT_TRUE(r2.at("overdue").as_bool());
  const json::object& m = r2.at("milestones").as_array().at(0).as_object();
  EXPECT_EQ(m.at("due").as_string(), "2023-07-31");
  EXPECT_FALSE(m.at("met").as_bool());
  EXPECT_TRUE(m.contains("label"));
}

TEST_F(AnnexTest, ErrorsSayWhatAndWhereAndExitNonZero) {
  CliRun unknown_body = Rectrack(db_ + "report annex --body XYZ --as-of 2025-03-31");
  EXPECT_EQ(unknown_body.status, 1);
  // Ids are case-sensitive: the error says which there are.
  EXPECT_NE(unknown_body.out.find("no body 'XYZ' (the bodies are CPS"), std::string::npos)
      << unknown_body.out;
  CliRun bad_state = Rectrack(db_ + "list --state opened");
  EXPECT_NE(bad_state.out.find("unknown state 'opened' (the states are issued, closed,"),
            std::string::npos)
      << bad_state.out;
  CliRun bad_date = Rectrack(db_ + "list --as-of 2025-02-30");
  EXPECT_EQ(bad_date.status, 2);  // a usage error: caught before the database is opened
  EXPECT_NE(bad_date.out.find("--as-of must be a real date written YYYY-MM-DD, not '2025-02-30'"),
            std::string::npos);
  // Under it, the usage of that command alone, not the whole page, which would scroll it away.
  EXPECT_NE(bad_date.out.find("usage:\n  list "), std::string::npos) << bad_date.out;
  EXPECT_EQ(bad_date.out.find("  serve "), std::string::npos) << bad_date.out;
  CliRun refused = Rectrack(db_ + "record da23-r4 close --by CPS --effective 2025-04-01");
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.out.find("it is 'superseded'"), std::string::npos) << refused.out;
  CliRun usage = Rectrack(db_ + "frobnicate");
  EXPECT_EQ(usage.status, 2);
  CliRun bad_option = Rectrack(db_ + "list --colour");
  EXPECT_EQ(bad_option.status, 2);
  EXPECT_NE(bad_option.out.find("unknown option --colour"), std::string::npos);
}

TEST_F(AnnexTest, UsageErrorsAndReadsNeverCreateADatabase) {
  const fs::path elsewhere = dir_ / "empty";
  fs::create_directories(elsewhere);
  const std::string missing = (elsewhere / "typo.db").string();
  for (const char* args : {"list extra", "show", "report annex", "list --format bogus",
                           "list --open --closed", "record x update --field met", "import"}) {
    CliRun run = Rectrack("--db " + missing + " " + args);
    EXPECT_EQ(run.status, 2) << args << ": " << run.out;
  }
  for (const char* args : {"verify", "list", "show da23-r1", "report annex --body CPS"}) {
    CliRun run = Rectrack("--db " + missing + " " + args);
    EXPECT_EQ(run.status, 1) << args << ": " << run.out;
    EXPECT_NE(run.out.find("no database at"), std::string::npos) << run.out;
  }
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_EQ(Rectrack("--db :memory: list").status, 2);
  EXPECT_EQ(Rectrack(db_ + "list --body NOPE").status, 1);
}

TEST_F(AnnexTest, VerifyNamesTheEditedEventEvenWhenTheEditBreaksReplay) {
  RECTRACK_SKIP_IF_MISSING(
      std::system("command -v sqlite3 >/dev/null") != 0 ? "the sqlite3 shell is missing" : "");
  const std::string db_file = (dir_ / "rectrack.db").string();
  // Event 5 defines da23-r2; giving it to another owner breaks the CPS's later close, too.
  std::string edit = "sqlite3 " + db_file +
                     " \"DROP TRIGGER events_no_update; UPDATE events SET "
                     "payload=replace(payload,'CPS','SFO') WHERE seq=5\"";
  ASSERT_EQ(std::system(edit.c_str()), 0);
  CliRun bad = Rectrack(db_ + "verify");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("event 5 ("), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("does not match its hash"), std::string::npos) << bad.out;
}

TEST_F(AnnexTest, VerifyCatchesARowEditedWithTheSqliteShell) {
  CliRun ok = Rectrack(db_ + "verify");
  ASSERT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("OK: 25 events"), std::string::npos) << ok.out;
  const std::string db_file = (dir_ / "rectrack.db").string();
  RECTRACK_SKIP_IF_MISSING(
      std::system("command -v sqlite3 >/dev/null") != 0 ? "the sqlite3 shell is missing" : "");
  std::string edit = "sqlite3 " + db_file +
                     " \"DROP TRIGGER events_no_update; UPDATE events SET note='Closed' "
                     "WHERE seq=15\"";
  ASSERT_EQ(std::system(edit.c_str()), 0);
  CliRun bad = Rectrack(db_ + "verify");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("event 15 (recommendation"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("does not match its hash"), std::string::npos) << bad.out;
}

}  // namespace
