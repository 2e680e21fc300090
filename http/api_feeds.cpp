// The subscription side of the API: the Atom feed, the iCalendar feed and /metrics. Kept apart
// from api.cpp, which handles the JSON resources.
#include <algorithm>
#include <map>

#include "engine/access.h"
#include "engine/host.h"
#include "http/api.h"
#include "http/api_util.h"
#include "http/feeds.h"

namespace rectrack::http {
namespace {

constexpr size_t kFeedEntries = 200;

std::string CompactUtc(std::string rfc3339) {  // 2025-03-31T09:00:00Z -> 20250331T090000Z
  std::erase_if(rfc3339, [](char c) { return c == '-' || c == ':'; });
  return rfc3339;
}

}  // namespace

namespace {

// The body a feed is about ("" for all): ?body=, or the token's body; a refusal when the token
// sees another. Both feeds share the checks.
std::variant<std::string, Response> FeedBody(const Call& call) {
  const Target& t = call.target;
  const bool calendar = t.path != "/feed.atom";
  for (const auto& [key, value] : t.query) {
    if (key != "body" && key != "token" && !(key == "unit" && calendar))
      return Api::Problem(400, "unknown query parameter '" + key + "'");
  }
  auto scoped = ScopedBody(call);
  if (auto* refusal = std::get_if<Response>(&scoped)) return std::move(*refusal);
  const std::string& body = std::get<std::string>(scoped);
  if (!body.empty() && !call.engine.HasBody(body)) {
    return Api::Problem(404, "no body '" + body + "'");
  }
  return body;
}

// Links in feeds point at the configured public address (never at a Host header a client
// chose: it would put its text in the feed, and each Host would cost a feed of its own).
std::string BaseUrl(const Call& call) { return call.options.public_url; }

}  // namespace

Response GetAtomFeed(const Call& call) {
  auto scoped = FeedBody(call);
  if (auto* refusal = std::get_if<Response>(&scoped)) return std::move(*refusal);
  const std::string& body = std::get<std::string>(scoped);
  const Engine& engine = call.engine;
  const std::string base = BaseUrl(call);
  AtomOptions options;
  options.feed_id = "urn:rectrack:feed:" + (body.empty() ? std::string("all") : body);
  options.title = "rectrack: " + (body.empty() ? std::string("all recommendations") : body);
  options.self_url = base + "/feed.atom" + (body.empty() ? "" : "?body=" + body);
  options.base_url = base;
  options.updated = engine.clock().NowRfc3339();
  std::vector<storage::AlertRecord> alerts;
  storage::AlertFilter filter;
  filter.body = body;
  if (auto listed = NewestVisibleAlerts(engine, call.who, filter, kFeedEntries); listed.ok()) {
    for (auto& a : *listed) {
      if (engine.KindOf(a.recommendation) == SubjectKind::kAction) {
        options.actions.insert(a.recommendation);
      }
      alerts.push_back(std::move(a));
    }
  }
  auto entries = engine.Feed(call.who, body, 0, kFeedEntries);
  if (!entries.ok()) return FromStatus(entries.status());
  Response r;
  r.content_type = "application/atom+xml; charset=utf-8";
  // The entries are copied under the lock (at most kFeedEntries); the XML is written after it.
  r.render = [entries = std::move(*entries), options = std::move(options),
              alerts = std::move(alerts)](Response& done) {
    done.body = AtomFeed(entries, options, alerts);
  };
  return r;
}

Response GetCalendar(const Call& call) {
  auto scoped = FeedBody(call);
  if (auto* refusal = std::get_if<Response>(&scoped)) return std::move(*refusal);
  const std::string& body = std::get<std::string>(scoped);
  const Engine& engine = call.engine;
  const Principal& who = call.who;
  // The calendar of one unit: its actions only. A unit outside the body asked for (or the body a
  // token sees) is not found there.
  const std::string unit = call.Query("unit");
  std::map<std::string, std::string> unit_names;  // id -> "CPS South West (cps-sw)"
  for (const Unit& u : engine.Units(body)) unit_names[u.id] = u.name + " (" + u.id + ")";
  if (!unit.empty() && !unit_names.count(unit)) {
    return Api::Problem(404, "no unit '" + unit + "'" + (body.empty() ? "" : " in " + body));
  }
  std::map<std::string, std::string> titles;
  for (const Inspection& i : engine.Inspections()) titles[i.id] = i.title;
  std::vector<CalendarItem> items;
  if (unit.empty()) {
    ListQuery query;
    query.body = body;
    query.open = true;
    Status listed = engine.VisitList(query, [&](const RecommendationView& view) {
      if (!engine.MaySee(who, view.def.owners)) return true;
      const std::string& title = titles[view.def.inspection];
      for (const MilestoneView& m : view.milestones) {
        if (m.met) continue;
        items.push_back(CalendarItem{view.id, m.label, m.due, title, view.def.owners, view.def.text,
                                     m.overdue});
      }
      return true;
    });
    if (!listed.ok()) return FromStatus(listed);
  }
  // Open actions with a due date: the body's (every unit's and its own), or the unit's.
  ActionQuery actions;
  actions.body = body;
  actions.unit = unit;
  actions.open = true;
  actions.detail = Detail::kHead;  // no timeline: a due date is in the head
  auto open_actions = engine.ListActions(actions);
  if (!open_actions.ok()) return FromStatus(open_actions.status());
  for (const RecommendationView& view : *open_actions) {
    if (!MaySeeItem(engine, who, view) || !view.action) continue;
    const std::string& title = titles[view.def.inspection];
    for (const MilestoneView& m : view.milestones) {
      if (m.met) continue;
      items.push_back(CalendarItem{
          view.action->recommendation, m.label, m.due, title, view.def.owners, view.def.text,
          m.overdue, view.id,
          unit_names.count(view.action->unit) ? unit_names[view.action->unit] : view.action->unit});
    }
  }
  CalendarOptions options;
  const std::string scope = !unit.empty() ? unit : body;
  options.name =
      "rectrack: " + (scope.empty() ? std::string("all deadlines") : scope + " deadlines");
  options.uid_domain = "rectrack";
  options.dtstamp = CompactUtc(engine.clock().NowRfc3339());
  options.base_url = BaseUrl(call);
  Response r;
  r.content_type = "text/calendar; charset=utf-8";
  r.body = ICalendar(items, options);
  return r;
}

Response Api::MetricsResponse(const Engine& engine) {
  MutexLock lock(&cache_mutex_);
  const std::string generation =
      std::to_string(engine.last_seq()) + "-" + engine.clock().Today().ToString();
  if (gauges_.first != generation) {
    // Counted as items change (Engine::CountWork), not by a walk over every item under the lock.
    auto work = engine.CountWork(engine.clock().Today(), 0);
    if (!work.ok()) return FromStatus(work.status());
    std::map<std::string, WorkCounts> bodies;  // every body, with work or not
    for (const Body& b : engine.Bodies()) bodies[b.id];
    std::map<std::pair<std::string, std::string>, WorkCounts> actions;  // with open actions
    for (const auto& [owner, counts] : *work) {
      if (owner.kind == SubjectKind::kRecommendation) {
        bodies[owner.body] = counts;
      } else if (counts.open > 0) {
        actions[{owner.body, owner.unit}] = counts;
      }
    }
    auto lines = [](const char* name, const char* help, const auto& by, auto labels, bool overdue) {
      std::string out =
          std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
      for (const auto& [owner, c] : by) {
        out += std::string(name) + "{" + labels(owner) + "} " +
               std::to_string(overdue ? c.overdue : c.open) + "\n";
      }
      return out;
    };
    auto body_label = [](const std::string& body) { return "body=\"" + body + "\""; };
    auto unit_labels = [](const std::pair<std::string, std::string>& owner) {
      return "body=\"" + owner.first + "\",unit=\"" + owner.second + "\"";
    };
    std::string g =
        lines("rectrack_recommendations_open", "Recommendations open today, by owner body.", bodies,
              body_label, false) +
        lines("rectrack_recommendations_overdue", "Open recommendations with a milestone overdue.",
              bodies, body_label, true);
    // Actions by owning body and unit ("" for the body as a whole).
    g += lines("rectrack_actions_open",
               "Actions open today, by owning body and unit (\"\" for the whole body).", actions,
               unit_labels, false);
    g += lines("rectrack_actions_overdue", "Open actions past their due date.", actions,
               unit_labels, true);
    g += "# HELP rectrack_events_total Events in the log.\n# TYPE rectrack_events_total counter\n"
         "rectrack_events_total " +
         std::to_string(engine.last_seq()) + "\n";
    gauges_ = {generation, g};
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  const EngineHost::WriteCounts writes = host_->write_counts();
  r.body = metrics_.Render(writes.groups, writes.batches) + gauges_.second +
           "# HELP rectrack_histories_read_back_total Histories read back from the item index "
           "(history_cache_mb; 0 when every history is held).\n"
           "# TYPE rectrack_histories_read_back_total counter\n"
           "rectrack_histories_read_back_total " +
           std::to_string(engine.histories_read_back()) + "\n" +
           "# HELP rectrack_histories_to_let_go Items whose histories serve has still to look at "
           "after its start, to let them go (0 once it has, or when every history is held; items "
           "changed since are let go as the item index covers them).\n"
           "# TYPE rectrack_histories_to_let_go gauge\n"
           "rectrack_histories_to_let_go " +
           std::to_string(engine.histories_left_to_look_at()) + "\n" +
           "# HELP rectrack_alerts_first_pass_items_left Items whose next alert serve has still to "
           "work out after its start (0 once it has: only then are alerts raised).\n"
           "# TYPE rectrack_alerts_first_pass_items_left gauge\n"
           "rectrack_alerts_first_pass_items_left " +
           std::to_string(engine.alert_days_left_to_work_out()) + "\n";
  return r;
}

}  // namespace rectrack::http
