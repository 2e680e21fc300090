// Working-day calendars, offsets applied to dates, and the alerts a recommendation's (or an
// action's) history gives. Loading lives in rules_loader.cpp.
#include "engine/rules.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace rectrack {
namespace {

// 0 = Monday ... 6 = Sunday; day 0 of the epoch, 1970-01-01, was a Thursday.
int Weekday(Date day) {
  const int r = (day.days_since_epoch() + 3) % 7;
  return r < 0 ? r + 7 : r;
}

Status OutOfRange(Date day, const Offset& offset, int sign) {
  return Status::InvalidArgument(day.ToString() + (sign < 0 ? " - " : " + ") + offset.text +
                                 " is outside the years " + std::to_string(Date::kMinYear) + "-" +
                                 std::to_string(Date::kMaxYear));
}

}  // namespace

bool Calendar::IsWorkingDay(Date day) const {
  return !weekend_.count(Weekday(day)) && !holidays_.count(day);
}

Result<Date> Calendar::AddWorkingDays(Date day, int n) const {
  const int step = n < 0 ? -1 : 1;
  long long left = n < 0 ? -static_cast<long long>(n) : n;
  Date d = day;
  while (left > 0) {
    d = d.AddDays(step);
    if (d.year() < Date::kMinYear || d.year() > Date::kMaxYear) {
      return Status::InvalidArgument(std::to_string(n) + " working days from " + day.ToString() +
                                     " go past the dates rectrack keeps");
    }
    if (IsWorkingDay(d)) --left;
  }
  return d;
}

const Calendar* Rules::calendar() const {
  if (calendar_.empty()) return nullptr;
  auto it = calendars_.find(calendar_);
  return it == calendars_.end() ? nullptr : &it->second;
}

Result<Date> Rules::Shift(Date day, const Offset& offset, int sign) const {
  sign = sign < 0 ? -1 : 1;
  switch (offset.unit) {
    case Offset::Unit::kDays: {
      const Date out = day.AddDays(sign * offset.amount);
      if (out.year() < Date::kMinYear || out.year() > Date::kMaxYear) {
        return OutOfRange(day, offset, sign);
      }
      return out;
    }
    case Offset::Unit::kMonths: {
      const long long months = static_cast<long long>(day.year()) * 12 + (day.month() - 1) +
                               static_cast<long long>(sign) * offset.amount;
      const long long year = months / 12;  // months >= 0 for any year >= 0
      const unsigned month = static_cast<unsigned>(months % 12) + 1;
      if (months < 0 || year < Date::kMinYear || year > Date::kMaxYear) {
        return OutOfRange(day, offset, sign);
      }
      const Date last = Date::LastDayOfMonth(static_cast<int>(year), month);
      if (day.day() >= last.day()) return last;
      return *Date::FromYmd(static_cast<int>(year), month, day.day());
    }
    case Offset::Unit::kWorkingDays: {
      const Calendar* cal = calendar();
      if (!cal) {
        return Status::FailedPrecondition("'" + offset.text +
                                          "' needs a calendar, and the rules name none");
      }
      return cal->AddWorkingDays(day, sign * offset.amount);
    }
  }
  return Status::InvalidArgument("bad offset '" + offset.text + "'");
}

namespace {

// Answers questions about one recommendation's past from its timeline.
class History {
 public:
  History(const RecommendationView& view, const Workflow& workflow)
      : view_(view), workflow_(workflow) {}

  // Open at the end of `day`: the state reached by the last event effective by then. Not yet
  // issued counts as not open.
  bool OpenOn(Date day) const {
    const TimelineEntry* last = nullptr;
    for (const auto& e : view_.timeline) {
      if (e.effective <= day && (!last || e.effective >= last->effective)) last = &e;
    }
    return last && workflow_.IsOpen(last->to_state);
  }

  // A milestone-anchored alert is alive on `day` while the recommendation is open and the
  // milestone unmet. A milestone met on an unknown day counts as met throughout.
  bool MilestoneAlive(const MilestoneView& m, Date day) const {
    const bool met = m.met && (!m.met_on || *m.met_on <= day);
    return !met && OpenOn(day);
  }

  // Whether an event named `until` comes after timeline entry `anchor` (later in effective
  // order; on the same day, later in the timeline) and is effective by `day`.
  bool EndedBy(size_t anchor, const std::vector<std::string>& until, Date day) const {
    if (until.empty()) return false;
    const TimelineEntry& a = view_.timeline[anchor];
    for (size_t j = 0; j < view_.timeline.size(); ++j) {
      const TimelineEntry& e = view_.timeline[j];
      const bool after = e.effective > a.effective || (e.effective == a.effective && j > anchor);
      const bool ends = std::find(until.begin(), until.end(), e.transition) != until.end();
      if (ends && after && e.effective <= day) return true;
    }
    return false;
  }

 private:
  const RecommendationView& view_;
  const Workflow& workflow_;
};

}  // namespace

namespace {

// Walks the alert instances of `view` that are alive on their day, for days from `from` up to
// `limit()`, calling visit(rule, anchor, milestone, occurrence, day). `limit` is asked again as
// the walk goes, so a caller looking for the earliest day can narrow it. `anchor` is the
// milestone's label, or "" with `event` the timeline index for event-anchored rules.
template <typename Limit, typename Visit>
void WalkInstances(const RecommendationView& view, const Rules& rules, const History& history,
                   Date from, Limit limit, Visit visit) {
  auto in_window = [&](Date day) { return from <= day && day <= limit(); };
  for (const AlertRule& rule : rules.alerts()) {
    if (rule.subject != view.kind) continue;
    if (!rule.before_due.empty()) {
      for (const auto& m : view.milestones) {
        for (size_t i = 0; i < rule.before_due.size(); ++i) {
          auto day = rules.Shift(m.due, rule.before_due[i], -1);
          if (day.ok() && in_window(*day) && history.MilestoneAlive(m, *day)) {
            visit(rule, &m, size_t{0}, static_cast<int>(i), *day);
          }
        }
      }
    } else if (rule.after_due) {
      for (const auto& m : view.milestones) {
        auto first = rules.Shift(m.due, *rule.after_due, +1);
        if (!first.ok()) continue;
        // Repeats in days are equally spaced: start at the first one in the window.
        int k = 0;
        if (rule.repeat && rule.repeat->unit == Offset::Unit::kDays && rule.repeat->amount > 0 &&
            *first < from) {
          const int step = rule.repeat->amount;
          k = (from.days_since_epoch() - first->days_since_epoch() + step - 1) / step;
        }
        // Each repeat is counted from the first alert, so month repeats keep their day.
        Date previous = *first;
        for (;; ++k) {
          Date day = *first;
          if (k > 0) {
            Offset step = *rule.repeat;
            step.amount = k * rule.repeat->amount;
            auto next = rules.Shift(*first, step, +1);
            if (!next.ok() || *next <= previous) break;
            day = previous = *next;
          }
          if (day > limit()) break;
          if (in_window(day) && history.MilestoneAlive(m, day)) visit(rule, &m, size_t{0}, k, day);
          if (!rule.repeat) break;
        }
      }
    } else if (!rule.after_event.empty() && rule.offset) {
      for (size_t i = 0; i < view.timeline.size(); ++i) {
        const TimelineEntry& e = view.timeline[i];
        if (e.transition != rule.after_event) continue;
        auto day = rules.Shift(e.effective, *rule.offset, +1);
        if (day.ok() && in_window(*day) && !history.EndedBy(i, rule.until, *day)) {
          visit(rule, static_cast<const MilestoneView*>(nullptr), i, 0, *day);
        }
      }
    }
  }
}

}  // namespace

std::vector<AlertInstance> AlertsFor(const RecommendationView& view, const Rules& rules,
                                     const Workflow& workflow, Date from, Date to) {
  std::vector<AlertInstance> out;
  WalkInstances(
      view, rules, History(view, workflow), from, [&] { return to; },
      [&](const AlertRule& rule, const MilestoneView* m, size_t event, int occurrence, Date due) {
        const std::string milestone = m ? m->label : "";
        const std::string anchor = m ? m->label : "e" + std::to_string(view.timeline[event].seq);
        out.push_back(
            {rule.kind, view.id, milestone, occurrence, due, rule.to, anchor,
             view.id + "/" + anchor + "/" + rule.kind + "/" + std::to_string(occurrence)});
      });
  std::sort(out.begin(), out.end(), [](const AlertInstance& a, const AlertInstance& b) {
    return std::tie(a.due, a.kind, a.milestone, a.occurrence, a.dedupe_key) <
           std::tie(b.due, b.kind, b.milestone, b.occurrence, b.dedupe_key);
  });
  return out;
}

std::optional<Date> NextAlertDay(const RecommendationView& view, const Rules& rules,
                                 const Workflow& workflow, Date after, Date limit) {
  // The best day so far bounds the rest of the walk.
  std::optional<Date> best;
  WalkInstances(
      view, rules, History(view, workflow), after.AddDays(1),
      [&] { return best ? std::min(*best, limit) : limit; },
      [&](const AlertRule&, const MilestoneView*, size_t, int, Date day) {
        if (!best || day < *best) best = day;
      });
  return best;
}

std::vector<AlertInstance> AlertsToRaise(const RecommendationView& view, const Rules& rules,
                                         const Workflow& workflow, Date from, Date today) {
  std::vector<AlertInstance> due = AlertsFor(view, rules, workflow, from, today);
  // Latest of each series; `due` is in due order, so a later instance overwrites an earlier one.
  std::map<std::pair<std::string, std::string>, AlertInstance> latest;
  for (auto& instance : due) latest[{instance.anchor, instance.kind}] = std::move(instance);
  const History history(view, workflow);
  std::vector<AlertInstance> out;
  for (auto& [series, instance] : latest) {
    const AlertRule* rule = nullptr;
    for (const auto& r : rules.alerts()) {
      if (r.kind == instance.kind && r.subject == view.kind) rule = &r;
    }
    if (!rule) continue;
    bool matters = false;
    if (!instance.milestone.empty()) {
      for (const auto& m : view.milestones) {
        if (m.label != instance.milestone) continue;
        matters = history.MilestoneAlive(m, today) && (rule->before_due.empty() || today <= m.due);
      }
    } else {
      for (size_t i = 0; i < view.timeline.size(); ++i) {
        if ("e" + std::to_string(view.timeline[i].seq) == instance.anchor) {
          matters = !history.EndedBy(i, rule->until, today);
        }
      }
    }
    if (matters) out.push_back(std::move(instance));
  }
  std::sort(out.begin(), out.end(), [](const AlertInstance& a, const AlertInstance& b) {
    return std::tie(a.due, a.dedupe_key) < std::tie(b.due, b.dedupe_key);
  });
  return out;
}

std::vector<std::string> AudienceOf(const AlertInstance& instance,
                                    const std::vector<std::string>& owners,
                                    const std::string& unit) {
  std::vector<std::string> out;
  auto add = [&](const std::string& who) {
    if (std::find(out.begin(), out.end(), who) == out.end()) out.push_back(who);
  };
  for (const auto& who : instance.to) {
    if (who == "owners" || (who == "unit" && unit.empty())) {
      for (const auto& owner : owners) add(owner);
    } else if (who == "unit") {
      add(kUnitAudiencePrefix + unit);
    } else {
      add(who);
    }
  }
  return out;
}

bool Subscription::Wants(const std::string& kind) const {
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

bool Subscription::Hears(const std::vector<std::string>& audience) const {
  const std::string who = unit.empty() ? body : kUnitAudiencePrefix + unit;
  return std::find(audience.begin(), audience.end(), who) != audience.end();
}

}  // namespace rectrack
