// The workflow interpreter: finds things by name and decides transitions. Loading lives in
// workflow_loader.cpp.
#include "engine/workflow.h"

#include <algorithm>

#include "common/date.h"
#include "common/strings.h"

namespace rectrack {
namespace {

template <typename T>
const T* FindByName(const std::vector<T>& items, std::string_view name) {
  for (const auto& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool Matches(const Case& c, const Fields& fields) {
  for (const auto& [field, values] : c.when) {
    auto it = fields.find(field);
    if (it == fields.end() || it->second.size() != 1 || !Contains(values, it->second[0])) {
      return false;
    }
  }
  for (const auto& field : c.present) {
    if (!fields.count(field)) return false;
  }
  for (const auto& field : c.absent) {
    if (fields.count(field)) return false;
  }
  return true;
}

std::string DescribeFields(const Fields& fields) {
  std::string out;
  for (const auto& [name, values] : fields) {
    out += (out.empty() ? "" : ", ") + name + "=" + Join(values, ", ", "nothing");
  }
  return out.empty() ? "no fields" : out;
}

}  // namespace

bool Transition::Takes(std::string_view field) const {
  return Contains(required, field) || Contains(optional, field);
}

bool Transition::AllowsRole(std::string_view role) const { return Contains(roles, role); }

bool Transition::KeepsState() const {
  return std::none_of(cases.begin(), cases.end(), [](const Case& c) { return c.to.has_value(); });
}

const StateSpec* Workflow::FindState(std::string_view name) const {
  return FindByName(states_, name);
}
const RoleSpec* Workflow::FindRole(std::string_view name) const { return FindByName(roles_, name); }
const FieldSpec* Workflow::FindField(std::string_view name) const {
  return FindByName(fields_, name);
}
const Transition* Workflow::FindTransition(std::string_view name) const {
  return FindByName(transitions_, name);
}

bool Workflow::IsOpen(std::string_view state) const {
  const StateSpec* spec = FindState(state);
  return spec && spec->open;
}

Status Workflow::CheckFields(const Transition& t, const Fields& fields) const {
  for (const auto& [name, values] : fields) {
    if (!t.Takes(name)) {
      std::vector<std::string> takes = t.required;
      takes.insert(takes.end(), t.optional.begin(), t.optional.end());
      return Status::InvalidArgument("'" + t.name + "' takes no field '" + name +
                                     "' (it takes: " + Join(takes, ", ", "nothing") + ")")
          .AtField(name);
    }
    const FieldSpec& spec = *FindField(name);
    if (!spec.list && values.size() != 1) {
      return Status::InvalidArgument("field '" + name + "' of '" + t.name +
                                     "' takes exactly one value")
          .AtField(name);
    }
    if (spec.list && values.empty()) {
      return Status::InvalidArgument("field '" + name + "' of '" + t.name +
                                     "' is an empty list; leave it out instead")
          .AtField(name);
    }
    for (const auto& value : values) {
      if (spec.type == FieldType::kDate && !Date::Parse(value)) {
        return Status::InvalidArgument("field '" + name + "': '" + value +
                                       "' is not a real date (YYYY-MM-DD)")
            .AtField(name);
      }
      if (spec.type == FieldType::kEnum && !Contains(spec.values, value)) {
        return Status::InvalidArgument("field '" + name + "': '" + value +
                                       "' is not one of: " + Join(spec.values, ", ", "nothing"))
            .AtField(name);
      }
      if (value.empty()) {
        return Status::InvalidArgument("field '" + name + "' is empty").AtField(name);
      }
    }
  }
  for (const auto& name : t.required) {
    if (!fields.count(name)) {
      return Status::InvalidArgument("'" + t.name + "' needs field '" + name + "'").AtField(name);
    }
  }
  return Status();
}

std::vector<std::string> Workflow::Allowed(std::string_view state, std::string_view role) const {
  std::vector<std::string> out;
  for (const auto& t : transitions_) {
    if (t.creates || !t.AllowsRole(role)) continue;
    if (std::any_of(t.cases.begin(), t.cases.end(),
                    [&](const Case& c) { return Contains(c.from, state); })) {
      out.push_back(t.name);
    }
  }
  return out;
}

bool Workflow::IsFinal(std::string_view state) const {
  return std::none_of(transitions_.begin(), transitions_.end(), [&](const Transition& t) {
    return !t.creates && std::any_of(t.cases.begin(), t.cases.end(),
                                     [&](const Case& c) { return Contains(c.from, state); });
  });
}

bool Workflow::EndsLife(const Transition& t) const {
  return !t.creates && !t.cases.empty() &&
         std::all_of(t.cases.begin(), t.cases.end(),
                     [&](const Case& c) { return c.to.has_value() && IsFinal(*c.to); });
}

Result<std::string> Workflow::Decide(std::string_view state, const Transition& t,
                                     std::string_view role, const Fields& fields, Tense tense,
                                     std::string_view date) const {
  // What the role may do instead: said only in an error (a replay decides every event).
  auto allowed = [&] { return Join(Allowed(state, role), ", ", "nothing"); };
  const std::string quoted = "'" + std::string(state) + "'";
  std::string in_state = "it is " + quoted, may = " you may: ", not_allowed = " is not allowed";
  if (tense == Tense::kOnItsDate) {
    in_state = "on " + std::string(date) + " it was " + quoted;
    may = " you could then: ";
  } else if (tense == Tense::kLater) {
    in_state = "by then it would be " + quoted;
    may = " one could then: ";
    not_allowed = " would no longer be allowed";
  }
  auto context = [&] { return in_state + "; as " + std::string(role) + may + allowed(); };
  if (!t.AllowsRole(role)) {
    return Status::PermissionDenied("role '" + std::string(role) + "' may not '" + t.name + "' (" +
                                    Join(t.roles, ", ", "nothing") + " may); " + context());
  }
  bool from_matched = false;
  for (const auto& c : t.cases) {
    if (!Contains(c.from, state)) continue;
    from_matched = true;
    if (Matches(c, fields)) return c.to ? *c.to : std::string(state);
  }
  if (!from_matched) return Status::Conflict("'" + t.name + "'" + not_allowed + ": " + context());
  return Status::Conflict("'" + t.name + "' with " + DescribeFields(fields) + not_allowed +
                          " from " + quoted +
                          (tense == Tense::kNow ? std::string() : " (" + in_state + ")") + "; as " +
                          std::string(role) + may + allowed());
}

}  // namespace rectrack
