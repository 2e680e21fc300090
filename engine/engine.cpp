#include "engine/engine.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

#include "common/text.h"
#include "engine/alert_queue.h"
#include "engine/annex.h"
#include "engine/deadline_text.h"
#include "engine/event_codec.h"
#include "engine/ledger.h"
#include "storage/crypto.h"
#include "storage/database.h"
#include "storage/event_store.h"

namespace rectrack {
namespace {

const std::set<std::string> kInspectionKinds = {"thematic", "area", "invitation", "follow_up"};

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Status CheckId(const std::string& id, const char* what) {
  if (IsValidId(id)) return Status();
  return Status::InvalidArgument(std::string("bad ") + what + " id '" + id +
                                 "': use 1-64 letters, digits, '.', '_' or '-'");
}

}  // namespace

// Builds the event a command asks for against a staging Ledger, or nullopt when the command asks
// for nothing new. Kept out of Engine's header: it is the write path's private vocabulary.
class CommandBuilder {
 public:
  CommandBuilder(const Workflow& wf, const Ledger& world, Date today)
      : wf_(wf), world_(world), today_(today) {}

  using Built = Result<std::optional<Event>>;

  // What is stored must be valid UTF-8 (the log is JSON): checked once, here, for every text
  // a command carries, so no adapter can let a bad byte through.
  static Status CheckText(const std::vector<std::string>& texts) {
    for (const auto& text : texts) {
      if (!IsValidUtf8(text)) {
        return Status::InvalidArgument("text is not valid UTF-8: '" + SanitizeUtf8(text) + "'");
      }
    }
    return Status();
  }

  Built operator()(const DefineBody& c) const {
    RETURN_IF_ERROR(CheckText({c.body.id, c.body.name, c.body.short_name}));
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
    RETURN_IF_ERROR(CheckText({u.id, u.body, u.name, u.kind}));
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
    RETURN_IF_ERROR(CheckText({c.id, def.recommendation, def.title, def.body, def.unit,
                               def.milestone, c.role, c.body, c.unit, c.note}));
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
    if (!spec)
      return Status::InvalidArgument(what + ": the action workflow has no role '" + role + "'");
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
    RETURN_IF_ERROR(CheckText({def.id, def.title, def.short_title, def.kind, def.follow_up_of}));
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
    RETURN_IF_ERROR(CheckText({c.id, c.def.inspection, c.def.text, c.note}));
    RETURN_IF_ERROR(CheckText(c.def.owners));
    for (const auto& m : c.def.milestones) RETURN_IF_ERROR(CheckText({m.label}));
    RETURN_IF_ERROR(CheckId(c.id, "recommendation"));
    RecommendationDef def = c.def;
    const Inspection* inspection = world_.FindInspection(def.inspection);
    if (!inspection) {
      return Status::Unprocessable("recommendation '" + c.id + "': no inspection '" +
                                   def.inspection + "'");
    }
    if (def.owners.empty()) {
      return Status::InvalidArgument("recommendation '" + c.id + "' needs at least one owner");
    }
    std::set<std::string> seen;
    for (const auto& owner : def.owners) {
      if (!world_.FindBody(owner)) {
        return Status::Unprocessable("recommendation '" + c.id + "': no body '" + owner + "'");
      }
      if (!seen.insert(owner).second) {
        return Status::InvalidArgument("recommendation '" + c.id + "' names owner '" + owner +
                                       "' twice");
      }
    }
    if (def.text.empty())
      return Status::InvalidArgument("recommendation '" + c.id + "' needs text");
    if (!c.milestones_given) {
      auto read = MilestonesFromText(def.text);
      if (!read.ok()) return read.status().WithContext("recommendation '" + c.id + "'");
      for (const auto& m : *read) def.milestones.push_back({m.label, m.due});
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
    Event e = NewEvent(SubjectKind::kRecommendation, c.id, wf_.creating().name, issued);
    e.note = c.note;
    e.recommendation_def = std::move(def);
    return std::optional<Event>(std::move(e));
  }

  Built operator()(const RecordEvent& c) const {
    RETURN_IF_ERROR(CheckText({c.subject_id, c.transition, c.role, c.body, c.unit, c.note}));
    for (const auto& [name, values] : c.fields) {
      RETURN_IF_ERROR(CheckText({name}));
      RETURN_IF_ERROR(CheckText(values));
    }
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
                                     wf.name() + "' has: " + Join(names) + ")");
    }
    if (c.expected_version) {
      int64_t version = 0;
      for (const Event& e : item->events) version = std::max(version, e.seq);
      if (version != *c.expected_version) {
        return Status::FailedPrecondition(
            "'" + c.subject_id + "' is at version " + std::to_string(version) + ", not " +
            std::to_string(*c.expected_version) + ": it changed since you read it");
      }
    }
    const Date effective = c.effective.value_or(today_);
    if (effective > today_) {
      return Status::InvalidArgument("effective date " + effective.ToString() +
                                     " is in the future (today is " + today_.ToString() + ")");
    }
    Event e = NewEvent(item->kind, c.subject_id, c.transition, effective);
    e.role = c.role;
    e.body = c.body;
    e.unit = c.unit;
    e.note = c.note;
    e.fields = c.fields;
    if (c.skip_if_recorded) {
      for (const Event& existing : item->events) {
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
};

Engine::Engine(Workflow workflow, std::optional<Workflow> action_workflow, const Clock* clock)
    : workflow_(std::move(workflow)),
      action_workflow_(std::move(action_workflow)),
      clock_(clock),
      ledger_(new Ledger(&workflow_, action_workflow_ ? &*action_workflow_ : nullptr)) {}

namespace {

// The action workflow shares the recommendation workflow's roles: a token carries one role for
// both, so each role must mean the same in both files.
Status CheckActionRoles(const Workflow& recommendations, const Workflow& actions) {
  for (const RoleSpec& role : actions.roles()) {
    const RoleSpec* same = recommendations.FindRole(role.name);
    if (!same) {
      return Status::InvalidArgument(actions.source() + ": role '" + role.name +
                                     "' is not a role of " + recommendations.source());
    }
    if (same->acts_for_owner != role.acts_for_owner) {
      return Status::InvalidArgument(actions.source() + ": role '" + role.name +
                                     "' must act for the owner here exactly when it does in " +
                                     recommendations.source());
    }
  }
  return Status();
}

}  // namespace

Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Open(const Options& options) {
  if (!options.clock) return Status::InvalidArgument("Engine::Open needs a clock");
  ASSIGN_OR_RETURN(Workflow workflow, Workflow::LoadFile(options.workflow_path));
  if (workflow.subject() != "recommendation") {
    return Status::InvalidArgument(options.workflow_path +
                                   ": expected a workflow whose subject is recommendation");
  }
  std::optional<Workflow> action_workflow;
  std::string action_path = options.action_workflow_path;
  if (action_path.empty()) {
    std::error_code ec;
    auto beside = std::filesystem::path(options.workflow_path).parent_path() / "action.yaml";
    if (std::filesystem::exists(beside, ec)) action_path = beside.string();
  }
  if (!action_path.empty()) {
    ASSIGN_OR_RETURN(action_workflow, Workflow::LoadFile(action_path));
    if (action_workflow->subject() != "action") {
      return Status::InvalidArgument(action_path + ": expected a workflow whose subject is action");
    }
    RETURN_IF_ERROR(CheckActionRoles(workflow, *action_workflow));
  }
  std::unique_ptr<Engine> engine(
      new Engine(std::move(workflow), std::move(action_workflow), options.clock));
  if (!options.rules_dir.empty()) {
    ASSIGN_OR_RETURN(engine->rules_, Rules::LoadDir(options.rules_dir, engine->workflow_,
                                                    engine->action_workflow()));
  }
  ASSIGN_OR_RETURN(engine->db_, storage::Database::Open(
                                    options.db_path, options.create_if_missing
                                                         ? storage::Database::OpenMode::kCreate
                                                         : storage::Database::OpenMode::kExisting));
  engine->store_ = std::make_unique<storage::EventStore>(engine->db_.get());
  engine->tokens_ = std::make_unique<storage::TokenStore>(engine->db_.get());
  engine->alert_store_ = std::make_unique<storage::AlertStore>(engine->db_.get());
  {
    storage::AlertFilter newest;
    newest.newest_first = true;
    newest.limit = 1;
    ASSIGN_OR_RETURN(auto alerts, engine->alert_store_->List(newest));
    if (!alerts.empty()) engine->last_alert_seq_ = alerts.front().seq;
  }
  ASSIGN_OR_RETURN(auto tx,
                   storage::Transaction::Begin(*engine->db_, storage::Transaction::Mode::kRead));
  RETURN_IF_ERROR(engine->CatchUp());
  RETURN_IF_ERROR(tx.Commit());
  return engine;
}

Status Engine::Refresh() {
  if (!data_version_stmt_) {
    ASSIGN_OR_RETURN(data_version_stmt_, db_->Prepare("PRAGMA data_version"));
  }
  storage::Statement& stmt = *data_version_stmt_;
  stmt.Reset();
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  const int64_t version = has_row ? stmt.ColumnInt(0) : -1;
  stmt.Reset();
  if (version == data_version_) return Status();
  // Another process committed: it may have revoked a token, so forget the ones we know.
  known_tokens_.clear();
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
  RETURN_IF_ERROR(CatchUp());
  RETURN_IF_ERROR(tx.Commit());
  data_version_ = version;
  return Status();
}

Status Engine::CatchUp() {
  ASSIGN_OR_RETURN(auto rows, store_->LoadSince(last_seq_));
  if (rows.empty()) return Status();
  Ledger layer(ledger_.get());
  for (const auto& row : rows) {
    ASSIGN_OR_RETURN(Event event, DecodeEvent(row));
    Status s = layer.Add(std::move(event));
    if (!s.ok()) {
      return Status::Corruption("event " + std::to_string(row.seq) + " (" + row.subject_id +
                                ") does not replay through workflow " + workflow_.source() + ": " +
                                s.message());
    }
  }
  std::move(layer).MergeInto(*ledger_);
  last_seq_ = rows.back().seq;
  for (const auto& row : rows) {
    if (row.kind == SubjectKind::kRecommendation || row.kind == SubjectKind::kAction) {
      NoteChanged(row.subject_id);
    }
  }
  return Status();
}

Result<ApplyReport> Engine::Apply(const std::vector<Command>& commands, const std::string& actor) {
  return std::move(ApplyAll({WriteBatch{commands, actor}}).front());
}

std::vector<Result<ApplyReport>> Engine::ApplyAll(const std::vector<WriteBatch>& batches) {
  std::vector<Result<ApplyReport>> results(batches.size(), Status::IOError("not applied"));
  auto fail_all = [&](const Status& s) {
    for (auto& r : results) r = s;
    return results;
  };
  auto tx = storage::Transaction::Begin(*db_, storage::Transaction::Mode::kWrite);
  if (!tx.ok()) return fail_all(tx.status());
  if (Status s = CatchUp(); !s.ok()) return fail_all(s);

  // Each batch is staged in its own layer over the group's, so a failing batch leaves no trace.
  Ledger group(ledger_.get());
  const std::string recorded = clock_->NowRfc3339();
  const Date today = clock_->Today();
  std::vector<Event> events;
  std::vector<std::pair<size_t, size_t>> spans(batches.size());  // [first, last) into events
  for (size_t i = 0; i < batches.size(); ++i) {
    Ledger layer(&group);
    const CommandBuilder build(workflow_, layer, today);
    ApplyReport report;
    std::vector<Event> mine;
    Status failed;
    for (const Command& command : batches[i].commands) {
      const std::string where = std::visit([](const auto& c) { return c.where; }, command);
      auto context = [&](const Status& s) { return where.empty() ? s : s.WithContext(where); };
      auto built = std::visit(build, command);
      if (!built.ok()) {
        failed = context(built.status());
        break;
      }
      if (!built->has_value()) {
        ++report.unchanged;
        continue;
      }
      Event event = std::move(**built);
      event.seq = last_seq_ + static_cast<int64_t>(events.size() + mine.size()) + 1;
      event.recorded = recorded;
      event.actor = batches[i].actor;
      Status added = layer.CheckGuard(event);
      if (added.ok()) added = layer.Add(event);
      if (!added.ok()) {
        failed = context(added.WithContext(event.subject_id));
        break;
      }
      mine.push_back(std::move(event));
    }
    if (!failed.ok()) {
      results[i] = failed;
      continue;
    }
    std::move(layer).MergeInto(group);
    spans[i] = {events.size(), events.size() + mine.size()};
    for (Event& e : mine) {
      report.seqs.push_back(e.seq);
      events.push_back(std::move(e));
    }
    report.appended = static_cast<int>(report.seqs.size());
    results[i] = report;
  }
  if (events.empty()) return results;

  std::vector<storage::EventRow> rows;
  rows.reserve(events.size());
  for (const Event& e : events) rows.push_back(EncodeEvent(e, *group.WorkflowOf(e.kind)));
  Status written = store_->Append(rows);
  for (size_t i = 0; written.ok() && i < rows.size(); ++i) {
    // We hold the write lock and caught up first, so the store must agree with our numbering.
    if (rows[i].seq != events[i].seq) {
      written = Status::Corruption("event numbering diverged from the database");
    }
  }
  if (written.ok()) written = tx->Commit();
  if (!written.ok()) {
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok()) results[i] = written;
    }
    return results;
  }
  std::move(group).MergeInto(*ledger_);
  last_seq_ = rows.back().seq;
  for (const Event& e : events) NoteChanged(e);
  return results;
}

std::vector<RecommendationView> Engine::List(const ListQuery& q) const {
  const Date as_of = q.as_of.value_or(clock_->Today());
  std::vector<RecommendationView> out;
  for (const auto& [id, item] : ledger_->items()) {
    if (item.kind != SubjectKind::kRecommendation || item.issued() > as_of) continue;
    const auto& owners = item.def().owners;
    if (!q.body.empty() && std::find(owners.begin(), owners.end(), q.body) == owners.end()) {
      continue;
    }
    auto view = ledger_->Project(item, as_of);
    if (!view.ok()) continue;  // replayed at load, so this cannot fail for stored items
    if (!q.state.empty() && view->state != q.state) continue;
    if (q.open && view->open != *q.open) continue;
    if (q.overdue_only && !view->overdue) continue;
    out.push_back(std::move(*view));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.issued != b.issued ? a.issued < b.issued : a.id < b.id;
  });
  return out;
}

Result<RecommendationView> Engine::Show(const std::string& id, std::optional<Date> as_of) const {
  const Item* item = ledger_->FindItem(id);
  if (!item || item->kind != SubjectKind::kRecommendation) {
    return Status::NotFound("no recommendation '" + id + "'");
  }
  return ledger_->Project(*item, as_of.value_or(clock_->Today()));
}

Result<RecommendationView> Engine::ShowAction(const std::string& id,
                                              std::optional<Date> as_of) const {
  const Item* item = ledger_->FindItem(id);
  if (!item || item->kind != SubjectKind::kAction)
    return Status::NotFound("no action '" + id + "'");
  return ledger_->Project(*item, as_of.value_or(clock_->Today()));
}

std::vector<RecommendationView> Engine::ListActions(const ActionQuery& q) const {
  const Date as_of = q.as_of.value_or(clock_->Today());
  std::vector<RecommendationView> out;
  auto consider = [&](const Item& item) {
    if (item.kind != SubjectKind::kAction || item.issued() > as_of) return;
    const ActionDef& a = item.action();
    if (!q.body.empty() && a.body != q.body) return;
    if (!q.unit.empty() && a.unit != q.unit) return;
    if (!q.recommendation.empty() && a.recommendation != q.recommendation) return;
    auto view = ledger_->Project(item, as_of);
    if (!view.ok()) return;
    if (q.open && view->open != *q.open) return;
    if (q.overdue_only && !view->overdue) return;
    out.push_back(std::move(*view));
  };
  if (!q.recommendation.empty()) {
    for (const auto& id : ledger_->ActionsOf(q.recommendation)) {
      if (const Item* item = ledger_->FindItem(id)) consider(*item);
    }
  } else {
    for (const auto& [id, item] : ledger_->items()) consider(item);
  }
  auto key = [](const RecommendationView& v) {
    // Undated actions sort after every dated one.
    const Date due = v.milestones.empty() ? *Date::FromYmd(9999, 12, 31) : v.milestones[0].due;
    return std::tie(v.action->recommendation, due, v.id);
  };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    const auto ka = key(a), kb = key(b);
    return ka < kb;
  });
  return out;
}

bool FurtherBehind(const UnitProgress& a, const UnitProgress& b) {
  if (a.overdue != b.overdue) return a.overdue > b.overdue;
  if (a.open != b.open) return a.open > b.open;
  // Smaller share closed first: a.closed / a.total < b.closed / b.total, without division.
  const long lhs = static_cast<long>(a.closed) * b.total();
  const long rhs = static_cast<long>(b.closed) * a.total();
  if (lhs != rhs) return lhs < rhs;
  return a.name < b.name;
}

Result<ProgressReport> Engine::Progress(const std::string& body, std::optional<Date> as_of) const {
  const Body* b = ledger_->FindBody(body);
  if (!b) return Status::NotFound("no body '" + body + "'");
  ProgressReport report;
  report.body = body;
  report.body_name = b->name;
  report.as_of = as_of.value_or(clock_->Today());
  std::map<std::string, UnitProgress> totals;
  auto name_of = [&](const std::string& unit) {
    const Unit* u = unit.empty() ? nullptr : ledger_->FindUnit(unit);
    return u ? u->name : b->name;
  };
  for (const RecommendationView& rec : List({.as_of = report.as_of, .body = body})) {
    RecommendationProgress progress{rec.id, rec.def.text, rec.state, rec.open, {}, {}};
    progress.all.name = b->name;
    std::map<std::string, UnitProgress> units;
    for (const RecommendationView& action :
         ListActions({.as_of = report.as_of, .body = body, .recommendation = rec.id})) {
      const std::string& unit = action.action->unit;
      for (UnitProgress* p : {&units[unit], &totals[unit], &progress.all}) {
        if (p != &progress.all) {
          p->unit = unit;
          p->name = name_of(unit);
        }
        (action.open ? p->open : p->closed) += 1;
        if (action.overdue) p->overdue += 1;
      }
    }
    for (auto& [unit, p] : units) progress.units.push_back(std::move(p));
    std::sort(progress.units.begin(), progress.units.end(), FurtherBehind);
    report.recommendations.push_back(std::move(progress));
  }
  for (auto& [unit, p] : totals) report.units.push_back(std::move(p));
  std::sort(report.units.begin(), report.units.end(), FurtherBehind);
  return report;
}

Result<AnnexReport> Engine::Annex(const std::string& body, std::optional<Date> as_of) const {
  return BuildAnnex(*ledger_, workflow_, body, as_of.value_or(clock_->Today()));
}

Result<VerifyResult> Engine::Verify() {
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
  ASSIGN_OR_RETURN(storage::VerifyReport report, store_->Verify());
  return VerifyResult{report.events, report.head_hash};
}

Result<std::pair<storage::TokenRecord, std::string>> Engine::CreateToken(
    const std::string& role, const std::string& body, std::optional<Date> expires,
    const std::string& label, const std::string& unit) {
  const RoleSpec* spec = workflow_.FindRole(role);
  if (!spec) {
    std::vector<std::string> roles;
    for (const auto& r : workflow_.roles()) roles.push_back(r.name);
    return Status::InvalidArgument("unknown role '" + role + "' (the workflow has: " + Join(roles) +
                                   ")");
  }
  const bool defines = workflow_.creating().AllowsRole(role);
  if (spec->acts_for_owner && body.empty()) {
    return Status::InvalidArgument("a " + role + " token needs --body");
  }
  if (defines && !body.empty()) {
    return Status::InvalidArgument("a " + role + " token is not scoped to a body");
  }
  if (!body.empty() && !ledger_->FindBody(body)) {
    return Status::NotFound("no body '" + body + "'");
  }
  if (!unit.empty()) {
    if (!spec->acts_for_owner) {
      return Status::InvalidArgument("a " + role + " token is not scoped to a unit");
    }
    const Unit* u = ledger_->FindUnit(unit);
    if (!u) return Status::NotFound("no unit '" + unit + "'");
    if (u->body != body) {
      return Status::InvalidArgument("unit '" + unit + "' belongs to " + u->body + ", not " + body);
    }
  }
  if (expires && *expires < clock_->Today()) {
    return Status::InvalidArgument("--expires " + expires->ToString() + " is in the past");
  }
  storage::TokenRecord record;
  record.role = role;
  record.body = body;
  record.unit = unit;
  record.label = label;
  record.created = clock_->NowRfc3339();
  record.expires = expires ? expires->ToString() : "";
  return tokens_->Create(std::move(record));
}

Status Engine::RevokeToken(const std::string& id) {
  known_tokens_.clear();
  return tokens_->Revoke(id, clock_->NowRfc3339());
}

Result<std::vector<storage::TokenRecord>> Engine::Tokens() { return tokens_->List(); }

Result<Principal> Engine::Authenticate(const std::string& secret) {
  // Tokens seen since the database last changed are kept in memory (by the secret's hash, never
  // the secret), so a busy client costs one hash, not a query, per request.
  const std::string key = storage::Sha256Hex(secret);
  auto known = known_tokens_.find(key);
  if (known == known_tokens_.end()) {
    auto found = tokens_->FindBySecret(secret);
    if (!found.ok() && found.status().code() != Code::kNotFound) return found.status();
    if (known_tokens_.size() >= 10000) known_tokens_.clear();  // bound memory under guessing
    known = known_tokens_.emplace(key, found.ok() ? std::optional(*found) : std::nullopt).first;
  }
  const std::optional<storage::TokenRecord>& record = known->second;
  const Status rejected = Status::Unauthenticated("unknown, revoked or expired token");
  if (!record) return rejected;
  if (!record->revoked.empty()) return rejected;
  if (!record->expires.empty() && record->expires < clock_->Today().ToString()) return rejected;
  return Principal{record->id, record->role, record->body, record->unit};
}

bool Engine::MaySee(const Principal& principal, const std::vector<std::string>& owners) const {
  return principal.body.empty() ||
         std::find(owners.begin(), owners.end(), principal.body) != owners.end();
}

bool Engine::MayDefine(const Principal& principal) const {
  return workflow_.creating().AllowsRole(principal.role);
}

Result<VerifyResult> Engine::VerifyDatabase(const Options& options) {
  {
    ASSIGN_OR_RETURN(
        auto db, storage::Database::Open(options.db_path, storage::Database::OpenMode::kExisting));
    storage::EventStore store(db.get());
    ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db, storage::Transaction::Mode::kRead));
    RETURN_IF_ERROR(store.Verify().status());
  }
  Options existing = options;
  existing.create_if_missing = false;
  ASSIGN_OR_RETURN(auto engine, Open(existing));
  return engine->Verify();
}

std::vector<FeedEntry> Engine::Feed(const Principal& principal, const std::string& body,
                                    int64_t after_seq, size_t limit) const {
  std::vector<FeedEntry> out;
  for (const auto& [id, item] : ledger_->items()) {
    if (item.kind != SubjectKind::kRecommendation) continue;
    const auto& owners = item.def().owners;
    if (!MaySee(principal, owners)) continue;
    if (!body.empty() && std::find(owners.begin(), owners.end(), body) == owners.end()) continue;
    if (!item.tail) continue;  // every stored item has one; a staging copy might not
    const Inspection* inspection = ledger_->FindInspection(item.def().inspection);
    // The timeline at the end of time carries each event's from and to states.
    const std::vector<TimelineEntry>& timeline = item.tail->timeline;
    for (const TimelineEntry& entry : timeline) {
      if (entry.seq <= after_seq) continue;
      out.push_back(FeedEntry{id, item.def().inspection, inspection ? inspection->title : "",
                              owners, item.def().text, entry});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const FeedEntry& a, const FeedEntry& b) { return a.event.seq > b.event.seq; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<std::vector<AlertInstance>> Engine::Alerts(const std::string& id,
                                                  std::optional<Date> as_of) const {
  if (!rules_) return Status::FailedPrecondition("no rules are loaded (--rules DIR)");
  const Item* item = ledger_->FindItem(id);
  const bool action = item && item->kind == SubjectKind::kAction;
  ASSIGN_OR_RETURN(RecommendationView view, action ? ShowAction(id, as_of) : Show(id, as_of));
  return AlertsFor(view, *rules_, *ledger_->WorkflowOf(view.kind), view.issued, view.as_of);
}

std::vector<Body> Engine::Bodies() const {
  std::vector<Body> out;
  for (const auto& [id, body] : ledger_->bodies()) out.push_back(body);
  return out;
}

std::vector<Unit> Engine::Units(const std::string& body) const {
  std::vector<Unit> out;
  for (const auto& [id, unit] : ledger_->units()) {
    if (body.empty() || unit.body == body) out.push_back(unit);
  }
  return out;
}

std::vector<Inspection> Engine::Inspections() const {
  std::vector<Inspection> out;
  for (const auto& [id, inspection] : ledger_->inspections()) out.push_back(inspection);
  return out;
}

}  // namespace rectrack
