// The push side of the API: the live event stream (its frames and who may open one).
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/host.h"
#include "http/api.h"
#include "http/api_util.h"

namespace rectrack::http {

std::variant<StreamRequest, Response> Api::OpenStream(const Request& req) {
  auto target = ParseTarget(req.target);
  if (!target.ok()) return Problem(400, target.status().message());
  if (Status s = OnlyParams(*target, {"body"}); !s.ok()) return Problem(400, s.message());
  StreamRequest stream;
  stream.body = target->query.count("body") ? target->query.at("body") : "";
  std::optional<Response> refused;
  const std::string presented_hash = PresentedHash(req, "");
  Status refreshed = host_->Read([&](const Engine& engine) {
    auto authenticated = Authenticate(engine, req, true, "", presented_hash);
    if (auto* refusal = std::get_if<Response>(&authenticated)) {
      refused = std::move(*refusal);
      return;
    }
    stream.who = std::get<Principal>(authenticated);
    stream.client = RateClient(&stream.who, req);
    const std::string auth = req.Header("authorization");
    if (auth.size() > 7) stream.secret = auth.substr(7);
    stream.after = {engine.last_seq(), engine.last_alert_seq()};
    // An unknown body is 404, as for lists and feeds: not a stream that stays silent.
    if (!stream.body.empty() && !engine.HasBody(stream.body)) {
      refused = Problem(404, "no body '" + stream.body + "'");
    }
  });
  if (!refreshed.ok()) return FromStatus(refreshed);
  if (refused) return std::move(*refused);
  if (!stream.who.body.empty() && !stream.body.empty() && stream.body != stream.who.body) {
    return Problem(403, "this token sees only " + stream.who.body);
  }
  // Resuming: a client that saw frame "E" or "E.A" asks for what came after it.
  if (const std::string last = req.Header("last-event-id"); !last.empty()) {
    const size_t dot = last.find('.');
    const std::string event = last.substr(0, dot);
    const std::string alert = dot == std::string::npos ? "0" : last.substr(dot + 1);
    const std::optional<int64_t> event_seq = ParseDigits(event, 18);
    const std::optional<int64_t> alert_seq = ParseDigits(alert, 18);
    if (!event_seq || !alert_seq) {
      return Problem(400, "Last-Event-ID must be an event number, or EVENT.ALERT as sent in id:");
    }
    // Not beyond the newest: a stream waiting for event 10^9 would stay silent.
    stream.after.event = std::min<int64_t>(*event_seq, stream.after.event);
    stream.after.alert = std::min<int64_t>(*alert_seq, stream.after.alert);
  }
  MutexLock lock(&streams_mutex_);
  if (streams_ >= options_.max_streams) {
    return Problem(503,
                   "too many open streams (at most " + std::to_string(options_.max_streams) + ")");
  }
  int& of_client = streams_by_client_[stream.client];
  if (of_client >= StreamsPerClient()) {
    Response r = Problem(429, "this token (or address) has " + std::to_string(of_client) +
                                  " streams open already, the most one may hold at once");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  ++of_client;
  ++streams_;
  return stream;
}

void Api::CloseStream(const StreamRequest& stream) {
  MutexLock lock(&streams_mutex_);
  --streams_;
  if (auto it = streams_by_client_.find(stream.client);
      it != streams_by_client_.end() && --it->second <= 0) {
    streams_by_client_.erase(it);
  }
}

std::string StreamCursor::Id() const {
  return std::to_string(event) + (alert ? "." + std::to_string(alert) : "");
}

namespace {

// "event: recommendation|action\ndata: {...}\n\n" for one event, whoever reads it.
std::string EventFrame(const FeedEntry& entry) {
  const TimelineEntry& e = entry.event;
  json::object fields;
  for (const auto& [name, values] : e.fields) {
    json::array list;
    for (const auto& v : values) list.emplace_back(v);
    fields[name] = std::move(list);
  }
  json::array owners;
  for (const auto& o : entry.owners) owners.emplace_back(o);
  json::object data{{"seq", e.seq},
                    {"recommendation", entry.recommendation},
                    {"action", entry.action},
                    {"unit", entry.unit},
                    {"inspection", entry.inspection},
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
  return std::string("event: ") + (entry.action.empty() ? "recommendation" : "action") +
         "\ndata: " + json::serialize(data) + "\n\n";
}

}  // namespace

std::optional<std::string> Api::StreamFrames(const StreamRequest& stream, StreamCursor* cursor) {
  std::vector<FeedEntry> entries;
  std::vector<storage::AlertRecord> alerts;
  // Frames other streams rendered already, found while the page was read.
  std::map<int64_t, std::shared_ptr<const std::string>> shared;
  auto known = [&](int64_t seq) {
    MutexLock lock(&frames_mutex_);
    auto it = frames_.find(seq);
    if (it == frames_.end()) return false;
    shared.emplace(seq, it->second);
    return true;
  };
  int64_t alerts_seen = cursor->alert;
  int64_t events_seen = cursor->event;
  bool more = false;
  bool valid = true;
  Status paged;
  Status refreshed = host_->Read([&](const Engine& engine) {
    // Tokens revoked by another process are noticed once the host's refresh sees its commit.
    if (!stream.secret.empty() && !engine.Authenticate(stream.secret).ok()) {
      valid = false;
      return;
    }
    // A page at a time, oldest first: the cost of what is new, not of the log, and bounded
    // memory for a stream resuming from far back.
    auto page = engine.FeedAfter(stream.who, stream.body, cursor->event, kStreamBatch, known);
    if (!page.ok()) {
      // A history that cannot be read back: the stream ends where it is, and the client's
      // reconnection (Last-Event-ID) asks again, rather than skip the event.
      paged = page.status();
      return;
    }
    entries = std::move(page->entries);
    events_seen = page->scanned_to;
    more = page->more;
    if (engine.last_alert_seq() > cursor->alert) {
      storage::AlertFilter filter;
      filter.body = stream.body;
      filter.after_seq = cursor->alert;
      filter.limit = kStreamBatch;
      auto listed = engine.ListAlerts(filter);
      if (listed.ok()) {
        if (listed->size() == kStreamBatch) more = true;
        for (auto& a : *listed) {
          alerts_seen = std::max(alerts_seen, a.seq);  // seen, even when not shown
          if (MaySeeAlert(engine, stream.who, a)) alerts.push_back(std::move(a));
        }
      }
    }
  });
  if (!paged.ok()) {
    // Said where an operator looks, as the alerts' failures are: the client will ask again.
    std::cerr << "rectrack: stream: ended after event " << cursor->event << ": " << paged.message()
              << std::endl;
  }
  if (!valid || !paged.ok() || (!refreshed.ok() && !stream.secret.empty())) return std::nullopt;
  // Rendered outside the host's lock; each new frame once, for every stream.
  std::string frames;
  for (const FeedEntry& entry : entries) {
    const int64_t seq = entry.event.seq;
    auto it = shared.find(seq);
    std::shared_ptr<const std::string> frame =
        it != shared.end() ? it->second : std::make_shared<const std::string>(EventFrame(entry));
    if (it == shared.end()) {
      MutexLock lock(&frames_mutex_);
      frames_.emplace(seq, frame);
      while (frames_.size() > kSharedFrames) frames_.erase(frames_.begin());
    }
    cursor->event = std::max(cursor->event, seq);
    frames += "id: " + cursor->Id() + "\n" + *frame;
  }
  for (const auto& a : alerts) {
    cursor->alert = a.seq;
    // The alert's delivered document; its `data` is what webhooks receive.
    frames += "id: " + cursor->Id() + "\nevent: alert\ndata: " + a.payload + "\n\n";
  }
  cursor->alert = alerts_seen;
  cursor->event = std::max(cursor->event, events_seen);
  cursor->more = more;
  // A stream's bytes count against its client's budget, as answers do: over it, the stream
  // ends after these frames, and its client's reconnection is refused (429) until the minute
  // turns, then resumes from its Last-Event-ID.
  cursor->spent = !rate_.Charge(stream.client, frames.size());
  return frames;
}

void Api::CountServerAnswer(const std::string& target, int status) {
  metrics_.Count(target.empty() ? "unread" : RouteLabel(target), status);
}

}  // namespace rectrack::http
