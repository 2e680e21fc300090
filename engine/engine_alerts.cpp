// The alert scheduler's half of the Engine: the queue of when each recommendation's (and each
// action's) next alert falls due, and raising due alerts into the outbox. See engine.h for the
// contract. An action is scheduled like a recommendation, by the rules for actions and through
// the action workflow; its alerts carry its id where a recommendation's carry the
// recommendation's.
#include <boost/json.hpp>
#include <exception>
#include <iterator>
#include <map>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "engine/alert_queue.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/ledger.h"
#include "storage/database.h"

namespace rectrack {

namespace json = boost::json;

namespace {

// How far ahead the queue looks for a recommendation's next alert.
constexpr int kHorizonDays = 3660;

json::array Strings(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

bool Alerted(SubjectKind kind) {
  return kind == SubjectKind::kRecommendation || kind == SubjectKind::kAction;
}

// `item`'s history as the alert rules read it (Detail::kStates), one item at a time: the world
// holds no timeline. An error when it cannot be read back (Engine::KeepHistoriesOut): a raise
// then fails as a whole, nothing is raised and nothing is marked done, and the scheduler tries
// again (alerts/alerting.h), rather than lose that item's alerts for the day.
Result<RecommendationView> RulesHistory(const Ledger& ledger, const Item& item) {
  return ledger.WholeHistory(item, Detail::kStates);
}

}  // namespace

std::string Engine::alert_link(const std::string& id, SubjectKind kind) const {
  return alert_options_.link_base +
         (kind == SubjectKind::kAction ? "/api/v1/actions/" : "/api/v1/recommendations/") + id;
}

std::optional<Date> Engine::NextAlertDayOf(const RecommendationView& view, Date after) const {
  static const Date kLastDay = Date::LastDayOfMonth(Date::kMaxYear, 12);
  if (after >= kLastDay) return std::nullopt;
  const int room = kLastDay.days_since_epoch() - after.days_since_epoch();
  return rectrack::NextAlertDay(view, *rules_, *ledger_->WorkflowOf(view.kind), after,
                                after.AddDays(std::min(kHorizonDays, room)));
}

Status Engine::StartAlerts(const AlertOptions& options) {
  if (!rules_) return Status::FailedPrecondition("alerts need rules (--rules DIR)");
  // Read before anything changes: a failure leaves alerts as they were.
  ASSIGN_OR_RETURN(std::string through, alert_store_->ProcessedThrough());
  alert_options_ = options;
  alert_options_.raise_batch = std::max<size_t>(options.raise_batch, 1);
  alert_options_.first_pass_turn = std::max<size_t>(options.first_pass_turn, 1);
  alert_queue_ = std::make_unique<AlertQueue>();
  changed_.clear();
  staged_.reset();
  // Before the first pass nothing was raised: every recommendation (and action) is looked at from
  // its issue (or plan).
  alert_pass_watermark_ = Date::Parse(through);
  alert_pass_from_ = "";
  alert_pass_looked_ = 0;
  alerts_hold_histories_ = true;
  WorkOutAlertDays();
  return Status();
}

size_t Engine::alert_days_left_to_work_out() const {
  if (!alert_pass_from_) return 0;
  const size_t items = ledger_->items().size();
  return items - std::min(alert_pass_looked_, items);
}

void Engine::WorkOutAlertDays() {
  if (!alert_pass_from_) return;
  const Date today = clock_->Today();
  using Items = std::map<std::string, Item>::const_iterator;
  // The items' next alert days, and those whose history could not be read back.
  struct Found {
    std::vector<std::pair<const std::string*, Date>> due;
    std::vector<const std::string*> unread;
  };
  // Reads the ledger and the rules only, so two of these may run at once.
  auto next_days = [&](Items from, Items to, Found* found) {
    for (Items it = from; it != to; ++it) {
      const Item& item = it->second;
      if (!Alerted(item.kind) || !item.tail) continue;
      // Held, the history replays from memory (serve lets histories go only after this pass);
      // let go, one that cannot be read back now is looked at again when raised, which tries
      // again until it can (RaiseDueAlerts), rather than lose its alerts.
      const auto view = RulesHistory(*ledger_, item);
      if (!view.ok()) {
        found->unread.push_back(&it->first);
        continue;
      }
      const Date after = alert_pass_watermark_ ? std::min(*alert_pass_watermark_, today)
                                               : view->issued.AddDays(-1);
      if (auto day = NextAlertDayOf(*view, after)) found->due.emplace_back(&it->first, *day);
    }
  };
  // This turn's items, from where the last turn stopped (by id: an item made or undone between
  // turns moves no other). One made behind the pass was committed since it started, so it is
  // among the changes, looked at over its whole history when raised.
  const std::map<std::string, Item>& items = ledger_->items();
  const Items from = items.lower_bound(*alert_pass_from_);
  Items to = from;
  size_t count = 0;
  for (; to != items.end() && count < alert_options_.first_pass_turn; ++to) ++count;
  // Each item's whole history is replayed for the rules: on a long log (serve's start), half of
  // each turn's items on a thread of their own, so that a turn holds the engine half as long.
  // next_days reaches only const Ledger, Workflow and Rules methods, which change nothing but
  // the history cache, behind its own lock (ledger.h), so the two halves share only what they
  // read. If no thread can be started, or that half fails (out of memory), this thread does it.
  const Items middle = static_cast<int64_t>(items.size()) >= two_threads_from_ && count >= 2
                           ? std::next(from, static_cast<std::ptrdiff_t>(count / 2))
                           : to;
  Found first, second;
  bool second_done = false;
  {
    std::jthread other;
    if (middle != to) {
      try {
        other = std::jthread([&] {
          try {
            next_days(middle, to, &second);
            second_done = true;
          } catch (const std::exception&) {
            second = Found{};
          }
        });
      } catch (const std::system_error&) {
        // No thread to be had: this one does the second half too, below.
      }
    }
    next_days(from, middle, &first);
  }  // joins `other`
  if (!second_done) next_days(middle, to, &second);
  for (const Found* found : {&first, &second}) {
    for (const auto& [id, day] : found->due) alert_queue_->Set(*id, day);
    for (const std::string* id : found->unread) NoteChanged(*id);
  }
  alert_pass_looked_ += count;
  if (to == items.end()) {
    alert_pass_from_.reset();
  } else {
    alert_pass_from_ = to->first;
  }
}

bool Engine::MayBringAlertsForward(const Event& e) const {
  const Item* item = ledger_->FindItem(e.subject_id);
  if (!item || !item->tail || e.recommendation_def || e.action_def) return true;
  // Back-dated (not last in effective order): the states of later events may have moved.
  if (item->last_seq() != e.seq) return true;
  if (item->state_before_last != item->tail->state) return true;  // opens or closes series
  const Workflow* wf = ledger_->WorkflowOf(e.kind);
  const Transition* t = wf ? wf->FindTransition(e.transition) : nullptr;
  if (!t) return true;
  const Effects& fx = t->effects;
  for (const std::string* field :
       {&fx.mark_met, &fx.set_due_milestone, &fx.set_due_date, &fx.supersede}) {
    if (!field->empty() && e.fields.count(*field)) return true;  // milestones changed
  }
  for (const AlertRule& rule : rules_->alerts()) {
    if (rule.subject == e.kind && rule.after_event == e.transition) return true;  // an anchor
  }
  // What is left can only end a series (an `until` transition), and a series that ended raises
  // nothing more: the queue's day for it may now be too early, never too late.
  return false;
}

void Engine::NoteChanged(const Event& event) {
  if (!alert_queue_ || !Alerted(event.kind)) return;
  if (MayBringAlertsForward(event)) return NoteChanged(event.subject_id);
  // A progress note: nothing new can fall due, but what was staged may have ended.
  if (staged_) staged_->recommendations.erase(event.subject_id);
}

void Engine::NoteChanged(const std::string& recommendation) {
  if (!alert_queue_) return;
  changed_.insert(recommendation);
  // What was staged for it no longer holds, also after changed_ is cleared by a raise today.
  if (staged_) staged_->recommendations.erase(recommendation);
}

std::optional<Date> Engine::NextAlertDay() {
  if (!alert_queue_) return std::nullopt;
  if (!changed_.empty() || alert_pass_from_) return clock_->Today();
  return alert_queue_->Earliest();
}

size_t Engine::QueuedRecommendations() const { return alert_queue_ ? alert_queue_->size() : 0; }

Result<storage::AlertRecord> Engine::MakeAlert(const AlertInstance& instance,
                                               const RecommendationView& view, Date today,
                                               const std::string& raised) const {
  storage::AlertRecord alert;
  alert.dedupe_key = instance.dedupe_key;
  alert.id = storage::AlertIdFor(alert.dedupe_key);
  alert.kind = instance.kind;
  alert.recommendation = view.id;
  alert.milestone = instance.milestone;
  alert.occurrence = instance.occurrence;
  alert.due = instance.due.ToString();
  alert.raised = raised;
  alert.late = instance.due < today;
  alert.owners = view.def.owners;
  const std::string unit = view.action ? view.action->unit : "";
  alert.audience = AudienceOf(instance, view.def.owners, unit);

  json::object inspection{{"id", view.def.inspection}};
  if (const Inspection* found = ledger_->FindInspection(view.def.inspection)) {
    inspection["title"] = found->title;
  }
  json::value milestone = nullptr;
  int days_overdue = 0;
  for (const auto& m : view.milestones) {
    if (m.label != instance.milestone) continue;
    milestone = json::object{{"label", m.label}, {"due", m.due.ToString()}};
    days_overdue = std::max(0, today.days_since_epoch() - m.due.days_since_epoch());
  }
  // An action's alert names the action, and the recommendation it answers; its link is the
  // action's.
  const std::string recommendation = view.action ? view.action->recommendation : view.id;
  json::object data{
      {"id", alert.id},
      {"kind", alert.kind},
      {"subject", view.action ? "action" : "recommendation"},
      {"recommendation", recommendation},
      {"text", view.def.text},
      {"state", view.state},
      {"inspection", std::move(inspection)},
      {"owners", Strings(alert.owners)},
      {"audience", Strings(alert.audience)},
      {"milestone", std::move(milestone)},
      {"due", alert.due},
      {"days_overdue", days_overdue},
      {"occurrence", alert.occurrence},
      {"late", alert.late},
      {"raised", raised},
      {"link", alert_link(view.id, view.kind)},
      // The same item's page in the web workspace, for the people an email goes to.
      {"page", alert_options_.link_base +
                   (view.kind == SubjectKind::kAction ? "/actions/" : "/recommendations/") +
                   view.id},
  };
  if (view.action) {
    data["action"] = view.id;
    data["unit"] = unit.empty() ? json::value(nullptr) : json::value(unit);
  }
  alert.payload = json::serialize(
      json::object{{"type", "alert." + alert.kind}, {"timestamp", raised}, {"data", data}});
  return alert;
}

Result<std::vector<storage::AlertRecord>> Engine::RaiseDueAlerts() {
  if (!alert_queue_) return Status::FailedPrecondition("alerts were not started");
  if (alert_pass_from_) {
    WorkOutAlertDays();
    if (alert_pass_from_) return std::vector<storage::AlertRecord>{};
    // That was its last turn: what it found due is raised now.
  }
  const Date today = clock_->Today();
  std::optional<Date> earliest = alert_queue_->Earliest();
  if (changed_.empty() && (!earliest || *earliest > today)) {
    alerts_hold_histories_ = false;
    return std::vector<storage::AlertRecord>{};
  }

  // Each recommendation once: changed ones over their whole history, due ones since the mark,
  // at most a batch of them (Raise may add changes it catches up with).
  const size_t batch = alert_options_.raise_batch;
  std::map<std::string, bool> work;  // id -> whole history
  for (const auto& id : changed_) {
    if (work.size() >= batch) break;
    work[id] = true;
  }
  for (const auto& id : alert_queue_->PopThrough(today, batch - work.size())) {
    work.emplace(id, false);
  }
  auto raised = Raise(work, today);
  if (!raised.ok()) {
    // The raise will be tried again, reading back what it needs if need be: the histories it
    // held for are let go meanwhile, rather than held for as long as it fails.
    alerts_hold_histories_ = false;
    // Nothing was raised: every popped recommendation is due again (changed_ is kept). The
    // stage may have been half consumed: the next attempt computes afresh.
    staged_.reset();
    for (const auto& [id, whole] : work) {
      if (!whole) alert_queue_->Set(id, today);
    }
  }
  return raised;
}

Result<Engine::PendingAlerts> Engine::PendingFor(const RecommendationView& view, bool whole,
                                                 std::optional<Date> watermark, Date today,
                                                 const std::string& raised,
                                                 const std::set<std::string>& disabled) const {
  PendingAlerts out;
  Date from = view.issued;
  if (!whole && watermark && watermark->AddDays(1) > from) from = watermark->AddDays(1);
  std::vector<AlertInstance> due =
      AlertsToRaise(view, *rules_, *ledger_->WorkflowOf(view.kind), from, today);
  if (!due.empty()) {
    ASSIGN_OR_RETURN(std::set<std::string> known, alert_store_->KeysFor(view.id));
    for (const AlertInstance& instance : due) {
      if (known.count(instance.dedupe_key)) continue;
      ASSIGN_OR_RETURN(storage::AlertRecord alert, MakeAlert(instance, view, today, raised));
      std::vector<storage::DeliveryRecord> deliveries;
      for (const Subscription& sub : rules_->subscriptions()) {
        if (disabled.count(sub.id) || !sub.Wants(alert.kind) || !sub.Hears(alert.audience)) {
          continue;
        }
        storage::DeliveryRecord d;
        d.alert_id = alert.id;
        d.subscription = sub.id;
        d.channel = sub.webhook.empty() ? "email" : "webhook";
        d.target = sub.webhook.empty() ? sub.email : sub.webhook;
        deliveries.push_back(std::move(d));
      }
      out.alerts.push_back(std::move(alert));
      out.deliveries.push_back(std::move(deliveries));
    }
  }
  out.next = NextAlertDayOf(view, today);
  return out;
}

Status Engine::StageAlerts(Date day) {
  if (!alert_queue_) return Status::FailedPrecondition("alerts were not started");
  if (alert_pass_from_) return Status();  // the queue is not whole yet: nothing to stage
  if (staged_ && staged_->day == day) return Status();
  staged_.reset();
  // Read in one snapshot, so that the outbox's keys and the watermark agree.
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
  ASSIGN_OR_RETURN(std::string through, alert_store_->ProcessedThrough());
  ASSIGN_OR_RETURN(std::set<std::string> disabled, alert_store_->DisabledSubscriptions());
  const std::optional<Date> watermark = Date::Parse(through);
  StagedDay stage{day, through, {}};
  const std::string raised = FormatInstant(UkDayStart(day));
  for (const auto& id : alert_queue_->PeekThrough(day)) {
    if (changed_.count(id)) continue;  // looked at over its whole history when raised
    const Item* item = ledger_->FindItem(id);
    if (!item || !item->tail) continue;
    ASSIGN_OR_RETURN(const RecommendationView view, RulesHistory(*ledger_, *item));
    ASSIGN_OR_RETURN(PendingAlerts pending,
                     PendingFor(view, false, watermark, day, raised, disabled));
    stage.recommendations.emplace(id, std::move(pending));
  }
  RETURN_IF_ERROR(tx.Commit());  // a read transaction: ends the snapshot
  staged_ = std::move(stage);
  // Move the log into the database file now, so that the write at the start of the day neither
  // triggers a checkpoint nor queues behind one's disk writes. Best effort: a busy reader only
  // makes it do less.
  (void)db_->Exec("PRAGMA wal_checkpoint(PASSIVE)");
  return Status();
}

std::optional<Date> Engine::staged_day() const {
  if (!staged_) return std::nullopt;
  return staged_->day;
}

Result<std::vector<storage::AlertRecord>> Engine::Raise(std::map<std::string, bool> work,
                                                        Date today) {
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kWrite));
  RETURN_IF_ERROR(CatchUp());  // a commit elsewhere may have changed what is due
  const size_t batch = alert_options_.raise_batch;
  bool every_change = true;  // whether every changed recommendation is in this batch
  for (const auto& id : changed_) {
    if (auto it = work.find(id); it != work.end()) {
      it->second = true;
    } else if (work.size() < batch) {
      work[id] = true;
    } else {
      every_change = false;
    }
  }
  // The day is done when nothing else is due: then the watermark may pass it. Until then a
  // restart works out what is left from the watermark (what this batch raised is not raised
  // twice: an alert's key is unique).
  const std::optional<Date> earliest = alert_queue_->Earliest();
  const bool day_done = every_change && (!earliest || *earliest > today);
  ASSIGN_OR_RETURN(std::string through, alert_store_->ProcessedThrough());
  ASSIGN_OR_RETURN(std::set<std::string> disabled, alert_store_->DisabledSubscriptions());
  const std::optional<Date> watermark = Date::Parse(through);
  // The stage holds for recommendations unchanged since, if nothing was raised meanwhile.
  StagedDay* stage =
      staged_ && staged_->day == today && staged_->watermark == through ? &*staged_ : nullptr;

  const std::string raised = clock_->NowRfc3339();
  std::vector<storage::AlertRecord> out;
  std::map<std::string, std::optional<Date>> next;  // requeue after commit
  for (const auto& [id, whole] : work) {
    PendingAlerts computed;
    PendingAlerts* pending = nullptr;
    if (stage && !whole) {
      auto it = stage->recommendations.find(id);
      if (it != stage->recommendations.end()) pending = &it->second;
    }
    if (!pending) {
      const Item* item = ledger_->FindItem(id);
      if (!item || !item->tail) continue;
      ASSIGN_OR_RETURN(const RecommendationView view, RulesHistory(*ledger_, *item));
      ASSIGN_OR_RETURN(computed, PendingFor(view, whole, watermark, today, raised, disabled));
      pending = &computed;
    }
    for (size_t i = 0; i < pending->alerts.size(); ++i) {
      storage::AlertRecord& alert = pending->alerts[i];
      std::vector<storage::DeliveryRecord>& deliveries = pending->deliveries[i];
      // A receiver may have disabled its subscription since the stage was made.
      std::erase_if(deliveries, [&](const auto& d) { return disabled.count(d.subscription) > 0; });
      ASSIGN_OR_RETURN(bool inserted, alert_store_->Raise(alert, deliveries, &alert.seq));
      if (inserted) out.push_back(std::move(alert));  // the stage is not used again
    }
    next[id] = pending->next;
  }
  if (day_done && (!watermark || *watermark < today)) {
    RETURN_IF_ERROR(alert_store_->SetProcessedThrough(today.ToString()));
  }
  RETURN_IF_ERROR(tx.Commit());
  for (const auto& [id, whole] : work) changed_.erase(id);
  if (day_done) alerts_hold_histories_ = false;
  if (stage && day_done) {
    staged_.reset();  // used; a later raise the same day looks afresh
  } else if (stage) {
    for (const auto& [id, whole] : work) stage->recommendations.erase(id);  // used
  }
  for (const auto& [id, day] : next) {
    // No next day: any older entry (a changed recommendation also queued) goes too.
    if (day) {
      alert_queue_->Set(id, *day);
    } else {
      alert_queue_->Erase(id);
    }
  }
  for (const auto& alert : out) last_alert_seq_ = std::max(last_alert_seq_, alert.seq);
  return out;
}

Result<std::vector<storage::AlertRecord>> Engine::ListAlerts(
    const storage::AlertFilter& filter) const {
  return alert_store_->List(filter);
}

Result<AlertDetail> Engine::FindAlert(const std::string& id) const {
  AlertDetail detail;
  ASSIGN_OR_RETURN(detail.alert, alert_store_->Find(id));
  ASSIGN_OR_RETURN(detail.state, alert_store_->StateOf(id));
  ASSIGN_OR_RETURN(detail.deliveries, alert_store_->Deliveries(id));
  ASSIGN_OR_RETURN(detail.attempts, alert_store_->Attempts(id));
  return detail;
}

Result<std::string> Engine::AlertState(const std::string& id) const {
  return alert_store_->StateOf(id);
}

std::vector<std::string> Engine::RulesNamingWhatIsNotHeld() const {
  std::vector<std::string> said;
  if (!rules_) return said;
  for (const AlertRule& rule : rules_->alerts()) {
    for (const std::string& who : rule.to) {
      if (who == "owners" || who == "inspectorate" || who == "unit" || HasBody(who)) continue;
      said.push_back(rule.where + ": alert '" + rule.kind + "' is addressed to '" + who +
                     "', which is no body in this database: it reaches no one as '" + who + "'");
    }
  }
  for (const Subscription& s : rules_->subscriptions()) {
    if (s.body != "inspectorate" && !HasBody(s.body)) {
      said.push_back(s.where + ": subscription '" + s.id + "' is for body '" + s.body +
                     "', which is no body in this database: it gets no alerts");
    } else if (const Unit* unit = s.unit.empty() ? nullptr : ledger_->FindUnit(s.unit);
               !s.unit.empty() && (!unit || unit->body != s.body)) {
      said.push_back(s.where + ": subscription '" + s.id + "' is for unit '" + s.unit +
                     "', which is no unit of " + s.body + " in this database: it gets no alerts");
    }
  }
  return said;
}

}  // namespace rectrack
