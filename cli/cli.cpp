#include "cli/cli.h"

#include <pwd.h>
#include <unistd.h>
#include <cstdio>
#include <fstream>

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include <iostream>
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/terminal.h"
#include "common/strings.h"
#include "draft/draft.h"
#include "engine/engine.h"
#include "engine/importer.h"
#include "engine/render.h"
#include "http/api_util.h"
#include "storage/crypto.h"
#include "storage/database.h"
#include "web/accounts.h"

namespace rectrack {
namespace {

using cli::Actor;
using cli::Args;
using cli::Commands;
using cli::Context;
using cli::Format;
using cli::OptionalDate;
using cli::RunAlerts;
using cli::RunBackup;
using cli::RunDraft;
using cli::RunRebuild;
using cli::RunRecord;
using cli::RunReport;
using cli::RunServe;
using cli::RunVerify;

namespace fs = std::filesystem;

// Where the bundled workflow and demo data are: $RECTRACK_DATA_DIR, else share/rectrack beside
// an installed binary, else the source tree the binary was built from.
std::string DataDir() {
  if (const char* env = std::getenv("RECTRACK_DATA_DIR"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "rectrack";
    if (fs::exists(installed / "workflows" / "recommendation.yaml", ec)) return installed;
  }
  return RECTRACK_SOURCE_DATA_DIR;
}

std::string DefaultActor() {
  const char* user = std::getenv("USER");
  if (user && *user) return std::string("cli:") + user;
  // Services and containers often run without $USER; the account name still says who.
  if (const passwd* account = ::getpwuid(::geteuid()); account && account->pw_name) {
    return std::string("cli:") + account->pw_name;
  }
  return "cli:uid" + std::to_string(::geteuid());
}

// --clock, --clock-rate and --clock-since, else $RECTRACK_CLOCK, $RECTRACK_CLOCK_RATE and
// $RECTRACK_CLOCK_SINCE (so that a shell runs every command at the demo server's time, which
// `make run` writes to build/demo.env), else the system clock.
Result<std::unique_ptr<Clock>> MakeClock(const Args& args) {
  const char* env = std::getenv("RECTRACK_CLOCK");
  const bool flags = args.Has("clock");
  const std::string given = flags ? args.Get("clock") : env ? env : "";
  if (given.empty()) {
    for (const char* name : {"clock-rate", "clock-since"}) {
      if (args.Has(name))
        return Status::InvalidArgument("--" + std::string(name) + " needs --clock");
    }
    return std::unique_ptr<Clock>(new SystemClock());
  }
  // The rate and the real instant go with the clock they came with: flags with --clock, the
  // environment's with $RECTRACK_CLOCK.
  auto setting = [&](const char* name, const char* variable) -> std::optional<std::string> {
    if (args.Has(name)) return args.Get(name);
    if (const char* value = std::getenv(variable); !flags && value && *value) return value;
    return std::nullopt;
  };
  auto said = [&](const char* name, const char* variable) {
    return std::string(args.Has(name) ? "--" + std::string(name) : variable);
  };
  auto start = ParseInstant(given);
  if (!start) {
    return Status::InvalidArgument(
        std::string(args.Has("clock") ? "--clock" : "RECTRACK_CLOCK") +
        " must be like 2025-03-31 or 2025-03-31T09:00:00Z (years 1970-2200), not '" + given + "'");
  }
  double rate = 1.0;
  std::string rate_text = "1";
  if (auto text = setting("clock-rate", "RECTRACK_CLOCK_RATE")) {
    rate_text = *text;
    char* end = nullptr;
    rate = std::strtod(text->c_str(), &end);
    if (text->empty() || *end || !(rate >= 0 && rate <= 1e6)) {
      return Status::InvalidArgument(said("clock-rate", "RECTRACK_CLOCK_RATE") +
                                     " must be a number from 0 to 1000000, not '" + *text + "'");
    }
  }
  std::optional<Clock::TimePoint> since;
  if (auto text = setting("clock-since", "RECTRACK_CLOCK_SINCE")) {
    since = ParseInstant(*text);
    if (!since) {
      return Status::InvalidArgument(said("clock-since", "RECTRACK_CLOCK_SINCE") +
                                     " must be a real instant like 2026-12-05T16:45:00Z, not '" +
                                     *text + "'");
    }
  }
  if (since && *since > std::chrono::system_clock::now()) {
    return Status::InvalidArgument(said("clock-since", "RECTRACK_CLOCK_SINCE") + " '" +
                                   FormatInstant(*since) + "' is in the future");
  }
  auto clock = std::make_unique<ShiftedClock>(*start, rate, since);
  if (clock->Now() >= ShiftedClock::kLatest) {
    return Status::InvalidArgument(
        "the clock, " + FormatInstant(*start) + " run " + rate_text + " times faster since " +
        (since ? FormatInstant(*since) : "now") +
        ", reads past 2200: a demo's build/demo.env from long ago? (make run writes another)");
  }
  return std::unique_ptr<Clock>(std::move(clock));
}

Status PrintWorkflow(const Workflow& wf, std::ostream& out) {
  out << "workflow " << wf.name() << " (" << wf.source() << ")\nstates:\n";
  for (const auto& s : wf.states()) {
    out << "  " << s.name << (s.open ? " [open]" : " [closed]") << "  " << s.description << "\n";
  }
  out << "transitions:\n";
  for (const auto& t : wf.transitions()) {
    std::string roles, from;
    for (const auto& r : t.roles) roles += (roles.empty() ? "" : ",") + r;
    std::set<std::string> froms;
    for (const auto& c : t.cases) froms.insert(c.from.begin(), c.from.end());
    for (const auto& f : froms) from += (from.empty() ? "" : ",") + f;
    out << "  " << t.name << "  by " << roles << (t.creates ? "  (creates)" : "  from " + from)
        << "\n";
  }
  return Status();
}

Status PrintRules(const Engine& engine, const std::vector<std::string>& rest,
                  std::optional<Date> as_of, std::ostream& out) {
  if (!rest.empty()) {
    ASSIGN_OR_RETURN(auto alerts, engine.Alerts(rest[0], as_of));
    for (const AlertInstance& a : alerts) {
      std::string to;
      for (const auto& who : a.to) to += (to.empty() ? "" : ",") + who;
      out << a.due.ToString() << "  " << a.kind
          << (a.milestone.empty() ? "" : "  milestone " + a.milestone)
          << (a.occurrence ? "  #" + std::to_string(a.occurrence + 1) : "") << "  to " << to
          << "\n";
    }
    out << alerts.size() << (alerts.size() == 1 ? " alert\n" : " alerts\n");
    return Status();
  }
  const Rules& rules = *engine.rules();
  out << "alerts:\n";
  for (const AlertRule& r : rules.alerts()) {
    std::string when;
    for (const Offset& o : r.before_due) when += (when.empty() ? "" : ", ") + o.text;
    if (!r.before_due.empty()) when += " before due";
    if (r.after_due) when = r.after_due->text + " after due";
    if (r.repeat) when += ", every " + r.repeat->text + " while overdue";
    if (!r.after_event.empty()) {
      when = r.offset->text + " after " + r.after_event +
             (r.until.empty() ? "" : " unless " + Join(r.until, " or "));
    }
    out << "  " << r.kind << (r.subject == SubjectKind::kAction ? " (actions)" : "") << ": " << when
        << "  (" << r.where << ")\n";
  }
  for (const auto& [name, calendar] : rules.calendars()) {
    out << "calendar " << name << ": " << calendar.covers_from().ToString() << " to "
        << calendar.covers_to().ToString() << "\n";
  }
  for (const std::string& warning : engine.RulesNamingWhatIsNotHeld()) {
    out << "warning: " << warning << "\n";
  }
  return Status();
}

Status RunToken(Engine& engine, const Args& args, const std::vector<std::string>& rest,
                std::ostream& out) {
  const std::string action = rest.empty() ? "" : rest[0];
  if (action == "create" && rest.size() == 1) {
    if (!args.Has("role")) return Status::InvalidArgument("token create needs --role");
    ASSIGN_OR_RETURN(auto expires, OptionalDate(args, "expires"));
    ASSIGN_OR_RETURN(auto created, engine.CreateToken(args.Get("role"), args.Get("body"), expires,
                                                      args.Get("label"), args.Get("unit")));
    out << created.second << "\n";
    out << "token " << created.first.id << ": role " << created.first.role
        << (created.first.body.empty() ? "" : " for " + created.first.body)
        << (created.first.unit.empty() ? "" : " unit " + created.first.unit)
        << (created.first.expires.empty() ? "" : ", expires after " + created.first.expires)
        << ". The secret above is shown only now.\n";
    return Status();
  }
  if (action == "revoke" && rest.size() == 2) {
    RETURN_IF_ERROR(engine.RevokeToken(rest[1]));
    out << "revoked token " << rest[1] << "\n";
    return Status();
  }
  if (action == "list" && rest.size() == 1) {
    ASSIGN_OR_RETURN(auto tokens, engine.Tokens());
    for (const auto& t : tokens) {
      out << t.id << "  " << t.role << (t.body.empty() ? "" : " " + t.body)
          << (t.unit.empty() ? "" : "/" + t.unit) << "  created " << t.created
          << (t.expires.empty() ? "" : "  expires " + t.expires)
          << (t.revoked.empty() ? "" : "  REVOKED " + t.revoked)
          << (t.label.empty() ? "" : "  " + t.label) << "\n";
    }
    return Status();
  }
  return Status::InvalidArgument(
      "usage: token create --role ROLE [--body B [--unit U]] [--expires D] | "
      "token list | token revoke ID");
}

// What a command runs with: its arguments, the engine's options as the command line, the
// environment and (for serve) the config file say, and where to print.

Status RunWorkflow(const Context& c) {  // needs no database
  // Checked as every other command loads them, so that a file it passes works there too.
  ASSIGN_OR_RETURN(Workflows workflows,
                   LoadWorkflows(c.options.workflow_path, c.options.action_workflow_path));
  RETURN_IF_ERROR(PrintWorkflow(workflows.recommendation, c.out));
  if (!workflows.action) return Status();
  c.out << "\n";
  return PrintWorkflow(*workflows.action, c.out);
}

// 32 random bytes, the middle of what Standard Webhooks allows (24 to 64).
Status RunWebhookSecret(const Context& c) {  // needs no database
  ASSIGN_OR_RETURN(std::string key, storage::RandomBytes(32));
  c.out << "whsec_" << Base64Encode(key) << "\n";
  return Status();
}

Status RunImport(Engine& engine, const Context& c) {
  if (c.rest.empty()) return Status::InvalidArgument("import needs at least one FILE");
  std::vector<Command> commands;
  for (const auto& file : c.rest) {
    ASSIGN_OR_RETURN(auto parsed,
                     ParseImportFile(file, engine.workflow(), engine.action_workflow()));
    commands.insert(commands.end(), std::make_move_iterator(parsed.begin()),
                    std::make_move_iterator(parsed.end()));
  }
  // One report imported twice by a slip (its draft again, under a new id) is refused, as the
  // web's draft page refuses it, unless --again says it is another report of that title and
  // date.
  if (!c.args.Has("again")) {
    DraftRequest known;
    RETURN_IF_ERROR(AddWhatEngineKnows(engine, &known));
    for (const Command& command : commands) {
      const auto* defined = std::get_if<DefineInspection>(&command);
      if (!defined) continue;
      const Inspection& i = defined->inspection;
      const auto held = [&](const KnownInspection& k) { return k.id == i.id; };
      if (std::any_of(known.inspections.begin(), known.inspections.end(), held)) continue;
      const auto same = SameReport(i.title, i.published, 0, known.inspections);
      if (same.empty()) continue;
      return Status::Conflict(
          (defined->where.empty() ? "" : defined->where + ": ") + "inspection '" + i.id +
          "' has the title and publication date of inspection '" + same.front().id +
          "', imported already: nothing was imported. If this is another report, import it "
          "with --again");
    }
  }
  ASSIGN_OR_RETURN(ApplyReport report, engine.ApplyInPlace(std::move(commands), Actor(c)));
  c.out << "imported " << c.rest.size() << (c.rest.size() == 1 ? " file: " : " files: ")
        << report.appended << " events appended, " << report.unchanged << " unchanged\n";
  return Status();
}

// --open and --closed, at most one of them.
Result<std::optional<bool>> Openness(const Args& args) {
  if (args.Has("open") && args.Has("closed")) {
    return Status::InvalidArgument("give --open or --closed, not both");
  }
  if (args.Has("open")) return std::optional<bool>(true);
  if (args.Has("closed")) return std::optional<bool>(false);
  return std::optional<bool>();
}

Status RunList(Engine& engine, const Context& c) {
  if (!c.rest.empty()) return Status::InvalidArgument("list takes no positional arguments");
  ListQuery q;
  ASSIGN_OR_RETURN(q.open, Openness(c.args));
  q.as_of = c.as_of;
  q.body = c.args.Get("body");
  RETURN_IF_ERROR(cli::CheckBody(engine, q.body));
  q.state = c.args.Get("state");
  if (!q.state.empty() && !engine.workflow().FindState(q.state)) {
    std::vector<std::string> states;
    for (const auto& s : engine.workflow().states()) states.push_back(s.name);
    return Status::InvalidArgument("unknown state '" + q.state + "' (the states are " +
                                   Join(states, ", ") + ")");
  }
  q.overdue_only = c.args.Has("overdue");
  ASSIGN_OR_RETURN(std::optional<size_t> limit, cli::Limit(c.args));
  if (limit) q.limit = *limit;
  ASSIGN_OR_RETURN(std::string format, Format(c.args, {"table", "json", "csv"}, "table"));
  ASSIGN_OR_RETURN(auto views, engine.ListFromHeads(q));
  c.out << (format == "json"  ? ListAsJson(views)
            : format == "csv" ? ListAsCsv(views)
                              : ListAsTable(views));
  return Status();
}

Status RunShow(Engine& engine, const Context& c) {
  if (c.rest.size() != 1) return Status::InvalidArgument("show needs exactly one ID");
  const std::string& id = c.rest[0];
  ASSIGN_OR_RETURN(std::string format, Format(c.args, {"text", "json"}, "text"));
  const auto kind = engine.KindOf(id);
  if (!kind) return Status::NotFound("no recommendation or action '" + id + "'");
  if (*kind == SubjectKind::kAction) {
    ASSIGN_OR_RETURN(RecommendationView action, engine.ShowAction(id, c.as_of));
    c.out << (format == "json" ? ActionAsJson(action) : ActionAsText(action));
    return Status();
  }
  ASSIGN_OR_RETURN(RecommendationView view, engine.Show(id, c.as_of));
  ActionQuery of_recommendation;
  of_recommendation.as_of = view.as_of;
  of_recommendation.recommendation = view.id;
  ASSIGN_OR_RETURN(const auto actions, engine.ListActions(of_recommendation));
  c.out << (format == "json" ? ShowAsJson(view, actions) : ShowAsText(view, actions));
  return Status();
}

Status RunActions(Engine& engine, const Context& c) {
  ActionQuery q;
  ASSIGN_OR_RETURN(q.open, Openness(c.args));
  if (!engine.action_workflow()) {
    return Status::FailedPrecondition("no action workflow is loaded (--action-workflow FILE)");
  }
  q.as_of = c.as_of;
  q.body = c.args.Get("body");
  q.unit = c.args.Get("unit");
  q.recommendation = c.args.Get("rec");
  RETURN_IF_ERROR(cli::CheckBody(engine, q.body));
  if (!q.unit.empty()) {
    // A unit of another body than the one asked for is not there, as in the calendar's
    // ?body=&unit=: an empty list would hide the slip.
    const std::optional<Unit> unit = engine.FindUnit(q.unit);
    if (!unit) return Status::NotFound("no unit '" + q.unit + "'");
    if (!q.body.empty() && unit->body != q.body) {
      return Status::NotFound("no unit '" + q.unit + "' in " + q.body + " (it is " + unit->body +
                              "'s)");
    }
  }
  if (!q.recommendation.empty()) RETURN_IF_ERROR(engine.Show(q.recommendation, {}).status());
  q.overdue_only = c.args.Has("overdue");
  ASSIGN_OR_RETURN(std::string format, Format(c.args, {"table", "json", "csv"}, "table"));
  ASSIGN_OR_RETURN(const auto views, engine.ListActions(q));
  c.out << (format == "json"  ? ActionsAsJson(views)
            : format == "csv" ? ActionsAsCsv(views)
                              : ActionsAsTable(views));
  return Status();
}

Status RunUnits(Engine& engine, const Context& c) {
  const std::string body = c.args.Get("body");
  RETURN_IF_ERROR(cli::CheckBody(engine, body));
  ASSIGN_OR_RETURN(std::string format, Format(c.args, {"table", "json"}, "table"));
  const auto units = engine.Units(body);
  c.out << (format == "json" ? UnitsAsJson(units) : UnitsAsTable(units));
  return Status();
}

Status RunTokenCommand(Engine& engine, const Context& c) {
  return RunToken(engine, c.args, c.rest, c.out);
}

Status RunRules(Engine& engine, const Context& c) {
  return PrintRules(engine, c.rest, c.as_of, c.out);
}

// `user`: the people who sign in to the web workspace (web/accounts.h). A password is read
// from the first line of standard input, so it never appears in a process list or history.
Status RunUser(Engine& engine, const Context& c) {
  // Before anything is changed: the link printed at the end must be one a person can open.
  if (c.args.Has("url")) RETURN_IF_ERROR(http::CheckBaseUrl(c.args.Get("url"), "--url"));
  ASSIGN_OR_RETURN(auto accounts,
                   web::Accounts::Open(c.options.db_path, {}, nullptr, c.options.read_only));
  const std::string& action = c.rest[0];
  const std::string by = DefaultActor();
  auto read_password = [] {
    std::string line;
    if (::isatty(STDIN_FILENO)) return line;  // no one to type it unseen: a link instead
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  };
  // Prints a one-time set-password link for `email` (the token is shown only here).
  auto print_link = [&](const std::string& email) -> Status {
    ASSIGN_OR_RETURN(std::string token, accounts->CreatePasswordLink(email, by, ""));
    std::string url = c.args.Get("url", "http://127.0.0.1:8080");
    while (!url.empty() && url.back() == '/') url.pop_back();
    c.out << "set-password link for " << Lower(email)
          << " (works once, for 24 hours, until a newer one is made):\n  " << url
          << "/set-password?token=" << token << "\n";
    return Status();
  };
  if (action == "list") {
    ASSIGN_OR_RETURN(auto list, accounts->List());
    for (const storage::AccountRecord& a : list) {
      c.out << a.email << "  " << a.role << (a.body.empty() ? "" : " of " + a.body)
            << (a.unit.empty() ? "" : " (" + a.unit + ")")
            << (a.disabled.empty() ? "" : "  disabled " + a.disabled) << "\n";
    }
    return Status();
  }
  if (action == "add") {
    storage::AccountRecord record;
    record.email = c.args.Get("email");
    record.role = c.args.Get("role");
    record.body = c.args.Get("body");
    record.unit = c.args.Get("unit");
    RETURN_IF_ERROR(engine.CheckScope("account", record.role, record.body, record.unit));
    const std::string password = read_password();
    RETURN_IF_ERROR(accounts->Add(record, password, by, ""));
    c.out << "added " << Lower(record.email) << "\n";
    return password.empty() ? print_link(record.email) : Status();
  }
  const std::string& email = c.rest[1];
  if (action == "link") return print_link(email);
  if (action == "password") {
    RETURN_IF_ERROR(accounts->SetPassword(email, read_password(), by, ""));
  } else if (action == "second-factor-off") {
    RETURN_IF_ERROR(accounts->DisableTotp(email, by, ""));
  } else {
    RETURN_IF_ERROR(accounts->SetDisabled(email, action == "disable", by, ""));
  }
  c.out << action << ": " << Lower(email) << "\n";
  return Status();
}

// How each command runs: on its own (no database, or a database it opens itself), or on the
// engine opened for it. cli_args.cpp's Commands() says what each takes.
struct Runner {
  Status (*alone)(const Context&) = nullptr;
  Status (*with_engine)(Engine&, const Context&) = nullptr;
  bool whole_log = false;  // `alone` reads the whole log into memory (an engine, or verify's)
};

const std::map<std::string, Runner>& Runners() {
  static const std::map<std::string, Runner> kRunners = {
      {"workflow", {RunWorkflow, nullptr}},   {"verify", {RunVerify, nullptr, true}},
      {"backup", {RunBackup, nullptr}},       {"draft", {RunDraft, nullptr, true}},
      {"serve", {RunServe, nullptr, true}},   {"import", {nullptr, RunImport}},
      {"list", {nullptr, RunList}},           {"show", {nullptr, RunShow}},
      {"rebuild", {nullptr, RunRebuild}},     {"actions", {nullptr, RunActions}},
      {"units", {nullptr, RunUnits}},         {"record", {nullptr, RunRecord}},
      {"report", {nullptr, RunReport}},       {"token", {nullptr, RunTokenCommand}},
      {"rules", {nullptr, RunRules}},         {"user", {nullptr, RunUser}},
      {"alerts", {RunAlerts, nullptr, true}}, {"webhook-secret", {RunWebhookSecret, nullptr}},
  };
  return kRunners;
}

// Whether the command only reads the database (it may bring the item index and heads up to
// date, when it can write).
bool ReadsOnly(const std::string& cmd, const Args& args) {
  static const std::set<std::string> kReaders = {"list",   "show",   "actions", "units", "report",
                                                 "alerts", "verify", "rules",   "backup"};
  const bool listing = (cmd == "token" || cmd == "user") && args.positional.size() == 2 &&
                       args.positional[1] == "list";
  return kReaders.count(cmd) > 0 || listing;
}

// Whether a reading command may write the database at `path`: this process may write it and
// its directory (which SQLite's journal or WAL files go in), and it is not a backup (rollback
// journal), which a reader leaves as it is. Otherwise it opens it read only, rather than fail
// to open one on a read-only disk or turn a backup into a live (WAL) database.
bool WritesHere(const std::string& path) {
  if (storage::Database::InRollbackJournalMode(path)) return false;
  if (::access(path.c_str(), F_OK) != 0) return true;  // none yet: as it ever was (NotFound)
  // SQLite puts its files beside the file a symbolic link names, not beside the link.
  std::error_code error;
  std::filesystem::path dir = std::filesystem::weakly_canonical(path, error).parent_path();
  if (error) dir = std::filesystem::path(path).parent_path();
  return ::access(path.c_str(), W_OK) == 0 && ::access(dir.empty() ? "." : dir.c_str(), W_OK) == 0;
}

// The items a command is about, when it is about some only: it then reads their histories from
// the item index, not the whole log (Engine::Options::scope). One item's view, its alerts, its
// actions; an event on one item, with whatever its fields name (a superseding recommendation,
// the follow-up inspection). Evidence files are held to a daily quota over the whole log.
std::vector<std::string> ScopeOf(const std::string& cmd, const Args& args) {
  const auto& p = args.positional;
  if ((cmd == "show" || cmd == "rules") && p.size() == 2) return {p[1]};
  if (cmd == "actions" && !args.Get("rec").empty()) return {args.Get("rec")};
  if (cmd != "record" || p.size() != 3 || args.Has("attach")) return {};
  std::vector<std::string> scope = {p[1]};
  for (const std::string& field : args.All("field")) {
    const size_t eq = field.find('=');
    if (eq != std::string::npos && IsValidId(field.substr(eq + 1))) {
      scope.push_back(field.substr(eq + 1));
    }
  }
  return scope;
}

// A list and Annex A read the item heads, not the log (Engine::ListFromHeads, AnnexFromHeads).
bool HeadsOnly(const std::string& cmd, const Args& args) {
  return cmd == "list" ||
         (cmd == "report" && args.positional.size() == 2 && args.positional[1] == "annex");
}

Status RunCommand(const Args& args, std::ostream& out) {
  const std::string cmd = args.positional.empty() ? "" : args.positional[0];
  auto runner = Runners().find(cmd);
  if (runner == Runners().end()) return Status::InvalidArgument("unknown command '" + cmd + "'");
  ASSIGN_OR_RETURN(std::unique_ptr<Clock> clock, MakeClock(args));
  ASSIGN_OR_RETURN(auto as_of, OptionalDate(args, "as-of"));
  const char* env_db = std::getenv("RECTRACK_DB");
  Engine::Options options;
  options.db_path = args.Get("db", env_db && *env_db ? env_db : "rectrack.db");
  options.workflow_path = args.Get("workflow", DataDir() + "/workflows/recommendation.yaml");
  options.action_workflow_path = args.Get("action-workflow");
  options.rules_dir = args.Get("rules", DataDir() + "/rules");
  options.clock = clock.get();
  options.create_if_missing = Commands().at(cmd).creates_database;
  // Only serve delivers alerts: the other commands run without the webhooks' secrets.
  options.resolve_secrets = cmd == "serve";
  options.scope = ScopeOf(cmd, args);
  options.heads_only = HeadsOnly(cmd, args);
  // A reading command changes nothing of the file: not its journal mode either, so a backup
  // (rollback journal) stays one that opens where its reader may not write.
  options.read_only = ReadsOnly(cmd, args) && !WritesHere(options.db_path);
  RETURN_IF_ERROR(cli::ApplyTextLimitsEnvironment(
      &options.text_limits, [](const char* name) -> const char* { return std::getenv(name); }));
  const Context context{
      args,    std::vector<std::string>(args.positional.begin() + 1, args.positional.end()),
      options, *clock,
      as_of,   out};
  if (runner->second.alone) return runner->second.alone(context);
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(options));
  return runner->second.with_engine(*engine, context);
}

}  // namespace

int RunCli(const std::vector<std::string>& argv, std::ostream& raw_out, std::ostream& raw_err) {
  // Everything printed passes through the filter (cli/terminal.h), results and errors alike.
  cli::ControlEscapingBuf out_buf(raw_out), err_buf(raw_err);
  std::ostream out(&out_buf), err(&err_buf);
  auto args = cli::ParseArgs(argv);
  if (!args.ok()) {
    err << "rectrack: " << args.status().message() << "\n\n"
        << cli::UsageOf(cli::CommandNamed(argv));
    return 2;
  }
  if (args->Has("help") || args->positional.empty() || args->positional[0] == "help") {
    (args->positional.empty() && !args->Has("help") ? err : out) << cli::kUsage;
    return args->positional.empty() && !args->Has("help") ? 2 : 0;
  }
  if (Status usage = cli::CheckUsage(*args); !usage.ok()) {
    err << "rectrack: " << usage.message() << "\n\n" << cli::UsageOf(args->positional[0]);
    return 2;
  }
  Status status = RunCommand(*args, out);
  if (status.ok()) return 0;
  err << "rectrack: error: " << status.message() << "\n";
  return 1;
}

bool GrowsWithTheLog(const std::vector<std::string>& argv) {
  auto args = cli::ParseArgs(argv);
  if (!args.ok() || args->positional.empty() || !cli::CheckUsage(*args).ok()) return false;
  const std::string& cmd = args->positional[0];
  auto runner = Runners().find(cmd);
  if (runner == Runners().end()) return false;
  if (runner->second.alone) return runner->second.whole_log;
  if (cmd == "list") {
    const std::optional<int64_t> limit = ParseDigits(args->Get("limit"), 9);
    return !limit || *limit > kSmallList;  // a bad --limit is refused, either way
  }
  return ScopeOf(cmd, *args).empty();
}

namespace cli {

std::string Actor(const Context& c) { return c.args.Get("actor", DefaultActor()); }

Status CheckBody(const Engine& engine, const std::string& body) {
  if (body.empty() || engine.HasBody(body)) return Status();
  std::vector<std::string> ids;
  for (const Body& b : engine.Bodies()) ids.push_back(b.id);
  constexpr size_t kNamed = 20;  // enough to spot a typo; not a page of them
  const size_t more = ids.size() > kNamed ? ids.size() - kNamed : 0;
  ids.resize(std::min(ids.size(), kNamed));
  return Status::NotFound("no body '" + body + "' (" +
                          (ids.empty()
                               ? std::string("there are none yet")
                               : "the bodies are " + Join(ids, ", ") +
                                     (more ? " and " + std::to_string(more) + " more" : "")) +
                          ")");
}

}  // namespace cli
}  // namespace rectrack
