// Reads an import file into Commands. Only shapes are checked here; the engine checks meaning, so
// an import and an API call that ask for the same wrong thing get the same message.
#include "engine/importer.h"

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/yaml_stream.h"
#include "engine/yaml_util.h"

namespace rectrack {
namespace {

constexpr const char* kRootShape =
    "an import file must be a mapping with bodies, units, inspections, recommendations, actions, "
    "events";
constexpr const char* kIdRule = "1-64 of letters, digits, '.', '_', '-'";

// The keys of one list entry, each with its value node, so that required keys can be checked
// after every key has been seen. An entry has a handful of keys: a scan beats a map's
// allocations, 300,000 entries at a time.
class Entry {
 public:
  void Set(std::string_view key, const yaml::Value* value) { keys_.emplace_back(key, value); }
  const yaml::Value* Find(std::string_view key) const {
    for (const auto& [k, v] : keys_) {
      if (k == key) return v;
    }
    return nullptr;
  }
  bool count(std::string_view key) const { return Find(key) != nullptr; }
  const yaml::Value& at(std::string_view key) const { return *Find(key); }

 private:
  std::vector<std::pair<std::string_view, const yaml::Value*>> keys_;  // views of the entry's keys
};

// The top-level lists, in the order they are applied whatever order the file lists them in:
// events refer to definitions.
constexpr const char* kSections[] = {"bodies",          "units",   "inspections",
                                     "recommendations", "actions", "events"};

// Reads the file's top level as it streams by (yaml_stream.h): each list entry becomes a command
// and its YAML is dropped, so a large file is never held as a tree.
class ImportParser : public yaml::MappingReader {
 public:
  ImportParser(std::string source, const Workflow& workflow, const Workflow* action_workflow)
      : source_(std::move(source)), workflow_(workflow), action_workflow_(action_workflow) {}

  Result<std::vector<Command>> Parse(std::string_view text) {
    RETURN_IF_ERROR(yaml::ReadMapping(text, source_, *this));
    std::vector<Command> commands;
    size_t total = 0;
    for (const auto& section : sections_) total += section.size();
    commands.reserve(total);
    for (auto& section : sections_) {
      for (Command& command : section) commands.push_back(std::move(command));
      section = {};
    }
    return commands;
  }

  Status OnNotAMapping(const yaml::Value& root) override {
    return yaml::Error(source_, root, kRootShape);
  }

  Status OnKey(const yaml::Value& key) override {
    static const std::set<std::string> kKeys = {
        "reviewed", "bodies", "units", "inspections", "recommendations", "actions", "events"};
    if (!key.IsScalar()) return yaml::Error(source_, key, "import file: keys must be names");
    if (!kKeys.count(key.text)) {
      std::string known;
      for (const auto& k : kKeys) known += (known.empty() ? "" : ", ") + k;
      return yaml::Error(source_, key,
                         "unknown key '" + key.text + "' in import file (known: " + known + ")");
    }
    if (!seen_.insert(key.text).second) {
      return yaml::Error(source_, key, "duplicate key '" + key.text + "' in import file");
    }
    return Status();
  }

  Status OnValue(const yaml::Value& key, const yaml::Value& value) override {
    if (key.text == "reviewed") return CheckReviewed(value);
    if (value.IsNull()) return Status();
    if (!value.IsSequence()) {
      return yaml::Error(source_, value, "'" + key.text + "' must be a list");
    }
    RETURN_IF_ERROR(OnList(key, value));
    for (const yaml::Value& entry : value.items) RETURN_IF_ERROR(OnEntry(key, entry));
    return Status();
  }

  Status OnList(const yaml::Value& key, const yaml::Value& list) override {
    if (key.text == "reviewed") return CheckReviewed(list);
    if (key.text == "actions" && !action_workflow_) {
      return yaml::Error(source_, list, "'actions' needs the action workflow, and none is loaded");
    }
    return Status();
  }

  Status OnEntry(const yaml::Value& key, const yaml::Value& item) override {
    if (!item.IsMap()) {
      return yaml::Error(source_, item, "each entry of '" + key.text + "' must be a mapping");
    }
    const std::string& k = key.text;
    if (k == "bodies") return ParseBody(item);
    if (k == "units") return ParseUnit(item);
    if (k == "inspections") return ParseInspection(item);
    if (k == "recommendations") return ParseRecommendation(item);
    if (k == "actions") return ParseAction(item);
    return ParseEvent(item);
  }

 private:
  // A draft read from a report (`rectrack draft`) says `reviewed: false` until a person has
  // checked it against the report: nothing lands unread.
  Status CheckReviewed(const yaml::Value& flag) {
    bool value = false;
    if (!yaml::DecodeBool(flag, value)) {
      return yaml::Error(source_, flag, "'reviewed' must be true or false");
    }
    if (!value) {
      return yaml::Error(source_, flag,
                         "this draft has not been reviewed: check each item against the report "
                         "(the comments say what to check), then set 'reviewed: true'");
    }
    return Status();
  }

  void Add(const char* section, Command command) {
    for (size_t i = 0; i < std::size(kSections); ++i) {
      if (std::string_view(kSections[i]) == section) {
        sections_[i].push_back(std::move(command));
        return;
      }
    }
  }

  Result<Entry> Collect(const yaml::Value& item, const std::string& what,
                        const std::set<std::string>& allowed) {
    Entry entry;
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, item, what, allowed,
        [&](const std::string&, const yaml::Value& key_node, const yaml::Value& value) {
          entry.Set(key_node.text, &value);
          return Status();
        }));
    return entry;
  }

  Status Require(const Entry& entry, const yaml::Value& item, const std::string& what,
                 std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
      if (!entry.count(key)) {
        return yaml::Error(source_, item, "missing '" + std::string(key) + "' in " + what);
      }
    }
    return Status();
  }

  Result<std::string> Text(const Entry& entry, const std::string& key, bool required = false) {
    const yaml::Value* found = entry.Find(key);
    if (!found) return std::string();
    if (found->IsNull()) return yaml::Error(source_, *found, "'" + key + "' needs a value");
    ASSIGN_OR_RETURN(std::string value, yaml::Scalar(source_, *found, "'" + key + "'"));
    if (required && value.empty()) {
      return yaml::Error(source_, *found, "'" + key + "' must not be empty");
    }
    return value;
  }

  Status CheckId(const yaml::Value& node, const std::string& key, const std::string& value) {
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

  Result<Date> DateOf(const yaml::Value& node, const std::string& key) {
    if (node.IsNull()) return yaml::Error(source_, node, "'" + key + "' needs a value");
    ASSIGN_OR_RETURN(std::string text, yaml::Scalar(source_, node, "'" + key + "'"));
    std::optional<Date> date = Date::Parse(text);
    if (!date) {
      return yaml::Error(
          source_, node,
          "'" + key + "' must be a real date written YYYY-MM-DD, not '" + text + "'");
    }
    return *date;
  }

  Result<std::optional<Date>> OptionalDate(const Entry& entry, const std::string& key) {
    const yaml::Value* found = entry.Find(key);
    if (!found) return std::optional<Date>();
    ASSIGN_OR_RETURN(Date date, DateOf(*found, key));
    return std::optional<Date>(date);
  }

  Status ParseBody(const yaml::Value& item) {
    static const std::set<std::string> kKeys = {"id", "name", "short_name"};
    ASSIGN_OR_RETURN(Entry e, Collect(item, "body", kKeys));
    RETURN_IF_ERROR(Require(e, item, "body", {"id", "name"}));
    DefineBody cmd;
    cmd.where = yaml::Where(source_, item);
    ASSIGN_OR_RETURN(cmd.body.id, Id(e, "id"));
    ASSIGN_OR_RETURN(cmd.body.name, Text(e, "name", true));
    ASSIGN_OR_RETURN(cmd.body.short_name, Text(e, "short_name"));
    if (!e.count("short_name")) cmd.body.short_name = cmd.body.id;
    Add("bodies", std::move(cmd));
    return Status();
  }

  Status ParseUnit(const yaml::Value& item) {
    static const std::set<std::string> kKeys = {"id", "body", "name", "kind"};
    ASSIGN_OR_RETURN(Entry e, Collect(item, "unit", kKeys));
    RETURN_IF_ERROR(Require(e, item, "unit", {"id", "body", "name"}));
    DefineUnit cmd;
    cmd.where = yaml::Where(source_, item);
    ASSIGN_OR_RETURN(cmd.unit.id, Id(e, "id"));
    ASSIGN_OR_RETURN(cmd.unit.body, Id(e, "body"));
    ASSIGN_OR_RETURN(cmd.unit.name, Text(e, "name", true));
    ASSIGN_OR_RETURN(cmd.unit.kind, Text(e, "kind"));
    Add("units", std::move(cmd));
    return Status();
  }

  Status ParseAction(const yaml::Value& item) {
    static const std::set<std::string> kKeys = {"id",   "rec",     "title",     "body",
                                                "unit", "due",     "milestone", "planned",
                                                "by",   "by_unit", "role",      "note"};
    ASSIGN_OR_RETURN(Entry e, Collect(item, "action", kKeys));
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
    Add("actions", std::move(cmd));
    return Status();
  }

  Status ParseInspection(const yaml::Value& item) {
    static const std::set<std::string> kKinds = {"thematic", "area", "invitation", "follow_up"};
    static const std::set<std::string> kKeys = {"id",        "title", "short_title",
                                                "published", "kind",  "follow_up_of"};
    ASSIGN_OR_RETURN(Entry e, Collect(item, "inspection", kKeys));
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
    Add("inspections", std::move(cmd));
    return Status();
  }

  Status ParseMilestones(const yaml::Value& node, std::vector<MilestoneDef>& out) {
    if (!node.IsSequence()) return yaml::Error(source_, node, "'milestones' must be a list");
    std::set<std::string> labels;
    for (const yaml::Value& item : node.items) {
      if (!item.IsMap()) return yaml::Error(source_, item, "each milestone must be a mapping");
      static const std::set<std::string> kKeys = {"label", "due"};
      ASSIGN_OR_RETURN(Entry e, Collect(item, "milestone", kKeys));
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

  Status ParseRecommendation(const yaml::Value& item) {
    static const std::set<std::string> kKeys = {"id",         "inspection", "owners", "text",
                                                "milestones", "issued",     "note"};
    ASSIGN_OR_RETURN(Entry e, Collect(item, "recommendation", kKeys));
    RETURN_IF_ERROR(Require(e, item, "recommendation", {"id", "inspection", "owners", "text"}));
    DefineRecommendation cmd;
    cmd.where = yaml::Where(source_, item);
    ASSIGN_OR_RETURN(cmd.id, Id(e, "id"));
    ASSIGN_OR_RETURN(cmd.def.inspection, Id(e, "inspection"));
    const yaml::Value& owners = e.at("owners");
    ASSIGN_OR_RETURN(cmd.def.owners, yaml::ScalarList(source_, owners, "'owners'", true));
    if (cmd.def.owners.empty()) return yaml::Error(source_, owners, "'owners' must name a body");
    std::set<std::string> seen;
    for (size_t i = 0; i < cmd.def.owners.size(); ++i) {
      const std::string& owner = cmd.def.owners[i];
      const yaml::Value& node = owners.IsSequence() ? owners.items[i] : owners;
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
    Add("recommendations", std::move(cmd));
    return Status();
  }

  Result<std::vector<std::string>> FieldValue(const std::string& key, const yaml::Value& value) {
    if (value.IsNull()) return yaml::Error(source_, value, "'" + key + "' needs a value");
    if (value.IsMap()) {
      return yaml::Error(source_, value,
                         "'" + key + "' must be a value or a list of values, not a mapping");
    }
    // A lone scalar is a one-value list for every field; whether a list may have several values
    // is the workflow's check, made by the engine like any API call's.
    return yaml::ScalarList(source_, value, "'" + key + "'", true);
  }

  Status ParseEvent(const yaml::Value& item) {
    static const std::set<std::string> kFixed = {"rec", "action", "do",   "effective",
                                                 "by",  "unit",   "role", "note"};
    RecordEvent cmd;
    cmd.skip_if_recorded = true;
    cmd.where = yaml::Where(source_, item);
    // An event is about a recommendation (`rec`) or an action (`action`); its other keys are
    // fields of that one's workflow.
    const bool is_action = item.Find("action") != nullptr;
    if (is_action && !action_workflow_) {
      return yaml::Error(source_, item, "an action's event needs the action workflow");
    }
    const Workflow& wf = is_action ? *action_workflow_ : workflow_;
    Entry e;
    RETURN_IF_ERROR(yaml::ForEachEntry(
        source_, item, "event", {},
        [&](const std::string& key, const yaml::Value& key_node,
            const yaml::Value& value) -> Status {
          if (kFixed.count(key)) {
            e.Set(key_node.text, &value);
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
    Add("events", std::move(cmd));
    return Status();
  }

  std::string source_;
  const Workflow& workflow_;
  const Workflow* action_workflow_;
  std::set<std::string> seen_;                           // top-level keys
  std::vector<Command> sections_[std::size(kSections)];  // commands, by section
};

}  // namespace

Result<std::vector<Command>> ParseImport(std::string_view yaml, const std::string& source,
                                         const Workflow& workflow,
                                         const Workflow* action_workflow) {
  return ImportParser(source, workflow, action_workflow).Parse(yaml);
}

Result<std::vector<Command>> ParseImportFile(const std::string& path, const Workflow& workflow,
                                             const Workflow* action_workflow) {
  ASSIGN_OR_RETURN(std::string text, yaml::ReadFile(path));
  return ParseImport(text, path, workflow, action_workflow);
}

}  // namespace rectrack
