#include "cli/cli_args.h"

#include "common/strings.h"

namespace rectrack::cli {

const char* const kUsage = R"(usage: rectrack COMMAND [options]

Commands:
  serve [--listen 127.0.0.1:8080] [--config rectrack.yaml] [--threads N] [--public-read]
                                  the HTTP API (see docs/api.md), and the alert scheduler and
                                  deliveries (docs/alerts.md); stops on SIGINT/SIGTERM
  import FILE... [--again]        apply import files (YAML), all in one transaction; an
                                  inspection new by id but of a held one's title and date is
                                  refused as imported already, unless --again
  list                            recommendations as at a date
       [--as-of D] [--body B] [--state S] [--open|--closed] [--overdue]
       [--limit N] [--format table|json|csv]
                                  (the first N, by issue date: read from the item heads, it
                                  costs the rows read, however long the log)
  show ID [--as-of D] [--format text|json]
                                  one recommendation (state, milestones, links, its actions,
                                  timeline) or one action
  actions                         actions as at a date, by recommendation and due date
       [--as-of D] [--body B] [--unit U] [--rec ID] [--open|--closed] [--overdue]
       [--format table|json|csv]
  units [--body B] [--format table|json]
                                  the units (Areas, directorates) that own actions
  record ID TRANSITION [--effective D] [--by BODY [--unit U]] [--role ROLE] [--note TEXT]
       [--field NAME=VALUE]... [--attach FILE]...
                                  fire a workflow transition on a recommendation (close,
                                  assess, ...) or an action (start, close, drop, ...); --attach
                                  keeps FILE (PDF, DOCX, ODT, XLSX, CSV, PNG, JPEG, text) as
                                  evidence, where the transition takes evidence
  report annex --body B [--as-of D] [--format md|csv|json|html]
       [--format xlsx|docx|odt|pdf --output FILE]
                                  Annex A: open and closed-in-year tables for a body
  report progress --body B [--as-of D] [--format text|md|csv|json|html]
       [--format xlsx|docx|odt|pdf --output FILE]
                                  per recommendation, its actions closed/open/overdue by unit,
                                  the units furthest behind first
  token create --role ROLE [--body B [--unit U]] [--expires D] [--label TEXT]
                                  mint an API token (shown once, stored hashed); --unit narrows
                                  a body lead to one unit's actions
  token list | token revoke ID
  user add --email E --role ROLE [--body B [--unit U]] [--url U]
                                  an account for the web workspace; its password is read from
                                  standard input (at least 10 characters), stored as Argon2id;
                                  given none, a one-time set-password link is printed (24 h,
                                  on the server at U, default http://127.0.0.1:8080)
  user list | user password EMAIL | user link EMAIL [--url U]
       | user disable EMAIL | user enable EMAIL
  user second-factor-off EMAIL    turn off the account's second factor (a lost authenticator):
                                  its sessions end, and it can set up another
  rules [ID] [--as-of D]           the loaded alert rules and calendars; with ID, the alerts of
                                  that recommendation from its issue to D, as the rules say
  alerts [ID] [--body B] [--state pending|delivered|failed|unsubscribed] [--kind K]
       [--format table|json|csv]  alerts raised by `serve`; with ID, one alert, its deliveries
                                  and every attempt
  alerts test-email --to ADDRESS [--config F]
                                  send one message through the configured SMTP relay
                                  (smtp_url ...) and print what the relay answered
  draft REPORT [--inspection ID] [--published D] [--follow-up-of ID] [-o|--output FILE]
                                  read a report (PDF, DOCX, ODT, HTML or text) and write a
                                  draft import file of its recommendations, deadlines, owners
                                  and, in a follow-up, judgements, to review before importing
                                  (docs/draft.md)
  verify                          check the hash chain of the whole event log, that every
                                  event replays, the item index and the item heads against
                                  the log, and every evidence file against its hash
  rebuild                         rebuild the item index (what `show` reads) and the item
                                  heads (what `list` and `report annex` read) from the log
  backup DIR                      write a consistent copy of the database, evidence included,
                                  into DIR (while serve runs), and verify the copy
  workflow                        print the loaded workflows' states and transitions
  webhook-secret                  print a new webhook signing secret (whsec_..., Standard
                                  Webhooks) for a subscription's secret or secret_env

Options for every command:
  --db FILE        database (default $RECTRACK_DB, else ./rectrack.db)
  --workflow FILE  workflow YAML (default: the bundled workflows/recommendation.yaml)
  --action-workflow FILE
                   action workflow YAML (default: action.yaml beside the workflow)
  --rules DIR      deadline and alert rules (default: the bundled rules/), checked at start
  --clock T        run as if it were T (2025-03-31 or 2025-03-31T09:00:00Z; default
                   $RECTRACK_CLOCK, else now)
  --clock-rate N   with --clock, that clock runs N times faster (default 1;
                   $RECTRACK_CLOCK_RATE with $RECTRACK_CLOCK)
  --clock-since R  with --clock, it was T at the real instant R (2026-12-05T16:45:00Z), not
                   when the command started: processes given the same T, N and R agree on the
                   time ($RECTRACK_CLOCK_SINCE with $RECTRACK_CLOCK; make run writes all
                   three to build/demo.env)
  --actor NAME     who is recording (default cli:$USER)
  --               the words after it are arguments, not options (an ID that begins with --)
Dates are YYYY-MM-DD; --as-of D means as the world was at the end of D (by effective dates).
)";

namespace {

// Options that take a value, and flags that do not.
const std::set<std::string> kValued = {
    "url",       "db",           "workflow",        "clock",      "actor",  "as-of",
    "body",      "state",        "format",          "effective",  "by",     "role",
    "note",      "field",        "expires",         "label",      "email",  "to",
    "listen",    "config",       "threads",         "rules",      "kind",   "clock-rate",
    "unit",      "rec",          "action-workflow", "output",     "attach", "inspection",
    "published", "follow-up-of", "limit",           "clock-since"};
const std::set<std::string> kFlags = {"open", "closed", "overdue", "help", "public-read", "again"};
const std::set<std::string> kGlobal = {"db",          "workflow", "action-workflow",
                                       "rules",       "clock",    "clock-rate",
                                       "clock-since", "actor",    "help"};

Status OnlyOptions(const Args& args, const std::set<std::string>& allowed, const std::string& cmd) {
  for (const auto& [name, values] : args.options) {
    if (!kGlobal.count(name) && !allowed.count(name)) {
      return Status::InvalidArgument("'" + cmd + "' does not take --" + name);
    }
  }
  return Status();
}

}  // namespace

Result<Args> ParseArgs(const std::vector<std::string>& argv) {
  static const std::string kOutput = "--output", kHelp = "--help";
  Args args;
  bool options_end = false;  // after "--", as getopt has it: an id may begin with '-'
  for (size_t i = 0; i < argv.size(); ++i) {
    // The two short options everyone types: -o as cc has it, -h as every tool has it.
    const std::string& a = options_end       ? argv[i]
                           : argv[i] == "-o" ? kOutput
                           : argv[i] == "-h" ? kHelp
                                             : argv[i];
    if (a == "--" && !options_end) {
      options_end = true;
    } else if (!options_end && a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      if (kFlags.count(name) && !inline_value) {
        args.options[name].push_back("");
      } else if (kValued.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argv.size() || argv[i + 1].rfind("--", 0) == 0) {
            return Status::InvalidArgument("--" + name + " needs a value");
          }
          value = argv[++i];
        }
        args.options[name].push_back(value);
      } else {
        return Status::InvalidArgument("unknown option --" + name);
      }
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

std::string CommandNamed(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word == "--") break;
    if (word == "-o" || (word.rfind("--", 0) == 0 && word.find('=') == std::string::npos &&
                         kValued.count(word.substr(2)))) {
      ++i;  // its value
    } else if (word.rfind("--", 0) != 0 && Commands().count(word)) {
      return word;
    }
  }
  return "";
}

Result<std::optional<Date>> OptionalDate(const Args& args, const std::string& name) {
  if (!args.Has(name)) return std::optional<Date>();
  auto date = Date::Parse(args.Get(name));
  if (!date) {
    return Status::InvalidArgument("--" + name + " must be a real date written YYYY-MM-DD, not '" +
                                   args.Get(name) + "'");
  }
  return std::optional<Date>(date);
}

Result<std::optional<size_t>> Limit(const Args& args) {
  if (!args.Has("limit")) return std::optional<size_t>();
  const std::string n = args.Get("limit");
  const std::optional<int64_t> limit = ParseDigits(n, 9);
  if (!limit || *limit < 1) {
    return Status::InvalidArgument("--limit must be a whole number from 1 to 999999999, not '" + n +
                                   "'");
  }
  return std::optional<size_t>(static_cast<size_t>(*limit));
}

Result<std::string> Format(const Args& args, const std::set<std::string>& allowed,
                           const std::string& fallback) {
  std::string format = args.Get("format", fallback);
  if (!allowed.count(format) && !(format.empty() && !args.Has("format"))) {
    std::string list;
    for (const auto& f : allowed) list += (list.empty() ? "" : "|") + f;
    return Status::InvalidArgument("--format must be " + list + ", not '" + format + "'");
  }
  return format;
}

// As many files as a command line holds: "1 or more" in messages.
constexpr size_t kManyArgs = 1000;

const std::map<std::string, CommandSpec>& Commands() {
  static const std::map<std::string, CommandSpec> kCommands = {
      {"import", {{"again"}, 1, kManyArgs, {}, true}},
      {"list",
       {{"as-of", "body", "state", "open", "closed", "overdue", "limit", "format"},
        0,
        0,
        {"table", "json", "csv"},
        false}},
      {"show", {{"as-of", "format"}, 1, 1, {"text", "json"}, false}},
      {"actions",
       {{"as-of", "body", "unit", "rec", "open", "closed", "overdue", "format"},
        0,
        0,
        {"table", "json", "csv"},
        false}},
      {"units", {{"body", "format"}, 0, 0, {"table", "json"}, false}},
      {"record", {{"effective", "by", "unit", "role", "note", "field", "attach"}, 2, 2, {}, true}},
      {"report",
       {{"body", "as-of", "format", "output"},
        1,
        1,
        {"text", "md", "csv", "json", "html", "xlsx", "docx", "odt", "pdf"},
        false}},
      {"token", {{"role", "body", "unit", "expires", "label"}, 1, 2, {}, true}},
      {"user", {{"email", "role", "body", "unit", "url"}, 1, 2, {}, true}},
      {"serve", {{"listen", "config", "threads", "public-read"}, 0, 0, {}, true}},
      {"alerts",
       {{"body", "state", "kind", "format", "to", "config"},
        0,
        1,
        {"table", "json", "csv"},
        false}},
      {"verify", {{}, 0, 0, {}, false}},
      {"rebuild", {{}, 0, 0, {}, false}},
      {"backup", {{}, 1, 1, {}, false}},
      {"draft", {{"inspection", "published", "follow-up-of", "output"}, 1, 1, {}, false}},
      {"rules", {{"as-of"}, 0, 1, {}, false}},
      {"workflow", {{}, 0, 0, {}, false}},
      {"webhook-secret", {{}, 0, 0, {}, false}},
  };
  return kCommands;
}

std::string UsageOf(const std::string& cmd) {
  const std::string_view usage = kUsage;
  std::string lines;
  bool in_entry = false;
  for (size_t at = 0; at < usage.size();) {
    const size_t end = std::min(usage.find('\n', at), usage.size());
    const std::string_view line = usage.substr(at, end - at);
    at = end + 1;
    const bool entry = line.size() > 2 && line.substr(0, 2) == "  " && line[2] != ' ';
    if (entry) {
      const std::string_view rest = line.substr(2);
      in_entry = rest.substr(0, cmd.size()) == cmd &&
                 (rest.size() == cmd.size() || rest[cmd.size()] == ' ');
    } else if (line.empty() || line.front() != ' ') {
      in_entry = false;
    }
    if (in_entry) lines.append(line).append("\n");
  }
  const std::string all =
      "(rectrack --help shows every command, and the options for every command)\n";
  return lines.empty() ? all : "usage:\n" + lines + all;
}

Status CheckUsage(const Args& args) {
  const std::string& cmd = args.positional[0];
  auto known = Commands().find(cmd);
  if (known == Commands().end()) return Status::InvalidArgument("unknown command '" + cmd + "'");
  const CommandSpec& spec = known->second;
  RETURN_IF_ERROR(OnlyOptions(args, spec.options, cmd));
  const size_t given = args.positional.size() - 1;
  if (given < spec.min_args || given > spec.max_args) {
    const std::string range =
        spec.min_args == spec.max_args ? std::to_string(spec.min_args)
        : spec.max_args == spec.min_args + 1
            ? std::to_string(spec.min_args) + " or " + std::to_string(spec.max_args)
        : spec.max_args >= kManyArgs
            ? std::to_string(spec.min_args) + " or more"
            : std::to_string(spec.min_args) + " to " + std::to_string(spec.max_args);
    return Status::InvalidArgument("'" + cmd + "' takes " + range + " argument(s), not " +
                                   std::to_string(given));
  }
  // An option says one thing once: given twice (--by CPS --by SFO), which one was meant is a
  // guess; --field and --attach alone gather (the usage marks them "..."). One that names something
  // is not empty either: a script's unset variable (--by "$BODY") would otherwise record in the
  // inspectorate's voice.
  for (const auto& [name, values] : args.options) {
    if (name != "field" && name != "attach" && values.size() > 1) {
      return Status::InvalidArgument("--" + name + " was given " + std::to_string(values.size()) +
                                     " times; give it once");
    }
  }
  for (const char* name : {"by", "by-unit", "body", "unit", "role", "actor", "state", "kind",
                           "email", "inspection", "limit"}) {
    if (args.Has(name) && args.Get(name).empty()) {
      return Status::InvalidArgument("--" + std::string(name) +
                                     " is empty: give a value or leave it out");
    }
  }
  if (!spec.formats.empty()) RETURN_IF_ERROR(Format(args, spec.formats, "").status());
  RETURN_IF_ERROR(Limit(args).status());
  for (const char* name : {"as-of", "effective", "expires"}) {
    RETURN_IF_ERROR(OptionalDate(args, name).status());
  }
  if (args.Has("open") && args.Has("closed")) {
    return Status::InvalidArgument("give --open or --closed, not both");
  }
  if (args.Has("field")) {
    for (const auto& kv : args.options.at("field")) {
      if (kv.find('=') == std::string::npos || kv.front() == '=') {
        return Status::InvalidArgument("--field must be NAME=VALUE, not '" + kv + "'");
      }
    }
  }
  if (cmd == "token") {
    // Checked here too, so a misspelt subcommand never creates a stray database.
    const std::string& action = args.positional[1];
    if (!((action == "create" && given == 1) || (action == "list" && given == 1) ||
          (action == "revoke" && given == 2))) {
      return Status::InvalidArgument(
          "usage: token create --role ROLE [--body B [--unit U]] [--expires D] | "
          "token list | token revoke ID");
    }
  }
  if (cmd == "user") {
    const std::string& action = args.positional[1];
    if (!((action == "add" && given == 1 && args.Has("email") && args.Has("role")) ||
          (action == "list" && given == 1) ||
          ((action == "password" || action == "link" || action == "disable" || action == "enable" ||
            action == "second-factor-off") &&
           given == 2))) {
      return Status::InvalidArgument(
          "usage: user add --email E --role ROLE [--body B [--unit U]] (password on stdin) | "
          "user list | user password EMAIL (on stdin) | user link EMAIL [--url U] | "
          "user disable EMAIL | user enable EMAIL | user second-factor-off EMAIL");
    }
  }
  if (cmd == "report") {
    const std::string& kind = args.positional[1];
    if ((kind != "annex" && kind != "progress") || !args.Has("body")) {
      return Status::InvalidArgument(
          "usage: report annex|progress --body B [--as-of D] [--format F]");
    }
    const std::string format = args.Get("format");
    if (kind == "annex" && format == "text") {
      return Status::InvalidArgument("report annex takes --format md, csv, json or html");
    }
  }
  if (args.Has("db") && (args.Get("db").empty() || args.Get("db") == ":memory:")) {
    return Status::InvalidArgument("--db needs a file: nothing would be kept in '" +
                                   args.Get("db") + "'");
  }
  return Status();
}

}  // namespace rectrack::cli
