// The push side of the API: the live event stream and the listeners woken by commits.
#include <algorithm>
#include <limits>

#include "engine/http/api.h"
#include "engine/http/api_util.h"

namespace rectrack::http {

std::variant<StreamRequest, Response> Api::OpenStream(const Request& req) {
  auto target = ParseTarget(req.target);
  if (!target.ok()) return Problem(400, target.status().message());
  if (Status s = OnlyParams(*target, {"body"}); !s.ok()) return Problem(400, s.message());
  StreamRequest stream;
  bool caught_up = false;
  std::optional<Response> refused;
  {
    const std::string presented_hash = PresentedHash(req, "");
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status refreshed = Refresh(caught_up); !refreshed.ok()) {
      refused = FromStatus(refreshed);
    } else {
      auto authenticated = Authenticate(req, true, "", presented_hash);
      if (auto* refusal = std::get_if<Response>(&authenticated)) {
        refused = std::move(*refusal);
      } else {
        stream.who = std::get<Principal>(authenticated);
        const std::string auth = req.Header("authorization");
        if (auth.size() > 7) stream.secret = auth.substr(7);
        stream.after = {engine_->last_seq(), engine_->last_alert_seq()};
      }
    }
  }
  if (caught_up) NotifyListeners();
  if (refused) return std::move(*refused);
  stream.body = target->query.count("body") ? target->query.at("body") : "";
  if (!stream.who.body.empty() && !stream.body.empty() && stream.body != stream.who.body) {
    return Problem(403, "this token sees only " + stream.who.body);
  }
  // Resuming: a client that saw frame "E" or "E.A" asks for what came after it.
  if (const std::string last = req.Header("last-event-id"); !last.empty()) {
    const size_t dot = last.find('.');
    const std::string event = last.substr(0, dot);
    const std::string alert = dot == std::string::npos ? "0" : last.substr(dot + 1);
    auto number = [](const std::string& s) {
      return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!number(event) || !number(alert)) {
      return Problem(400, "Last-Event-ID must be an event number, or EVENT.ALERT as sent in id:");
    }
    // Not beyond the newest: a stream waiting for event 10^9 would stay silent.
    stream.after.event = std::min<int64_t>(std::stoll(event), stream.after.event);
    stream.after.alert = std::min<int64_t>(std::stoll(alert), stream.after.alert);
  }
  if (++streams_ > options_.max_streams) {
    --streams_;
    return Problem(503,
                   "too many open streams (at most " + std::to_string(options_.max_streams) + ")");
  }
  return stream;
}

std::string StreamCursor::Id() const {
  return std::to_string(event) + (alert ? "." + std::to_string(alert) : "");
}

std::optional<std::string> Api::StreamFrames(const StreamRequest& stream, StreamCursor* cursor) {
  std::vector<FeedEntry> entries;
  std::vector<storage::AlertRecord> alerts;
  int64_t alerts_seen = cursor->alert;
  bool caught_up = false;
  // The other streams are woken for what this one's Refresh took in, whatever happens next.
  struct WakeOthers {
    Api* api;
    const bool& caught_up;
    ~WakeOthers() {
      if (caught_up) api->NotifyListeners();
    }
  } wake_others{this, caught_up};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stream.secret.empty()) {
      // Tokens revoked by another process are noticed once Refresh sees its commit.
      if (!Refresh(caught_up).ok() || !engine_->Authenticate(stream.secret).ok()) {
        return std::nullopt;
      }
    }
    // All of them: a capped batch would skip events between it and the newest.
    entries =
        engine_->Feed(stream.who, stream.body, cursor->event, std::numeric_limits<size_t>::max());
    if (engine_->last_alert_seq() > cursor->alert) {
      storage::AlertFilter filter;
      filter.body = stream.body;
      filter.after_seq = cursor->alert;
      filter.limit = std::numeric_limits<size_t>::max();
      auto listed = engine_->alert_store().List(filter);
      if (listed.ok()) {
        for (auto& a : *listed) {
          alerts_seen = std::max(alerts_seen, a.seq);  // seen, even when not shown
          if (engine_->MaySee(stream.who, a.owners)) alerts.push_back(std::move(a));
        }
      }
    }
  }
  std::string frames;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const TimelineEntry& e = it->event;
    json::object fields;
    for (const auto& [name, values] : e.fields) {
      json::array list;
      for (const auto& v : values) list.emplace_back(v);
      fields[name] = std::move(list);
    }
    json::array owners;
    for (const auto& o : it->owners) owners.emplace_back(o);
    json::object data{{"seq", e.seq},
                      {"recommendation", it->recommendation},
                      {"action", it->action},
                      {"unit", it->unit},
                      {"inspection", it->inspection},
                      {"owners", std::move(owners)},
                      {"do", e.transition},
                      {"effective", e.effective.ToString()},
                      {"recorded", e.recorded},
                      {"voice", e.voice},
                      {"body", e.body},
                      {"actor_unit", e.unit},
                      {"from", e.from_state},
                      {"to", e.to_state},
                      {"note", e.note},
                      {"fields", std::move(fields)}};
    cursor->event = std::max(cursor->event, e.seq);
    frames += "id: " + cursor->Id() +
              "\nevent: " + (it->action.empty() ? "recommendation" : "action") +
              "\ndata: " + json::serialize(data) + "\n\n";
  }
  for (const auto& a : alerts) {
    cursor->alert = a.seq;
    // The alert's delivered document; its `data` is what webhooks receive.
    frames += "id: " + cursor->Id() + "\nevent: alert\ndata: " + a.payload + "\n\n";
  }
  cursor->alert = alerts_seen;
  return frames;
}

int Api::Subscribe(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  listeners_[++next_listener_] = std::move(listener);
  return next_listener_;
}

void Api::Unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  listeners_.erase(id);
}

Status Api::Refresh(bool& caught_up) {
  const int64_t before = engine_->last_seq();
  Status refreshed = engine_->Refresh();
  caught_up = caught_up || engine_->last_seq() != before;
  return refreshed;
}

void Api::CountServerAnswer(const std::string& target, int status) {
  metrics_.Count(target.empty() ? "unread" : RouteLabel(target), status);
}

void Api::NotifyAlerts() { NotifyListeners(); }

void Api::WithEngine(const std::function<void(Engine&)>& fn) {
  std::unique_lock<std::mutex> lock(mutex_);
  // `fn` may write (alerts, deliveries): not while a group's commit is in flight.
  commit_landed_.wait(lock, [&] { return !commit_in_flight_; });
  fn(*engine_);
}

void Api::NotifyListeners() {
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const auto& listener : listeners) listener();
}

void Api::Poll() {
  bool caught_up = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    (void)Refresh(caught_up);  // an error is the next request's to report
  }
  if (caught_up) NotifyListeners();
}

}  // namespace rectrack::http
