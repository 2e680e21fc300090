// Alerting: what `rectrack serve` runs beside the HTTP server to raise and deliver alerts.
//
// Two threads, so neither a slow SQLite commit nor a slow receiver holds up the API:
// - the scheduler sleeps until the start (UK time) of the day the next alert falls due, or until
//   a commit wakes it, then asks the Engine (through EngineHost::Update, serialised with every
//   other use) to raise what is due, and wakes the streams and the dispatcher;
// - the dispatcher claims due deliveries from the outbox on its own SQLite connection, hands
//   them to a Deliverer (webhooks, SMTP; never blocking) and records each attempt's outcome:
//   delivered, retried later on the RetryDelay schedule (honouring Retry-After), failed when the
//   schedule is exhausted, or, on HTTP 410, the subscription disabled.
// Times in the outbox are by the engine's clock, so a demo clock running N times faster retries
// N times sooner; attempt timeouts and webhook-timestamp are real time.
#pragma once

#include <memory>
#include <string>

#include "alerts/delivery.h"
#include "common/status.h"
#include "engine/host.h"

namespace rectrack::alerts {

struct AlertingOptions {
  std::string db_path;    // the database the Engine uses (the dispatcher opens its own connection)
  std::string link_base;  // e.g. "http://127.0.0.1:8080"
  DelivererOptions delivery;
  SmtpRelay smtp;  // url "" when email subscriptions are not used
  std::string smtp_from = "rectrack@localhost";
};

// What `rectrack alerts test-email` sends: a message that says it is a test, from
// options.smtp_from to `to` through options.smtp, its Message-ID made from `id` as an alert's is.
EmailMessage TestEmail(const AlertingOptions& options, const std::string& to,
                       const std::string& id);

class Alerting {
 public:
  // Starts alerts in the host's engine (Engine::StartAlerts, its first pass in turns of 1,024
  // items that the scheduler thread goes on with, between which the server answers) and both
  // threads.
  // REQUIRES: `host` outlives the Alerting.
  static Result<std::unique_ptr<Alerting>> Start(EngineHost& host, const AlertingOptions& options);
  ~Alerting();  // stops both threads; deliveries in flight are abandoned and retried on restart

  struct Impl;

 private:
  explicit Alerting(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rectrack::alerts
