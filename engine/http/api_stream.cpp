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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status fresh = engine_->Refresh(); !fresh.ok()) return FromStatus(fresh);
    auto authenticated = Authenticate(req, true, "");
    if (auto* refusal = std::get_if<Response>(&authenticated)) return std::move(*refusal);
    stream.who = std::get<Principal>(authenticated);
    const std::string auth = req.Header("authorization");
    if (auth.size() > 7) stream.secret = auth.substr(7);
    stream.after_seq = engine_->last_seq();
  }
  stream.body = target->query.count("body") ? target->query.at("body") : "";
  if (!stream.who.body.empty() && !stream.body.empty() && stream.body != stream.who.body) {
    return Problem(403, "this token sees only " + stream.who.body);
  }
  // Resuming: a client that saw event N asks for what came after it.
  if (const std::string last = req.Header("last-event-id"); !last.empty()) {
    if (last.size() > 18 || last.find_first_not_of("0123456789") != std::string::npos) {
      return Problem(400, "Last-Event-ID must be an event number");
    }
    // Not beyond the newest event: a stream waiting for event 10^9 would stay silent.
    stream.after_seq = std::min<int64_t>(std::stoll(last), stream.after_seq);
  }
  if (++streams_ > options_.max_streams) {
    --streams_;
    return Problem(503,
                   "too many open streams (at most " + std::to_string(options_.max_streams) + ")");
  }
  return stream;
}

std::optional<std::string> Api::StreamFrames(const StreamRequest& stream, int64_t* after_seq) {
  std::vector<FeedEntry> entries;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stream.secret.empty()) {
      // Tokens revoked by another process are noticed once Refresh sees its commit.
      if (!engine_->Refresh().ok() || !engine_->Authenticate(stream.secret).ok()) {
        return std::nullopt;
      }
    }
    // All of them: a capped batch would skip events between it and the newest.
    entries =
        engine_->Feed(stream.who, stream.body, *after_seq, std::numeric_limits<size_t>::max());
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
                      {"inspection", it->inspection},
                      {"owners", std::move(owners)},
                      {"do", e.transition},
                      {"effective", e.effective.ToString()},
                      {"recorded", e.recorded},
                      {"voice", e.voice},
                      {"body", e.body},
                      {"from", e.from_state},
                      {"to", e.to_state},
                      {"note", e.note},
                      {"fields", std::move(fields)}};
    frames += "id: " + std::to_string(e.seq) +
              "\nevent: recommendation\ndata: " + json::serialize(data) + "\n\n";
    *after_seq = std::max(*after_seq, e.seq);
  }
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

void Api::NotifyIfGrown(int64_t before) {
  int64_t now;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    now = engine_->last_seq();
  }
  if (now == before) return;
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const auto& listener : listeners) listener();
}

void Api::Poll() {
  int64_t before;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    before = engine_->last_seq();
    if (!engine_->Refresh().ok()) return;  // the next request reports the error
  }
  NotifyIfGrown(before);
}

}  // namespace rectrack::http
