// GET /api/v1/alerts: the alert outbox, as the scheduler raised it, with each alert's delivery
// state; GET /api/v1/alerts/{id} adds every delivery and its attempt log.
#include <algorithm>
#include <limits>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/render.h"
#include "http/api.h"
#include "http/api_util.h"

namespace rectrack::http {
namespace {

constexpr size_t kMaxAlertPage = 1000;

json::array Strings(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

json::object AlertObject(const storage::AlertRecord& a, const std::string& state) {
  json::value payload = json::parse(a.payload, {}, {});
  json::object out{
      {"seq", a.seq},
      {"id", a.id},
      {"kind", a.kind},
      {"recommendation", a.recommendation},
      {"milestone", a.milestone.empty() ? json::value(nullptr) : json::value(a.milestone)},
      {"occurrence", a.occurrence},
      {"due", a.due},
      {"raised", a.raised},
      {"late", a.late},
      {"owners", Strings(a.owners)},
      {"audience", Strings(a.audience)},
      {"state", state}};
  // `recommendation` is the subject the alert is about: for an action's alert, the action (its
  // recommendation is in data.recommendation). `subject` says which.
  out["subject"] = "recommendation";
  if (payload.is_object() && payload.as_object().contains("data")) {
    const json::value& data = payload.as_object()["data"];
    if (data.is_object() && data.as_object().contains("subject")) {
      out["subject"] = data.as_object().at("subject");
    }
    out["data"] = data;
  }
  return out;
}

}  // namespace

Response GetAlert(const Call& call) {
  const Target& t = call.target;
  if (Status s = OnlyParams(t, {}); !s.ok()) return Api::Problem(400, s.message());
  const std::string& id = call.params[0];
  // Any failure to find it is "no alert", as for one the caller may not see: a 404 says
  // nothing about others' alerts.
  auto found = call.engine.FindAlert(id);
  if (!found.ok() || !MaySeeAlert(call.engine, call.who, found->alert)) {
    return Api::Problem(404, "no alert '" + id + "'");
  }
  json::object out = AlertObject(found->alert, found->state);
  json::array list;
  // Whoever sees the alert sees whether it was delivered; where to and why not, the operator.
  const bool where = MaySeeWhereAlertsGo(call.engine, call.who);
  for (const auto& d : found->deliveries) {
    if (!where) {
      list.push_back({{"subscription", d.subscription},
                      {"channel", d.channel},
                      {"state", d.state},
                      {"attempts", d.attempts},
                      {"next_attempt",
                       d.state == "pending" ? json::value(d.next_attempt) : json::value(nullptr)},
                      {"last_status", d.last_status}});
      continue;
    }
    json::array log;
    for (const auto& a : found->attempts) {
      if (a.subscription != d.subscription) continue;
      log.push_back(
          {{"attempt", a.attempt},
           {"started", a.started},
           {"finished", a.finished.empty() ? json::value(nullptr) : json::value(a.finished)},
           {"status", a.status},
           {"error", a.error}});
    }
    list.push_back({{"subscription", d.subscription},
                    {"channel", d.channel},
                    {"target", d.target},
                    {"state", d.state},
                    {"attempts", d.attempts},
                    {"next_attempt",
                     d.state == "pending" ? json::value(d.next_attempt) : json::value(nullptr)},
                    {"last_status", d.last_status},
                    {"last_error", d.last_error},
                    {"log", std::move(log)}});
  }
  out["deliveries"] = std::move(list);
  return Json(200, json::serialize(out));
}

Response GetAlerts(const Call& call) {
  const Target& t = call.target;
  const Principal& who = call.who;
  if (Status s = OnlyParams(
          t, {"body", "state", "kind", "recommendation", "after", "limit", "format", "bom"});
      !s.ok()) {
    return Api::Problem(400, s.message());
  }
  auto format = ListFormatParams(t);
  if (!format.ok()) return Api::Problem(400, format.status().message());
  storage::AlertFilter filter;
  auto param = [&](const char* name) { return t.query.count(name) ? t.query.at(name) : ""; };
  filter.body = param("body");
  filter.state = param("state");
  filter.kind = param("kind");
  filter.recommendation = param("recommendation");
  if (!who.body.empty()) {
    if (!filter.body.empty() && filter.body != who.body) {
      return Api::Problem(403, "this token sees only " + who.body);
    }
    filter.body = who.body;
  }
  static const char* const kStates[] = {"pending", "delivered", "failed", "unsubscribed"};
  if (!filter.state.empty() &&
      std::find(std::begin(kStates), std::end(kStates), filter.state) == std::end(kStates)) {
    return Api::Problem(400, "state must be pending, delivered, failed or unsubscribed, not '" +
                                 filter.state + "'");
  }
  if (t.query.count("after")) {
    const std::optional<int64_t> after = ParseDigits(param("after"), 18);
    if (!after) return Api::Problem(400, "after must be an alert seq number");
    filter.after_seq = *after;
  }
  // As CSV, every visible alert: one page as large as the filter can match.
  size_t limit = format->csv ? std::numeric_limits<size_t>::max() - 1 : 100;
  if (t.query.count("limit")) {
    const std::optional<int64_t> asked = ParseDigits(param("limit"), 4);
    if (!asked || *asked == 0 || static_cast<size_t>(*asked) > kMaxAlertPage) {
      return Api::Problem(400, "limit must be a number from 1 to " + std::to_string(kMaxAlertPage));
    }
    limit = static_cast<size_t>(*asked);
  }
  // Visibility is judged after the store's filter, so page by seq until the page is full.
  json::array items;
  std::string csv = format->csv ? AlertsCsvHeader() : "";
  int64_t last = filter.after_seq;
  bool more = false;
  filter.limit = format->csv ? kMaxAlertPage : limit + 1;
  while (true) {
    auto page = call.engine.ListAlerts(filter);
    if (!page.ok()) return FromStatus(page.status());
    for (const auto& a : *page) {
      filter.after_seq = a.seq;
      if (!MaySeeAlert(call.engine, call.who, a)) continue;
      if (items.size() == limit) {
        more = true;
        break;
      }
      auto state = call.engine.AlertState(a.id);
      if (!state.ok()) return FromStatus(state.status());
      if (format->csv) {
        csv += AlertCsvLine(a, *state);
      } else {
        items.push_back(AlertObject(a, *state));
      }
      last = a.seq;
    }
    if (more || page->size() < filter.limit) break;
  }
  if (format->csv) {
    return CsvFile(std::move(csv), "alerts-" + call.engine.clock().Today().ToString() + ".csv",
                   format->bom);
  }
  json::object out{{"items", std::move(items)},
                   {"next_after", more ? json::value(last) : json::value(nullptr)}};
  return Json(200, json::serialize(out));
}

}  // namespace rectrack::http
