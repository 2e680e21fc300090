#include "alerts/alerting.h"

#include <boost/json.hpp>

#include <chrono>
#include <deque>
#include <iostream>
#include <random>
#include <thread>

#include "common/date.h"
#include "common/mutex.h"
#include "common/strings.h"
#include "engine/engine.h"
#include "storage/alert_store.h"
#include "storage/crypto.h"
#include "storage/database.h"

namespace rectrack::alerts {

namespace chr = std::chrono;
namespace json = boost::json;

namespace {

constexpr auto kLongestSleep = chr::hours(1);  // a backstop; commits and alerts wake us sooner
// How long (real time) before the start of an alert day its alerts are prepared (StageAlerts).
constexpr auto kStageLead = chr::seconds(2);

// Real time until clock instant `when`, for a clock running `rate` times faster than real time.
chr::milliseconds RealDelay(const Clock& clock, Clock::TimePoint when) {
  const auto delta = when - clock.Now();
  if (delta <= Clock::TimePoint::duration::zero()) return chr::milliseconds(0);
  const double rate = clock.Rate();
  if (rate <= 0) return chr::duration_cast<chr::milliseconds>(kLongestSleep);
  const double ms = chr::duration<double, std::milli>(delta).count() / rate;
  const double longest = chr::duration<double, std::milli>(kLongestSleep).count();
  return chr::milliseconds(static_cast<long long>(std::min(ms, longest)) + 1);
}

std::string Field(const json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end()) return "";
  if (it->value().is_string()) return std::string(it->value().as_string());
  if (it->value().is_int64()) return std::to_string(it->value().as_int64());
  return "";
}

// Unique to the alert and the recipient (so a mail system's duplicate check never merges two
// people's copies), the same on every retry, and under the sender's domain (RFC 5322 3.6.4).
std::string MessageId(const std::string& alert_id, const std::string& from, const std::string& to) {
  std::string domain =
      from.substr(from.rfind('@') == std::string::npos ? from.size() : from.rfind('@') + 1);
  std::erase_if(domain, [](char c) { return c == '>' || c == ' '; });
  if (domain.empty()) domain = "localhost";
  return "<" + alert_id + "@" + storage::Sha256Hex(Lower(to)).substr(0, 16) + "." + domain + ">";
}

EmailMessage MakeEmail(const storage::AlertRecord& alert, const std::string& from,
                       const std::string& to, const SmtpRelay& relay) {
  json::object data;
  json::value doc = json::parse(alert.payload, {}, {});
  if (doc.is_object() && doc.as_object()["data"].is_object()) {
    data = doc.as_object()["data"].as_object();
  }
  std::string milestone;
  if (auto it = data.find("milestone"); it != data.end() && it->value().is_object()) {
    const std::string label = Field(it->value().as_object(), "label");
    milestone =
        (label == "due" ? "" : label + " ") + "due " + Field(it->value().as_object(), "due");
  }
  // How far ahead of the milestone a reminder is, so the 30- and 7-day ones read differently.
  std::string ahead;
  if (auto it = data.find("milestone"); it != data.end() && it->value().is_object()) {
    const auto due = Date::Parse(Field(it->value().as_object(), "due"));
    const auto on = Date::Parse(alert.due);
    const int days = due && on ? due->days_since_epoch() - on->days_since_epoch() : 0;
    if (days > 0) ahead = ", in " + std::to_string(days) + (days == 1 ? " day" : " days");
  }
  EmailMessage m;
  m.relay = relay;
  m.from = from;
  m.to = to;
  m.message_id = MessageId(alert.id, from, to);
  m.subject = "[rectrack] " + alert.kind + ": " + alert.recommendation +
              (milestone.empty() ? "" : " (" + milestone + ahead + ")") +
              (alert.late ? " [late]" : "");
  const std::string owners = Join(alert.owners);
  long long days_overdue = 0;
  if (auto it = data.find("days_overdue"); it != data.end() && it->value().is_int64()) {
    days_overdue = it->value().as_int64();
  }
  // An action's alert names the action, its unit and the recommendation it answers.
  std::string about = "Recommendation: " + alert.recommendation;
  if (Field(data, "subject") == "action") {
    about = "Action: " + alert.recommendation +
            "\nRecommendation: " + Field(data, "recommendation") +
            (Field(data, "unit").empty() ? "" : "\nUnit: " + Field(data, "unit"));
  }
  m.body =
      "Alert " + alert.id + ": " + alert.kind + "\n\n" + about + "\nOwners: " + owners + "\n" +
      (milestone.empty() ? "" : "Milestone: " + milestone + "\n") + "Alert due: " + alert.due +
      (days_overdue > 0 ? "\nDays overdue: " + std::to_string(days_overdue) : "") +
      "\nRaised: " + alert.raised +
      (alert.late ? " (late: raised after the day it fell due, as when it fell due before "
                    "rectrack's alerts started or while they were stopped)"
                  : "") +
      "\n\n" + Field(data, "text") + "\n\n" +
      (Field(data, "page").empty() ? "" : "Open it in rectrack: " + Field(data, "page") + "\n") +
      "API: " + Field(data, "link") + "\n";
  return m;
}

}  // namespace

struct Alerting::Impl {
  EngineHost& host;
  const Clock& clock;
  const Rules& rules;
  AlertingOptions options;

  Mutex mutex;
  CondVar scheduler_cv{&mutex};
  CondVar dispatcher_cv{&mutex};
  bool stopping GUARDED_BY(mutex) = false;
  bool scheduler_woken GUARDED_BY(mutex) = false;
  bool dispatcher_woken GUARDED_BY(mutex) = false;
  struct Completion {
    storage::DeliveryRecord delivery;
    AttemptResult result;
  };
  std::deque<Completion> completions GUARDED_BY(mutex);
  size_t in_flight = 0;  // dispatcher thread only
  int listener = 0;
  std::mt19937_64 random{std::random_device{}()};

  std::thread scheduler, dispatcher;
  // Last: destroyed first, while what its callbacks touch is still alive.
  std::unique_ptr<Deliverer> deliverer;

  Impl(EngineHost& h, const Clock& c, const Rules& r, const AlertingOptions& o)
      : host(h), clock(c), rules(r), options(o) {}

  void WakeScheduler() EXCLUDES(mutex) {
    MutexLock lock(&mutex);
    scheduler_woken = true;
    scheduler_cv.Signal();
  }
  void WakeDispatcher() EXCLUDES(mutex) {
    MutexLock lock(&mutex);
    dispatcher_woken = true;
    dispatcher_cv.Signal();
  }

  // Sleeps for `delay` or until woken (or, for the dispatcher, a delivery completes) or
  // stopping; false when stopping.
  bool SleepScheduler(chr::milliseconds delay) EXCLUDES(mutex) {
    MutexLock lock(&mutex);
    const auto due = chr::steady_clock::now() + delay;
    for (auto now = chr::steady_clock::now(); !stopping && !scheduler_woken && now < due;
         now = chr::steady_clock::now()) {
      scheduler_cv.WaitFor(due - now);
    }
    scheduler_woken = false;
    return !stopping;
  }
  bool SleepDispatcher(chr::milliseconds delay) EXCLUDES(mutex) {
    MutexLock lock(&mutex);
    const auto due = chr::steady_clock::now() + delay;
    for (auto now = chr::steady_clock::now();
         !stopping && !dispatcher_woken && completions.empty() && now < due;
         now = chr::steady_clock::now()) {
      dispatcher_cv.WaitFor(due - now);
    }
    dispatcher_woken = false;
    return !stopping;
  }

  void RunScheduler() {
    do {
      std::vector<storage::AlertRecord> raised;
      std::optional<Date> next;
      bool staged = false;
      bool first_pass = false;  // the engine's first pass of the alert days is under way
      Status failed;
      // The host takes in other processes' commits first (and wakes the streams for them).
      Status refreshed = host.Update([&](Engine& e) {
        auto r = e.RaiseDueAlerts();
        if (r.ok()) {
          raised = std::move(*r);
        } else {
          failed = r.status();
        }
        next = e.NextAlertDay();
        first_pass = !e.alert_days_known();
        // Shortly before the next alert day, prepare its alerts, so that at its start only
        // the writing is left. A failure here is not one: the alerts are computed when raised.
        if (failed.ok() && next && *next > clock.Today() && e.staged_day() != next &&
            RealDelay(clock, UkDayStart(*next)) <= kStageLead) {
          Status s = e.StageAlerts(*next);
          if (!s.ok())
            std::cerr << "rectrack: alerts: preparing " << next->ToString() << ": " << s.message()
                      << std::endl;
        }
        staged = next && e.staged_day() == next;
      });
      if (!refreshed.ok()) failed = refreshed;
      auto delay = chr::duration_cast<chr::milliseconds>(kLongestSleep);
      if (!failed.ok()) {
        std::cerr << "rectrack: alerts: " << failed.message() << " (trying again in 5 s)"
                  << std::endl;
        delay = chr::seconds(5);
      } else if (next) {
        const auto until_start = RealDelay(clock, UkDayStart(*next));
        // A day raised in turns (AlertOptions::raise_batch), or the first pass's turns: a
        // moment between them, in which the requests waiting for the engine are answered.
        delay = std::max(until_start, chr::milliseconds(raised.empty() && !first_pass ? 50 : 2));
        // Wake early once, to prepare the day's alerts.
        if (!staged && until_start > kStageLead) delay = until_start - kStageLead;
      }
      if (!raised.empty()) host.Notify();  // streams send alerts too
      if (!raised.empty()) WakeDispatcher();
      if (!SleepScheduler(delay)) return;
    } while (true);
  }

  const Subscription* FindSubscription(const std::string& id) const {
    for (const auto& s : rules.subscriptions()) {
      if (s.id == id) return &s;
    }
    return nullptr;
  }

  void Record(storage::AlertStore& store, const Completion& c) {
    const std::string now = clock.NowRfc3339();
    const auto& d = c.delivery;
    const AttemptResult& r = c.result;
    Status s;
    if (r.delivered) {
      s = store.Finish(d.alert_id, d.subscription, r.status, "", now, "delivered", "");
    } else if (r.gone) {
      s = store.Finish(d.alert_id, d.subscription, r.status, "HTTP 410 Gone: subscription disabled",
                       now, "failed", "");
      if (s.ok()) {
        s = store.DisableSubscription(d.subscription, now,
                                      "the receiver answered 410 Gone to alert " + d.alert_id);
      }
    } else {
      const double unit = std::uniform_real_distribution<double>(0, 1)(random);
      auto delay = RetryDelay(d.attempts, r.retry_after, unit);
      if (delay) {
        s = store.Finish(d.alert_id, d.subscription, r.status, r.error, now, "pending",
                         FormatInstant(clock.Now() + *delay));
      } else {
        s = store.Finish(d.alert_id, d.subscription, r.status,
                         r.error + " (gave up after " + std::to_string(d.attempts) + " attempts)",
                         now, "failed", "");
      }
    }
    if (!s.ok())
      std::cerr << "rectrack: alerts: recording a delivery: " << s.message() << std::endl;
  }

  void Send(storage::AlertStore& store, const storage::DeliveryRecord& d) {
    auto done = [this, d](AttemptResult result) {
      MutexLock lock(&mutex);
      completions.push_back({d, std::move(result)});
      dispatcher_cv.Signal();
    };
    const Subscription* sub = FindSubscription(d.subscription);
    auto alert = store.Find(d.alert_id);
    ++in_flight;
    if (!sub || !alert.ok()) {
      AttemptResult r;
      r.error = !sub ? "subscription '" + d.subscription + "' is no longer in the rules"
                     : alert.status().message();
      return done(r);
    }
    if (!sub->webhook.empty()) {
      WebhookMessage m;
      m.url = sub->webhook;
      m.secret = sub->secret;
      m.id = alert->id;
      // Receivers check webhook-timestamp against their own clock: real time, even in a demo.
      m.timestamp = std::to_string(
          chr::duration_cast<chr::seconds>(chr::system_clock::now().time_since_epoch()).count());
      m.body = alert->payload;
      deliverer->Send(std::move(m), done);
    } else if (options.smtp.url.empty()) {
      AttemptResult r;
      r.error = "no smtp_url is configured for email subscriptions";
      done(r);
    } else {
      deliverer->Send(MakeEmail(*alert, options.smtp_from, sub->email, options.smtp), done);
    }
  }

  void RunDispatcher() {
    auto db = storage::Database::Open(options.db_path, storage::Database::OpenMode::kExisting);
    if (!db.ok()) {
      std::cerr << "rectrack: alerts: cannot deliver: " << db.status().message() << std::endl;
      return;
    }
    storage::AlertStore store(db->get());
    // A claim outlives an attempt, so a delivery in flight when the process died is sent again
    // soon after a restart (same webhook-id), never twice at once.
    const auto claim = chr::duration<double>(options.delivery.timeout + chr::seconds(5)) *
                       std::max(clock.Rate(), 1.0);
    do {
      std::deque<Completion> done;
      {
        MutexLock lock(&mutex);
        done.swap(completions);
      }
      for (const auto& c : done) {
        Record(store, c);
        --in_flight;
      }
      const size_t room = options.delivery.max_in_flight > in_flight
                              ? options.delivery.max_in_flight - in_flight
                              : 0;
      if (room > 0) {
        const Clock::TimePoint now = clock.Now();
        auto claimed = store.ClaimDue(
            FormatInstant(now),
            FormatInstant(now + chr::duration_cast<Clock::TimePoint::duration>(claim)), room);
        if (!claimed.ok()) {
          std::cerr << "rectrack: alerts: " << claimed.status().message() << std::endl;
        } else {
          for (const auto& d : *claimed) Send(store, d);
        }
      }
      auto delay = chr::duration_cast<chr::milliseconds>(kLongestSleep);
      if (auto next = store.NextAttempt(); next.ok() && next->has_value()) {
        if (auto when = ParseInstant(**next)) {
          delay = RealDelay(clock, *when);
          // Due but claimed (in flight here, or by a process that died): look again shortly.
          if (delay.count() == 0) delay = chr::milliseconds(1000);
        }
      }
      if (!SleepDispatcher(delay)) return;
    } while (true);
  }
};

EmailMessage TestEmail(const AlertingOptions& options, const std::string& to,
                       const std::string& id) {
  EmailMessage m;
  m.relay = options.smtp;
  m.from = options.smtp_from;
  m.to = to;
  m.message_id = MessageId(id, options.smtp_from, to);
  m.subject = "[rectrack] test message — your SMTP settings work";
  m.body =
      "This is a test message from rectrack, sent with `rectrack alerts test-email`.\n"
      "Email alerts to this address will come through the same relay (" +
      options.smtp.url + ") — nothing else needs doing.\n";
  return m;
}

Alerting::Alerting(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Alerting>> Alerting::Start(EngineHost& host,
                                                  const AlertingOptions& options) {
  // The rules and the clock are fixed once the engine is open: kept for the threads.
  const Rules* rules = nullptr;
  const Clock* clock = nullptr;
  RETURN_IF_ERROR(host.Read([&](const Engine& e) {
    rules = e.rules();
    clock = &e.clock();
  }));
  if (!rules) return Status::FailedPrecondition("alerts need rules (--rules DIR)");
  for (const Subscription& sub : rules->subscriptions()) {
    if (!sub.webhook.empty()) {
      RETURN_IF_ERROR(options.delivery.allow.Check(sub.webhook).WithContext(sub.where));
    } else if (options.smtp.url.empty()) {
      return Status::InvalidArgument(sub.where + ": subscription '" + sub.id +
                                     "' sends email, but no smtp_url is configured");
    }
  }
  Status started;
  // The first pass over a long log goes in turns, between which the server answers.
  constexpr size_t kFirstPassTurn = 1024;
  RETURN_IF_ERROR(host.Update([&](Engine& e) {
    started = e.StartAlerts({.link_base = options.link_base, .first_pass_turn = kFirstPassTurn});
  }));
  RETURN_IF_ERROR(started);
  auto impl = std::make_unique<Impl>(host, *clock, *rules, options);
  impl->deliverer = std::make_unique<Deliverer>(options.delivery);
  Impl* raw = impl.get();
  impl->listener = host.Subscribe([raw] { raw->WakeScheduler(); });
  impl->scheduler = std::thread([raw] { raw->RunScheduler(); });
  impl->dispatcher = std::thread([raw] { raw->RunDispatcher(); });
  return std::unique_ptr<Alerting>(new Alerting(std::move(impl)));
}

Alerting::~Alerting() {
  impl_->host.Unsubscribe(impl_->listener);
  {
    MutexLock lock(&impl_->mutex);
    impl_->stopping = true;
  }
  impl_->scheduler_cv.SignalAll();
  impl_->dispatcher_cv.SignalAll();
  if (impl_->scheduler.joinable()) impl_->scheduler.join();
  if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
  impl_->deliverer.reset();
}

}  // namespace rectrack::alerts
