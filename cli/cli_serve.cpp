// `serve` and the alerts it delivers: the server's settings and start (the engine in an
// EngineHost, the checkpointer, the HTTP API and the web workspace, the alert threads, and the
// turns that let the start's histories go), `alerts` (the outbox as the command line reads it)
// and `alerts test-email`.
#include <csignal>
#include <cstdlib>
#include <future>
#include <limits>
#include <memory>
#include <set>
#include <thread>

#include "alerts/alerting.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "common/strings.h"
#include "engine/documents.h"
#include "engine/host.h"
#include "engine/render.h"
#include "engine/turns.h"
#include "http/server.h"
#include "storage/checkpointer.h"
#include "storage/crypto.h"
#include "web/accounts.h"
#include "web/workspace.h"

namespace rectrack::cli {
namespace {

// `alerts [ID]`: the alerts raised (filtered by --body, --state, --kind), or one alert with its
// deliveries and their attempts.
Status PrintAlerts(Engine& engine, const Args& args, const std::vector<std::string>& rest,
                   const std::string& format, std::ostream& out) {
  if (!rest.empty()) {
    if (format == "csv") {
      return Status::InvalidArgument("--format csv is for the list of alerts, not one alert");
    }
    ASSIGN_OR_RETURN(AlertDetail detail, engine.FindAlert(rest[0]));
    const storage::AlertRecord& alert = detail.alert;
    const std::string& state = detail.state;
    const auto& deliveries = detail.deliveries;
    const auto& attempts = detail.attempts;
    if (format == "json") {
      out << alert.payload << "\n";
      return Status();
    }
    out << "alert " << alert.id << ": " << alert.kind << " for " << alert.recommendation
        << (alert.milestone.empty() ? "" : " milestone " + alert.milestone) << ", due " << alert.due
        << ", raised " << alert.raised << (alert.late ? " (late)" : "") << ", " << state << "\n";
    for (const auto& d : deliveries) {
      out << "  " << d.subscription << " (" << d.channel << " " << d.target << "): " << d.state
          << ", " << Plural(d.attempts, "attempt")
          << (d.state == "pending" ? ", next " + d.next_attempt : "") << "\n";
      for (const auto& a : attempts) {
        if (a.subscription != d.subscription) continue;
        out << "    #" << a.attempt << " " << a.started << " -> "
            << (a.finished.empty() ? "(unfinished)" : a.finished) << "  status " << a.status
            << (a.error.empty() ? "" : "  " + a.error) << "\n";
      }
    }
    return Status();
  }
  storage::AlertFilter filter;
  filter.body = args.Get("body");
  filter.state = args.Get("state");
  filter.kind = args.Get("kind");
  filter.limit = std::numeric_limits<size_t>::max();
  static const std::set<std::string> kStates = {"", "pending", "delivered", "failed",
                                                "unsubscribed"};
  if (!kStates.count(filter.state)) {
    return Status::InvalidArgument("--state must be pending, delivered, failed or unsubscribed");
  }
  // A typo is said, not answered with no alerts.
  RETURN_IF_ERROR(CheckBody(engine, filter.body));
  if (!filter.kind.empty() && engine.rules()) {
    std::set<std::string> kinds;
    for (const AlertRule& rule : engine.rules()->alerts()) kinds.insert(rule.kind);
    if (!kinds.count(filter.kind)) {
      return Status::InvalidArgument(
          "--kind: the rules have no alert kind '" + filter.kind +
          "' (they have: " + Join(std::vector<std::string>(kinds.begin(), kinds.end())) + ")");
    }
  }
  ASSIGN_OR_RETURN(auto alerts, engine.ListAlerts(filter));
  if (format == "json") {
    out << "[";
    for (size_t i = 0; i < alerts.size(); ++i) out << (i ? ",\n" : "") << alerts[i].payload;
    out << "]\n";
    return Status();
  }
  if (format == "csv") {
    out << AlertsCsvHeader();
    for (const auto& a : alerts) {
      ASSIGN_OR_RETURN(std::string state, engine.AlertState(a.id));
      out << AlertCsvLine(a, state);
    }
    return Status();
  }
  std::vector<std::string> states;
  for (const auto& a : alerts) {
    ASSIGN_OR_RETURN(std::string state, engine.AlertState(a.id));
    states.push_back(std::move(state));
  }
  out << AlertsAsTable(alerts, states);
  return Status();
}

// serve's settings: defaults, then --config, then RECTRACK_*, then flags (cli/config.h).
Result<cli::ServeConfig> ServeSettings(const Context& c) {
  const Args& args = c.args;
  cli::ServeConfig serve;
  if (args.Has("config")) RETURN_IF_ERROR(cli::LoadConfigFile(args.Get("config"), &serve));
  RETURN_IF_ERROR(cli::ApplyEnvironment(
      &serve, [](const char* name) -> const char* { return std::getenv(name); }));
  if (args.Has("listen")) RETURN_IF_ERROR(http::ParseListen(args.Get("listen"), &serve.server));
  if (args.Has("threads")) {
    const std::string n = args.Get("threads");
    const std::optional<int64_t> threads = ParseDigits(n, 2);
    if (!threads || *threads < 1) return Status::InvalidArgument("--threads must be from 1 to 99");
    serve.server.threads = static_cast<int>(*threads);
  }
  if (args.Has("public-read")) serve.api.public_read = true;
  RETURN_IF_ERROR(cli::ResolveSmtpPassword(
      &serve, [](const char* name) -> const char* { return std::getenv(name); }));
  return serve;
}

// `alerts test-email --to ADDRESS`: one message through the configured relay (serve's settings:
// --config, RECTRACK_*), and what the relay answered, so an operator can check them.
Status RunTestEmail(const Context& c) {
  ASSIGN_OR_RETURN(cli::ServeConfig serve, ServeSettings(c));
  if (serve.alerting.smtp.url.empty()) {
    return Status::InvalidArgument(
        "no smtp_url is configured (in --config FILE, or RECTRACK_SMTP_URL)");
  }
  const std::string to = c.args.Get("to");
  if (to.empty()) return Status::InvalidArgument("alerts test-email needs --to ADDRESS");
  ASSIGN_OR_RETURN(std::string random, storage::RandomBytes(8));
  alerts::Deliverer deliverer(serve.alerting.delivery);
  std::promise<alerts::AttemptResult> sent;
  deliverer.Send(
      alerts::TestEmail(serve.alerting, to, "test-" + storage::Sha256Hex(random).substr(0, 16)),
      [&](alerts::AttemptResult r) { sent.set_value(std::move(r)); });
  const alerts::AttemptResult result = sent.get_future().get();
  if (!result.delivered) return Status::IOError("the test message was not sent: " + result.error);
  c.out << "sent a test message to " << to << " through " << serve.alerting.smtp.url
        << "; the relay answered: " << result.reply << "\n";
  return Status();
}

// What `serve` starts from: an engine that answers lists from the item heads while the log is
// read on a thread of its own (`heads`), or the engine itself, when the heads cannot answer
// lists (not current: the log is read before the server listens, and the heads worked out) or
// the database is in memory (another connection would be another database).
struct Opened {
  std::unique_ptr<Engine> heads, engine;
};
Result<Opened> OpenForServe(const Engine::Options& options) {
  Opened opened;
  if (options.db_path == ":memory:") {
    ASSIGN_OR_RETURN(opened.engine, Engine::Open(options));
    return opened;
  }
  Engine::Options for_lists = options;
  for_lists.heads_only = true;
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> first, Engine::Open(for_lists));
  // An index far behind the log made it read the whole log: it is the engine (read once).
  if (!first->reads_heads()) {
    opened.engine = std::move(first);
    return opened;
  }
  const Result<bool> current = first->HeadsAreCurrent();
  if (current.ok() && *current) {
    opened.heads = std::move(first);
    return opened;
  }
  first.reset();
  ASSIGN_OR_RETURN(opened.engine, Engine::Open(options));
  return opened;
}

}  // namespace

Status RunServe(const Context& c) {
  if (!c.rest.empty()) return Status::InvalidArgument("serve takes no positional arguments");
  ASSIGN_OR_RETURN(cli::ServeConfig serve, ServeSettings(c));
  Engine::Options options = c.options;
  if (!c.args.Has("db") && !serve.db.empty()) options.db_path = serve.db;
  if (!c.args.Has("workflow") && !serve.workflow.empty()) options.workflow_path = serve.workflow;
  options.text_limits = serve.text_limits;
  // The server listens as soon as it can answer lists (EngineHost::kStarting): the engine that
  // reads the log is opened on a thread of its own once it does, and everything else waits
  // for it. Without current heads, it is opened first, as it always was.
  ASSIGN_OR_RETURN(Opened opened, OpenForServe(options));
  std::unique_ptr<Engine> heads = std::move(opened.heads);
  std::unique_ptr<Engine> engine = std::move(opened.engine);
  auto host = heads ? std::make_unique<EngineHost>(EngineHost::kStarting, heads.get())
                    : std::make_unique<EngineHost>(engine.get());
  // One converter for the API and the web, so documents_at_once bounds them together.
  serve.api.documents = std::make_shared<DocumentConverter>(serve.documents);
  http::Api api(host.get(), serve.api);
  // The web workspace: sessions are timed by the real clock, not a demo's fast one.
  web::AccountOptions account_options;
  account_options.second_factor_roles = serve.second_factor_roles;
  ASSIGN_OR_RETURN(auto accounts, web::Accounts::Open(options.db_path, account_options, nullptr));
  web::WorkspaceOptions web_options{serve.api.public_read,
                                    serve.secure_cookies,
                                    50,
                                    serve.alerting.link_base,
                                    serve.gov_uk,
                                    serve.api.documents,
                                    serve.api.rate_per_minute,
                                    serve.api.rate_bytes_per_minute};
  ASSIGN_OR_RETURN(auto workspace,
                   web::Workspace::Create(host.get(), accounts.get(), std::move(web_options)));
  std::unique_ptr<storage::Checkpointer> checkpointer;
  std::unique_ptr<alerts::Alerting> alerting;
  std::unique_ptr<Turns> letting_histories_go;
  // What follows the engine's open, once the server listens at `where`: checkpoints, alerts,
  // histories let go, and the line that says the server is up.
  auto begin = [&](const std::string& where) -> Status {
    // Checkpoints move the log into the database file off the write path; a commit still does
    // it itself if the log ever grows past 40 MB (10,000 pages) without them.
    if (options.db_path != ":memory:") {
      RETURN_IF_ERROR(engine->SetAutoCheckpoint(10000));
      ASSIGN_OR_RETURN(checkpointer, storage::Checkpointer::Start(options.db_path,
                                                                  std::chrono::milliseconds(100)));
    }
    if (engine->rules()) {
      serve.alerting.db_path = options.db_path;
      ASSIGN_OR_RETURN(alerting, alerts::Alerting::Start(*host, serve.alerting));
    }
    // With history_cache_mb, let the histories go (Engine::KeepHistoriesOut), so that memory
    // follows the items, not the log: in turns of kHistoryTurn items while the server answers
    // (at 100,000 recommendations, 0.1 to 0.3 s in all), once the alerts' first pass (itself
    // in turns) and the raise of what it found due have read the histories they need.
    if (serve.history_cache_mb > 0) {
      constexpr size_t kHistoryTurn = 4096;
      Status kept;
      RETURN_IF_ERROR(host->Update([&](Engine& e) {
        kept = e.KeepHistoriesOut(static_cast<size_t>(serve.history_cache_mb) << 20, kHistoryTurn);
      }));
      RETURN_IF_ERROR(kept);
      letting_histories_go = std::make_unique<Turns>(
          host.get(), "letting histories go",
          [](Engine& e) -> Result<Turns::Next> {
            if (e.alerts_hold_histories()) return Turns::Next::kWait;
            ASSIGN_OR_RETURN(const bool done, e.LetHistoriesGo());
            return done ? Turns::Next::kDone : Turns::Next::kTurn;
          },
          &Engine::ReturnFreeMemory);
    }
    c.out << "rectrack serving " << options.db_path << " on http://" << where << " (today is "
          << c.clock.Today().ToString() << ")" << std::endl;
    // Beyond its calendar's coverage a working-day alert counts weekends only: say so while
    // there is a year to add the bank holidays.
    if (const Rules* rules = engine->rules();
        rules && rules->calendar() &&
        rules->calendar()->covers_to() < c.clock.Today().AddDays(365)) {
      const Calendar& calendar = *rules->calendar();
      c.out << "rectrack: warning: calendar '" << calendar.name() << "' covers to "
            << calendar.covers_to().ToString()
            << ": after it working days count weekends only; add its bank holidays to its "
               "file in the rules' calendars/"
            << std::endl;
    }
    std::vector<std::string> not_held;
    host->ReadAsIs([&](const Engine& e) { not_held = e.RulesNamingWhatIsNotHeld(); });
    for (const std::string& warning : not_held) {
      c.out << "rectrack: warning: " << warning << std::endl;
    }
    return Status();
  };
  // The thread that reads the log, when the server listens first: it hands the engine over
  // and begins the rest, unless the server is stopping by then; on failure it stops the
  // server, which then says why. (Stopping while it reads waits for it: Engine::Open cannot
  // be cut short.)
  http::Stop stop;
  Status start_failed;  // written before the stop is requested, read once the server stopped
  std::thread starting;
  auto read_the_log = [&](const std::string& where) {
    Status began;
    try {
      Result<std::unique_ptr<Engine>> read = Engine::Open(options);
      if (stop.stopping()) return;
      began = read.status();
      if (read.ok()) {
        engine = std::move(read).value();
        host->Start(engine.get());
        began = begin(where);
      }
    } catch (const std::exception& e) {
      began = Status::IOError(std::string("reading the log failed: ") + e.what());
    }
    if (!began.ok()) {
      start_failed = began;
      if (!host->started()) host->Abandon();
      stop.Request();
    }
  };
  Status served = http::Serve(
      *host, api, serve.server,
      [&](const std::string& where) {
        // Alerts and feeds link to the address actually bound (port 0 picks one) unless
        // public_url says otherwise.
        if (serve.alerting.link_base.empty()) serve.alerting.link_base = "http://" + where;
        api.SetPublicUrl(serve.alerting.link_base);
        if (engine) {
          start_failed = begin(where);
          // Stops the server before it serves: the signal is taken before any request.
          if (!start_failed.ok()) std::raise(SIGTERM);
          return;
        }
        // (Nothing is printed until the log is read: "rectrack serving ..." is the first line,
        // which scripts wait for before they use the server; /readyz says the same.)
        starting = std::thread(read_the_log, where);
      },
      workspace.get(), &stop);
  if (starting.joinable()) starting.join();
  letting_histories_go.reset();
  alerting.reset();
  RETURN_IF_ERROR(start_failed);
  return served;
}

Status RunAlerts(const Context& c) {
  if (!c.rest.empty() && c.rest[0] == "test-email") return RunTestEmail(c);
  if (c.args.Has("to") || c.args.Has("config")) {
    return Status::InvalidArgument("--to and --config are for `alerts test-email`");
  }
  ASSIGN_OR_RETURN(std::string format, Format(c.args, {"table", "json", "csv"}, "table"));
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(c.options));
  return PrintAlerts(*engine, c.args, c.rest, format, c.out);
}

}  // namespace rectrack::cli
