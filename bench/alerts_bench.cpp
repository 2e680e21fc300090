// rectrack alert scheduler benchmark: with N pending milestones (default 1,000,000), how much
// memory each pending alert costs, how long start-up takes to rebuild the queue (against a plain
// `SELECT * FROM events` of the same rows in the same run), how much CPU the scheduler uses
// while nothing is due, and how long after a due instant the alert rows are committed.
//
//   bench/alerts.sh                 # builds (Release) and runs this with the defaults
//   alerts_bench [--n N] [--years Y] [--idle-seconds S] [--latency-days K] [--dir DIR]
//
// What it does, in one process (the data is written by a forked child, so that the memory the
// generation used is not in the measured process):
//  1. generates N recommendations, one milestone each, due on days drawn uniformly from the next
//     Y years, issued by 1,000-recommendation inspections published 60 to 730 days ago, through
//     Engine::Apply in batches of 10,000 into a fresh SQLite file, with a clock standing still at
//     D0 = 2026-01-12T12:00:00Z; then sets the scheduler's watermark to D0, as a server that had
//     raised everything due through D0 would have left it. Not measured. --dir DIR keeps the
//     database in DIR and reuses it when the same N and Y are asked for again;
//  2. times the baseline: the same file opened read-only with sqlite3, `SELECT * FROM events`
//     stepped to the end, every column of every row read (once to warm the page cache, then
//     measured before and after the engine start; the ratio uses the mean of the two);
//  3. times Engine::Open (replaying the log) and Engine::StartAlerts (rebuilding the queue), and
//     the growth of live heap bytes (glibc mallinfo2) and of RSS across StartAlerts, divided by
//     QueuedRecommendations();
//  4. starts the real scheduler (alerts::Alerting::Start over an EngineHost, with the shipped
//     rules/, which have no subscriptions) on a clock running at rate 1 from D0 12:00, and
//     measures the process's CPU time and the threads' context switches over S idle seconds;
//  5. K times: moves the clock to 2 s before the UK start of the next day the queue has work
//     (a ShiftedClock at rate 1), wakes the scheduler as a commit would, and polls the outbox
//     from a second SQLite connection every 0.25 ms: the delay from the due instant to the
//     alert rows being visible (committed) there, and to the scheduler notifying listeners.
// Prints Markdown tables on stdout; progress on stderr.
#include <fcntl.h>
#include <malloc.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "alerts/alerting.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/host.h"

namespace rectrack {
namespace {

namespace chr = std::chrono;
namespace fs = std::filesystem;
using Steady = chr::steady_clock;

constexpr const char* kToday = "2026-01-12";  // D0, a Monday in GMT
constexpr int kBatch = 10000;
constexpr int kPerInspection = 1000;
const std::vector<std::string> kBodies = {"CPS", "SFO", "HMCTS", "NPCC", "HMPPS"};

// Removed by Die as well as at the end: the temporary directory, or this run's copy.
std::vector<std::string> g_remove;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "alerts_bench: " << what << std::endl;
  std::error_code ignored;
  for (const auto& path : g_remove) fs::remove_all(path, ignored);
  std::exit(1);
}

void Say(const std::string& what) { std::cerr << "== " << what << std::endl; }

double Seconds(Steady::duration d) { return chr::duration<double>(d).count(); }
double Ms(Steady::duration d) { return chr::duration<double, std::milli>(d).count(); }

std::string Fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

// 1234567 -> "1,234,567"
std::string Thousands(long long n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// A clock standing still.
class FixedClock : public Clock {
 public:
  explicit FixedClock(TimePoint now) : now_(now) {}
  TimePoint Now() const override { return now_; }

 private:
  TimePoint now_;
};

// The Engine keeps the clock it was opened with; this one forwards to another that the benchmark
// swaps between phases (a still clock, then clocks running at rate 1 from chosen instants).
class SwitchableClock : public Clock {
 public:
  explicit SwitchableClock(const Clock* inner) : inner_(inner) {}
  void Set(const Clock* inner) { inner_.store(inner); }
  TimePoint Now() const override { return inner_.load()->Now(); }
  double Rate() const override { return inner_.load()->Rate(); }

 private:
  std::atomic<const Clock*> inner_;
};

struct Options {
  long long n = 1000000;
  int years = 3;
  int idle_seconds = 10;
  int latency_days = 3;
  std::string dir;  // "" for a temporary directory, removed at the end
  std::string workflow = std::string(RECTRACK_SOURCE_DIR) + "/workflows/recommendation.yaml";
  std::string rules = std::string(RECTRACK_SOURCE_DIR) + "/rules";
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  auto number = [&](int& i, long long lo, long long hi) {
    if (i + 1 >= argc) Die(std::string(argv[i]) + " needs a value");
    char* end = nullptr;
    const long long v = std::strtoll(argv[++i], &end, 10);
    if (!end || *end || v < lo || v > hi) {
      Die(std::string(argv[i - 1]) + " must be a whole number from " + std::to_string(lo) + " to " +
          std::to_string(hi));
    }
    return v;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--n") {
      o.n = number(i, 1, 10000000);
    } else if (a == "--years") {
      o.years = static_cast<int>(number(i, 1, 10));
    } else if (a == "--idle-seconds") {
      o.idle_seconds = static_cast<int>(number(i, 1, 3600));
    } else if (a == "--latency-days") {
      o.latency_days = static_cast<int>(number(i, 0, 30));
    } else if ((a == "--dir" || a == "--workflow" || a == "--rules") && i + 1 < argc) {
      (a == "--dir" ? o.dir : a == "--workflow" ? o.workflow : o.rules) = argv[++i];
    } else {
      std::cerr << "usage: alerts_bench [--n N] [--years 1-10] [--idle-seconds S] "
                   "[--latency-days K] [--dir DIR] [--workflow FILE] [--rules DIR]\n";
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

Date Today() { return *Date::Parse(kToday); }
Clock::TimePoint Noon(Date day) { return UkDayStart(day) + chr::hours(12); }

// --- 1. Generation (in a child process) -----------------------------------------------------

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.message());
}

void Generate(const Options& o, const std::string& db_path) {
  FixedClock clock(Noon(Today()));
  auto opened = Engine::Open({db_path, o.workflow, &clock, true, ""});
  if (!opened.ok()) Die("open " + db_path + ": " + opened.status().message());
  Engine& engine = **opened;
  const Date today = Today();

  std::vector<Command> commands;
  for (const auto& id : kBodies)
    commands.push_back(DefineBody{{
                                      id,
                                      id + " (bench)",
                                      "",
                                  },
                                  ""});
  const long long inspections = (o.n + kPerInspection - 1) / kPerInspection;
  for (long long i = 0; i < inspections; ++i) {
    Inspection in;
    char id[32];
    std::snprintf(id, sizeof id, "insp%05lld", i);
    in.id = id;
    in.title = "Bench inspection " + std::to_string(i + 1);
    in.published = today.AddDays(-60 - static_cast<int>(i * 670 / std::max(1LL, inspections)));
    in.kind = "thematic";
    commands.push_back(DefineInspection{std::move(in), ""});
  }
  auto applied = engine.Apply(commands, "bench");
  Check(applied.status(), "defining bodies and inspections");

  std::mt19937_64 random(1);
  const int span = o.years * 365;
  const auto started = Steady::now();
  for (long long k = 0; k < o.n;) {
    commands.clear();
    for (int b = 0; b < kBatch && k < o.n; ++b, ++k) {
      DefineRecommendation r;
      char id[32];
      std::snprintf(id, sizeof id, "r%07lld", k);
      r.id = id;
      std::snprintf(id, sizeof id, "insp%05lld", k / kPerInspection);
      r.def.inspection = id;
      const std::string& owner = kBodies[k % kBodies.size()];
      r.def.owners = {owner};
      r.def.text = "Recommendation " + r.id + ": the " + owner +
                   " should review how it handles the cases this inspection found wanting, "
                   "agree an action plan with its partners and report progress to the "
                   "inspectorate.";
      const Date due = today.AddDays(1 + static_cast<int>(random() % span));
      r.def.milestones = {{"due", due}};
      r.milestones_given = true;
      commands.push_back(std::move(r));
    }
    auto report = engine.Apply(commands, "bench");
    Check(report.status(), "defining recommendations");
    if (k % 100000 == 0 || k == o.n) {
      std::cerr << "   " << Thousands(k) << " recommendations, "
                << Fmt("%.0f", Seconds(Steady::now() - started)) << " s" << std::endl;
    }
  }
  // The watermark a server that raised everything due through D0 leaves behind.
  Check(engine.alert_store().SetProcessedThrough(today.ToString()), "setting the watermark");
}

// --- Measuring helpers ----------------------------------------------------------------------

long long RssBytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

long long StatusKb(const char* key) {  // e.g. "VmHWM:" from /proc/self/status
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + std::strlen(key));
  }
  return -1;
}

long long HeapBytes() {  // bytes malloc has handed out and not had back
  const struct mallinfo2 m = mallinfo2();
  return static_cast<long long>(m.uordblks + m.hblkhd);
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Context switches (voluntary + involuntary) of each thread of this process, by thread id: a
// thread that sleeps without waking adds none.
std::map<int, long long> ThreadSwitches() {
  std::map<int, long long> out;
  for (const auto& entry : fs::directory_iterator("/proc/self/task")) {
    const int tid = std::atoi(entry.path().filename().c_str());
    std::ifstream status(entry.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        out[tid] += std::atoll(line.c_str() + line.find(':') + 1);
      }
    }
  }
  return out;
}

// The baseline: every row and column of the events table through sqlite3, nothing else.
struct SelectResult {
  long long rows = 0;
  double seconds = 0;
};

SelectResult SelectAll(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Die("sqlite3_open_v2 " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
  }
  const auto started = Steady::now();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT * FROM events", -1, &stmt, nullptr) != SQLITE_OK) {
    Die(std::string("prepare: ") + sqlite3_errmsg(db));
  }
  SelectResult r;
  unsigned long long sum = 0;  // so that no column read can be left out
  const int columns = sqlite3_column_count(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ++r.rows;
    for (int c = 0; c < columns; ++c) {
      if (sqlite3_column_type(stmt, c) == SQLITE_INTEGER) {
        sum += static_cast<unsigned long long>(sqlite3_column_int64(stmt, c));
      } else {
        const unsigned char* text = sqlite3_column_text(stmt, c);
        const int bytes = sqlite3_column_bytes(stmt, c);
        sum += static_cast<unsigned long long>(bytes) + (bytes > 0 ? text[bytes - 1] : 0);
      }
    }
  }
  if (rc != SQLITE_DONE) Die(std::string("step: ") + sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  r.seconds = Seconds(Steady::now() - started);
  sqlite3_close(db);
  if (sum == 42) std::cerr << "";  // keeps `sum` alive
  return r;
}

// A second connection to the outbox, as another process would read it.
class OutboxReader {
 public:
  explicit OutboxReader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      Die("sqlite3_open_v2 " + path);
    }
    sqlite3_busy_timeout(db_, 5000);
    if (sqlite3_prepare_v2(db_, "SELECT coalesce(max(seq), 0) FROM alerts", -1, &max_seq_,
                           nullptr) != SQLITE_OK) {
      Die(std::string("prepare: ") + sqlite3_errmsg(db_));
    }
  }
  ~OutboxReader() {
    sqlite3_finalize(max_seq_);
    sqlite3_close(db_);
  }
  int64_t MaxSeq() {
    sqlite3_reset(max_seq_);
    if (sqlite3_step(max_seq_) != SQLITE_ROW) Die(std::string("poll: ") + sqlite3_errmsg(db_));
    const int64_t v = sqlite3_column_int64(max_seq_, 0);
    sqlite3_reset(max_seq_);
    return v;
  }
  // Of the alerts after `after_seq`: how many, how many due on `day`, how many flagged late.
  std::tuple<long long, long long, long long> Count(int64_t after_seq, Date day) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_,
                       "SELECT count(*), coalesce(sum(due = ?2), 0), coalesce(sum(late), 0) "
                       "FROM alerts WHERE seq > ?1",
                       -1, &s, nullptr);
    sqlite3_bind_int64(s, 1, after_seq);
    const std::string d = day.ToString();
    sqlite3_bind_text(s, 2, d.c_str(), -1, SQLITE_TRANSIENT);
    std::tuple<long long, long long, long long> out{-1, -1, -1};
    if (sqlite3_step(s) == SQLITE_ROW) {
      out = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)};
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* max_seq_ = nullptr;
};

// The latency floor: single-row commits with rectrack's durability settings (WAL,
// synchronous=FULL) into a scratch file on the same disk, in ms each.
std::vector<double> CommitBaseline(const std::string& path, int commits) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Die("sqlite3_open_v2 " + path);
  }
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      Die(std::string(sql) + ": " + sqlite3_errmsg(db));
    }
  };
  exec("PRAGMA journal_mode = WAL");
  exec("PRAGMA synchronous = FULL");
  exec("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  std::vector<double> out;
  for (int i = 0; i < commits; ++i) {
    const auto started = Steady::now();
    exec("BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('one alert row, more or less'); COMMIT");
    out.push_back(Ms(Steady::now() - started));
  }
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
  return out;
}

struct LatencyRow {
  Date day;
  long long alerts = 0, due_that_day = 0, late = 0;
  double committed_ms = -1;  // due instant -> rows visible to another connection
  double notified_ms = -1;   // due instant -> the scheduler called the Api's listeners
  bool staged = false;       // the day's alerts were prepared 200 ms before the due instant
};

std::string Median(std::vector<double> v, const char* format) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return Fmt(format, n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

int Run(const Options& o) {
  const std::string load_start = LoadAverage();
  // --- Where the database lives, and generating it if needed --------------------------------
  std::string dir = o.dir;
  bool remove_dir = false;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "rectrack-alerts-bench.XXXXXX").string();
    if (!mkdtemp(pattern.data())) Die("mkdtemp failed");
    dir = pattern;
    remove_dir = true;
    g_remove.push_back(dir);
  }
  fs::create_directories(dir);
  const std::string name = "alerts-" + std::to_string(o.n) + "-" + std::to_string(o.years) + "y";
  const std::string pristine = (fs::path(dir) / (name + ".db")).string();
  const fs::path done_marker = fs::path(dir) / (name + ".done");
  double generate_seconds = -1;
  if (fs::exists(done_marker)) {
    Say("Reusing " + pristine);
  } else {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(pristine + suffix);
    Say("Generating " + Thousands(o.n) + " recommendations into " + pristine + " (not measured)");
    const auto started = Steady::now();
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child < 0) Die("fork failed");
    if (child == 0) {
      Generate(o, pristine);
      std::fflush(nullptr);
      _exit(0);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      Die("generation failed");
    }
    generate_seconds = Seconds(Steady::now() - started);
    // The engine's last connection checkpointed the log into the file and removed the WAL.
    if (fs::exists(pristine + "-wal")) Die(pristine + "-wal was left behind");
    std::ofstream(done_marker) << "ok\n";
  }
  // Raising alerts changes the outbox and the watermark: every run works on a copy, so a kept
  // database starts each run as generated.
  const std::string db_path =
      (fs::path(dir) / ("run-" + std::to_string(getpid()) + ".db")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) g_remove.push_back(db_path + suffix);
  Say("Copying it to " + db_path);
  fs::copy_file(pristine, db_path, fs::copy_options::overwrite_existing);
  // Flushed now: otherwise the writeback of the copy's 650 MB lands in the first measurement
  // (an fsync of the database file, by a checkpoint, waits for all of it).
  if (int fd = ::open(db_path.c_str(), O_RDONLY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  const long long db_bytes = static_cast<long long>(fs::file_size(db_path));

  // --- 2. Baseline, first half ----------------------------------------------------------------
  Say("SELECT * FROM events: once to warm the page cache, once measured");
  const SelectResult warm = SelectAll(db_path);
  const SelectResult select_before = SelectAll(db_path);

  // --- 3. Open and StartAlerts ----------------------------------------------------------------
  const Date today = Today();
  FixedClock still(Noon(today));
  SwitchableClock clock(&still);
  const long long rss_start = RssBytes();
  Say("Engine::Open (replay)");
  auto started = Steady::now();
  auto opened = Engine::Open({db_path, o.workflow, &clock, false, o.rules});
  const double open_s = Seconds(Steady::now() - started);
  if (!opened.ok()) Die("Engine::Open: " + opened.status().message());
  std::unique_ptr<Engine> engine = std::move(opened).value();
  // Replay frees what it read from SQLite; hand that back so RSS shows what stays.
  malloc_trim(0);
  const long long rss_open = RssBytes();
  const long long events = engine->last_seq();

  Say("Engine::StartAlerts (queue rebuild)");
  const long long heap_before = HeapBytes(), rss_before = RssBytes();
  started = Steady::now();
  Check(engine->StartAlerts({"http://127.0.0.1:8080"}), "StartAlerts");
  const double start_s = Seconds(Steady::now() - started);
  const long long heap_after = HeapBytes();
  malloc_trim(0);  // what StartAlerts freed (its working memory) does not count
  const long long rss_after = RssBytes();
  const size_t queued = engine->QueuedRecommendations();
  const std::optional<Date> first_day = engine->NextAlertDay();
  if (queued == 0 || !first_day) Die("nothing was queued");

  Say("SELECT * FROM events again");
  const SelectResult select_after = SelectAll(db_path);
  if (select_before.rows != events || select_after.rows != events) {
    Die("SELECT saw " + std::to_string(select_before.rows) + " rows, the engine " +
        std::to_string(events));
  }
  const double select_s = (select_before.seconds + select_after.seconds) / 2;

  // --- 4. The real scheduler, idle ------------------------------------------------------------
  std::deque<std::unique_ptr<Clock>> clocks;  // every clock the engine has seen stays alive
  clocks.push_back(std::make_unique<ShiftedClock>(Noon(today), 1.0));
  clock.Set(clocks.back().get());
  EngineHost host(engine.get());
  std::mutex notified_mutex;
  std::optional<Steady::time_point> notified;
  bool armed = false;
  const int listener = host.Subscribe([&] {
    const auto now = Steady::now();
    std::lock_guard<std::mutex> lock(notified_mutex);
    if (armed && !notified) notified = now;
  });
  alerts::AlertingOptions alerting_options;
  alerting_options.db_path = db_path;
  alerting_options.link_base = "http://127.0.0.1:8080";
  Say("alerts::Alerting::Start (StartAlerts again, then the scheduler and dispatcher threads)");
  started = Steady::now();
  auto alerting = alerts::Alerting::Start(host, alerting_options);
  const double alerting_start_s = Seconds(Steady::now() - started);
  if (!alerting.ok()) Die("Alerting::Start: " + alerting.status().message());

  std::this_thread::sleep_for(chr::seconds(1));  // the threads' first passes
  Say("Idle for " + std::to_string(o.idle_seconds) + " s (next alert day " + first_day->ToString() +
      ")");
  const int main_tid = static_cast<int>(gettid());
  const auto threads_before = ThreadSwitches();
  const double cpu_before = CpuSeconds();
  const auto idle_started = Steady::now();
  std::this_thread::sleep_for(chr::seconds(o.idle_seconds));
  const double idle_wall = Seconds(Steady::now() - idle_started);
  const double idle_cpu = CpuSeconds() - cpu_before;
  const auto threads_after = ThreadSwitches();
  long long idle_switches = 0;
  for (const auto& [tid, after] : threads_after) {
    if (tid == main_tid) continue;
    auto it = threads_before.find(tid);
    idle_switches += after - (it == threads_before.end() ? 0 : it->second);
  }
  const size_t other_threads = threads_after.size() - 1;

  // --- 5. Latency from a due instant to the committed rows ------------------------------------
  OutboxReader reader(db_path);
  std::vector<LatencyRow> latency;
  const auto lead = chr::seconds(2);
  for (int i = 0; i < o.latency_days; ++i) {
    std::optional<Date> next;
    (void)host.Update([&](Engine& e) { next = e.NextAlertDay(); });
    if (!next) break;
    LatencyRow row;
    row.day = *next;
    const int64_t before = reader.MaxSeq();
    {
      std::lock_guard<std::mutex> lock(notified_mutex);
      armed = false;
      notified.reset();
    }
    const auto t0 = Steady::now();
    clocks.push_back(std::make_unique<ShiftedClock>(UkDayStart(*next) - lead, 1.0));
    const auto t1 = Steady::now();
    const Steady::time_point due = t0 + (t1 - t0) / 2 + lead;  // the clock's real start, +-ns
    clock.Set(clocks.back().get());
    host.Notify();  // wakes the scheduler, as a commit would: it sleeps until `due` now
    {
      std::lock_guard<std::mutex> lock(notified_mutex);
      armed = true;
    }
    Say("Latency " + std::to_string(i + 1) + "/" + std::to_string(o.latency_days) +
        ": alerts due " + next->ToString() + " (UK midnight), 2 s from now");
    std::this_thread::sleep_until(due - chr::milliseconds(200));
    (void)host.Update([&](Engine& e) { row.staged = e.staged_day() == row.day; });
    std::optional<Steady::time_point> seen;
    while (Steady::now() < due + chr::seconds(60)) {
      if (reader.MaxSeq() > before) {
        seen = Steady::now();
        break;
      }
      std::this_thread::sleep_for(chr::microseconds(250));
    }
    if (!seen) Die("no alert was committed within 60 s of " + next->ToString());
    row.committed_ms = Ms(*seen - due);
    for (int wait = 0; wait < 60000; ++wait) {
      {
        std::lock_guard<std::mutex> lock(notified_mutex);
        if (notified) break;
      }
      std::this_thread::sleep_for(chr::milliseconds(1));
    }
    {
      std::lock_guard<std::mutex> lock(notified_mutex);
      if (notified) row.notified_ms = Ms(*notified - due);
    }
    std::this_thread::sleep_for(chr::milliseconds(100));
    std::tie(row.alerts, row.due_that_day, row.late) = reader.Count(before, *next);
    latency.push_back(row);
  }
  alerting->reset();  // stops the threads
  std::vector<double> commits;
  if (!latency.empty()) {
    Say("Single-row commits into a scratch file (the latency floor)");
    commits = CommitBaseline(
        (fs::path(dir) / ("commits-" + std::to_string(getpid()) + ".db")).string(), 50);
  }
  host.Unsubscribe(listener);
  const long long hwm_kb = StatusKb("VmHWM:");
  engine.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db_path + suffix);
  if (remove_dir) fs::remove_all(dir);

  // --- The tables -----------------------------------------------------------------------------
  const double per_alert_heap = static_cast<double>(heap_after - heap_before) / queued;
  const double per_alert_rss = static_cast<double>(rss_after - rss_before) / queued;
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%MZ", std::gmtime(&now));
  std::cout << "## rectrack alert scheduler benchmark, " << when << "\n\n"
            << "Data: " << Thousands(o.n) << " recommendations (" << Thousands(events)
            << " events, database " << Fmt("%.0f", db_bytes / 1e6)
            << " MB), one milestone each, due dates uniform over the " << o.years << " years after "
            << kToday << "; the watermark at " << kToday
            << ", so each has exactly one pending alert; rules/ as shipped (no subscriptions, "
               "so no deliveries). "
            << std::thread::hardware_concurrency() << " CPUs, load average " << load_start
            << " at the start, " << LoadAverage() << " at the end; SQLite " << sqlite3_libversion()
            << ".";
  if (generate_seconds >= 0) {
    std::cout << " Generating it through Engine::Apply took " << Fmt("%.0f", generate_seconds)
              << " s (not measured below).";
  }
  std::cout << "\n\n**Start-up** (baseline: `SELECT * FROM events` with sqlite3, every column of "
               "every row; "
            << Fmt("%.2f", warm.seconds) << " s on the first, page-cache-warming run, then "
            << Fmt("%.2f", select_before.seconds) << " s before and "
            << Fmt("%.2f", select_after.seconds) << " s after the engine start: mean "
            << Fmt("%.2f", select_s) << " s)\n\n"
            << "| step | time | ratio to the SELECT |\n|---|---:|---:|\n"
            << "| Engine::Open (replay of " << Thousands(events) << " events) | "
            << Fmt("%.2f", open_s) << " s | " << Fmt("%.1f", open_s / select_s) << " |\n"
            << "| Engine::StartAlerts (queue of " << Thousands(static_cast<long long>(queued))
            << ") | " << Fmt("%.2f", start_s) << " s | " << Fmt("%.2f", start_s / select_s)
            << " |\n"
            << "| Open + StartAlerts | " << Fmt("%.2f", open_s + start_s) << " s | "
            << Fmt("%.1f", (open_s + start_s) / select_s) << " |\n"
            << "| alerts::Alerting::Start (StartAlerts again, threads) | "
            << Fmt("%.2f", alerting_start_s) << " s | " << Fmt("%.2f", alerting_start_s / select_s)
            << " |\n\n";
  std::cout << "**Memory**\n\n| what | value |\n|---|---:|\n"
            << "| live heap growth across StartAlerts / queued (mallinfo2) | "
            << Fmt("%.0f", per_alert_heap) << " bytes per pending alert |\n"
            << "| RSS growth across StartAlerts / queued (malloc_trim before and after) | "
            << Fmt("%.0f", per_alert_rss) << " bytes per pending alert |\n"
            << "| RSS growth across Open / recommendations (the replayed log; malloc_trim after) | "
            << Fmt("%.0f", static_cast<double>(rss_open - rss_start) / o.n)
            << " bytes per recommendation |\n"
            << "| peak RSS of the process (VmHWM) | " << Fmt("%.0f", hwm_kb / 1024.0)
            << " MiB |\n\n";
  std::cout
      << "**Idle** (alerts::Alerting running at clock rate 1 from " << kToday
      << " 12:00; the next alert day, " << first_day->ToString() << ", begins "
      << Fmt("%.0f",
             chr::duration<double, std::ratio<3600>>(UkDayStart(*first_day) - Noon(today)).count())
      << " hours later)\n\n"
      << "| window | process CPU | of one core | context switches of the other " << other_threads
      << " threads |\n|---:|---:|---:|---:|\n"
      << "| " << Fmt("%.1f", idle_wall) << " s | " << Fmt("%.2f", idle_cpu * 1000) << " ms | "
      << Fmt("%.3f", 100 * idle_cpu / idle_wall) << " % | " << idle_switches << " |\n\n";
  std::cout << "**Latency** from the due instant (UK midnight, clock rate 1) to the alert rows "
               "being committed: polled from a second SQLite connection every 0.25 ms; "
               "\"notified\" is when the scheduler called the Api's listeners (after the commit "
               "and reading the new rows back). \"prepared\": the scheduler had staged the day's "
               "alerts (Engine::StageAlerts) 200 ms before the due instant. Target: under 50 "
               "ms.\n\n"
            << "| due day | alerts raised | of them due that day | late | prepared | due → "
               "committed | due → notified | met |\n|---|---:|---:|---:|---|---:|---:|---|\n";
  std::vector<double> committed;
  for (const auto& r : latency) {
    committed.push_back(r.committed_ms);
    std::cout << "| " << r.day.ToString() << " | " << Thousands(r.alerts) << " | "
              << Thousands(r.due_that_day) << " | " << r.late << " | " << (r.staged ? "yes" : "no")
              << " | " << Fmt("%.1f", r.committed_ms) << " ms | "
              << (r.notified_ms < 0 ? std::string("-") : Fmt("%.1f", r.notified_ms) + " ms")
              << " | " << (r.committed_ms < 50 ? "yes" : "**no**") << " |\n";
  }
  if (!latency.empty()) {
    std::cout << "\nMedian due → committed: " << Median(committed, "%.1f")
              << " ms. Floor on this disk at the end of the run: a single-row commit (WAL, "
                 "synchronous=FULL, scratch file) took "
              << Median(commits, "%.1f") << " ms median, "
              << Fmt("%.1f", *std::max_element(commits.begin(), commits.end()))
              << " ms at most, of " << commits.size() << ".\n";
  }
  return 0;
}

}  // namespace
}  // namespace rectrack

int main(int argc, char** argv) { return rectrack::Run(rectrack::ParseArgs(argc, argv)); }
