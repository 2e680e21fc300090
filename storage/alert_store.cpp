#include "storage/alert_store.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "common/date.h"
#include "storage/crypto.h"

namespace rectrack::storage {
namespace {

// Every query names its tables with these aliases, so the column lists can be shared.
constexpr char kAlertColumns[] =
    "a.seq, a.id, a.dedupe_key, a.kind, a.recommendation, a.milestone, a.occurrence, a.due, "
    "a.raised, a.late, a.owners, a.audience, a.payload";
constexpr char kDeliveryColumns[] =
    "d.alert_id, d.subscription, d.channel, d.target, d.state, d.attempts, d.next_attempt, "
    "d.last_status, d.last_error";
constexpr char kAttemptColumns[] =
    "alert_id, subscription, attempt, started, finished, status, error";

// The overall state of alert `a` as StateOf defines it, computed in SQL so List can filter on it
// without loading deliveries.
constexpr char kStateExpr[] =
    "(CASE"
    " WHEN EXISTS (SELECT 1 FROM deliveries s WHERE s.alert_id = a.id AND s.state = 'pending')"
    " THEN 'pending'"
    " WHEN EXISTS (SELECT 1 FROM deliveries s WHERE s.alert_id = a.id AND s.state = 'failed')"
    " THEN 'failed'"
    " WHEN EXISTS (SELECT 1 FROM deliveries s WHERE s.alert_id = a.id) THEN 'delivered'"
    " ELSE 'unsubscribed' END)";

constexpr char kProcessedThroughKey[] = "processed_through";

bool IsDeliveryState(const std::string& state) {
  return state == "pending" || state == "delivered" || state == "failed";
}

int64_t ToInt64(size_t n) {
  return static_cast<int64_t>(
      std::min<uint64_t>(n, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
}

// Owners and audience are stored as JSON arrays of strings (["CPX","inspectorate"]), so any body
// id round-trips and SQL can search them with json_each.
std::string EncodeStrings(const std::vector<std::string>& values) {
  boost::json::array array;
  for (const std::string& value : values) array.emplace_back(value);
  return boost::json::serialize(array);
}

// nullopt unless `text` is a JSON array of strings.
std::optional<std::vector<std::string>> DecodeStrings(std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const boost::json::value& item : value.get_array()) {
    if (!item.is_string()) return std::nullopt;
    out.emplace_back(item.get_string());
  }
  return out;
}

Result<AlertRecord> ReadAlert(const Statement& stmt) {
  AlertRecord alert;
  alert.seq = stmt.ColumnInt(0);
  alert.id = stmt.ColumnText(1);
  alert.dedupe_key = stmt.ColumnText(2);
  alert.kind = stmt.ColumnText(3);
  alert.recommendation = stmt.ColumnText(4);
  alert.milestone = stmt.ColumnText(5);
  alert.occurrence = static_cast<int>(stmt.ColumnInt(6));
  alert.due = stmt.ColumnText(7);
  alert.raised = stmt.ColumnText(8);
  alert.late = stmt.ColumnInt(9) != 0;
  const std::string owners = stmt.ColumnText(10);
  const std::string audience = stmt.ColumnText(11);
  alert.payload = stmt.ColumnText(12);
  auto decoded_owners = DecodeStrings(owners);
  auto decoded_audience = DecodeStrings(audience);
  if (!decoded_owners || !decoded_audience) {
    return Status::Corruption("alert " + std::to_string(alert.seq) + " (" + alert.id + "): its " +
                              (decoded_owners ? "audience" : "owners") +
                              " column is not a JSON array of strings");
  }
  alert.owners = std::move(*decoded_owners);
  alert.audience = std::move(*decoded_audience);
  return alert;
}

DeliveryRecord ReadDelivery(const Statement& stmt) {
  DeliveryRecord d;
  d.alert_id = stmt.ColumnText(0);
  d.subscription = stmt.ColumnText(1);
  d.channel = stmt.ColumnText(2);
  d.target = stmt.ColumnText(3);
  d.state = stmt.ColumnText(4);
  d.attempts = static_cast<int>(stmt.ColumnInt(5));
  d.next_attempt = stmt.ColumnText(6);
  d.last_status = static_cast<int>(stmt.ColumnInt(7));
  d.last_error = stmt.ColumnText(8);
  return d;
}

AttemptRecord ReadAttempt(const Statement& stmt) {
  AttemptRecord a;
  a.alert_id = stmt.ColumnText(0);
  a.subscription = stmt.ColumnText(1);
  a.attempt = static_cast<int>(stmt.ColumnInt(2));
  a.started = stmt.ColumnText(3);
  a.finished = stmt.ColumnText(4);
  a.status = static_cast<int>(stmt.ColumnInt(5));
  a.error = stmt.ColumnText(6);
  return a;
}

// "delivery of alrt_... to <subscription>", for error messages.
std::string DeliveryName(const std::string& alert_id, const std::string& subscription) {
  return "delivery of " + alert_id + " to subscription '" + subscription + "'";
}

}  // namespace

std::string AlertIdFor(const std::string& dedupe_key) {
  const std::string hash = Sha256Hex(dedupe_key);
  // Sha256Hex returns "" only when OpenSSL cannot allocate; "alrt_" alone then names no alert,
  // and Raise refuses it.
  return "alrt_" + hash.substr(0, 24);
}

Result<bool> AlertStore::Raise(const AlertRecord& alert,
                               const std::vector<DeliveryRecord>& deliveries, int64_t* seq) {
  const std::string where = "cannot raise alert '" + alert.dedupe_key + "'";
  // Without the caller's transaction a crash between the statements below would leave an alert
  // with only some of its deliveries, and the dedupe key would stop it ever being raised again.
  if (!db_->InTransaction()) {
    return Status::IOError(where + ": no transaction is open (the caller must hold one)");
  }
  // Everything that can be refused is checked before the first write, so a failure below is an
  // I/O error, which the caller's rollback undoes.
  if (alert.dedupe_key.empty()) {
    return Status::InvalidArgument("cannot raise an alert: its dedupe key is empty");
  }
  for (size_t i = 0; i < deliveries.size(); ++i) {
    if (deliveries[i].subscription.empty()) {
      return Status::InvalidArgument(where + ": delivery " + std::to_string(i + 1) +
                                     " names no subscription");
    }
    for (size_t j = 0; j < i; ++j) {
      if (deliveries[j].subscription == deliveries[i].subscription) {
        return Status::InvalidArgument(where + ": subscription '" + deliveries[i].subscription +
                                       "' is given twice");
      }
    }
  }
  const std::string id = AlertIdFor(alert.dedupe_key);
  if (id.size() != 5 + 24) return Status::IOError(where + ": SHA-256 failed");

  ASSIGN_OR_RETURN(
      Statement insert,
      db_->Prepare("INSERT INTO alerts (id, dedupe_key, kind, recommendation, milestone, "
                   "occurrence, due, raised, late, owners, audience, payload) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (dedupe_key) DO NOTHING"));
  insert.Bind(1, id)
      .Bind(2, alert.dedupe_key)
      .Bind(3, alert.kind)
      .Bind(4, alert.recommendation)
      .Bind(5, alert.milestone)
      .Bind(6, int64_t{alert.occurrence})
      .Bind(7, alert.due)
      .Bind(8, alert.raised)
      .Bind(9, int64_t{alert.late ? 1 : 0})
      .Bind(10, EncodeStrings(alert.owners))
      .Bind(11, EncodeStrings(alert.audience))
      .Bind(12, alert.payload);
  // Not RETURNING: it builds a temporary table on every run, which cost more than the insert.
  RETURN_IF_ERROR(insert.Run().WithContext(where));
  if (db_->Changes() == 0) return false;  // raised before: nothing changes
  if (seq) *seq = db_->LastInsertRowid();

  ASSIGN_OR_RETURN(Statement add,
                   db_->Prepare("INSERT INTO deliveries (alert_id, subscription, channel, target, "
                                "state, attempts, next_attempt, claimed_until, last_status, "
                                "last_error) VALUES (?, ?, ?, ?, 'pending', 0, ?, '', 0, '')"));
  for (const DeliveryRecord& delivery : deliveries) {
    add.Reset();
    add.Bind(1, id)
        .Bind(2, delivery.subscription)
        .Bind(3, delivery.channel)
        .Bind(4, delivery.target)
        .Bind(5, alert.raised);
    RETURN_IF_ERROR(add.Run().WithContext(where));
  }
  return true;
}

Result<std::set<std::string>> AlertStore::KeysFor(const std::string& recommendation) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT dedupe_key FROM alerts WHERE recommendation = ?"));
  stmt.Bind(1, recommendation);
  std::set<std::string> keys;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    keys.insert(stmt.ColumnText(0));
  }
  return keys;
}

Result<std::vector<AlertRecord>> AlertStore::List(const AlertFilter& filter) {
  if (!filter.state.empty() && !IsDeliveryState(filter.state) && filter.state != "unsubscribed") {
    return Status::InvalidArgument("unknown alert state '" + filter.state +
                                   "' (expected pending, delivered, failed or unsubscribed)");
  }
  // The SQL is assembled from fixed fragments only; every value is a bound parameter, in order.
  std::string sql =
      std::string("SELECT ") + kAlertColumns + " FROM alerts a WHERE a.seq > ? AND a.seq < ?";
  std::vector<std::string> params;
  if (!filter.body.empty()) {
    sql +=
        " AND (EXISTS (SELECT 1 FROM json_each(a.owners) WHERE value = ?)"
        " OR EXISTS (SELECT 1 FROM json_each(a.audience) WHERE value = ?))";
    params.push_back(filter.body);
    params.push_back(filter.body);
  }
  if (!filter.state.empty()) {
    sql += std::string(" AND ") + kStateExpr + " = ?";
    params.push_back(filter.state);
  }
  if (!filter.kind.empty()) {
    sql += " AND a.kind = ?";
    params.push_back(filter.kind);
  }
  if (!filter.recommendation.empty()) {
    sql += " AND a.recommendation = ?";
    params.push_back(filter.recommendation);
  }
  sql += filter.newest_first ? " ORDER BY a.seq DESC LIMIT ?" : " ORDER BY a.seq LIMIT ?";

  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql));
  int index = 1;
  stmt.Bind(index++, filter.after_seq);
  stmt.Bind(index++,
            filter.before_seq > 0 ? filter.before_seq : std::numeric_limits<int64_t>::max());
  for (const std::string& param : params) stmt.Bind(index++, param);
  stmt.Bind(index, ToInt64(filter.limit));
  std::vector<AlertRecord> alerts;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    ASSIGN_OR_RETURN(AlertRecord alert, ReadAlert(stmt));
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

Result<AlertRecord> AlertStore::Find(const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kAlertColumns +
                                                " FROM alerts a WHERE a.id = ?"));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return Status::NotFound("no alert '" + id + "'");
  return ReadAlert(stmt);
}

Result<std::string> AlertStore::StateOf(const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kStateExpr +
                                                " FROM alerts a WHERE a.id = ?"));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return Status::NotFound("no alert '" + id + "'");
  return stmt.ColumnText(0);
}

Result<std::vector<DeliveryRecord>> AlertStore::Deliveries(const std::string& alert_id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(std::string("SELECT ") + kDeliveryColumns +
                                " FROM deliveries d WHERE d.alert_id = ? ORDER BY d.subscription"));
  stmt.Bind(1, alert_id);
  std::vector<DeliveryRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    out.push_back(ReadDelivery(stmt));
  }
  return out;
}

Result<std::vector<AttemptRecord>> AlertStore::Attempts(const std::string& alert_id) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kAttemptColumns +
                                                " FROM delivery_attempts WHERE alert_id = ? "
                                                "ORDER BY started, subscription, attempt"));
  stmt.Bind(1, alert_id);
  std::vector<AttemptRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    out.push_back(ReadAttempt(stmt));
  }
  return out;
}

Result<std::vector<DeliveryRecord>> AlertStore::ClaimDue(const std::string& now,
                                                         const std::string& claim_until,
                                                         size_t limit) {
  const std::string where = "cannot claim due deliveries";
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_, Transaction::Mode::kWrite));
  // A subscription disabled after its alert was raised gets no further attempts: its pending
  // deliveries fail here, as DisableSubscription fails those pending at the time.
  {
    ASSIGN_OR_RETURN(
        Statement fail,
        db_->Prepare("UPDATE deliveries SET state = 'failed', claimed_until = '', last_error = "
                     "'subscription disabled: ' || (SELECT s.reason FROM subscription_state s "
                     "WHERE s.subscription = deliveries.subscription) "
                     "WHERE state = 'pending' AND subscription IN "
                     "(SELECT subscription FROM subscription_state WHERE disabled <> '')"));
    RETURN_IF_ERROR(fail.Run().WithContext(where));
  }
  std::vector<DeliveryRecord> claimed;
  {
    // No live claim: claimed_until is '' (never claimed, or released) or has passed, as when
    // the process that claimed it died mid-attempt.
    ASSIGN_OR_RETURN(Statement due,
                     db_->Prepare(std::string("SELECT ") + kDeliveryColumns +
                                  " FROM deliveries d JOIN alerts a ON a.id = d.alert_id"
                                  " WHERE d.state = 'pending' AND d.next_attempt <= ?"
                                  " AND d.claimed_until <= ?"
                                  " ORDER BY d.next_attempt, a.seq, d.subscription LIMIT ?"));
    due.Bind(1, now).Bind(2, now).Bind(3, ToInt64(limit));
    while (true) {
      ASSIGN_OR_RETURN(bool has_row, due.Step());
      if (!has_row) break;
      claimed.push_back(ReadDelivery(due));
    }
  }

  ASSIGN_OR_RETURN(Statement claim,
                   db_->Prepare("UPDATE deliveries SET attempts = ?, claimed_until = ? "
                                "WHERE alert_id = ? AND subscription = ?"));
  ASSIGN_OR_RETURN(
      Statement log,
      db_->Prepare("INSERT INTO delivery_attempts (alert_id, subscription, attempt, "
                   "started, finished, status, error) VALUES (?, ?, ?, ?, '', 0, '')"));
  for (DeliveryRecord& d : claimed) {
    ++d.attempts;
    const std::string context = where + ": " + DeliveryName(d.alert_id, d.subscription);
    claim.Reset();
    claim.Bind(1, int64_t{d.attempts})
        .Bind(2, claim_until)
        .Bind(3, d.alert_id)
        .Bind(4, d.subscription);
    RETURN_IF_ERROR(claim.Run().WithContext(context));
    log.Reset();
    log.Bind(1, d.alert_id).Bind(2, d.subscription).Bind(3, int64_t{d.attempts}).Bind(4, now);
    RETURN_IF_ERROR(log.Run().WithContext(context));
  }
  RETURN_IF_ERROR(txn.Commit().WithContext(where));
  return claimed;
}

Status AlertStore::Finish(const std::string& alert_id, const std::string& subscription, int status,
                          const std::string& error, const std::string& finished,
                          const std::string& state, const std::string& next_attempt) {
  const std::string where = "cannot finish the attempt at " + DeliveryName(alert_id, subscription);
  if (!IsDeliveryState(state)) {
    return Status::InvalidArgument(where + ": unknown delivery state '" + state +
                                   "' (expected pending, delivered or failed)");
  }
  if (state == "pending" && next_attempt.empty()) {
    return Status::InvalidArgument(where + ": a pending delivery needs a next attempt time");
  }
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_, Transaction::Mode::kWrite));
  std::string current_state;
  int64_t attempts = 0;
  {
    ASSIGN_OR_RETURN(Statement find, db_->Prepare("SELECT state, attempts FROM deliveries "
                                                  "WHERE alert_id = ? AND subscription = ?"));
    find.Bind(1, alert_id).Bind(2, subscription);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) return Status::NotFound("no " + DeliveryName(alert_id, subscription));
    current_state = find.ColumnText(0);
    attempts = find.ColumnInt(1);
  }
  // The attempt being finished: the newest one still in flight. (An older unfinished attempt
  // was abandoned by a process that died mid-attempt; it stays unfinished in the log.)
  int64_t attempt = 0;
  {
    ASSIGN_OR_RETURN(Statement open,
                     db_->Prepare("SELECT MAX(attempt) FROM delivery_attempts "
                                  "WHERE alert_id = ? AND subscription = ? AND finished = ''"));
    open.Bind(1, alert_id).Bind(2, subscription);
    ASSIGN_OR_RETURN(bool has_row, open.Step());
    if (!has_row || open.ColumnIsNull(0)) {
      return Status::FailedPrecondition(where + ": no attempt is in flight");
    }
    attempt = open.ColumnInt(0);
  }
  {
    ASSIGN_OR_RETURN(Statement log,
                     db_->Prepare("UPDATE delivery_attempts SET finished = ?, status = ?, "
                                  "error = ? WHERE alert_id = ? AND subscription = ? AND "
                                  "attempt = ?"));
    log.Bind(1, finished)
        .Bind(2, int64_t{status})
        .Bind(3, error)
        .Bind(4, alert_id)
        .Bind(5, subscription)
        .Bind(6, attempt);
    RETURN_IF_ERROR(log.Run().WithContext(where));
  }
  // Delivered is final, and a report of delivery is a fact that always stands. Any other
  // outcome applies only from the newest attempt: the outcome of an attempt whose claim expired
  // and was taken over is logged but must not release the newer claim. It moves a pending
  // delivery; a delivery failed by DisableSubscription while this attempt was in flight is not
  // revived, but a final failure of its own (a 410 of its own) is what its status then shows.
  const bool applies = current_state != "delivered" &&
                       (state == "delivered" ||
                        (attempt == attempts && (current_state == "pending" || state == "failed")));
  if (applies) {
    ASSIGN_OR_RETURN(
        Statement update,
        db_->Prepare("UPDATE deliveries SET state = ?, next_attempt = CASE WHEN ? = 'pending' "
                     "THEN ? ELSE next_attempt END, claimed_until = '', last_status = ?, "
                     "last_error = ? WHERE alert_id = ? AND subscription = ?"));
    update.Bind(1, state)
        .Bind(2, state)
        .Bind(3, next_attempt)
        .Bind(4, int64_t{status})
        .Bind(5, error)
        .Bind(6, alert_id)
        .Bind(7, subscription);
    RETURN_IF_ERROR(update.Run().WithContext(where));
  }
  return txn.Commit().WithContext(where);
}

Result<std::optional<std::string>> AlertStore::NextAttempt() {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("SELECT MIN(next_attempt) FROM deliveries WHERE state = 'pending'"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row || stmt.ColumnIsNull(0)) return std::optional<std::string>();
  return std::optional<std::string>(stmt.ColumnText(0));
}

Status AlertStore::DisableSubscription(const std::string& subscription, const std::string& when,
                                       const std::string& reason) {
  const std::string where = "cannot disable subscription '" + subscription + "'";
  if (subscription.empty()) {
    return Status::InvalidArgument("cannot disable a subscription: its name is empty");
  }
  if (when.empty()) return Status::InvalidArgument(where + ": no time given");
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_, Transaction::Mode::kWrite));
  {
    // The first disabling is the one remembered.
    ASSIGN_OR_RETURN(Statement record,
                     db_->Prepare("INSERT INTO subscription_state (subscription, disabled, reason) "
                                  "VALUES (?, ?, ?) ON CONFLICT (subscription) DO NOTHING"));
    record.Bind(1, subscription).Bind(2, when).Bind(3, reason);
    RETURN_IF_ERROR(record.Run().WithContext(where));
  }
  {
    ASSIGN_OR_RETURN(
        Statement fail,
        db_->Prepare("UPDATE deliveries SET state = 'failed', claimed_until = '', last_error = ? "
                     "WHERE subscription = ? AND state = 'pending'"));
    fail.Bind(1, "subscription disabled: " + reason).Bind(2, subscription);
    RETURN_IF_ERROR(fail.Run().WithContext(where));
  }
  return txn.Commit().WithContext(where);
}

Result<std::set<std::string>> AlertStore::DisabledSubscriptions() {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("SELECT subscription FROM subscription_state WHERE disabled <> ''"));
  std::set<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    out.insert(stmt.ColumnText(0));
  }
  return out;
}

Result<std::string> AlertStore::ProcessedThrough() {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT value FROM scheduler_state WHERE key = ?"));
  stmt.Bind(1, kProcessedThroughKey);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  return found ? stmt.ColumnText(0) : std::string();
}

Status AlertStore::SetProcessedThrough(const std::string& day) {
  if (!day.empty() && !Date::Parse(day)) {
    return Status::InvalidArgument("cannot set the scheduler's watermark to '" + day +
                                   "': not a YYYY-MM-DD day");
  }
  // One statement, so it is atomic on its own and may also join the caller's transaction (the
  // scheduler moves the watermark in the transaction that raises the alerts up to it).
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO scheduler_state (key, value) VALUES (?, ?) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  stmt.Bind(1, kProcessedThroughKey).Bind(2, day);
  return stmt.Run().WithContext("cannot set the scheduler's watermark");
}

}  // namespace rectrack::storage
