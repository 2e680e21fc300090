// Reads and validates a rules directory: calendars (dir/calendars/*.yaml) first, then alert
// rules (dir/*.yaml, in name order). Every check that needs no recommendation is made here, once,
// and every refusal says "file:line:col: what".
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "common/strings.h"
#include "engine/rules.h"
#include "engine/yaml_util.h"

namespace rectrack {
namespace {

constexpr int kMaxOffset = 10000;

const char* const kWeekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                 "friday", "saturday", "sunday"};

// The regular *.yaml files directly in `dir`, in name order; none when `dir` does not exist.
std::vector<std::string> YamlFilesIn(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && it->path().extension() == ".yaml") {
      out.push_back(it->path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<Offset> ParseOffset(std::string_view text) {
  const Status bad = Status::InvalidArgument("bad offset '" + std::string(text) +
                                             "' (use N days, N months or N working days)");
  const size_t space = text.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 5) return bad;
  if (space > 1 && text[0] == '0') return bad;  // no leading zeros
  int amount = 0;
  for (char ch : text.substr(0, space)) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return bad;
    amount = amount * 10 + (ch - '0');
  }
  if (amount > kMaxOffset) return bad;
  const std::string_view unit = text.substr(space + 1);
  Offset offset;
  if (unit == "day" || unit == "days") {
    offset.unit = Offset::Unit::kDays;
  } else if (unit == "month" || unit == "months") {
    offset.unit = Offset::Unit::kMonths;
  } else if (unit == "working day" || unit == "working days") {
    offset.unit = Offset::Unit::kWorkingDays;
  } else {
    return bad;
  }
  offset.amount = amount;
  offset.text = std::string(text);
  return offset;
}

class RulesLoader {
 public:
  RulesLoader(const Workflow& workflow, const Workflow* action_workflow, bool resolve_secrets)
      : workflow_(workflow), action_workflow_(action_workflow), resolve_secrets_(resolve_secrets) {}

  Result<Rules> Load(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      return Status::NotFound("rules directory '" + dir + "' does not exist or is not a directory");
    }
    for (const auto& path : YamlFilesIn(std::filesystem::path(dir) / "calendars")) {
      RETURN_IF_ERROR(LoadFile(path, &RulesLoader::LoadCalendar));
    }
    for (const auto& path : YamlFilesIn(dir)) {
      RETURN_IF_ERROR(LoadFile(path, &RulesLoader::LoadAlertFile));
    }
    RETURN_IF_ERROR(CheckWorkingDayOffsets());
    RETURN_IF_ERROR(CheckSubscriptionKinds());
    return std::move(rules_);
  }

 private:
  using Parts = std::map<std::string, YAML::Node>;  // key -> value, for keys that were given
  using FileLoader = Status (RulesLoader::*)(const std::string&, const YAML::Node&);

  Status LoadFile(const std::string& path, FileLoader load) {
    ASSIGN_OR_RETURN(std::string text, yaml::ReadFile(path));
    ASSIGN_OR_RETURN(YAML::Node root, yaml::ParseDocument(text, path));
    try {
      return (this->*load)(path, root);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(path + ": malformed rules: " + e.msg);
    }
  }

  // The entries of mapping `node` (keys limited to `allowed`), refusing a missing `required` key.
  Result<Parts> Collect(const std::string& src, const YAML::Node& node, const std::string& what,
                        const std::set<std::string>& allowed,
                        const std::vector<std::string>& required) {
    Parts parts;
    RETURN_IF_ERROR(
        yaml::ForEachEntry(src, node, what, allowed,
                           [&](const std::string& key, const YAML::Node&, const YAML::Node& value) {
                             parts[key] = value;
                             return Status();
                           }));
    for (const auto& key : required) {
      if (!parts.count(key)) return yaml::Error(src, node, what + ": missing '" + key + "'");
    }
    return parts;
  }

  Result<std::string> Name(const std::string& src, const YAML::Node& node,
                           const std::string& what) {
    ASSIGN_OR_RETURN(std::string name, yaml::Scalar(src, node, what));
    bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
    if (!ok) return yaml::Error(src, node, "bad " + what + " name '" + name + "'");
    return name;
  }

  Result<Date> DateAt(const std::string& src, const YAML::Node& node, const std::string& what) {
    ASSIGN_OR_RETURN(std::string text, yaml::Scalar(src, node, what));
    auto date = Date::Parse(text);
    if (!date)
      return yaml::Error(src, node,
                         what + " must be a real date written YYYY-MM-DD, not '" + text + "'");
    return *date;
  }

  Status LoadCalendar(const std::string& src, const YAML::Node& root) {
    if (!root.IsMap()) return yaml::Error(src, root, "a calendar file must be a mapping");
    ASSIGN_OR_RETURN(Parts top, Collect(src, root, "calendar file",
                                        {"calendar", "weekend", "covers", "holidays"},
                                        {"calendar", "weekend", "covers"}));
    Calendar cal;
    ASSIGN_OR_RETURN(cal.name_, Name(src, top["calendar"], "calendar"));
    RETURN_IF_ERROR(FirstDefinition(calendar_where_, cal.name_, yaml::Where(src, top["calendar"]),
                                    src, top["calendar"], "calendar"));
    const YAML::Node& weekend = top["weekend"];
    if (!weekend.IsSequence()) return yaml::Error(src, weekend, "weekend must be a list");
    for (const auto& day : weekend) {
      ASSIGN_OR_RETURN(std::string name, yaml::Scalar(src, day, "weekend"));
      auto it = std::find(std::begin(kWeekdays), std::end(kWeekdays), name);
      if (it == std::end(kWeekdays)) {
        return yaml::Error(src, day, "unknown weekday '" + name + "' (use monday ... sunday)");
      }
      if (!cal.weekend_.insert(static_cast<int>(it - std::begin(kWeekdays))).second) {
        return yaml::Error(src, day, "weekday '" + name + "' is listed twice");
      }
    }
    if (cal.weekend_.size() == 7) return yaml::Error(src, weekend, "a week needs a working day");
    ASSIGN_OR_RETURN(Parts covers,
                     Collect(src, top["covers"], "covers", {"from", "to"}, {"from", "to"}));
    ASSIGN_OR_RETURN(cal.from_, DateAt(src, covers["from"], "covers.from"));
    ASSIGN_OR_RETURN(cal.to_, DateAt(src, covers["to"], "covers.to"));
    if (cal.to_ < cal.from_) {
      return yaml::Error(src, covers["to"], "covers.to is before covers.from");
    }
    if (top.count("holidays")) {
      const YAML::Node& holidays = top["holidays"];
      if (!holidays.IsSequence()) return yaml::Error(src, holidays, "holidays must be a list");
      for (const auto& item : holidays) {
        ASSIGN_OR_RETURN(Parts holiday,
                         Collect(src, item, "holiday", {"date", "name"}, {"date", "name"}));
        ASSIGN_OR_RETURN(Date date, DateAt(src, holiday["date"], "holiday date"));
        ASSIGN_OR_RETURN(std::string name, yaml::Scalar(src, holiday["name"], "holiday name"));
        if (name.empty()) return yaml::Error(src, holiday["name"], "a holiday needs a name");
        if (date < cal.from_ || date > cal.to_) {
          return yaml::Error(src, holiday["date"],
                             "holiday " + date.ToString() + " is outside what the calendar " +
                                 "covers (" + cal.from_.ToString() + " to " + cal.to_.ToString() +
                                 ")");
        }
        if (!cal.holidays_.insert(date).second) {
          return yaml::Error(src, holiday["date"],
                             "holiday " + date.ToString() + " is listed twice");
        }
      }
    }
    rules_.calendars_.emplace(cal.name_, std::move(cal));
    return Status();
  }

  Status LoadAlertFile(const std::string& src, const YAML::Node& root) {
    if (!root.IsMap()) return yaml::Error(src, root, "a rules file must be a mapping");
    ASSIGN_OR_RETURN(Parts top,
                     Collect(src, root, "rules file", {"calendar", "alerts", "subscriptions"}, {}));
    if (top.count("calendar")) {
      const YAML::Node& node = top["calendar"];
      ASSIGN_OR_RETURN(std::string name, yaml::Scalar(src, node, "calendar"));
      if (!rules_.calendars_.count(name)) {
        std::vector<std::string> known;
        for (const auto& [n, cal] : rules_.calendars_) known.push_back(n);
        return yaml::Error(src, node,
                           "unknown calendar '" + name +
                               "' (loaded from calendars/: " + Join(known, ", ", "none") + ")");
      }
      if (!calendar_choice_.empty()) {
        return yaml::Error(src, node,
                           "the calendar is already chosen at " + calendar_choice_ +
                               ": name it in one rules file only");
      }
      calendar_choice_ = yaml::Where(src, node);
      rules_.calendar_ = name;
    }
    if (top.count("alerts")) {
      const YAML::Node& alerts = top["alerts"];
      if (!alerts.IsSequence()) return yaml::Error(src, alerts, "alerts must be a list");
      for (const auto& item : alerts) RETURN_IF_ERROR(LoadAlert(src, item));
    }
    if (top.count("subscriptions")) {
      const YAML::Node& subs = top["subscriptions"];
      if (!subs.IsSequence()) return yaml::Error(src, subs, "subscriptions must be a list");
      for (const auto& item : subs) RETURN_IF_ERROR(LoadSubscription(src, item));
    }
    return Status();
  }

  // Records that `name` is defined `at`; a second definition is an error at `node` naming the
  // first.
  Status FirstDefinition(std::map<std::string, std::string>& where, const std::string& name,
                         const std::string& at, const std::string& src, const YAML::Node& node,
                         const char* what) {
    auto [first, inserted] = where.emplace(name, at);
    if (inserted) return Status();
    return yaml::Error(src, node,
                       std::string("duplicate ") + what + " '" + name + "' (first defined at " +
                           first->second + ")");
  }

  Status LoadSubscription(const std::string& src, const YAML::Node& item) {
    ASSIGN_OR_RETURN(Parts parts, Collect(src, item, "subscription",
                                          {"id", "body", "unit", "kinds", "webhook", "secret",
                                           "secret_env", "email"},
                                          {"id", "body"}));
    Subscription sub;
    sub.where = yaml::Where(src, item);
    ASSIGN_OR_RETURN(sub.id, Name(src, parts["id"], "subscription"));
    RETURN_IF_ERROR(
        FirstDefinition(subscription_where_, sub.id, sub.where, src, parts["id"], "subscription"));
    const std::string what = "subscription '" + sub.id + "'";
    ASSIGN_OR_RETURN(sub.body, yaml::Scalar(src, parts["body"], "body"));
    if (sub.body != "inspectorate" && !IsValidId(sub.body)) {
      return yaml::Error(src, parts["body"],
                         what + ": bad body '" + sub.body + "' (a body id or inspectorate)");
    }
    if (parts.count("unit")) {
      ASSIGN_OR_RETURN(sub.unit, yaml::Scalar(src, parts["unit"], "unit"));
      if (!IsValidId(sub.unit)) {
        return yaml::Error(src, parts["unit"], what + ": bad unit '" + sub.unit + "'");
      }
      if (sub.body == "inspectorate") {
        return yaml::Error(src, parts["unit"],
                           what + ": a unit belongs to a body, not to the inspectorate");
      }
    }
    if (parts.count("kinds")) {
      ASSIGN_OR_RETURN(sub.kinds, yaml::ScalarList(src, parts["kinds"], "kinds", true));
      for (const auto& kind : sub.kinds)
        kinds_used_.push_back({yaml::Where(src, parts["kinds"]), kind});
    }
    if (parts.count("webhook") == parts.count("email")) {
      return yaml::Error(src, item, what + " needs one channel: webhook or email");
    }
    if (parts.count("webhook")) {
      ASSIGN_OR_RETURN(sub.webhook, yaml::Scalar(src, parts["webhook"], "webhook"));
      if (sub.webhook.rfind("http://", 0) != 0 && sub.webhook.rfind("https://", 0) != 0) {
        return yaml::Error(src, parts["webhook"],
                           what + ": webhook must be an http:// or https:// URL");
      }
      if (parts.count("secret") == parts.count("secret_env")) {
        return yaml::Error(src, item, what + " needs one of secret or secret_env");
      }
      if (parts.count("secret")) {
        ASSIGN_OR_RETURN(sub.secret, yaml::Scalar(src, parts["secret"], "secret"));
      } else {
        ASSIGN_OR_RETURN(std::string name, yaml::Scalar(src, parts["secret_env"], "secret_env"));
        if (resolve_secrets_) {
          const char* value = std::getenv(name.c_str());
          if (!value || !*value) {
            return yaml::Error(src, parts["secret_env"],
                               what + ": environment variable " + name + " is not set");
          }
          sub.secret = value;
        }
      }
      if (resolve_secrets_ || parts.count("secret")) {
        if (Status s = CheckWebhookSecret(sub.secret); !s.ok()) {
          return yaml::Error(src, parts.count("secret") ? parts["secret"] : parts["secret_env"],
                             what + ": " + s.message());
        }
      }
    } else {
      if (parts.count("secret") || parts.count("secret_env")) {
        return yaml::Error(src, item, what + ": a secret goes with a webhook, not an email");
      }
      ASSIGN_OR_RETURN(sub.email, yaml::Scalar(src, parts["email"], "email"));
      const size_t at = sub.email.find('@');
      const bool plain = sub.email.find_first_of(" \t\r\n<>,;") == std::string::npos;
      if (at == std::string::npos || at == 0 || at + 1 == sub.email.size() || !plain) {
        return yaml::Error(src, parts["email"], what + ": bad email address '" + sub.email + "'");
      }
    }
    rules_.subscriptions_.push_back(std::move(sub));
    return Status();
  }

  // Subscriptions may name kinds defined in a later file, so they are checked at the end.
  Status CheckSubscriptionKinds() {
    for (const auto& [where, kind] : kinds_used_) {
      if (!kind_where_.count(kind)) {
        std::vector<std::string> known;
        for (const auto& [k, w] : kind_where_) known.push_back(k);
        return Status::InvalidArgument(where + ": unknown alert kind '" + kind +
                                       "' (the rules define: " + Join(known, ", ", "none") + ")");
      }
    }
    return Status();
  }

  Status LoadAlert(const std::string& src, const YAML::Node& item) {
    Parts parts;
    std::vector<std::pair<std::string, YAML::Node>> anchors;  // in file order, with key nodes
    RETURN_IF_ERROR(yaml::ForEachEntry(
        src, item, "alert",
        {"kind", "subject", "to", "before_due", "after_due", "repeat", "after_event", "offset",
         "until"},
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          parts[key] = value;
          if (key == "before_due" || key == "after_due" || key == "after_event") {
            anchors.emplace_back(key, key_node);
          }
          return Status();
        }));
    if (!parts.count("kind")) return yaml::Error(src, item, "an alert needs a kind");
    AlertRule rule;
    rule.where = yaml::Where(src, item);
    ASSIGN_OR_RETURN(rule.kind, Name(src, parts["kind"], "alert kind"));
    RETURN_IF_ERROR(
        FirstDefinition(kind_where_, rule.kind, rule.where, src, parts["kind"], "alert kind"));
    const std::string what = "alert '" + rule.kind + "'";
    if (parts.count("subject")) {
      ASSIGN_OR_RETURN(std::string subject, yaml::Scalar(src, parts["subject"], "subject"));
      if (subject == "action") {
        rule.subject = SubjectKind::kAction;
      } else if (subject != "recommendation") {
        return yaml::Error(
            src, parts["subject"],
            what + ": unknown subject '" + subject + "' (use recommendation or action)");
      }
    }
    if (!parts.count("to")) return yaml::Error(src, item, what + " needs `to`");
    RETURN_IF_ERROR(LoadAudiences(src, parts["to"], what, rule.subject, &rule.to));
    if (anchors.empty()) {
      return yaml::Error(src, item,
                         what + " needs one anchor: before_due, after_due or after_event");
    }
    if (anchors.size() > 1) {
      return yaml::Error(src, anchors[1].second,
                         what + " has two anchors (" + anchors[0].first + " and " +
                             anchors[1].first + "): give one");
    }
    const std::string& anchor = anchors[0].first;
    static const std::pair<std::string, std::string> kGoesWith[] = {
        {"repeat", "after_due"}, {"offset", "after_event"}, {"until", "after_event"}};
    for (const auto& [key, goes_with] : kGoesWith) {
      if (parts.count(key) && anchor != goes_with) {
        return yaml::Error(src, parts[key],
                           what + ": " + key + " goes with " + goes_with + ", not " + anchor);
      }
    }
    if (anchor == "before_due") {
      const YAML::Node& node = parts["before_due"];
      if (node.IsScalar()) {
        ASSIGN_OR_RETURN(Offset offset, OffsetAt(src, node, "before_due"));
        rule.before_due.push_back(offset);
      } else if (node.IsSequence() && node.size() > 0) {
        for (const auto& entry : node) {
          ASSIGN_OR_RETURN(Offset offset, OffsetAt(src, entry, "before_due"));
          for (const auto& earlier : rule.before_due) {
            if (earlier.text == offset.text) {
              return yaml::Error(src, entry, "offset '" + offset.text + "' is listed twice");
            }
          }
          rule.before_due.push_back(offset);
        }
      } else {
        return yaml::Error(src, node, what + ": before_due must be a non-empty list of offsets");
      }
    } else if (anchor == "after_due") {
      ASSIGN_OR_RETURN(rule.after_due, OffsetAt(src, parts["after_due"], "after_due"));
      if (parts.count("repeat")) {
        ASSIGN_OR_RETURN(rule.repeat, OffsetAt(src, parts["repeat"], "repeat"));
        if (rule.repeat->amount == 0) {
          return yaml::Error(src, parts["repeat"], what + ": repeat must be more than 0");
        }
      }
    } else {
      ASSIGN_OR_RETURN(const Workflow* workflow,
                       WorkflowFor(src, parts["after_event"], what, rule.subject));
      ASSIGN_OR_RETURN(rule.after_event,
                       TransitionAt(src, parts["after_event"], "after_event", *workflow));
      if (!parts.count("offset")) {
        return yaml::Error(src, item, what + ": after_event needs an offset");
      }
      ASSIGN_OR_RETURN(rule.offset, OffsetAt(src, parts["offset"], "offset"));
      if (parts.count("until")) {
        const YAML::Node& until = parts["until"];
        if (until.IsSequence()) {
          if (until.size() == 0) return yaml::Error(src, until, what + ": until is an empty list");
          for (const auto& item : until) {
            ASSIGN_OR_RETURN(std::string name, TransitionAt(src, item, "until", *workflow));
            rule.until.push_back(name);
          }
        } else {
          ASSIGN_OR_RETURN(std::string name, TransitionAt(src, until, "until", *workflow));
          rule.until.push_back(name);
        }
      }
    }
    rules_.alerts_.push_back(std::move(rule));
    return Status();
  }

  Status LoadAudiences(const std::string& src, const YAML::Node& node, const std::string& what,
                       SubjectKind subject, std::vector<std::string>* to) {
    ASSIGN_OR_RETURN(*to, yaml::ScalarList(src, node, "to", true));
    if (to->empty()) return yaml::Error(src, node, what + ": `to` needs at least one audience");
    for (size_t i = 0; i < to->size(); ++i) {
      const std::string& who = (*to)[i];
      if (who == "unit" && subject != SubjectKind::kAction) {
        return yaml::Error(src, node,
                           what + ": audience 'unit' is for actions only (add subject: action)");
      }
      if (who != "owners" && who != "inspectorate" && !IsValidId(who)) {
        return yaml::Error(src, node,
                           what + ": bad audience '" + who +
                               "' (use owners, inspectorate, unit (actions) or a body id)");
      }
      if (std::find(to->begin(), to->begin() + i, who) != to->begin() + i) {
        return yaml::Error(src, node, what + ": audience '" + who + "' is listed twice");
      }
    }
    return Status();
  }

  Result<Offset> OffsetAt(const std::string& src, const YAML::Node& node, const std::string& what) {
    ASSIGN_OR_RETURN(std::string text, yaml::Scalar(src, node, what));
    auto offset = ParseOffset(text);
    if (!offset.ok()) return yaml::Error(src, node, offset.status().message());
    if (offset->unit == Offset::Unit::kWorkingDays) {
      working_days_.push_back({yaml::Where(src, node), *offset});
    }
    return *offset;
  }

  // The workflow whose transitions a rule for `subject` names.
  Result<const Workflow*> WorkflowFor(const std::string& src, const YAML::Node& node,
                                      const std::string& what, SubjectKind subject) {
    if (subject != SubjectKind::kAction) return &workflow_;
    if (!action_workflow_) {
      return yaml::Error(src, node,
                         what +
                             ": after_event on actions needs the action workflow, and none "
                             "is loaded");
    }
    return action_workflow_;
  }

  Result<std::string> TransitionAt(const std::string& src, const YAML::Node& node,
                                   const std::string& what, const Workflow& workflow) {
    ASSIGN_OR_RETURN(std::string name, yaml::Scalar(src, node, what));
    if (!workflow.FindTransition(name)) {
      std::vector<std::string> known;
      for (const auto& t : workflow.transitions()) known.push_back(t.name);
      return yaml::Error(src, node,
                         "unknown transition '" + name + "' in " + what + " (workflow '" +
                             workflow.name() + "' has: " + Join(known, ", ", "none") + ")");
    }
    return name;
  }

  // Working-day offsets need the chosen calendar, and must fit in the days it covers.
  Status CheckWorkingDayOffsets() {
    if (working_days_.empty()) return Status();
    const Calendar* cal = rules_.calendar();
    if (!cal) {
      const auto& [where, offset] = working_days_.front();
      return Status::InvalidArgument(where + ": '" + offset.text +
                                     "' needs a calendar: name one with `calendar:` in a rules "
                                     "file");
    }
    int covered = 0;
    for (Date d = cal->covers_from(); d <= cal->covers_to(); d = d.AddDays(1)) {
      covered += cal->IsWorkingDay(d) ? 1 : 0;
    }
    for (const auto& [where, offset] : working_days_) {
      if (offset.amount > covered) {
        return Status::InvalidArgument(where + ": '" + offset.text + "' is more than calendar '" +
                                       cal->name() + "' covers (" + std::to_string(covered) +
                                       " working days)");
      }
    }
    return Status();
  }

  const Workflow& workflow_;
  const Workflow* action_workflow_;  // may be null
  Rules rules_;
  std::map<std::string, std::string> calendar_where_;      // calendar name -> where defined
  std::map<std::string, std::string> kind_where_;          // alert kind -> where defined
  std::map<std::string, std::string> subscription_where_;  // subscription id -> where
  const bool resolve_secrets_;
  std::vector<std::pair<std::string, std::string>> kinds_used_;  // where, kind
  std::string calendar_choice_;                                  // where `calendar:` was given
  std::vector<std::pair<std::string, Offset>> working_days_;     // where, offset
};

Result<Rules> Rules::LoadDir(const std::string& dir, const Workflow& workflow,
                             const Workflow* action_workflow, bool resolve_secrets) {
  return RulesLoader(workflow, action_workflow, resolve_secrets).Load(dir);
}

Status CheckWebhookSecret(const std::string& secret) {
  const Status bad = Status::InvalidArgument(
      "a webhook secret is whsec_ followed by the base64 of 24 to 64 random bytes, as Standard "
      "Webhooks receivers expect ('rectrack webhook-secret' makes one)");
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.compare(0, kPrefix.size(), kPrefix) != 0) return bad;
  const auto key = Base64Decode(std::string_view(secret).substr(kPrefix.size()));
  if (!key || key->size() < 24 || key->size() > 64) return bad;
  return Status();
}

}  // namespace rectrack
