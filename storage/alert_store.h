// AlertStore: the durable alert outbox. An alert is written once, when it falls due, under a
// dedupe key that names it for ever (recommendation, milestone or anchor event, kind,
// occurrence), so a restart never raises it twice and never loses it. Its id is derived from the
// key, so the same alert always carries the same id (and the same webhook-id on every delivery).
// Each alert has one delivery per matching subscription; every delivery attempt is logged.
//
// Alerts are append-only (triggers refuse UPDATE and DELETE); deliveries change state.
// Thread-safety: as the Database it wraps, one thread at a time. Several connections (the
// scheduler's, the dispatcher's) may use the same file; claims keep two dispatchers from sending
// the same delivery at once.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

struct AlertRecord {
  int64_t seq = 0;  // order raised, from 1; set by Raise
  std::string id;   // AlertIdFor(dedupe_key)
  std::string dedupe_key;
  std::string kind;
  std::string recommendation;
  std::string milestone;  // "" for event-anchored alerts
  int occurrence = 0;
  std::string due;     // YYYY-MM-DD
  std::string raised;  // RFC 3339, by the engine's clock
  bool late = false;   // raised after its due day (it fell due while the server was down)
  // Stored as JSON arrays of strings, so any body id round-trips.
  std::vector<std::string> owners;    // body ids
  std::vector<std::string> audience;  // body ids and/or "inspectorate"
  std::string payload;                // the JSON document delivered, fixed when raised
};

// A delivery to be made: one alert to one subscription's channel.
struct DeliveryRecord {
  std::string alert_id;
  std::string subscription;
  std::string channel;  // "webhook" or "email"
  std::string target;   // URL or email address
  std::string state;    // "pending", "delivered", "failed"
  int attempts = 0;
  std::string next_attempt;  // RFC 3339; when it may next be tried
  int last_status = 0;       // HTTP status or SMTP reply code of the last attempt; 0 for none
  std::string last_error;
};

struct AttemptRecord {
  std::string alert_id;
  std::string subscription;
  int attempt = 0;  // 1-based
  std::string started;
  std::string finished;  // "" while in flight (or if the process died in flight)
  int status = 0;
  std::string error;
};

struct AlertFilter {
  std::string body;   // alerts whose owners or audience include it; "" for all
  std::string state;  // "pending", "delivered", "failed", "unsubscribed" (no delivery); "" all
  std::string kind;   // "" for all
  std::string recommendation;  // "" for all
  int64_t after_seq = 0;       // only alerts with seq > after_seq
  int64_t before_seq = 0;      // only alerts with seq < before_seq; 0 for no bound
  size_t limit = 1000;
  bool newest_first = false;
};

// "alrt_" + the first 24 hex digits of SHA-256(dedupe_key).
std::string AlertIdFor(const std::string& dedupe_key);

class AlertStore {
 public:
  explicit AlertStore(Database* db) : db_(db) {}

  // Inserts `alert` (id computed from its key; seq assigned) with one pending delivery per
  // element of `deliveries` (next_attempt = alert.raised), unless an alert with the same dedupe
  // key exists: then nothing changes and the result is false. REQUIRES: the caller holds a write
  // transaction (the scheduler raises a batch of alerts in one); without one Raise refuses
  // (IOError) rather than risk an alert stored without its deliveries. alert.id and alert.seq,
  // and each delivery's alert_id and state fields, are ignored. InvalidArgument, before anything
  // is written, for an empty key or a subscription that is empty or given twice; any later
  // failure leaves partial rows that the caller's rollback removes. When inserted and `seq` is
  // given, *seq is the new alert's seq.
  Result<bool> Raise(const AlertRecord& alert, const std::vector<DeliveryRecord>& deliveries,
                     int64_t* seq = nullptr);
  // Dedupe keys already raised for `recommendation`.
  Result<std::set<std::string>> KeysFor(const std::string& recommendation);
  Result<std::vector<AlertRecord>> List(const AlertFilter& filter);
  Result<AlertRecord> Find(const std::string& id);  // NotFound
  // Overall state of an alert: "pending" if any delivery is pending, else "failed" if any
  // failed, else "delivered" if it has deliveries, else "unsubscribed".
  Result<std::string> StateOf(const std::string& id);
  Result<std::vector<DeliveryRecord>> Deliveries(const std::string& alert_id);
  // In the order started (then subscription, attempt).
  Result<std::vector<AttemptRecord>> Attempts(const std::string& alert_id);

  // Dispatcher side. Claims up to `limit` pending deliveries with next_attempt <= now and no
  // live claim, marking them claimed until `claim_until` and starting attempt number
  // attempts + 1 (logged with finished ""), all in one write transaction; returns them with
  // `attempts` already incremented, earliest next_attempt first (then the order raised). A claim
  // whose claim_until has passed is dead (its process died mid-attempt): the delivery is claimed
  // and sent again. Pending deliveries of a disabled subscription (raised after it was disabled)
  // are failed here, as DisableSubscription fails those pending at the time.
  Result<std::vector<DeliveryRecord>> ClaimDue(const std::string& now,
                                               const std::string& claim_until, size_t limit);
  // Records the end of the attempt ClaimDue started, and the delivery's new state: "delivered",
  // "failed" (given up), or "pending" again with `next_attempt`. Releases the claim.
  // The attempt finished is the newest one still in flight (FailedPrecondition when none is).
  // "delivered" always stands and is final; any other outcome changes only a pending delivery and
  // only from its newest attempt, so the late answer of an attempt whose claim expired and was
  // taken over is logged without releasing the newer claim, and a delivery failed by
  // DisableSubscription stays failed. InvalidArgument for another state, or "pending" without
  // next_attempt; NotFound for an unknown delivery.
  Status Finish(const std::string& alert_id, const std::string& subscription, int status,
                const std::string& error, const std::string& finished, const std::string& state,
                const std::string& next_attempt);
  // The earliest next_attempt of a pending delivery (ignoring claims), nullopt when none.
  Result<std::optional<std::string>> NextAttempt();

  // Subscriptions disabled by their receiver (HTTP 410 Gone). Disabling fails the subscription's
  // pending deliveries (error "subscription disabled: <reason>"). Disabling is permanent; the
  // first time and reason are kept.
  Status DisableSubscription(const std::string& subscription, const std::string& when,
                             const std::string& reason);
  Result<std::set<std::string>> DisabledSubscriptions();

  // The scheduler's watermark: every alert falling due up to and including this day
  // (YYYY-MM-DD) has been raised. "" before the first pass. SetProcessedThrough is one
  // statement and opens no transaction, so it commits or rolls back with the caller's (the one
  // raising the alerts); InvalidArgument unless `day` is "" or a valid YYYY-MM-DD.
  Result<std::string> ProcessedThrough();
  Status SetProcessedThrough(const std::string& day);

 private:
  Database* db_;
};

}  // namespace rectrack::storage
