// Reads and validates a workflow YAML file into a Workflow. Every check that can be made without
// the world (the state machine's shape) is made here, once, at load.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "engine/workflow.h"
#include "engine/yaml_util.h"
#include "storage/crypto.h"

namespace rectrack {

class WorkflowLoader {
 public:
  explicit WorkflowLoader(std::string source) : source_(std::move(source)) {
    wf_.source_ = source_;
  }

  Result<Workflow> Load(const YAML::Node& root) {
    if (!root.IsMap()) return yaml::Error(source_, root, "a workflow file must be a mapping");
    std::map<std::string, YAML::Node> top;
    RETURN_IF_ERROR(
        yaml::ForEachEntry(source_, root, "workflow",
                           {"workflow", "subject", "roles", "states", "fields", "transitions"},
                           [&](const std::string& key, const YAML::Node&, const YAML::Node& value) {
                             top[key] = value;
                             return Status();
                           }));
    for (const char* key : {"workflow", "subject", "roles", "states", "transitions"}) {
      if (!top.count(key)) return yaml::Error(source_, root, std::string("missing '") + key + "'");
    }
    ASSIGN_OR_RETURN(wf_.name_, yaml::Scalar(source_, top["workflow"], "workflow"));
    ASSIGN_OR_RETURN(wf_.subject_, yaml::Scalar(source_, top["subject"], "subject"));
    if (wf_.subject_ != "recommendation" && wf_.subject_ != "action") {
      return yaml::Error(source_, top["subject"], "subject must be recommendation or action");
    }
    RETURN_IF_ERROR(LoadRoles(top["roles"]));
    RETURN_IF_ERROR(LoadStates(top["states"]));
    if (top.count("fields")) RETURN_IF_ERROR(LoadFields(top["fields"]));
    RETURN_IF_ERROR(LoadTransitions(top["transitions"]));
    RETURN_IF_ERROR(CheckReachable());
    return std::move(wf_);
  }

 private:
  Status LoadRoles(const YAML::Node& node) {
    return yaml::ForEachEntry(
        source_, node, "roles", {},
        [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) -> Status {
          RETURN_IF_ERROR(CheckName(key, name, "role"));
          RoleSpec role{name, false, ""};
          if (!value.IsNull()) {
            RETURN_IF_ERROR(yaml::ForEachEntry(
                source_, value, "role '" + name + "'", {"acts_for", "description"},
                [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> Status {
                  ASSIGN_OR_RETURN(std::string s, yaml::Scalar(source_, v, k));
                  if (k == "description") {
                    role.description = s;
                  } else if (s == "owner") {
                    role.acts_for_owner = true;
                  } else {
                    return yaml::Error(source_, v, "acts_for must be 'owner'");
                  }
                  return Status();
                }));
          }
          wf_.roles_.push_back(role);
          return Status();
        });
  }

  Status LoadStates(const YAML::Node& node) {
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, node, "states", {},
        [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) -> Status {
          RETURN_IF_ERROR(CheckName(key, name, "state"));
          StateSpec state{name, true, ""};
          bool has_open = false;
          RETURN_IF_ERROR(yaml::ForEachEntry(
              source_, value, "state '" + name + "'", {"open", "description"},
              [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> Status {
                if (k == "open") {
                  has_open = true;
                  ASSIGN_OR_RETURN(state.open, yaml::Bool(source_, v, "open"));
                } else {
                  ASSIGN_OR_RETURN(state.description, yaml::Scalar(source_, v, k));
                }
                return Status();
              }));
          if (!has_open) {
            return yaml::Error(source_, key, "state '" + name + "' must say open: true or false");
          }
          wf_.states_.push_back(state);
          state_nodes_[name] = key;
          return Status();
        }));
    if (wf_.states_.empty()) return yaml::Error(source_, node, "a workflow needs states");
    return Status();
  }

  Status LoadFields(const YAML::Node& node) {
    static const std::map<std::string, FieldType> kTypes = {
        {"text", FieldType::kText},
        {"date", FieldType::kDate},
        {"enum", FieldType::kEnum},
        {"milestone", FieldType::kMilestone},
        {"inspection", FieldType::kInspection},
        {"recommendation", FieldType::kRecommendation},
        {"body", FieldType::kBody}};
    return yaml::ForEachEntry(
        source_, node, "fields", {},
        [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) -> Status {
          RETURN_IF_ERROR(CheckName(key, name, "field"));
          FieldSpec field{name, FieldType::kText, false, {}, "", ""};
          bool has_type = false;
          RETURN_IF_ERROR(yaml::ForEachEntry(
              source_, value, "field '" + name + "'",
              {"type", "list", "values", "description", "label"},
              [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> Status {
                if (k == "type") {
                  ASSIGN_OR_RETURN(std::string t, yaml::Scalar(source_, v, k));
                  auto it = kTypes.find(t);
                  if (it == kTypes.end()) {
                    return yaml::Error(source_, v,
                                       "unknown field type '" + t +
                                           "' (known: text, date, enum, milestone, inspection, "
                                           "recommendation, body)");
                  }
                  field.type = it->second;
                  has_type = true;
                } else if (k == "list") {
                  ASSIGN_OR_RETURN(field.list, yaml::Bool(source_, v, k));
                } else if (k == "values") {
                  ASSIGN_OR_RETURN(field.values, yaml::ScalarList(source_, v, k));
                } else if (k == "label") {
                  ASSIGN_OR_RETURN(field.label, yaml::Scalar(source_, v, k));
                } else {
                  ASSIGN_OR_RETURN(field.description, yaml::Scalar(source_, v, k));
                }
                return Status();
              }));
          if (!has_type) return yaml::Error(source_, key, "field '" + name + "' needs a type");
          if ((field.type == FieldType::kEnum) != !field.values.empty()) {
            return yaml::Error(
                source_, key, "field '" + name + "': values are required for, and only for, enums");
          }
          wf_.fields_.push_back(field);
          return Status();
        });
  }

  Status LoadTransitions(const YAML::Node& node) {
    if (!node.IsSequence()) return yaml::Error(source_, node, "transitions must be a list");
    std::map<std::string, std::string> first_seen;  // name -> where
    int creating = 0;
    for (const auto& item : node) {
      Transition t;
      RETURN_IF_ERROR(LoadTransition(item, &t));
      auto [it, inserted] = first_seen.emplace(t.name, yaml::Where(source_, item));
      if (!inserted) {
        return yaml::Error(
            source_, item,
            "duplicate transition '" + t.name + "' (first defined at " + it->second + ")");
      }
      if (t.creates) {
        ++creating;
        wf_.creating_index_ = wf_.transitions_.size();
      }
      wf_.transitions_.push_back(std::move(t));
    }
    if (creating != 1) {
      return yaml::Error(source_, node,
                         "exactly one transition must have creates: true (found " +
                             std::to_string(creating) + ")");
    }
    return Status();
  }

  // yaml-cpp's default Node is a defined null, so which keys were given is tracked by name.
  using Parts = std::map<std::string, YAML::Node>;

  Status LoadTransition(const YAML::Node& item, Transition* t) {
    Parts parts;
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, item, "transition",
        {"name", "creates", "roles", "required", "optional", "cases", "effects", "guard", "from",
         "to", "when", "present", "absent", "description"},
        [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> Status {
          if (k == "name") {
            ASSIGN_OR_RETURN(t->name, yaml::Scalar(source_, v, k));
          } else if (k == "creates") {
            ASSIGN_OR_RETURN(t->creates, yaml::Bool(source_, v, k));
          } else if (k == "roles") {
            ASSIGN_OR_RETURN(t->roles, yaml::ScalarList(source_, v, k));
            for (const auto& r : t->roles) {
              if (!wf_.FindRole(r)) return yaml::Error(source_, v, "unknown role '" + r + "'");
            }
          } else if (k == "required" || k == "optional") {
            ASSIGN_OR_RETURN(auto names, yaml::ScalarList(source_, v, k));
            for (const auto& f : names) {
              if (!wf_.FindField(f)) return yaml::Error(source_, v, "unknown field '" + f + "'");
            }
            (k == "required" ? t->required : t->optional) = names;
          } else {
            parts[k] = v;
          }
          return Status();
        }));
    if (t->name.empty()) return yaml::Error(source_, item, "a transition needs a name");
    RETURN_IF_ERROR(CheckName(item, t->name, "transition"));
    const std::string what = "transition '" + t->name + "'";
    if (t->roles.empty()) return yaml::Error(source_, item, what + " needs roles");
    for (const auto& f : t->required) {
      if (std::count(t->optional.begin(), t->optional.end(), f)) {
        return yaml::Error(source_, item,
                           what + ": field '" + f + "' is both required and optional");
      }
    }
    const bool flat = parts.count("from") || parts.count("to") || parts.count("when") ||
                      parts.count("present") || parts.count("absent");
    if (parts.count("cases") && flat) {
      return yaml::Error(source_, item, what + ": give either cases or from/to/when, not both");
    }
    if (t->creates) {
      if (parts.count("cases") || parts.count("from") || parts.count("when") ||
          parts.count("present") || parts.count("absent") || !parts.count("to")) {
        return yaml::Error(source_, item,
                           what + " creates the item: give only `to`, no from/cases");
      }
      ASSIGN_OR_RETURN(std::string to, yaml::Scalar(source_, parts["to"], "to"));
      if (!wf_.FindState(to))
        return yaml::Error(source_, parts["to"], "unknown state '" + to + "'");
      t->cases.push_back(Case{{}, {}, {}, {}, to, yaml::Where(source_, item)});
    } else if (parts.count("cases")) {
      const YAML::Node& cases = parts["cases"];
      if (!cases.IsSequence() || cases.size() == 0) {
        return yaml::Error(source_, cases, what + ": cases must be a non-empty list");
      }
      for (const auto& c : cases) {
        Parts case_parts;
        RETURN_IF_ERROR(
            yaml::ForEachEntry(source_, c, "case", {"from", "to", "when", "present", "absent"},
                               [&](const std::string& k, const YAML::Node&, const YAML::Node& v) {
                                 case_parts[k] = v;
                                 return Status();
                               }));
        RETURN_IF_ERROR(LoadCase(*t, c, case_parts));
      }
    } else {
      RETURN_IF_ERROR(LoadCase(*t, item, parts));
    }
    if (parts.count("effects")) RETURN_IF_ERROR(LoadEffects(parts["effects"], t));
    if (parts.count("guard")) RETURN_IF_ERROR(LoadGuard(parts["guard"], t));
    return Status();
  }

  Status LoadGuard(const YAML::Node& node, Transition* t) {
    const std::string what = "transition '" + t->name + "': guard";
    if (wf_.subject_ != "recommendation") {
      return yaml::Error(source_, node, what + ": only a recommendation workflow has guards");
    }
    bool actions_given = false;
    const YAML::Node* unless_at = nullptr;
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, node, "guard", {"actions", "unless", "not_before"},
        [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> Status {
          ASSIGN_OR_RETURN(std::string value, yaml::Scalar(source_, v, k));
          if (k == "actions") {
            if (value != "closed") {
              return yaml::Error(source_, v,
                                 what + ": actions must be 'closed', not '" + value + "'");
            }
            t->guard.actions_closed = actions_given = true;
          } else if (k == "not_before") {
            if (value != "judgement") {
              return yaml::Error(source_, v,
                                 what + ": not_before must be 'judgement', not '" + value + "'");
            }
            t->guard.not_before_judgement = true;
          } else {
            const FieldSpec* spec = wf_.FindField(value);
            if (!spec || spec->type != FieldType::kText || spec->list ||
                !std::count(t->optional.begin(), t->optional.end(), value)) {
              return yaml::Error(source_, v,
                                 what +
                                     ": unless needs an optional text field of the "
                                     "transition, not '" +
                                     value + "'");
            }
            t->guard.unless = value;
            unless_at = &v;
          }
          return Status();
        }));
    if (!actions_given && !t->guard.not_before_judgement) {
      return yaml::Error(source_, node,
                         what + " needs `actions: closed` or `not_before: judgement`");
    }
    if (unless_at && !actions_given) {
      return yaml::Error(source_, node, what + ": unless goes with `actions: closed`");
    }
    return Status();
  }

  Status LoadCase(Transition& t, const YAML::Node& at, Parts& parts) {
    const std::string what = "transition '" + t.name + "'";
    Case c;
    c.where = yaml::Where(source_, at);
    if (!parts.count("from")) return yaml::Error(source_, at, what + " needs `from` states");
    ASSIGN_OR_RETURN(c.from, yaml::ScalarList(source_, parts["from"], "from", true));
    for (const auto& s : c.from) {
      if (!wf_.FindState(s))
        return yaml::Error(source_, parts["from"], "unknown state '" + s + "'");
    }
    if (parts.count("to")) {
      ASSIGN_OR_RETURN(std::string to, yaml::Scalar(source_, parts["to"], "to"));
      if (!wf_.FindState(to))
        return yaml::Error(source_, parts["to"], "unknown state '" + to + "'");
      c.to = to;
    }
    if (parts.count("when")) {
      RETURN_IF_ERROR(yaml::ForEachEntry(
          source_, parts["when"], "when", {},
          [&](const std::string& field, const YAML::Node& key, const YAML::Node& v) -> Status {
            const FieldSpec* spec = wf_.FindField(field);
            if (!spec || !t.Takes(field)) {
              return yaml::Error(source_, key,
                                 "bad guard: " + what + " takes no field '" + field + "'");
            }
            if (spec->type != FieldType::kEnum || spec->list) {
              return yaml::Error(source_, key,
                                 "bad guard: only single-valued enum fields can be matched by "
                                 "value ('" +
                                     field + "' is " + (spec->list ? "a list" : "not an enum") +
                                     "; use present/absent)");
            }
            ASSIGN_OR_RETURN(auto values, yaml::ScalarList(source_, v, field, true));
            for (const auto& value : values) {
              if (!std::count(spec->values.begin(), spec->values.end(), value)) {
                return yaml::Error(source_, v,
                                   "bad guard: '" + value + "' is not a value of '" + field + "'");
              }
            }
            c.when[field] = values;
            return Status();
          }));
    }
    for (const char* word : {"present", "absent"}) {
      if (!parts.count(word)) continue;
      std::vector<std::string>& list = std::string(word) == "present" ? c.present : c.absent;
      ASSIGN_OR_RETURN(list, yaml::ScalarList(source_, parts[word], word, true));
      for (const auto& field : list) {
        if (!std::count(t.optional.begin(), t.optional.end(), field)) {
          return yaml::Error(source_, parts[word],
                             std::string("bad guard: ") + word + " needs an optional field of " +
                                 what + ", not '" + field + "'");
        }
      }
    }
    for (const auto& field : c.present) {
      if (std::count(c.absent.begin(), c.absent.end(), field)) {
        return yaml::Error(source_, at, "bad guard: '" + field + "' is both present and absent");
      }
    }
    // Guards are sets: sort them so that [x, y] and [y, x] compare equal below.
    for (auto& [field, values] : c.when) std::sort(values.begin(), values.end());
    std::sort(c.present.begin(), c.present.end());
    std::sort(c.absent.begin(), c.absent.end());
    // A case with the same guards as an earlier one over a common state is never reached.
    for (const auto& earlier : t.cases) {
      bool overlap = std::any_of(c.from.begin(), c.from.end(), [&](const std::string& s) {
        return std::count(earlier.from.begin(), earlier.from.end(), s) > 0;
      });
      if (overlap && earlier.when == c.when && earlier.present == c.present &&
          earlier.absent == c.absent) {
        return yaml::Error(source_, at,
                           "duplicate case in " + what + ": the case at " + earlier.where +
                               " already matches the same states and fields");
      }
    }
    t.cases.push_back(std::move(c));
    return Status();
  }

  Status LoadEffects(const YAML::Node& node, Transition* t) {
    auto field_of_type = [&](const YAML::Node& v, FieldType type, bool list,
                             const char* role) -> Result<std::string> {
      ASSIGN_OR_RETURN(std::string f, yaml::Scalar(source_, v, role));
      const FieldSpec* spec = wf_.FindField(f);
      if (!spec || !t->Takes(f) || spec->type != type || spec->list != list) {
        return yaml::Error(source_, v,
                           std::string("effect ") + role +
                               " needs a field of the transition of the "
                               "right type, not '" +
                               f + "'");
      }
      return f;
    };
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, node, "effects", {"mark_met", "set_due", "supersede"},
        [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> Status {
          if (k == "mark_met") {
            ASSIGN_OR_RETURN(t->effects.mark_met,
                             field_of_type(v, FieldType::kMilestone, false, "mark_met"));
          } else if (k == "supersede") {
            ASSIGN_OR_RETURN(t->effects.supersede,
                             field_of_type(v, FieldType::kRecommendation, true, "supersede"));
          } else {
            return yaml::ForEachEntry(
                source_, v, "set_due", {"milestone", "due", "later"},
                [&](const std::string& kk, const YAML::Node&, const YAML::Node& vv) -> Status {
                  if (kk == "later") {
                    ASSIGN_OR_RETURN(const std::string later,
                                     yaml::Scalar(source_, vv, "set_due.later"));
                    if (later != "true" && later != "false") {
                      return yaml::Error(
                          source_, vv, "set_due.later must be true or false, not '" + later + "'");
                    }
                    t->effects.set_due_later = later == "true";
                  } else if (kk == "milestone") {
                    ASSIGN_OR_RETURN(t->effects.set_due_milestone,
                                     field_of_type(vv, FieldType::kMilestone, false, "set_due"));
                  } else {
                    ASSIGN_OR_RETURN(t->effects.set_due_date,
                                     field_of_type(vv, FieldType::kDate, false, "set_due"));
                  }
                  return Status();
                });
          }
          return Status();
        }));
    if (t->effects.set_due_later && t->effects.set_due_date.empty()) {
      return yaml::Error(source_, node, "effect set_due's `later` needs its `due`");
    }
    // An action has one due date of its own, so its set_due needs only the date.
    const bool needs_milestone = wf_.subject_ != "action";
    if (t->effects.set_due_date.empty() ||
        (needs_milestone && t->effects.set_due_milestone.empty())) {
      if (!t->effects.set_due_date.empty() || !t->effects.set_due_milestone.empty()) {
        return yaml::Error(source_, node,
                           needs_milestone ? "effect set_due needs both milestone and due"
                                           : "effect set_due needs due");
      }
    }
    return Status();
  }

  Status CheckReachable() {
    std::set<std::string> reached{*wf_.creating().cases[0].to};
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& t : wf_.transitions_) {
        for (const auto& c : t.cases) {
          if (!c.to || reached.count(*c.to)) continue;
          if (std::any_of(c.from.begin(), c.from.end(),
                          [&](const std::string& s) { return reached.count(s) > 0; })) {
            reached.insert(*c.to);
            grew = true;
          }
        }
      }
    }
    for (const auto& s : wf_.states_) {
      if (!reached.count(s.name)) {
        return yaml::Error(
            source_, state_nodes_[s.name],
            "state '" + s.name + "' is unreachable from '" + *wf_.creating().cases[0].to + "'");
      }
    }
    return Status();
  }

  Status CheckName(const YAML::Node& at, const std::string& name, const char* what) {
    bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
    if (!ok) return yaml::Error(source_, at, std::string("bad ") + what + " name '" + name + "'");
    return Status();
  }

  std::string source_;
  Workflow wf_;
  std::map<std::string, YAML::Node> state_nodes_;
};

Result<Workflow> Workflow::Parse(std::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(YAML::Node root, yaml::ParseDocument(text, source));
  try {
    ASSIGN_OR_RETURN(Workflow workflow, WorkflowLoader(source).Load(root));
    workflow.digest_ = storage::Sha256Hex(text);
    return workflow;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ": malformed workflow: " + e.msg);
  }
}

Result<Workflow> Workflow::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, yaml::ReadFile(path));
  return Parse(text, path);
}

}  // namespace rectrack
