// Metrics: request counts and latencies by route and status, rendered in the Prometheus text
// exposition format by GET /metrics together with the engine's gauges.
//
// Thread-safety: Record and Render may be called from any thread.
#pragma once

#include <array>
#include <map>
#include <string>
#include <utility>

#include "common/mutex.h"

namespace rectrack::http {

// The route template of a request target, so labels stay few: "/api/v1/recommendations/{id}".
std::string RouteLabel(const std::string& target);

class Metrics {
 public:
  void Record(const std::string& route, int status, double seconds) EXCLUDES(mutex_);
  // An answer counted by route and status only, not in the latency histogram: one the server
  // gave before a request was routed (refused, malformed, too large), or a stream's opening.
  void Count(const std::string& route, int status) EXCLUDES(mutex_);
  // The counters and histograms, as Prometheus text, with the engine host's group commits:
  // `write_groups` transactions holding `grouped_writes` writes (however many succeeded).
  std::string Render(long long write_groups, long long grouped_writes) const EXCLUDES(mutex_);

 private:
  static constexpr std::array<double, 9> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.1,   0.5,    2.5};
  struct Histogram {
    std::array<long long, kBuckets.size()> buckets{};
    long long count = 0;
    double sum = 0;
  };
  mutable Mutex mutex_;
  std::map<std::pair<std::string, int>, long long> requests_ GUARDED_BY(mutex_);
  std::map<std::string, Histogram> latency_ GUARDED_BY(mutex_);
};

}  // namespace rectrack::http
