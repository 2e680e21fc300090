// Rules: when rectrack should tell people about a recommendation or an action, read from
// rules/*.yaml, with working-day calendars from rules/calendars/*.yaml (bank holidays as data).
//
// An alert rule has a kind and one anchor:
//   - offsets relative to each milestone's due date (before_due; after_due, optionally repeating
//     while overdue): an instance is alive on its date if the recommendation is open then and
//     the milestone not yet met;
//   - one offset after an event of the recommendation (after_event: close, offset: 6 months):
//     alive if no `until` event (e.g. assess) has happened between the anchor and its date.
//     `until` is one transition or a list of them.
// A rule applies to one subject: recommendations (the default) or actions (`subject: action`).
// An action is walked like a recommendation with one milestone, "due", its due date; its
// after_event and until transitions are the action workflow's.
// Rules are data: the C++ names no alert kind. LoadDir() refuses a malformed or inconsistent rules
// directory with "file:line:col: what" (unknown key, bad offset, unknown calendar, unknown
// transition in after_event/until, working days past the calendar's coverage, an audience `unit`
// on a rule that is not for actions).
//
// Thread-safety: immutable after Load; safe to share.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/date.h"
#include "common/status.h"
#include "engine/model.h"
#include "engine/workflow.h"

namespace rectrack {

struct Offset {
  enum class Unit { kDays, kMonths, kWorkingDays };
  int amount = 0;  // >= 0
  Unit unit = Unit::kDays;
  std::string text;  // as written: "20 working days"
};

// Parses "30 days", "1 day", "6 months", "1 month", "20 working days", "1 working day".
Result<Offset> ParseOffset(std::string_view text);

class Calendar {
 public:
  const std::string& name() const { return name_; }
  // Outside the calendar's coverage no holidays are known: only the weekend counts.
  bool IsWorkingDay(Date day) const;
  // `day` moved by `n` working days (n may be negative); the start day itself is not counted.
  // Beyond the coverage only weekends count (IsWorkingDay): an alert a day early is better than
  // one never raised, and `serve` warns while the coverage ends within a year.
  Result<Date> AddWorkingDays(Date day, int n) const;
  Date covers_from() const { return from_; }
  Date covers_to() const { return to_; }

 private:
  friend class RulesLoader;
  std::string name_;
  std::set<int> weekend_;  // 0 = Monday ... 6 = Sunday
  std::set<Date> holidays_;
  Date from_, to_;
};

struct AlertRule {
  std::string kind;
  SubjectKind subject = SubjectKind::kRecommendation;  // the items it applies to
  // Exactly one of the two anchors:
  std::vector<Offset> before_due;  // each gives one alert before the due date
  std::optional<Offset> after_due;
  std::optional<Offset> repeat;    // after_due only: again every `repeat` while overdue
  std::string after_event;         // a transition name
  std::optional<Offset> offset;    // with after_event
  std::vector<std::string> until;  // transitions that end the alert's life (any of them)
  // Audiences: "owners", "inspectorate", a body id, or (actions only) "unit": the action's
  // owning unit, or its body when the body as a whole owns it.
  std::vector<std::string> to;
  std::string where;  // file:line:col of the rule
};

// How an alert's audience names a unit: "unit:cps-sw" (body ids cannot contain ':').
inline constexpr const char* kUnitAudiencePrefix = "unit:";

// Who is told: alerts whose audience includes `body` (a body id, or "inspectorate"), or, for a
// subscription that names a unit of that body, alerts addressed to that unit ("unit:<id>"), of
// the listed kinds, go to one channel: a webhook (URL and signing secret) or an email address.
struct Subscription {
  std::string id;
  std::string body;
  std::string unit;                // "" for the body's alerts; else only that unit's
  std::vector<std::string> kinds;  // empty: every kind
  std::string webhook;             // URL; or
  std::string email;               // address
  std::string secret;  // the webhook's signing secret, whsec_... (`secret` or `secret_env`)
  std::string where;   // file:line:col

  bool Wants(const std::string& kind) const;
  // Whether an alert with this audience (AudienceOf) is addressed to this subscription.
  bool Hears(const std::vector<std::string>& audience) const;
};

// Whether `secret` follows the Standard Webhooks convention: "whsec_" and the base64 of 24 to 64
// random bytes, the key its receivers decode to check signatures. InvalidArgument saying so.
Status CheckWebhookSecret(const std::string& secret);

class Rules {
 public:
  // Reads every *.yaml directly in `dir` (alert rules) and in `dir`/calendars (calendars).
  // REQUIRES: `workflow` names the transitions recommendation rules may refer to,
  // `action_workflow` (may be null: then action rules may not name transitions) those of
  // action rules.
  // `resolve_secrets`: read each webhook's `secret_env` now and refuse an unset one. A
  // process that delivers nothing (every command but `serve`) passes false: its subscriptions
  // then hold no secret, and a missing variable stops nothing.
  static Result<Rules> LoadDir(const std::string& dir, const Workflow& workflow,
                               const Workflow* action_workflow = nullptr,
                               bool resolve_secrets = true);

  const std::vector<AlertRule>& alerts() const { return alerts_; }
  const Calendar* calendar() const;  // the calendar working-day offsets use; may be null
  const std::map<std::string, Calendar>& calendars() const { return calendars_; }
  const std::vector<Subscription>& subscriptions() const { return subscriptions_; }

  // `day` moved by `offset` forwards (sign +1) or backwards (-1). Months keep the day of month,
  // or take the month's last day when it has fewer days (31 January + 1 month = 28/29 February).
  Result<Date> Shift(Date day, const Offset& offset, int sign) const;

 private:
  friend class RulesLoader;
  std::vector<AlertRule> alerts_;
  std::vector<Subscription> subscriptions_;
  std::map<std::string, Calendar> calendars_;
  std::string calendar_;
};

// One alert as it falls due: the key that names it for ever, so it is raised once.
struct AlertInstance {
  std::string kind;
  std::string recommendation;  // the recommendation's id, or the action's
  std::string milestone;       // "" for event-anchored alerts; "due" for an action's due date
  int occurrence = 0;          // 0, then 1, 2 ... for repeats
  Date due;
  std::vector<std::string> to;
  std::string anchor;      // the milestone's label, or "e<seq>" of the anchoring event
  std::string dedupe_key;  // "<rec>/<anchor>/<kind>/<occurrence>"
};

// The alerts of `view` that fall due in [from, to], in due order, by the rules for its subject
// (view.kind). REQUIRES: `workflow` is the workflow of view.kind. Liveness is judged at each
// instance's own date from view.timeline (open then? milestone met by then?), using the due
// dates as of view.as_of. REQUIRES: view.as_of >= to. Repeats stop at `to`, so a long-overdue
// milestone yields finitely many.
std::vector<AlertInstance> AlertsFor(const RecommendationView& view, const Rules& rules,
                                     const Workflow& workflow, Date from, Date to);

// The due date of the earliest alert of `view` in (after, limit], as AlertsFor would give it
// first, without building any instance: what the scheduler's queue needs for each
// recommendation. REQUIRES: view.as_of >= limit.
std::optional<Date> NextAlertDay(const RecommendationView& view, const Rules& rules,
                                 const Workflow& workflow, Date after, Date limit);

// The alerts to raise on `today` for instances falling due in [from, today]: of each series
// (same recommendation, milestone or anchor, kind), only the latest, and only while it still
// matters today (milestone unmet and recommendation open; anchor not ended; a due-soon warning
// not past its milestone's due date). After downtime, this is what raises a missed alert once,
// not once per missed repetition. REQUIRES: view.as_of >= today.
std::vector<AlertInstance> AlertsToRaise(const RecommendationView& view, const Rules& rules,
                                         const Workflow& workflow, Date from, Date today);

// The audience of `instance` as body ids, "inspectorate" and "unit:<id>": "owners" becomes the
// owners, "unit" the owning `unit` ("unit:<unit>"), or the owners when `unit` is "".
std::vector<std::string> AudienceOf(const AlertInstance& instance,
                                    const std::vector<std::string>& owners,
                                    const std::string& unit = "");

}  // namespace rectrack
