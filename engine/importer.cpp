// Reads an import file into Commands. Only shapes are checked here; the engine checks meaning, so
// an import and an API call that ask for the same wrong thing get the same message.
#include "engine/importer.h"

#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/yaml_util.h"

namespace rectrack {
namespace {

constexpr const char* kRootShape =
    "an import file must be a mapping with bodies, units, inspections, recommendations, actions, "
    "events";
constexpr const char* kIdRule = "1-64 of letters, digits, '.', '_', '-'";

// The keys of one list entry, each with its value node, in a map so required keys can be checked
// after every key has been seen.
using Entry = std::map<std::string, YAML::Node>;

class ImportParser {
 public:
  ImportParser(std::string source, const Workflow& workflow, const Workflow* action_workflow)
      : source_(std::move(source)), workflow_(workflow), action_workflow_(action_workflow) {}

  Result<std::vector<Command>> Parse(const YAML::Node& root) {
    if (!root.IsMap()) {
      // An empty document has no position of its own; the file's start is where it went wrong.
      const std::string where =
          root.Mark().is_null() ? source_ + ":1:1" : yaml::Where(source_, root);
      return Status::InvalidArgument(where + ": " + kRootShape);
    }
    Entry top;
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, root, "import file",
        {"reviewed", "bodies", "units", "inspections", "recommendations", "actions", "events"},
        [&](const std::string& key, const YAML::Node&, const YAML::Node& value) {
          top[key] = value;
          return Status();
        }));
    // A draft read from a report (`rectrack draft`) says `reviewed: false` until a person has
    // checked it against the report: nothing lands unread.
    if (auto reviewed = top.find("reviewed"); reviewed != top.end()) {
      const YAML::Node& flag = reviewed->second;
      bool value = false;
      if (!flag.IsScalar() || !YAML::convert<bool>::decode(flag, value)) {
        return yaml::Error(source_, flag, "'reviewed' must be true or false");
      }
      if (!value) {
        return yaml::Error(source_, flag,
                           "this draft has not been reviewed: check each item against the report "
                           "(the comments say what to check), then set 'reviewed: true'");
      }
    }
    // Definitions go first whatever order the file lists them in: events refer to them.
    RETURN_IF_ERROR(EachItem(top, "bodies", [&](const YAML::Node& n) { return ParseBody(n); }));
    RETURN_IF_ERROR(EachItem(top, "units", [&](const YAML::Node& n) { return ParseUnit(n); }));
    RETURN_IF_ERROR(
        EachItem(top, "inspections", [&](const YAML::Node& n) { return ParseInspection(n); }));
    RETURN_IF_ERROR(EachItem(top, "recommendations",
                             [&](const YAML::Node& n) { return ParseRecommendation(n); }));
    if (top.count("actions") && !top.at("actions").IsNull() && !action_workflow_) {
      return yaml::Error(source_, top.at("actions"),
                         "'actions' needs the action workflow, and none is loaded");
    }
    RETURN_IF_ERROR(EachItem(top, "actions", [&](const YAML::Node& n) { return ParseAction(n); }));
    RETURN_IF_ERROR(EachItem(top, "events", [&](const YAML::Node& n) { return ParseEvent(n); }));
    return std::move(commands_);
  }

 private:
  template <typename Fn>
  Status EachItem(const Entry& top, const std::string& key, Fn parse) {
    auto it = top.find(key);
    if (it == top.end() || it->second.IsNull()) return Status();
    if (!it->second.IsSequence()) {
      return yaml::Error(source_, it->second, "'" + key + "' must be a list");
    }
    for (const YAML::Node& item : it->second) {
      if (!item.IsMap()) {
        return yaml::Error(source_, item, "each entry of '" + key + "' must be a mapping");
      }
      RETURN_IF_ERROR(parse(item));
    }
    return Status();
  }

  Result<Entry> Collect(const YAML::Node& item, const std::string& what,
                        const std::set<std::string>& allowed) {
    Entry entry;
    RETURN_IF_ERROR(
        yaml::ForEachEntry(source_, item, what, allowed,
                           [&](const std::string& key, const YAML::Node&, const YAML::Node& value) {
                             entry[key] = value;
                             return Status();
                           }));
    return entry;
  }

  Status Require(const Entry& entry, const YAML::Node& item, const std::string& what,
                 std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
      if (!entry.count(key)) {
        return yaml::Error(source_, item, "missing '" + std::string(key) + "' in " + what);
      }
    }
    return Status();
  }

  Result<std::string> Text(const Entry& entry, const std::string& key, bool required = false) {
    auto it = entry.find(key);
    if (it == entry.end()) return std::string();
    if (it->second.IsNull()) return yaml::Error(source_, it->second, "'" + key + "' needs a value");
    ASSIGN_OR_RETURN(std::string value, yaml::Scalar(source_, it->second, "'" + key + "'"));
    if (required && value.empty()) {
      return yaml::Error(source_, it->second, "'" + key + "' must not be empty");
    }
    return value;
  }

  Status CheckId(const YAML::Node& node, const std::string& key, const std::string& value) {
    if (IsValidId(value)) return Status();
    return yaml::Error(source_, node,
                       "'" + key + "' must be an id (" + kIdRule + "), not '" + value + "'");
  }

  Result<std::string> Id(const Entry& entry, const std::string& key) {
    ASSIGN_OR_RETURN(std::string value, Text(entry, key));
    if (!entry.count(key)) return value;
    RETURN_IF_ERROR(CheckId(entry.at(key), key, value));
    return value;
  }

  Result<Date> DateOf(const YAML::Node& node, const std::string& key) {
    if (node.IsNull()) return yaml::Error(source_, node, "'" + key + "' needs a value");
    ASSIGN_OR_RETURN(std::string text, yaml::Scalar(source_, node, "'" + key + "'"));
    std::optional<Date> date = Date::Parse(text);
    if (!date) {
      return yaml::Error(source_, node,
                         "'" + key + "' must be a date YYYY-MM-DD, not '" + text + "'");
    }
    return *date;
  }

  Result<std::optional<Date>> OptionalDate(const Entry& entry, const std::string& key) {
    auto it = entry.find(key);
    if (it == entry.end()) return std::optional<Date>();
    ASSIGN_OR_RETURN(Date date, DateOf(it->second, key));
    return std::optional<Date>(date);
  }

  Status ParseBody(const YAML::Node& item) {
    ASSIGN_OR_RETURN(Entry e, Collect(item, "body", {"id", "name", "short_name"}));
    RETURN_IF_ERROR(Require(e, item, "body", {"id", "name"}));
    DefineBody cmd;
    cmd.where = yaml::Where(source_, item);
    ASSIGN_OR_RETURN(cmd.body.id, Id(e, "id"));
    ASSIGN_OR_RETURN(cmd.body.name, Text(e, "name", true));
    ASSIGN_OR_RETURN(cmd.body.short_name, Text(e, "short_name"));
    if (!e.count("short_name")) cmd.body.short_name = cmd.body.id;
    commands_.push_back(std::move(cmd));
    return Status();
  }

  Status ParseUnit(const YAML::Node& item) {
    ASSIGN_OR_RETURN(Entry e, Collect(item, "unit", {"id", "body", "name", "kind"}));
    RETURN_IF_ERROR(Require(e, item, "unit", {"id", "body", "name"}));
    DefineUnit cmd;
    cmd.where = yaml::Where(source_, item);
    ASSIGN_OR_RETURN(cmd.unit.id, Id(e, "id"));
    ASSIGN_OR_RETURN(cmd.unit.body, Id(e, "body"));
    ASSIGN_OR_RETURN(cmd.unit.name, Text(e, "name", true));
    ASSIGN_OR_RETURN(cmd.unit.kind, Text(e, "kind"));
    commands_.push_back(std::move(cmd));
    return Status();
  }

  Status ParseAction(const YAML::Node& item) {
    ASSIGN_OR_RETURN(Entry e, Collect(item, "action",
                                      {"id", "rec", "title", "body", "unit", "due", "milestone",
                                       "planned", "by", "by_unit", "role", "note"}));
    RETURN_IF_ERROR(Require(e, item, "action", {"id", "rec", "title", "planned"}));
    DefineAction cmd;
    cmd.where = yaml::Where(source_, item);
    ASSIGN_OR_RETURN(cmd.id, Id(e, "id"));
    ASSIGN_OR_RETURN(cmd.def.recommendation, Id(e, "rec"));
    ASSIGN_OR_RETURN(cmd.def.title, Text(e, "title", true));
    ASSIGN_OR_RETURN(cmd.def.body, Id(e, "body"));
    ASSIGN_OR_RETURN(cmd.def.unit, Id(e, "unit"));
    ASSIGN_OR_RETURN(cmd.def.due, OptionalDate(e, "due"));
    ASSIGN_OR_RETURN(cmd.def.milestone, Id(e, "milestone"));
    ASSIGN_OR_RETURN(cmd.planned, OptionalDate(e, "planned"));
    ASSIGN_OR_RETURN(cmd.body, Id(e, "by"));
    ASSIGN_OR_RETURN(cmd.unit, Id(e, "by_unit"));
    ASSIGN_OR_RETURN(cmd.note, Text(e, "note"));
    if (!cmd.body.empty()) cmd.role = "body_lead";
    if (e.count("role")) {
      ASSIGN_OR_RETURN(cmd.role, Text(e, "role", true));
    }
    commands_.push_back(std::move(cmd));
    return Status();
  }

  Status ParseInspection(const YAML::Node& item) {
    static const std::set<std::string> kKinds = {"thematic", "area", "invitation", "follow_up"};
    ASSIGN_OR_RETURN(Entry e,
                     Collect(item, "inspection",
                             {"id", "title", "short_title", "published", "kind", "follow_up_of"}));
    RETURN_IF_ERROR(Require(e, item, "inspection", {"id", "title", "published"}));
    DefineInspection cmd;
    cmd.where = yaml::Where(source_, item);
    Inspection& in = cmd.inspection;
    ASSIGN_OR_RETURN(in.id, Id(e, "id"));
    ASSIGN_OR_RETURN(in.title, Text(e, "title", true));
    ASSIGN_OR_RETURN(in.short_title, Text(e, "short_title"));
    ASSIGN_OR_RETURN(in.published, DateOf(e.at("published"), "published"));
    ASSIGN_OR_RETURN(in.follow_up_of, Id(e, "follow_up_of"));
    ASSIGN_OR_RETURN(in.kind, Text(e, "kind"));
    if (!e.count("kind")) {
      in.kind = in.follow_up_of.empty() ? "thematic" : "follow_up";
    } else if (!kKinds.count(in.kind)) {
      return yaml::Error(
          source_, e.at("kind"),
          "'kind' must be thematic, area, invitation or follow_up, not '" + in.kind + "'");
    }
    commands_.push_back(std::move(cmd));
    return Status();
  }

  Status ParseMilestones(const YAML::Node& node, std::vector<MilestoneDef>& out) {
    if (!node.IsSequence()) return yaml::Error(source_, node, "'milestones' must be a list");
    std::set<std::string> labels;
    for (const YAML::Node& item : node) {
      if (!item.IsMap()) return yaml::Error(source_, item, "each milestone must be a mapping");
      ASSIGN_OR_RETURN(Entry e, Collect(item, "milestone", {"label", "due"}));
      RETURN_IF_ERROR(Require(e, item, "milestone", {"label", "due"}));
      MilestoneDef m;
      ASSIGN_OR_RETURN(m.label, Id(e, "label"));
      ASSIGN_OR_RETURN(m.due, DateOf(e.at("due"), "due"));
      if (!labels.insert(m.label).second) {
        return yaml::Error(source_, e.at("label"), "milestone '" + m.label + "' given twice");
      }
      out.push_back(std::move(m));
    }
    return Status();
  }

  Status ParseRecommendation(const YAML::Node& item) {
    ASSIGN_OR_RETURN(
        Entry e, Collect(item, "recommendation",
                         {"id", "inspection", "owners", "text", "milestones", "issued", "note"}));
    RETURN_IF_ERROR(Require(e, item, "recommendation", {"id", "inspection", "owners", "text"}));
    DefineRecommendation cmd;
    cmd.where = yaml::Where(source_, item);
    ASSIGN_OR_RETURN(cmd.id, Id(e, "id"));
    ASSIGN_OR_RETURN(cmd.def.inspection, Id(e, "inspection"));
    const YAML::Node& owners = e.at("owners");
    ASSIGN_OR_RETURN(cmd.def.owners, yaml::ScalarList(source_, owners, "'owners'", true));
    if (cmd.def.owners.empty()) return yaml::Error(source_, owners, "'owners' must name a body");
    std::set<std::string> seen;
    for (size_t i = 0; i < cmd.def.owners.size(); ++i) {
      const std::string& owner = cmd.def.owners[i];
      const YAML::Node node = owners.IsSequence() ? owners[i] : owners;
      RETURN_IF_ERROR(CheckId(node, "owners", owner));
      if (!seen.insert(owner).second) {
        return yaml::Error(source_, node, "owner '" + owner + "' listed twice");
      }
    }
    ASSIGN_OR_RETURN(cmd.def.text, Text(e, "text", true));
    if (e.count("milestones")) {
      cmd.milestones_given = true;  // `milestones: []` says "none": the text is not read
      RETURN_IF_ERROR(ParseMilestones(e.at("milestones"), cmd.def.milestones));
    }
    ASSIGN_OR_RETURN(cmd.issued, OptionalDate(e, "issued"));
    ASSIGN_OR_RETURN(cmd.note, Text(e, "note"));
    commands_.push_back(std::move(cmd));
    return Status();
  }

  Result<std::vector<std::string>> FieldValue(const std::string& key, const YAML::Node& value) {
    if (value.IsNull()) return yaml::Error(source_, value, "'" + key + "' needs a value");
    if (value.IsMap()) {
      return yaml::Error(source_, value,
                         "'" + key + "' must be a value or a list of values, not a mapping");
    }
    // A lone scalar is a one-value list for every field; whether a list may have several values
    // is the workflow's check, made by the engine like any API call's.
    return yaml::ScalarList(source_, value, "'" + key + "'", true);
  }

  Status ParseEvent(const YAML::Node& item) {
    static const std::set<std::string> kFixed = {"rec", "action", "do",   "effective",
                                                 "by",  "unit",   "role", "note"};
    RecordEvent cmd;
    cmd.skip_if_recorded = true;
    cmd.where = yaml::Where(source_, item);
    // An event is about a recommendation (`rec`) or an action (`action`); its other keys are
    // fields of that one's workflow.
    const bool is_action = item.IsMap() && item["action"].IsDefined();
    if (is_action && !action_workflow_) {
      return yaml::Error(source_, item, "an action's event needs the action workflow");
    }
    const Workflow& wf = is_action ? *action_workflow_ : workflow_;
    Entry e;
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, item, "event", {},
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
          if (kFixed.count(key)) {
            e[key] = value;
            return Status();
          }
          if (!wf.FindField(key)) {
            return yaml::Error(
                source_, key_node,
                "unknown key '" + key + "' in event (not a field of workflow '" + wf.name() + "')");
          }
          ASSIGN_OR_RETURN(cmd.fields[key], FieldValue(key, value));
          return Status();
        }));
    if (e.count("rec") && e.count("action")) {
      return yaml::Error(source_, item, "an event names either 'rec' or 'action', not both");
    }
    if (!is_action && e.count("unit")) {
      return yaml::Error(source_, e.at("unit"), "'unit' is for an action's events");
    }
    // History must say when: an import without dates would stamp every event with today.
    RETURN_IF_ERROR(Require(e, item, "event", {is_action ? "action" : "rec", "do", "effective"}));
    cmd.kind = is_action ? SubjectKind::kAction : SubjectKind::kRecommendation;
    ASSIGN_OR_RETURN(cmd.subject_id, Id(e, is_action ? "action" : "rec"));
    ASSIGN_OR_RETURN(cmd.unit, Id(e, "unit"));
    ASSIGN_OR_RETURN(cmd.transition, Text(e, "do", true));
    ASSIGN_OR_RETURN(cmd.effective, OptionalDate(e, "effective"));
    ASSIGN_OR_RETURN(cmd.body, Id(e, "by"));
    ASSIGN_OR_RETURN(cmd.note, Text(e, "note"));
    cmd.role = cmd.body.empty() ? "inspectorate" : "body_lead";
    if (e.count("role")) {
      ASSIGN_OR_RETURN(cmd.role, Text(e, "role", true));
    }
    commands_.push_back(std::move(cmd));
    return Status();
  }

  std::string source_;
  const Workflow& workflow_;
  const Workflow* action_workflow_;
  std::vector<Command> commands_;
};

}  // namespace

Result<std::vector<Command>> ParseImport(std::string_view yaml, const std::string& source,
                                         const Workflow& workflow,
                                         const Workflow* action_workflow) {
  ASSIGN_OR_RETURN(YAML::Node root, yaml::ParseDocument(yaml, source));
  try {
    return ImportParser(source, workflow, action_workflow).Parse(root);
  } catch (const YAML::Exception& e) {
    std::string where = source;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return Status::InvalidArgument(where + ": " + e.msg);
  }
}

Result<std::vector<Command>> ParseImportFile(const std::string& path, const Workflow& workflow,
                                             const Workflow* action_workflow) {
  ASSIGN_OR_RETURN(std::string text, yaml::ReadFile(path));
  return ParseImport(text, path, workflow, action_workflow);
}

}  // namespace rectrack
