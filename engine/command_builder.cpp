#include "engine/command_builder.h"

#include <algorithm>
#include <initializer_list>
#include <set>

#include "common/strings.h"
#include "common/text.h"
#include "engine/deadline_text.h"
#include "engine/evidence.h"

namespace rectrack {
namespace {

const std::set<std::string> kInspectionKinds = {"thematic", "area", "invitation", "follow_up"};

Status CheckId(const std::string& id, const char* what) {
  if (IsValidId(id)) return Status();
  return Status::InvalidArgument(std::string("bad ") + what + " id '" + id +
                                 "': use 1-64 letters, digits, '.', '_' or '-'");
}

// One operator() per kind of Command.
class CommandBuilder {
 public:
  CommandBuilder(const Workflow& wf, const Ledger& world, Date today, const TextLimits& limits)
      : wf_(wf), world_(world), today_(today), limits_(limits) {}

  using Built = Result<std::optional<Event>>;

  // One text a command carries, the name errors give it, and its limit in bytes.
  struct Text {
    const char* field;
    const std::string& value;
    size_t limit = kMaxNameBytes;
  };

  // Every text a command carries is checked once, here, so no adapter can let a bad one
  // through: valid UTF-8 (the log is JSON), no control character but tab and newline (they
  // would reach terminals and documents), no noncharacter (XML cannot hold U+FFFF), and within
  // its limit (commands.h).
  Status CheckText(std::initializer_list<Text> texts) const {
    for (const Text& t : texts) RETURN_IF_ERROR(CheckStoredText(t.field, t.value, t.limit));
    return Status();
  }

  // The fields of an event: at most kMaxFields, each with at most kMaxFieldValues values.
  Status CheckFields(const Fields& fields) const {
    if (fields.size() > kMaxFields) {
      return Status::InvalidArgument("an event takes at most " + std::to_string(kMaxFields) +
                                     " fields, not " + std::to_string(fields.size()));
    }
    for (const auto& [name, values] : fields) {
      RETURN_IF_ERROR(CheckText({{"a field's name", name}}));
      if (values.size() > kMaxFieldValues) {
        return Status::InvalidArgument("field '" + name + "' takes at most " +
                                       std::to_string(kMaxFieldValues) + " values, not " +
                                       std::to_string(values.size()));
      }
      const std::string what = "field '" + name + "'";
      for (const auto& value : values) {
        RETURN_IF_ERROR(CheckText({{what.c_str(), value, limits_.field_value}}).AtField(name));
      }
    }
    return Status();
  }

  Built operator()(const DefineBody& c) const {
    RETURN_IF_ERROR(CheckText(
        {{"body id", c.body.id}, {"name", c.body.name}, {"short_name", c.body.short_name}}));
    const Body& b = c.body;
    RETURN_IF_ERROR(CheckId(b.id, "body"));
    if (b.name.empty()) return Status::InvalidArgument("body '" + b.id + "' needs a name");
    Body def = b;
    if (def.short_name.empty()) def.short_name = def.id;
    if (const Body* existing = world_.FindBody(b.id)) {
      if (*existing == def) return std::optional<Event>();
      return Status::Conflict("body '" + b.id + "' is already defined as '" + existing->name +
                              "'; a definition cannot be changed");
    }
    Event e = NewEvent(SubjectKind::kBody, b.id, kDefineTransition, today_);
    e.body_def = def;
    return std::optional<Event>(std::move(e));
  }

  Built operator()(const DefineUnit& c) const {
    const Unit& u = c.unit;
    RETURN_IF_ERROR(
        CheckText({{"unit id", u.id}, {"body", u.body}, {"name", u.name}, {"kind", u.kind}}));
    RETURN_IF_ERROR(CheckId(u.id, "unit"));
    if (u.name.empty()) return Status::InvalidArgument("unit '" + u.id + "' needs a name");
    if (!world_.FindBody(u.body)) {
      return Status::Unprocessable("unit '" + u.id + "': no body '" + u.body + "'");
    }
    if (const Unit* existing = world_.FindUnit(u.id)) {
      if (*existing == u) return std::optional<Event>();
      return Status::Conflict("unit '" + u.id + "' is already defined as '" + existing->name +
                              "' of " + existing->body + "; a definition cannot be changed");
    }
    Event e = NewEvent(SubjectKind::kUnit, u.id, kDefineTransition, today_);
    e.unit_def = u;
    return std::optional<Event>(std::move(e));
  }

  Built operator()(const DefineAction& c) const {
    const Workflow* awf = world_.WorkflowOf(SubjectKind::kAction);
    if (!awf) return Status::FailedPrecondition("no action workflow is loaded");
    ActionDef def = c.def;
    RETURN_IF_ERROR(CheckText({{"action id", c.id},
                               {"recommendation", def.recommendation},
                               {"title", def.title, limits_.text},
                               {"body", def.body},
                               {"unit", def.unit},
                               {"milestone", def.milestone},
                               {"role", c.role},
                               {"by", c.body},
                               {"unit of the lead", c.unit},
                               {"note", c.note, limits_.note}}));
    RETURN_IF_ERROR(CheckId(c.id, "action"));
    const std::string what = "action '" + c.id + "'";
    const Item* rec = world_.FindItem(def.recommendation);
    if (!rec || rec->kind != SubjectKind::kRecommendation) {
      return Status::Unprocessable(what + ": no recommendation '" + def.recommendation + "'");
    }
    const auto& owners = rec->def().owners;
    if (def.body.empty()) {
      if (owners.size() != 1) {
        return Status::InvalidArgument(what + " needs a body: '" + rec->id + "' is owned by " +
                                       Join(owners));
      }
      def.body = owners.front();
    }
    if (std::find(owners.begin(), owners.end(), def.body) == owners.end()) {
      return Status::Unprocessable(what + ": body '" + def.body + "' does not own '" + rec->id +
                                   "' (its owners: " + Join(owners) + ")");
    }
    if (!def.unit.empty()) {
      const Unit* unit = world_.FindUnit(def.unit);
      if (!unit) return Status::Unprocessable(what + ": no unit '" + def.unit + "'");
      if (unit->body != def.body) {
        return Status::Unprocessable(what + ": unit '" + def.unit + "' belongs to " + unit->body +
                                     ", not " + def.body);
      }
    }
    if (def.title.empty()) return Status::InvalidArgument(what + " needs a title");
    if (!def.milestone.empty()) {
      const auto& ms = rec->def().milestones;
      if (std::none_of(ms.begin(), ms.end(),
                       [&](const MilestoneDef& m) { return m.label == def.milestone; })) {
        std::vector<std::string> labels;
        for (const auto& m : ms) labels.push_back(m.label);
        return Status::Unprocessable(
            what + ": '" + rec->id + "' has no milestone '" + def.milestone +
            "' (it has: " + (labels.empty() ? "none" : Join(labels)) + ")");
      }
    }
    const Date planned = c.planned.value_or(today_);
    if (planned < rec->issued() || planned > today_) {
      return Status::InvalidArgument(what + ": planned " + planned.ToString() +
                                     " must be between its recommendation's issue (" +
                                     rec->issued().ToString() + ") and today");
    }
    std::string role = c.role;
    if (role.empty()) {
      for (const auto& r : awf->creating().roles) {
        const RoleSpec* spec = awf->FindRole(r);
        if (spec && !spec->acts_for_owner) {
          role = r;
          break;
        }
      }
      if (role.empty()) role = awf->creating().roles.front();
    }
    const RoleSpec* spec = awf->FindRole(role);
    if (!spec) {
      return Status::InvalidArgument(what + ": the action workflow has no role '" + role + "'")
          .AtField("role");
    }
    if (spec->acts_for_owner) {
      if (c.body != def.body) {
        return Status::PermissionDenied(what + ": a " + role + " of " +
                                        (c.body.empty() ? std::string("no body") : c.body) +
                                        " cannot plan an action owned by " + def.body);
      }
      if (!c.unit.empty() && c.unit != def.unit) {
        return Status::PermissionDenied(what + ": a " + role + " of unit '" + c.unit +
                                        "' plans only its unit's actions");
      }
    } else if (!c.body.empty() || !c.unit.empty()) {
      return Status::InvalidArgument(what + ": role '" + role + "' does not act for a body");
    }
    if (const Item* existing = world_.FindItem(c.id)) {
      if (existing->kind == SubjectKind::kAction && existing->action() == def &&
          (!c.planned || existing->issued() == planned)) {
        return std::optional<Event>();
      }
      return Status::Conflict(existing->kind == SubjectKind::kAction
                                  ? "action '" + c.id +
                                        "' already exists with a different definition; a "
                                        "definition cannot be changed"
                                  : "'" + c.id + "' is already the id of a recommendation");
    }
    // Due before it was planned is a slip (a year mistyped); checked for a new action only, as
    // the closed recommendation below: a file imported again changes nothing.
    if (def.due && *def.due < planned) {
      return Status::InvalidArgument(
                 what + ": due " + def.due->ToString() + ", before it is planned (" +
                 planned.ToString() +
                 (c.planned ? ")" : ", today: give the date it was planned, if it was earlier)"))
          .AtField("due");
    }
    // A closed recommendation takes no new actions: reopen it first.
    for (const Date when : {planned, today_}) {
      auto state = world_.Project(*rec, when, Detail::kHead);
      // NotFound: not issued yet at that date; anything else cannot be judged without.
      if (!state.ok() && state.status().code() != Code::kNotFound) return state.status();
      if (state.ok() && !state->open) {
        return Status::Conflict(what + ": '" + rec->id + "' is " + state->state + " as at " +
                                when.ToString() +
                                ", and a closed recommendation takes no new "
                                "actions");
      }
    }
    Event e = NewEvent(SubjectKind::kAction, c.id, awf->creating().name, planned);
    e.role = role;
    e.body = c.body;
    e.unit = c.unit;
    e.note = c.note;
    e.action_def = std::move(def);
    return std::optional<Event>(std::move(e));
  }

  Built operator()(const DefineInspection& c) const {
    Inspection def = c.inspection;
    RETURN_IF_ERROR(CheckText({{"inspection id", def.id},
                               {"title", def.title},
                               {"short_title", def.short_title},
                               {"kind", def.kind},
                               {"follow_up_of", def.follow_up_of}}));
    RETURN_IF_ERROR(CheckId(def.id, "inspection"));
    if (def.title.empty())
      return Status::InvalidArgument("inspection '" + def.id + "' needs a title");
    if (def.kind.empty()) def.kind = def.follow_up_of.empty() ? "thematic" : "follow_up";
    if (!kInspectionKinds.count(def.kind)) {
      return Status::InvalidArgument("inspection '" + def.id + "': kind '" + def.kind +
                                     "' is not one of thematic, area, invitation, follow_up");
    }
    if (def.published > today_) {
      return Status::InvalidArgument("inspection '" + def.id + "' is published " +
                                     def.published.ToString() + ", after today (" +
                                     today_.ToString() + ")");
    }
    if (!def.follow_up_of.empty()) {
      const Inspection* parent = world_.FindInspection(def.follow_up_of);
      if (!parent || def.follow_up_of == def.id) {
        return Status::Unprocessable("inspection '" + def.id + "' follows up '" + def.follow_up_of +
                                     "', which is not a known inspection");
      }
      if (parent->published > def.published) {
        return Status::Unprocessable("inspection '" + def.id + "' is published before '" +
                                     parent->id + "', which it follows up");
      }
    }
    if (const Inspection* existing = world_.FindInspection(def.id)) {
      if (*existing == def) return std::optional<Event>();
      return Status::Conflict("inspection '" + def.id +
                              "' is already defined differently; a definition cannot be changed");
    }
    Event e = NewEvent(SubjectKind::kInspection, def.id, kDefineTransition, def.published);
    e.inspection_def = def;
    return std::optional<Event>(std::move(e));
  }

  Built operator()(const DefineRecommendation& c) const {
    RETURN_IF_ERROR(CheckText({{"recommendation id", c.id},
                               {"inspection", c.def.inspection},
                               {"text", c.def.text, limits_.text},
                               {"note", c.note, limits_.note}}));
    for (const auto& owner : c.def.owners) RETURN_IF_ERROR(CheckText({{"owner", owner}}));
    for (const auto& m : c.def.milestones) RETURN_IF_ERROR(CheckText({{"milestone", m.label}}));
    RETURN_IF_ERROR(CheckId(c.id, "recommendation"));
    RecommendationDef def = c.def;
    const Inspection* inspection = world_.FindInspection(def.inspection);
    if (!inspection) {
      return Status::Unprocessable("recommendation '" + c.id + "': no inspection '" +
                                   def.inspection + "'");
    }
    if (def.owners.empty()) {
      return Status::InvalidArgument("recommendation '" + c.id + "' needs at least one owner")
          .AtField("owners");
    }
    std::set<std::string> seen;
    for (const auto& owner : def.owners) {
      if (!world_.FindBody(owner)) {
        return Status::Unprocessable("recommendation '" + c.id + "': no body '" + owner + "'")
            .AtField("owners");
      }
      if (!seen.insert(owner).second) {
        return Status::InvalidArgument("recommendation '" + c.id + "' names owner '" + owner +
                                       "' twice")
            .AtField("owners");
      }
    }
    if (def.text.empty())
      return Status::InvalidArgument("recommendation '" + c.id + "' needs text");
    if (!c.milestones_given) {
      auto read = MilestonesFromText(def.text);
      if (!read.ok()) return read.status().WithContext("recommendation '" + c.id + "'");
      for (const auto& m : *read) def.milestones.push_back({m.label, m.due});
    }
    // A recommendation has a few (Annex A shows each); far more is a mistake or an attack on
    // every page and calendar that lists them.
    constexpr size_t kMaxMilestones = 50;
    if (def.milestones.size() > kMaxMilestones) {
      return Status::InvalidArgument("recommendation '" + c.id + "' has " +
                                     std::to_string(def.milestones.size()) +
                                     " milestones: at most " + std::to_string(kMaxMilestones))
          .AtField("milestones");
    }
    std::set<std::string> labels;
    for (const auto& m : def.milestones) {
      if (!IsValidId(m.label) || !labels.insert(m.label).second) {
        return Status::InvalidArgument("recommendation '" + c.id + "': milestone label '" +
                                       m.label + "' is not a unique id");
      }
    }
    const Date issued = c.issued.value_or(inspection->published);
    if (issued < inspection->published || issued > today_) {
      return Status::InvalidArgument("recommendation '" + c.id + "': issued " + issued.ToString() +
                                     " must be between its inspection's publication (" +
                                     inspection->published.ToString() + ") and today");
    }
    if (const Item* existing = world_.FindItem(c.id)) {
      if (existing->kind != SubjectKind::kRecommendation) {
        return Status::Conflict("'" + c.id + "' is already the id of an action");
      }
      if (existing->def() == def && (!c.issued || existing->issued() == issued)) {
        return std::optional<Event>();
      }
      return Status::Conflict("recommendation '" + c.id +
                              "' already exists with a different definition; a definition "
                              "cannot be changed");
    }
    // A deadline before the recommendation exists is a slip (a year mistyped), never a plan.
    // Checked for a new one only: a file imported again changes nothing, whatever it holds.
    for (const auto& m : def.milestones) {
      if (m.due < issued) {
        return Status::InvalidArgument("recommendation '" + c.id + "': milestone '" + m.label +
                                       "' is due " + m.due.ToString() + ", before it is issued (" +
                                       issued.ToString() + ")")
            .AtField(c.milestones_given ? "milestones" : "text");
      }
    }
    Event e = NewEvent(SubjectKind::kRecommendation, c.id, wf_.creating().name, issued);
    e.note = c.note;
    e.recommendation_def = std::move(def);
    return std::optional<Event>(std::move(e));
  }

  Built operator()(const RecordEvent& c) const {
    RETURN_IF_ERROR(CheckText({{"id", c.subject_id},
                               {"transition", c.transition},
                               {"role", c.role},
                               {"by", c.body},
                               {"unit", c.unit}}));
    RETURN_IF_ERROR(CheckText({{"note", c.note, limits_.note}}).AtField("note"));
    RETURN_IF_ERROR(CheckFields(c.fields));
    const Item* item = world_.FindItem(c.subject_id);
    if (!item || (c.kind && item->kind != *c.kind)) {
      return Status::NotFound(std::string("no ") +
                              (c.kind ? SubjectKindName(*c.kind) : "recommendation or action") +
                              " '" + c.subject_id + "'");
    }
    const Workflow& wf = *world_.WorkflowOf(item->kind);  // the item replayed, so it has one
    const Transition* t = wf.FindTransition(c.transition);
    if (!t || t->creates) {
      std::vector<std::string> names;
      for (const auto& tr : wf.transitions()) {
        if (!tr.creates) names.push_back(tr.name);
      }
      return Status::InvalidArgument("unknown transition '" + c.transition + "' (workflow '" +
                                     wf.name() + "' has: " + Join(names) + ")")
          .AtField("do");
    }
    if (c.expected_version) {
      // The newest event's seq, which the head keeps: no history need be read.
      const int64_t version = item->tail ? item->tail->version : item->last_seq();
      if (version != *c.expected_version) {
        return Status::FailedPrecondition(
            "'" + c.subject_id + "' is at version " + std::to_string(version) + ", not " +
            std::to_string(*c.expected_version) + ": it changed since you read it");
      }
    }
    const Date effective = c.effective.value_or(today_);
    if (effective > today_) {
      return Status::InvalidArgument("effective date " + effective.ToString() +
                                     " is in the future (today is " + today_.ToString() + ")")
          .AtField("effective");
    }
    Event e = NewEvent(item->kind, c.subject_id, c.transition, effective);
    e.role = c.role;
    e.body = c.body;
    e.unit = c.unit;
    e.note = c.note;
    e.fields = c.fields;
    if (!c.files.empty()) {
      // Files are evidence: only where the workflow says the transition takes evidence.
      if (!t->Takes("evidence")) {
        return Status::InvalidArgument("'" + c.transition + "' takes no evidence files");
      }
      ASSIGN_OR_RETURN(e.attachments, DescribeEvidence(c.files, limits_.evidence));
    }
    if (c.skip_if_recorded) {
      ASSIGN_OR_RETURN(const History history, world_.HistoryOf(*item));
      for (const Event& existing : history) {
        if (existing.SameContent(e)) return std::optional<Event>();
      }
    }
    return std::optional<Event>(std::move(e));
  }

 private:
  Event NewEvent(SubjectKind kind, const std::string& id, const std::string& transition,
                 Date effective) const {
    Event e;
    e.kind = kind;
    e.subject_id = id;
    e.transition = transition;
    e.effective = effective;
    // Definitions are the inspectorate's word: the role that may create items.
    e.role = wf_.creating().roles.front();
    return e;
  }

  const Workflow& wf_;
  const Ledger& world_;
  Date today_;
  const TextLimits& limits_;
};

}  // namespace

Result<std::optional<Event>> BuildEvent(const Command& command, const Workflow& workflow,
                                        const Ledger& world, Date today, const TextLimits& limits) {
  return std::visit(CommandBuilder(workflow, world, today, limits), command);
}

}  // namespace rectrack
