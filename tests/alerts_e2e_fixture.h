// The alerting end-to-end tests' fixture: `rectrack serve` as a child process on a small import
// (two CPS recommendations and one of the SFO, overdue by the bundled rules on 10 April 2025),
// with the CLI to import, mint tokens and read the outbox back (`rectrack alerts`), and the
// receivers of alerts_e2e_receivers.h. Every server is killed in TearDown. Header-only, for
// tests/alerts_e2e_*.cpp.
#pragma once

#include "tests/alerts_e2e_receivers.h"

namespace {

// A Standard Webhooks secret: the key is the base64 after whsec_, decoded.
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Two CPS recommendations and one of the SFO, each updated (so no response_due alert). By the
// bundled rules, on 2025-04-10 r1 is overdue since 1 April, r2 since 1 March (repeated 31
// March), s1 since 1 April.
constexpr const char* kData =
    R"(bodies: [{id: CPS, name: Crown Prosecution Service}, {id: SFO, name: Serious Fraud Office}]
inspections: [{id: i1, title: Casework, published: 2025-01-06}]
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "By 31 March 2025, the CPS to do one thing."}
  - {id: r2, inspection: i1, owners: [CPS], text: "By 28 February 2025, the CPS to do a second thing."}
  - {id: s1, inspection: i1, owners: [SFO], text: "By 31 March 2025, the SFO to do another."}
events:
  - {rec: r1, do: update, effective: 2025-01-20, by: CPS, note: started}
  - {rec: r2, do: update, effective: 2025-01-20, by: CPS, note: started}
  - {rec: s1, do: update, effective: 2025-01-20, by: SFO, note: started}
)";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string Str(const json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

bool Contains(const json::value& list, const std::string& item) {
  if (!list.is_array()) return false;
  for (const auto& v : list.as_array()) {
    if (v.is_string() && v.as_string() == item) return true;
  }
  return false;
}

class AlertsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("alerts_e2e_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
    rules_ = (dir_ / "rules").string();
    db_ = (dir_ / "rectrack.db").string();
    const fs::path source = fs::path(RECTRACK_SOURCE_DIR) / "rules";
    fs::copy_file(source / "alerts.yaml", dir_ / "rules" / "alerts.yaml");
    fs::copy(source / "calendars", dir_ / "rules" / "calendars", fs::copy_options::recursive);
    WriteFile(dir_ / "data.yaml", kData);
  }

  void TearDown() override {
    Stop(SIGKILL);
    fs::remove_all(dir_);
  }

  // Imports kData with the CLI's clock at `clock`, and mints an inspectorate token.
  void Import(const std::string& clock = "2025-04-10") {
    const std::string out = Cli("--clock " + clock + " import " + (dir_ / "data.yaml").string());
    ASSERT_NE(out.find("imported 1 file"), std::string::npos) << out;
    inspectorate_ = FirstLine(Cli("token create --role inspectorate"));
    ASSERT_EQ(inspectorate_.rfind("rt_", 0), 0u) << inspectorate_;
  }

  void WriteSubscriptions(const std::string& entries) {
    WriteFile(dir_ / "rules" / "subscriptions.yaml", "subscriptions:\n" + entries);
  }
  static std::string WebhookSubscription(const std::string& id, const std::string& url) {
    return "  - {id: " + id + ", body: CPS, webhook: \"" + url + "\", secret: \"" + kSecret +
           "\"}\n";
  }

  // `rectrack --db DB --rules RULES ARGS`, stdout and stderr.
  std::string Cli(const std::string& args) {
    std::string out;
    const std::string command =
        std::string(RECTRACK_BINARY) + " --db " + db_ + " --rules " + rules_ + " " + args + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    ::pclose(pipe);
    return out;
  }

  // The outbox as `rectrack alerts --format json` prints it: alert id -> payload.
  std::map<std::string, json::object> Outbox() {
    std::map<std::string, json::object> out;
    const std::string text = Cli("alerts --format json");
    boost::system::error_code ec;
    json::value doc = json::parse(text, ec);
    EXPECT_FALSE(ec) << text;
    if (ec || !doc.is_array()) return out;
    for (const auto& payload : doc.as_array()) {
      if (!payload.is_object() || !payload.as_object().contains("data")) continue;
      out[Str(payload.at("data").as_object(), "id")] = payload.as_object();
    }
    return out;
  }

  // The state of alert `id` in the first line of `rectrack alerts ID` ("" if unreadable).
  std::string StateOf(const std::string& id) {
    const std::string line = FirstLine(Cli("alerts " + id));
    const size_t comma = line.rfind(", ");
    return comma == std::string::npos ? "" : line.substr(comma + 2);
  }
  // Waits (at most `timeout`) until alert `id` is in `state`; returns `rectrack alerts ID`.
  std::string WaitForState(const std::string& id, const std::string& state,
                           std::chrono::milliseconds timeout = 5s) {
    const auto end = SteadyClock::now() + timeout;
    while (StateOf(id) != state && SteadyClock::now() < end) std::this_thread::sleep_for(100ms);
    return Cli("alerts " + id);
  }

  // Starts `rectrack serve --listen 127.0.0.1:0 FLAGS` with RECTRACK_WEBHOOK_ALLOW=127.0.0.1,
  // RECTRACK_WEBHOOK_TIMEOUT_SECONDS=2 and `env` on top ("" unsets); RECTRACK_* settings of the
  // test's own environment are dropped. Waits for the "serving ... on http://ADDR" line.
  void Start(const std::vector<std::string>& flags, std::map<std::string, std::string> env = {}) {
    Spawn(flags, std::move(env));
    const auto end = SteadyClock::now() + 20s;
    std::string log;
    while (SteadyClock::now() < end) {
      log = ReadFile(log_);
      const size_t at = log.find("rectrack serving ");
      if (at != std::string::npos && log.find('\n', at) != std::string::npos) {
        const size_t url = log.find(" on http://", at);
        ASSERT_NE(url, std::string::npos) << log;
        const std::string where = log.substr(url + 11, log.find(' ', url + 11) - url - 11);
        port_ = std::atoi(where.c_str() + where.rfind(':') + 1);
        ASSERT_GT(port_, 0) << log;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        FAIL() << "rectrack serve exited: " << log;
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "rectrack serve did not start within 20 s: " << log;
  }

  // Runs serve expecting it to refuse to start: its exit status (-1 if it served or hung) and
  // what it printed.
  std::pair<int, std::string> StartExpectingFailure(const std::vector<std::string>& flags,
                                                    std::map<std::string, std::string> env) {
    Spawn(flags, std::move(env));
    const auto end = SteadyClock::now() + 15s;
    while (SteadyClock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(log_)};
      }
      if (ReadFile(log_).find("rectrack serving") != std::string::npos) break;
      std::this_thread::sleep_for(20ms);
    }
    Stop(SIGKILL);
    return {-1, ReadFile(log_)};
  }

  // Sends `signal` (SIGKILL: at once; otherwise SIGKILL after 10 s) and reaps the server.
  void Stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    const auto end = SteadyClock::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (SteadyClock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = 0;
  }

  std::string ServeLog() { return log_.empty() ? "" : ReadFile(log_); }

  fs::path dir_;
  std::string rules_, db_, inspectorate_;
  pid_t pid_ = 0;
  int port_ = 0;

 private:
  void Spawn(const std::vector<std::string>& flags, std::map<std::string, std::string> env) {
    env.emplace("RECTRACK_WEBHOOK_ALLOW", "127.0.0.1");
    env.emplace("RECTRACK_WEBHOOK_TIMEOUT_SECONDS", "2");
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      if (entry.rfind("RECTRACK_", 0) == 0 && entry.rfind("RECTRACK_DATA_DIR=", 0) != 0) continue;
      env_strings.push_back(entry);
    }
    for (const auto& [name, value] : env) {
      if (!value.empty()) env_strings.push_back(name + "=" + value);
    }
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {RECTRACK_BINARY, "--db",  db_,        "--rules",
                                     rules_,          "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    log_ = (dir_ / ("serve" + std::to_string(++starts_) + ".log")).string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int spawned =
        posix_spawn(&pid_, RECTRACK_BINARY, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) pid_ = 0;
    ASSERT_EQ(spawned, 0);
  }

  std::string log_;
  int starts_ = 0;
};

// The alerts of the outbox `outbox` whose audience includes `body`.
std::set<std::string> AlertsFor(const std::map<std::string, json::object>& outbox,
                                const std::string& body) {
  std::set<std::string> ids;
  for (const auto& [id, payload] : outbox) {
    if (Contains(payload.at("data").as_object().at("audience"), body)) ids.insert(id);
  }
  return ids;
}

inline int CountIn(const std::vector<Hook>& hooks, const std::string& id) {
  return static_cast<int>(
      std::count_if(hooks.begin(), hooks.end(), [&](const Hook& h) { return h.id == id; }));
}

inline bool HasAll(const std::vector<Hook>& hooks, const std::set<std::string>& ids) {
  std::set<std::string> got;
  for (const auto& h : hooks) got.insert(h.id);
  return std::includes(got.begin(), got.end(), ids.begin(), ids.end());
}

}  // namespace
