#include "http/metrics.h"

#include <cstdio>
#include <vector>

namespace rectrack::http {

std::string RouteLabel(const std::string& target) {
  const std::string path = target.substr(0, target.find('?'));
  static const char* kFixed[] = {"/healthz",
                                 "/readyz",
                                 "/metrics",
                                 "/openapi.yaml",
                                 "/feed.atom",
                                 "/calendar.ics",
                                 "/api/v1/bodies",
                                 "/api/v1/inspections",
                                 "/api/v1/recommendations",
                                 "/api/v1/import",
                                 "/api/v1/stream",
                                 "/api/v1/reports/annex",
                                 "/api/v1/alerts",
                                 "/api/v1/units",
                                 "/api/v1/actions",
                                 "/api/v1/reports/progress"};
  for (const char* fixed : kFixed) {
    if (path == fixed) return path;
  }
  const std::string prefix = "/api/v1/recommendations/";
  if (path.rfind(prefix, 0) == 0) {
    const std::string rest = path.substr(prefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) return prefix + "{id}";
    if (rest.substr(slash) == "/events") return prefix + "{id}/events";
    if (rest.substr(slash) == "/actions") return prefix + "{id}/actions";
  }
  const std::string actions = "/api/v1/actions/";
  if (path.rfind(actions, 0) == 0) {
    const std::string rest = path.substr(actions.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) return actions + "{id}";
    if (rest.substr(slash) == "/events") return actions + "{id}/events";
  }
  const std::string alerts = "/api/v1/alerts/";
  if (path.rfind(alerts, 0) == 0 && path.find('/', alerts.size()) == std::string::npos) {
    return alerts + "{alert_id}";
  }
  return "other";  // unknown paths share one label: clients cannot inflate the label set
}

void Metrics::Record(const std::string& route, int status, double seconds) {
  MutexLock lock(&mutex_);
  ++requests_[{route, status}];
  Histogram& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::Count(const std::string& route, int status) {
  MutexLock lock(&mutex_);
  ++requests_[{route, status}];
}

std::string Metrics::Render(long long write_groups, long long grouped_writes) const {
  MutexLock lock(&mutex_);
  std::string out =
      "# HELP rectrack_http_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE rectrack_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "rectrack_http_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP rectrack_http_request_duration_seconds Time to answer a request, by route.\n"
      "# TYPE rectrack_http_request_duration_seconds histogram\n";
  char number[32];
  for (const auto& [route, h] : latency_) {
    const std::string label = "rectrack_http_request_duration_seconds";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(number, sizeof number, "%g", kBuckets[i]);
      out += label + "_bucket{route=\"" + route + "\",le=\"" + number + "\"} " +
             std::to_string(h.buckets[i]) + "\n";
    }
    out += label + "_bucket{route=\"" + route + "\",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    std::snprintf(number, sizeof number, "%.6f", h.sum);
    out += label + "_sum{route=\"" + route + "\"} " + number + "\n";
    out += label + "_count{route=\"" + route + "\"} " + std::to_string(h.count) + "\n";
  }
  // Writes per transaction is the ratio of the two: how much grouping saves.
  out +=
      "# HELP rectrack_write_groups_total Write transactions (group commits).\n"
      "# TYPE rectrack_write_groups_total counter\n"
      "rectrack_write_groups_total " +
      std::to_string(write_groups) +
      "\n"
      "# HELP rectrack_grouped_writes_total Writes committed in those transactions.\n"
      "# TYPE rectrack_grouped_writes_total counter\n"
      "rectrack_grouped_writes_total " +
      std::to_string(grouped_writes) + "\n";
  return out;
}

}  // namespace rectrack::http
