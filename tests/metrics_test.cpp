#include "http/metrics.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace rectrack::http {
namespace {

constexpr const char* kRequests = "rectrack_http_requests_total";
constexpr const char* kDuration = "rectrack_http_request_duration_seconds";
const std::vector<std::string> kBucketBounds = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                                "0.025",  "0.1",   "0.5",    "2.5",   "+Inf"};

// One sample line of the exposition format: `name{labels} value`.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

class MetricsTest : public ::testing::Test {
 protected:
  // Reads `text` as Prometheus text exposition (version 0.0.4): its samples in order, and in
  // `problems` every way it breaks the format, each naming its line.
  static std::vector<Sample> Read(const std::string& text, std::vector<std::string>* problems) {
    static const std::regex kComment(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+))");
    static const std::regex kSampleLine(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([-+]?(?:[0-9.eE+-]+|Inf|NaN)))");
    static const std::regex kLabel(
        R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$))re");
    static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                 "untyped"};
    std::vector<Sample> samples;
    if (text.empty() || text.back() != '\n') problems->push_back("the last line has no newline");
    std::map<std::string, std::string> types;  // family -> counter, histogram, ...
    std::set<std::string> helped, finished;    // families with HELP; families left behind
    std::string current;                       // the family whose lines are being read
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      auto problem = [&](const std::string& what) {
        problems->push_back("line " + std::to_string(number) + " '" + line + "': " + what);
      };
      std::smatch m;
      if (line.rfind("#", 0) == 0) {
        if (!std::regex_match(line, m, kComment)) {
          problem("malformed comment");
          continue;
        }
        const std::string family = m[2];
        if (family != current) {
          if (!current.empty()) finished.insert(current);
          if (finished.count(family)) problem(family + " is split in two");
          current = family;
        }
        if (m[1] == "TYPE") {
          if (types.count(family)) problem("a second TYPE for " + family);
          if (!kTypes.count(m[3])) problem("unknown type " + std::string(m[3]));
          types[family] = m[3];
        } else {
          if (helped.count(family)) problem("a second HELP for " + family);
          helped.insert(family);
        }
        continue;
      }
      if (!std::regex_match(line, m, kSampleLine)) {
        problem("malformed sample");
        continue;
      }
      Sample sample;
      sample.name = m[1];
      std::string labels = m[3];
      for (std::smatch l; !labels.empty(); labels = l.suffix().str()) {
        if (!std::regex_search(labels, l, kLabel, std::regex_constants::match_continuous)) {
          problem("malformed labels '" + labels + "'");
          break;
        }
        if (sample.labels.count(l[1])) problem("label " + std::string(l[1]) + " twice");
        sample.labels[l[1]] = l[2];
      }
      const std::string value = m[4];
      char* end = nullptr;
      sample.value = std::strtod(value.c_str(), &end);
      if (*end != '\0') problem("malformed value '" + value + "'");
      // A sample belongs to the family whose TYPE came before it; a histogram's samples carry
      // a suffix.
      std::string family = sample.name;
      for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (types.count(family) || family.size() <= suffix.size() ||
            family.compare(family.size() - suffix.size(), suffix.size(), suffix) != 0) {
          continue;
        }
        const std::string base = family.substr(0, family.size() - suffix.size());
        if (types.count(base) && types[base] == "histogram") family = base;
      }
      if (!types.count(family)) {
        problem(sample.name + " has no # TYPE line before it");
      } else if (family != current) {
        problem(sample.name + " is not next to its # TYPE line");
      } else if (types[family] == "counter" && sample.value < 0) {
        problem("a counter is negative");
      } else if (sample.name == family + "_bucket" && !sample.labels.count("le")) {
        problem("a bucket without le");
      }
      samples.push_back(std::move(sample));
    }
    return samples;
  }

  // The samples of `text`, failing the test for each way it is not valid Prometheus text.
  static std::vector<Sample> ParseExposition(const std::string& text) {
    std::vector<std::string> problems;
    std::vector<Sample> samples = Read(text, &problems);
    for (const std::string& p : problems) ADD_FAILURE() << p << "\nin:\n" << text;
    return samples;
  }

  // The problems Read finds in `text`, joined.
  static std::string Problems(const std::string& text) {
    std::vector<std::string> problems;
    Read(text, &problems);
    std::string out;
    for (const std::string& p : problems) out += p + "\n";
    return out;
  }

  // The value of the sample `name` with exactly `labels`; -1 when there is none.
  static double Value(const std::vector<Sample>& samples, const std::string& name,
                      const std::map<std::string, std::string>& labels) {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return -1;
  }

  // The bucket counts of `route`'s histogram, in the order they were rendered, keyed by `le`.
  static std::vector<std::pair<std::string, double>> Buckets(const std::vector<Sample>& samples,
                                                             const std::string& route) {
    std::vector<std::pair<std::string, double>> out;
    for (const Sample& s : samples) {
      if (s.name == std::string(kDuration) + "_bucket" && s.labels.at("route") == route) {
        out.emplace_back(s.labels.at("le"), s.value);
      }
    }
    return out;
  }

  Metrics metrics_;
};

TEST_F(MetricsTest, RouteLabelKeepsFixedPathsAndDropsTheQuery) {
  for (const char* path :
       {"/healthz", "/readyz", "/metrics", "/openapi.yaml", "/feed.atom", "/calendar.ics",
        "/api/v1/bodies", "/api/v1/inspections", "/api/v1/recommendations", "/api/v1/import",
        "/api/v1/stream", "/api/v1/reports/annex", "/api/v1/reports/progress", "/api/v1/alerts",
        "/api/v1/units", "/api/v1/actions"}) {
    EXPECT_EQ(RouteLabel(path), path);
    EXPECT_EQ(RouteLabel(std::string(path) + "?as_of=2025-03-31&body=CPS"), path);
    EXPECT_EQ(RouteLabel(std::string(path) + "?"), path);
  }
}

TEST_F(MetricsTest, RouteLabelReplacesIdsWithTheirTemplate) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/api/v1/recommendations/da25-n1/events?x=1", "/api/v1/recommendations/{id}/events"},
      {"/api/v1/recommendations/da25-n1/events", "/api/v1/recommendations/{id}/events"},
      {"/api/v1/recommendations/da23-r4", "/api/v1/recommendations/{id}"},
      {"/api/v1/recommendations/da23-r4?as_of=2025-01-01", "/api/v1/recommendations/{id}"},
      {"/api/v1/recommendations/da25-n1/actions", "/api/v1/recommendations/{id}/actions"},
      {"/api/v1/actions/da25-n1-a1", "/api/v1/actions/{id}"},
      {"/api/v1/actions/da25-n1-a1/events", "/api/v1/actions/{id}/events"},
      {"/api/v1/alerts/17", "/api/v1/alerts/{alert_id}"},
      {"/api/v1/alerts/17?format=json", "/api/v1/alerts/{alert_id}"},
  };
  for (const auto& [target, label] : cases) EXPECT_EQ(RouteLabel(target), label) << target;
}

TEST_F(MetricsTest, RouteLabelOfAnUnknownPathIsOther) {
  for (const char* target : {"",
                             "/",
                             "?x=1",
                             "/nope",
                             "/HEALTHZ",
                             "/healthz/",
                             "/api/v1",
                             "/api/v1/",
                             "/api/v2/bodies",
                             "/api/v1/bodies/CPS",
                             "/api/v1/inspections/da25",
                             "/api/v1/recommendations/r1/foo",
                             "/api/v1/recommendations/r1/events/extra",
                             "/api/v1/recommendations/r1/actions/a1",
                             "/api/v1/actions/a1/actions",
                             "/api/v1/actions/a1/events/1",
                             "/api/v1/alerts/17/retry",
                             "/api/v1/reports/other",
                             "/api/v1/units/cps-sw",
                             "/feed.atom/x",
                             "//api/v1/bodies"}) {
    EXPECT_EQ(RouteLabel(target), "other") << "'" << target << "'";
  }
}

TEST_F(MetricsTest, RouteLabelsStayFewAndNeverCarryAClientsText) {
  std::set<std::string> labels;
  for (int i = 0; i < 500; ++i) {
    // A client's id, with what would break a Prometheus label.
    const std::string id = "zz" + std::to_string(i) + "\"\\,}";
    for (const std::string& target :
         {"/api/v1/recommendations/" + id, "/api/v1/recommendations/" + id + "/events",
          "/api/v1/actions/" + id, "/api/v1/alerts/" + id, "/" + id, "/api/v1/" + id}) {
      const std::string label = RouteLabel(target);
      EXPECT_EQ(label.find("zz"), std::string::npos) << target << " -> " << label;
      EXPECT_EQ(label.find_first_of("\"\\,"), std::string::npos) << target << " -> " << label;
      labels.insert(label);
    }
  }
  EXPECT_EQ(labels, (std::set<std::string>{
                        "/api/v1/recommendations/{id}", "/api/v1/recommendations/{id}/events",
                        "/api/v1/actions/{id}", "/api/v1/alerts/{alert_id}", "other"}));
}

TEST_F(MetricsTest, RequestsAreCountedByRouteAndStatus) {
  metrics_.Record("/healthz", 200, 0.0001);
  metrics_.Record("/healthz", 200, 0.0002);
  metrics_.Record("/healthz", 503, 0.0003);
  metrics_.Record("/api/v1/recommendations/{id}", 200, 0.004);
  metrics_.Record("/api/v1/recommendations/{id}", 404, 0.002);
  metrics_.Count("/api/v1/recommendations/{id}", 404);
  metrics_.Count("other", 400);
  const std::vector<Sample> samples = ParseExposition(metrics_.Render(0, 0));
  EXPECT_EQ(Value(samples, kRequests, {{"route", "/healthz"}, {"status", "200"}}), 2);
  EXPECT_EQ(Value(samples, kRequests, {{"route", "/healthz"}, {"status", "503"}}), 1);
  EXPECT_EQ(
      Value(samples, kRequests, {{"route", "/api/v1/recommendations/{id}"}, {"status", "200"}}), 1);
  EXPECT_EQ(
      Value(samples, kRequests, {{"route", "/api/v1/recommendations/{id}"}, {"status", "404"}}), 2);
  EXPECT_EQ(Value(samples, kRequests, {{"route", "other"}, {"status", "400"}}), 1);
  int request_lines = 0;
  for (const Sample& s : samples) request_lines += s.name == kRequests;
  EXPECT_EQ(request_lines, 5);
}

TEST_F(MetricsTest, CountedAnswersAreNotInTheLatencyHistogram) {
  metrics_.Count("other", 413);
  metrics_.Count("/api/v1/stream", 200);
  metrics_.Record("/metrics", 200, 0.001);
  const std::vector<Sample> samples = ParseExposition(metrics_.Render(0, 0));
  EXPECT_EQ(Value(samples, kRequests, {{"route", "other"}, {"status", "413"}}), 1);
  EXPECT_EQ(Value(samples, kRequests, {{"route", "/api/v1/stream"}, {"status", "200"}}), 1);
  EXPECT_TRUE(Buckets(samples, "other").empty());
  EXPECT_TRUE(Buckets(samples, "/api/v1/stream").empty());
  EXPECT_EQ(Value(samples, std::string(kDuration) + "_count", {{"route", "other"}}), -1);
  EXPECT_EQ(Value(samples, std::string(kDuration) + "_count", {{"route", "/metrics"}}), 1);
  EXPECT_EQ(Buckets(samples, "/metrics").size(), kBucketBounds.size());
}

TEST_F(MetricsTest, HistogramBucketsAreCumulativeAndInfEqualsTheCount) {
  const std::string route = "/api/v1/recommendations";
  for (double seconds : {0.0001, 0.0007, 0.003, 0.02, 0.3, 5.0}) {
    metrics_.Record(route, 200, seconds);
  }
  const std::vector<Sample> samples = ParseExposition(metrics_.Render(0, 0));
  const std::vector<std::pair<std::string, double>> want = {
      {"0.0005", 1}, {"0.001", 2}, {"0.0025", 2}, {"0.005", 3}, {"0.01", 3},
      {"0.025", 4},  {"0.1", 4},   {"0.5", 5},    {"2.5", 5},   {"+Inf", 6}};
  EXPECT_EQ(Buckets(samples, route), want);
  EXPECT_EQ(Value(samples, std::string(kDuration) + "_count", {{"route", route}}), 6);
  EXPECT_NEAR(Value(samples, std::string(kDuration) + "_sum", {{"route", route}}), 5.3238, 1e-6);
}

TEST_F(MetricsTest, ADurationOnABucketBoundIsCountedInThatBucket) {
  metrics_.Record("/healthz", 200, 0.01);
  metrics_.Record("/healthz", 200, 2.5);
  metrics_.Record("/healthz", 200, 0);
  const std::vector<Sample> samples = ParseExposition(metrics_.Render(0, 0));
  const auto buckets = Buckets(samples, "/healthz");
  ASSERT_EQ(buckets.size(), kBucketBounds.size());
  std::map<std::string, double> by_le(buckets.begin(), buckets.end());
  EXPECT_EQ(by_le["0.0005"], 1);  // the zero
  EXPECT_EQ(by_le["0.005"], 1);
  EXPECT_EQ(by_le["0.01"], 2);
  EXPECT_EQ(by_le["0.5"], 2);
  EXPECT_EQ(by_le["2.5"], 3);
  EXPECT_EQ(by_le["+Inf"], 3);
}

TEST_F(MetricsTest, EveryRoutesHistogramIsWellFormed) {
  const std::vector<std::string> routes = {"/healthz", "/api/v1/recommendations/{id}/events",
                                           "/api/v1/import", "other"};
  for (int i = 0; i < 200; ++i) {
    const std::string& route = routes[i % routes.size()];
    metrics_.Record(route, i % 7 == 0 ? 500 : 200, (i % 37) * 0.013 + (i % 5) * 0.0002);
  }
  const std::vector<Sample> samples = ParseExposition(metrics_.Render(4, 9));
  for (const std::string& route : routes) {
    SCOPED_TRACE(route);
    const auto buckets = Buckets(samples, route);
    ASSERT_EQ(buckets.size(), kBucketBounds.size());
    for (size_t i = 0; i < buckets.size(); ++i) {
      EXPECT_EQ(buckets[i].first, kBucketBounds[i]) << "bounds in increasing order";
      if (i > 0) {
        EXPECT_GE(buckets[i].second, buckets[i - 1].second) << "cumulative";
      }
    }
    const double count = Value(samples, std::string(kDuration) + "_count", {{"route", route}});
    EXPECT_EQ(buckets.back().second, count);
    EXPECT_EQ(count, 50);
    // Every request of the route, whatever its status, is in its histogram.
    double requests = 0;
    for (const Sample& s : samples) {
      if (s.name == kRequests && s.labels.at("route") == route) requests += s.value;
    }
    EXPECT_EQ(requests, count);
    EXPECT_GT(Value(samples, std::string(kDuration) + "_sum", {{"route", route}}), 0);
  }
}

TEST_F(MetricsTest, RenderReportsTheWriteGroupsAndGroupedWrites) {
  const std::string text = metrics_.Render(12, 345);
  EXPECT_NE(text.find("\nrectrack_write_groups_total 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nrectrack_grouped_writes_total 345\n"), std::string::npos) << text;
  const std::vector<Sample> samples = ParseExposition(text);
  EXPECT_EQ(Value(samples, "rectrack_write_groups_total", {}), 12);
  EXPECT_EQ(Value(samples, "rectrack_grouped_writes_total", {}), 345);
  // Large totals are written in full, not rounded.
  const std::string big = metrics_.Render(9007199254740993LL, 0);
  EXPECT_NE(big.find("\nrectrack_write_groups_total 9007199254740993\n"), std::string::npos);
}

TEST_F(MetricsTest, RenderWithNothingRecordedIsValidWithEveryFamilyTyped) {
  const std::string text = metrics_.Render(0, 0);
  const std::vector<Sample> samples = ParseExposition(text);
  for (const char* type_line : {"# TYPE rectrack_http_requests_total counter\n",
                                "# TYPE rectrack_http_request_duration_seconds histogram\n",
                                "# TYPE rectrack_write_groups_total counter\n",
                                "# TYPE rectrack_grouped_writes_total counter\n"}) {
    EXPECT_NE(text.find(type_line), std::string::npos) << type_line;
  }
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(Value(samples, "rectrack_write_groups_total", {}), 0);
  EXPECT_EQ(Value(samples, "rectrack_grouped_writes_total", {}), 0);
}

TEST_F(MetricsTest, TheValidatorRefusesWhatPrometheusWould) {
  // The tests above rely on Read; it must find each of these mistakes.
  EXPECT_EQ(Problems("# TYPE a counter\na{route=\"x\"} 1\n"), "");
  EXPECT_NE(Problems("rectrack_untyped_total 1\n").find("has no # TYPE line"), std::string::npos);
  EXPECT_NE(Problems("# TYPE a counter\na{route=\"x} 1\n").find("malformed"), std::string::npos);
  EXPECT_NE(Problems("# TYPE a counter\na 1").find("no newline"), std::string::npos);
  EXPECT_NE(Problems("# TYPE a counter\na -1\n").find("negative"), std::string::npos);
  EXPECT_NE(Problems("# TYPE a counter\n# TYPE b counter\na 1\n").find("not next to"),
            std::string::npos);
  EXPECT_NE(Problems("# TYPE a counter\na 1\n# TYPE b counter\nb 1\n# HELP a again\n")
                .find("split in two"),
            std::string::npos);
  EXPECT_NE(Problems("# TYPE h histogram\nh_bucket{route=\"x\"} 1\n").find("without le"),
            std::string::npos);
  EXPECT_NE(Problems("# TYPE a counter\na{x=\"1\",x=\"2\"} 1\n").find("twice"), std::string::npos);
}

TEST_F(MetricsTest, RecordAndRenderFromManyThreadsLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics_.Record("/api/v1/actions/{id}", 200 + (t % 2), 0.001);
        if (i % 100 == 0) metrics_.Render(0, 0);
      }
    });
  }
  threads.emplace_back([this] {
    for (int i = 0; i < kPerThread; ++i) metrics_.Count("other", 404);
  });
  for (std::thread& t : threads) t.join();
  const std::vector<Sample> samples = ParseExposition(metrics_.Render(0, 0));
  EXPECT_EQ(Value(samples, kRequests, {{"route", "/api/v1/actions/{id}"}, {"status", "200"}}),
            kPerThread * kThreads / 2);
  EXPECT_EQ(Value(samples, kRequests, {{"route", "/api/v1/actions/{id}"}, {"status", "201"}}),
            kPerThread * kThreads / 2);
  EXPECT_EQ(Value(samples, kRequests, {{"route", "other"}, {"status", "404"}}), kPerThread);
  EXPECT_EQ(Value(samples, std::string(kDuration) + "_count", {{"route", "/api/v1/actions/{id}"}}),
            kPerThread * kThreads);
}

}  // namespace
}  // namespace rectrack::http
