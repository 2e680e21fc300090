#include "engine/render.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace json = boost::json;

Date D(const char* iso) { return *Date::Parse(iso); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// R2 of the domestic abuse example at 31 March 2025: closed by the CPS, then reopened.
RecommendationView ReopenedR2() {
  RecommendationView v;
  v.id = "da23-r2";
  v.def = {"da23", {"CPS"}, "By July 2023, the CPS to mark communications, \"STL\" flagged", {}};
  v.as_of = D("2025-03-31");
  v.issued = D("2023-03-01");
  v.state = "reopened";
  v.open = true;
  v.overdue = true;
  v.milestones = {{"implemented", D("2023-07-31"), D("2023-07-31"), false, std::nullopt, true},
                  {"embedded", D("2024-03-31"), D("2023-12-31"), true, D("2024-02-01"), false}};
  v.timeline = {{1,
                 D("2023-03-01"),
                 "2025-01-01T00:00:00Z",
                 "issue",
                 "inspectorate",
                 "import",
                 "inspectorate",
                 "",
                 "",
                 {},
                 "",
                 "issued"},
                {2,
                 D("2024-08-15"),
                 "2025-01-01T00:00:00Z",
                 "close",
                 "body",
                 "import",
                 "body_lead",
                 "CPS",
                 "Closed by the CPS",
                 {{"evidence", {"plan.pdf", "memo.pdf"}}},
                 "issued",
                 "closed"},
                {3,
                 D("2025-03-06"),
                 "2025-03-07T09:00:00Z",
                 "assess",
                 "inspectorate",
                 "import",
                 "inspectorate",
                 "",
                 "",
                 {{"outcome", {"not_achieved"}}, {"in", {"da25"}}},
                 "closed",
                 "reopened"}};
  return v;
}

RecommendationView SupersededR4() {
  RecommendationView v;
  v.id = "da23-r4";
  v.def = {"da23", {"CPS", "NPCC"}, "By December 2023, request victim information", {}};
  v.as_of = D("2025-03-31");
  v.issued = D("2023-03-01");
  v.state = "superseded";
  v.open = false;
  v.superseded_by = {"da25-n1"};
  return v;
}

AnnexReport Annex() {
  AnnexReport r;
  r.body = "CPS";
  r.body_name = "Crown Prosecution Service";
  r.as_of = D("2025-03-31");
  r.financial_year = "2024-25";
  r.open = {{"da23-r2", "Domestic abuse | victims", "Mar-23", "By July 2023,\nmark <STL>", "",
             "This was closed by the CPS but reopened"}};
  return r;
}

TEST(RenderTest, CsvFieldQuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  // What a spreadsheet would run as a formula is shown as text.
  EXPECT_EQ(CsvField("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(CsvField("+1"), "'+1");
  EXPECT_EQ(CsvField("-2"), "'-2");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("a=b"), "a=b");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
}

TEST(RenderTest, HtmlEscapeEscapesAllFive) {
  EXPECT_EQ(HtmlEscape("a & b < c > d \"e\" 'f'"),
            "a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

TEST(RenderTest, ListAsCsv) {
  const std::string csv = ListAsCsv({ReopenedR2(), SupersededR4()});
  EXPECT_EQ(csv.rfind("id,inspection,owners,state,open,overdue,milestones,text\n", 0), 0u);
  EXPECT_TRUE(Contains(csv,
                       "da23-r2,da23,CPS,reopened,true,true,"
                       "implemented:2023-07-31;embedded:2024-03-31:met,"
                       "\"By July 2023, the CPS to mark communications, \"\"STL\"\" flagged\"\n"))
      << csv;
  EXPECT_TRUE(Contains(csv, "da23-r4,da23,CPS;NPCC,superseded,false,false,,")) << csv;
}

TEST(RenderTest, ListAsTableAlignsColumns) {
  const std::string table = ListAsTable({ReopenedR2(), SupersededR4()});
  EXPECT_EQ(table,
            "ID       INSPECTION  OWNERS    STATE       OVERDUE  NEXT DUE\n"
            "da23-r2  da23        CPS       reopened    yes      2023-07-31\n"
            "da23-r4  da23        CPS,NPCC  superseded           -\n"
            "2 recommendations\n");
}

TEST(RenderTest, ListAsJsonHasTheContractKeys) {
  const json::value parsed = json::parse(ListAsJson({ReopenedR2(), SupersededR4()}));
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.as_array().size(), 2u);
  const json::object& r2 = parsed.as_array()[0].as_object();
  EXPECT_EQ(r2.at("id").as_string(), "da23-r2");
  EXPECT_EQ(r2.at("inspection").as_string(), "da23");
  EXPECT_EQ(r2.at("owners").as_array().at(0).as_string(), "CPS");
  EXPECT_EQ(r2.at("state").as_string(), "reopened");
  EXPECT_TRUE(r2.at("open").as_bool());
  EXPECT_TRUE(r2.at("overdue").as_bool());
  EXPECT_TRUE(r2.at("text").is_string());
  EXPECT_TRUE(r2.at("superseded_by").as_array().empty());
  EXPECT_TRUE(r2.at("supersedes").is_array());
  EXPECT_EQ(r2.at("as_of").as_string(), "2025-03-31");
  const json::object& m = r2.at("milestones").as_array().at(1).as_object();
  EXPECT_EQ(m.at("label").as_string(), "embedded");
  EXPECT_EQ(m.at("due").as_string(), "2024-03-31");
  EXPECT_EQ(m.at("original_due").as_string(), "2023-12-31");
  EXPECT_TRUE(m.at("met").as_bool());
  EXPECT_FALSE(m.at("overdue").as_bool());
  const json::object& r4 = parsed.as_array()[1].as_object();
  EXPECT_EQ(r4.at("superseded_by").as_array().at(0).as_string(), "da25-n1");
  EXPECT_FALSE(r4.at("open").as_bool());

  EXPECT_EQ(ListAsJson({}), "[]");
}

TEST(RenderTest, ShowAsJsonAddsTheTimeline) {
  const json::object show = json::parse(ShowAsJson(ReopenedR2())).as_object();
  EXPECT_EQ(show.at("id").as_string(), "da23-r2");
  const json::array& timeline = show.at("timeline").as_array();
  ASSERT_EQ(timeline.size(), 3u);
  const json::object& close = timeline[1].as_object();
  std::set<std::string> keys;
  for (const auto& kv : close) keys.insert(std::string(kv.key()));
  EXPECT_EQ(keys,
            (std::set<std::string>{"seq", "effective", "recorded", "do", "voice", "actor", "role",
                                   "body", "unit", "note", "fields", "attachments", "from", "to"}));
  EXPECT_EQ(close.at("seq").as_int64(), 2);
  // Without actions passed, "actions" is still there, empty: every key is always present.
  EXPECT_TRUE(show.at("actions").as_array().empty());
  EXPECT_EQ(close.at("effective").as_string(), "2024-08-15");
  EXPECT_EQ(close.at("do").as_string(), "close");
  EXPECT_EQ(close.at("voice").as_string(), "body");
  EXPECT_EQ(close.at("body").as_string(), "CPS");
  EXPECT_EQ(close.at("from").as_string(), "issued");
  EXPECT_EQ(close.at("to").as_string(), "closed");
  EXPECT_EQ(close.at("fields").at("evidence").as_array().size(), 2u);
  // A scalar field is still an array, so clients see one type.
  EXPECT_EQ(timeline[2].at("fields").at("outcome").as_array().at(0).as_string(), "not_achieved");
}

TEST(RenderTest, ShowAsTextHasStateMilestonesAndTimeline) {
  const std::string text = ShowAsText(ReopenedR2());
  EXPECT_EQ(text.rfind("da23-r2\n", 0), 0u) << text;
  EXPECT_TRUE(Contains(text, "  state          reopened (open)\n")) << text;
  EXPECT_TRUE(Contains(text, "  overdue        yes\n")) << text;
  EXPECT_TRUE(Contains(text, "  implemented  by 2023-07-31  OVERDUE\n")) << text;
  EXPECT_TRUE(
      Contains(text, "  embedded     by 2024-03-31  met 2024-02-01  originally 2023-12-31\n"))
      << text;
  EXPECT_TRUE(Contains(text, "\nTimeline\n")) << text;
  EXPECT_TRUE(Contains(text, "  2023-03-01  inspectorate  issue   -> issued\n")) << text;
  EXPECT_TRUE(Contains(text,
                       "  2024-08-15  body CPS      close   issued -> closed    "
                       "evidence=plan.pdf,memo.pdf  \"Closed by the CPS\"\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "  2025-03-06  inspectorate  assess  closed -> reopened  in=da25 "
                       "outcome=not_achieved\n"))
      << text;
  EXPECT_TRUE(Contains(ShowAsText(SupersededR4()), "  superseded by  da25-n1\n"));
  // A state named for its openness is not said twice.
  RecommendationView closed = ReopenedR2();
  closed.state = "closed";
  closed.open = false;
  EXPECT_TRUE(Contains(ShowAsText(closed), "  state          closed\n")) << ShowAsText(closed);
}

TEST(RenderTest, ShowAsTextWrapsLongTextUnderItsLabel) {
  RecommendationView v = SupersededR4();
  v.def.text.clear();
  for (int i = 0; i < 40; ++i) v.def.text += "word" + std::to_string(i) + " ";
  const std::string text = ShowAsText(v);
  size_t start = text.find("  text           word0 ");
  ASSERT_NE(start, std::string::npos) << text;
  size_t end = text.find("\n\nMilestones", start);
  ASSERT_NE(end, std::string::npos) << text;
  const std::string block = text.substr(start, end - start);
  size_t lines = 0;
  for (size_t pos = 0; pos < block.size();) {
    size_t eol = std::min(block.find('\n', pos), block.size());
    EXPECT_LE(eol - pos, 100u) << block;
    if (lines++ > 0) {
      EXPECT_EQ(block.substr(pos, 17), std::string(17, ' ')) << block;
      EXPECT_NE(block[pos + 17], ' ') << block;
    }
    pos = eol + 1;
  }
  EXPECT_GT(lines, 1u);
  EXPECT_TRUE(Contains(block, "word39")) << block;
}

TEST(RenderTest, AnnexAsMarkdown) {
  const std::string md = AnnexAsMarkdown(Annex());
  EXPECT_EQ(md.rfind("# Annex A: Crown Prosecution Service (CPS)\n\n"
                     "As at 31 March 2025 (financial year 2024-25)\n\n"
                     "## Table of open recommendations as at 31 March 2025\n\n"
                     "| Inspection | Published | Recommendation | Note |\n",
                     0),
            0u)
      << md;
  EXPECT_TRUE(Contains(md,
                       "| Domestic abuse \\| victims | Mar-23 | By July 2023, mark \\<STL\\> | "
                       "This was closed by the CPS but reopened |\n"))
      << md;
  EXPECT_TRUE(Contains(md, "## 0 recommendations closed by the CPS in 2024-25\n\nNone.\n")) << md;
}

// `markdown` as pandoc's GitHub Markdown reader reads it, written `to` ("html", "plain"): a real
// reader's view of what the Markdown renderers make. Fails the test when pandoc fails.
std::string ReadByPandoc(const std::string& markdown, const std::string& to) {
  const std::string path =
      ::testing::TempDir() + "render_test_" + std::to_string(::getpid()) + "_" + to + ".md";
  {
    std::ofstream out(path, std::ios::binary);
    out << markdown;
  }
  const std::string command = "pandoc -f gfm -t " + to + " --wrap=none " + path + " 2>&1";
  std::string read;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) read.append(buffer, n);
    EXPECT_EQ(::pclose(pipe), 0) << read;
  } else {
    ADD_FAILURE() << "cannot run pandoc";
  }
  std::remove(path.c_str());
  return read;
}

// What a recommendation's text says is shown as text by a Markdown reader (pandoc's GitHub
// Markdown, with its tables), never as markup: no tag, link or emphasis made of it, and every
// character back.
TEST(RenderTest, AnnexAsMarkdownReadBackByPandocShowsTheTextAsWritten) {
  RECTRACK_SKIP_IF_MISSING(std::system("command -v pandoc >/dev/null") != 0 ? "pandoc is missing"
                                                                            : "");
  AnnexReport r = Annex();
  const std::string text =
      "<script>alert(1)</script> [link](javascript:alert(1)) *a* _b_ `c` \\d a|b & <i>";
  r.open[0].text = text;
  const std::string html = ReadByPandoc(AnnexAsMarkdown(r), "html");
  EXPECT_FALSE(Contains(html, "<script")) << html;
  EXPECT_FALSE(Contains(html, "<a ")) << html;
  EXPECT_FALSE(Contains(html, "<em>")) << html;
  EXPECT_FALSE(Contains(html, "<code>")) << html;
  EXPECT_FALSE(Contains(html, "<i>")) << html;
  EXPECT_TRUE(Contains(html,
                       "<td>&lt;script&gt;alert(1)&lt;/script&gt; [link](javascript:alert(1)) "
                       "*a* _b_ `c` \\d a|b &amp; &lt;i&gt;</td>"))
      << html;
}

// As a paragraph of its own (the progress report's recommendations), a text's start is not a
// heading, a list or a rule either.
TEST(RenderTest, ProgressAsMarkdownReadBackByPandocShowsEachTextAsWritten) {
  RECTRACK_SKIP_IF_MISSING(std::system("command -v pandoc >/dev/null") != 0 ? "pandoc is missing"
                                                                            : "");
  ProgressReport r;
  r.body = "CPS";
  r.body_name = "Crown Prosecution Service";
  r.as_of = D("2023-06-30");
  const std::vector<std::string> texts = {"# not a heading", "1. not a list", "- nor this",
                                          "--- no rule", "~~kept~~ &amp; as written"};
  for (size_t i = 0; i < texts.size(); ++i) {
    RecommendationProgress rec;
    rec.id = "r" + std::to_string(i);
    rec.text = texts[i];
    rec.state = "issued";
    r.recommendations.push_back(rec);
  }
  const std::string plain = ReadByPandoc(ProgressAsMarkdown(r), "plain");
  for (const std::string& text : texts) {
    EXPECT_TRUE(Contains(plain, "\n" + text + "\n")) << text << " in:\n" << plain;
  }
}

TEST(RenderTest, AnnexAsCsvAndHtml) {
  AnnexReport r = Annex();
  r.closed = {
      {"da23-r4", "Domestic abuse", "Mar-23", "Request information", "Q4 24/25", "Superseded"}};
  const std::string csv = AnnexAsCsv(r);
  EXPECT_EQ(csv,
            "table,id,inspection,published,text,quarter,note\n"
            "open,da23-r2,Domestic abuse | victims,Mar-23,\"By July 2023,\nmark <STL>\",,"
            "This was closed by the CPS but reopened\n"
            "closed,da23-r4,Domestic abuse,Mar-23,Request information,Q4 24/25,Superseded\n");

  const std::string html = AnnexAsHtml(r);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(Contains(html, "<meta charset=\"utf-8\">"));
  EXPECT_TRUE(Contains(html, "<title>Annex A: Crown Prosecution Service (CPS)</title>"));
  EXPECT_TRUE(
      Contains(html, "<caption>Table of open recommendations as at 31 March 2025</caption>"));
  EXPECT_TRUE(Contains(html, "<caption>1 recommendation closed by the CPS in 2024-25</caption>"));
  EXPECT_TRUE(Contains(html, "<td>By July 2023,\nmark &lt;STL&gt;</td>")) << html;
  EXPECT_FALSE(Contains(html, "<STL>"));
  EXPECT_TRUE(Contains(html, "<td>Q4 24/25</td>"));
  EXPECT_TRUE(Contains(html, "</html>\n"));
}

TEST(RenderTest, AnnexAsJsonHasTheContractKeys) {
  AnnexReport r = Annex();
  r.closed = {{"da23-r4", "Domestic abuse", "Mar-23", "Request information", "Q4 24/25", ""}};
  const json::object annex = json::parse(AnnexAsJson(r)).as_object();
  for (const char* key : {"body", "as_of", "financial_year", "open", "closed"}) {
    EXPECT_TRUE(annex.contains(key)) << key;
  }
  EXPECT_EQ(annex.at("body").as_string(), "CPS");
  EXPECT_EQ(annex.at("as_of").as_string(), "2025-03-31");
  EXPECT_EQ(annex.at("financial_year").as_string(), "2024-25");

  auto keys_of = [](const json::value& row) {
    std::set<std::string> keys;
    for (const auto& kv : row.as_object()) keys.insert(std::string(kv.key()));
    return keys;
  };
  EXPECT_EQ(keys_of(annex.at("open").as_array().at(0)),
            (std::set<std::string>{"id", "inspection", "published", "text", "note"}));
  EXPECT_EQ(keys_of(annex.at("closed").as_array().at(0)),
            (std::set<std::string>{"id", "inspection", "published", "text", "quarter", "note"}));
  EXPECT_EQ(annex.at("closed").as_array().at(0).at("quarter").as_string(), "Q4 24/25");
  EXPECT_EQ(annex.at("open").as_array().at(0).at("text").as_string(), "By July 2023,\nmark <STL>");
}

// The command line's alerts table says what each column is, and its columns line up.
TEST(AlertsTableTest, HasAHeaderAndAlignedColumns) {
  storage::AlertRecord short_one, long_one;
  short_one.id = "alrt_1";
  short_one.due = "2025-12-01";
  short_one.kind = "overdue";
  short_one.recommendation = "da23-r2";
  short_one.milestone = "due";
  short_one.owners = {"CPS"};
  short_one.late = true;
  long_one = short_one;
  long_one.id = "alrt_22222222";
  long_one.kind = "verification_due";
  long_one.milestone = "";
  long_one.owners = {"NPCC", "CPS"};
  long_one.late = false;
  EXPECT_EQ(
      AlertsAsTable({short_one, long_one}, {"unsubscribed", "delivered"}),
      "ALERT          DUE         KIND              ABOUT        OWNERS    DELIVERY      "
      "RAISED\n"
      "alrt_1         2025-12-01  overdue           da23-r2 due  CPS       unsubscribed  late\n"
      "alrt_22222222  2025-12-01  verification_due  da23-r2      NPCC,CPS  delivered     "
      "on time\n"
      "2 alerts\n");
}

}  // namespace
}  // namespace rectrack
