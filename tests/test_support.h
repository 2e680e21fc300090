// What many tests share: a clock that stands still, and running the rectrack binary as a user
// would.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/clock.h"
#include "storage/database.h"

// Skips the test when `missing` (why a tool it needs cannot run here) is not empty; fails it
// instead under RECTRACK_REQUIRE_TOOLS=1, which `make test` sets because it installs every tool
// first, so a check that cannot run is never passed over in silence there.
#define RECTRACK_SKIP_IF_MISSING(missing)                                                   \
  do {                                                                                      \
    if (const std::string why = (missing); !why.empty()) {                                  \
      if (const char* required = std::getenv("RECTRACK_REQUIRE_TOOLS");                     \
          required && std::string(required) == "1") {                                       \
        FAIL() << why << " (RECTRACK_REQUIRE_TOOLS=1: deploy/install-deps.sh installs it)"; \
      }                                                                                     \
      GTEST_SKIP() << why;                                                                  \
    }                                                                                       \
  } while (0)

namespace rectrack {

// Always `instant` ("2025-03-31T09:00:00Z").
class FixedClock : public Clock {
 public:
  explicit FixedClock(const char* instant) : now_(*ParseInstant(instant)) {}
  TimePoint Now() const override { return now_; }

 private:
  TimePoint now_;
};

// Takes the rows of item `id` but its first out of the item index of the database at `db`,
// behind every engine's back: a history let go can no longer be read back whole.
inline Status DamageHistoryOf(const std::string& db, const std::string& id) {
  ASSIGN_OR_RETURN(auto raw, storage::Database::Open(db, storage::Database::OpenMode::kExisting));
  ASSIGN_OR_RETURN(storage::Statement stmt,
                   raw->Prepare("DELETE FROM item_events WHERE item = ?1 AND seq <> "
                                "(SELECT min(seq) FROM item_events WHERE item = ?1)"));
  stmt.Bind(1, id);
  return stmt.Step().status();
}

struct CliRun {
  int status;       // the exit status; -1 when it did not exit normally
  std::string out;  // stdout and stderr together
};

#ifdef RECTRACK_BINARY
// Runs `command` through /bin/sh, standard error joined to its output.
inline CliRun Shell(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  CliRun run{-1, ""};
  if (!pipe) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// Runs the rectrack binary with `args`, shell-quoted by the caller where needed.
inline CliRun Rectrack(const std::string& args) {
  return Shell(std::string(RECTRACK_BINARY) + " " + args);
}

// A database file of one test's own with the domestic-abuse demo imported, removed after it;
// base() is the --db option to put before a command.
class DemoDatabase {
 public:
  explicit DemoDatabase(const std::string& name)
      : path_(std::filesystem::path(::testing::TempDir()) /
              ("cli_" + name + "_" + std::to_string(::getpid()) + ".db")) {
    std::filesystem::remove(path_);
    imported_ = Rectrack(base() + "import " + RECTRACK_SOURCE_DIR + "/demo/domestic-abuse.yaml");
  }
  ~DemoDatabase() { std::filesystem::remove(path_); }
  DemoDatabase(const DemoDatabase&) = delete;
  DemoDatabase& operator=(const DemoDatabase&) = delete;
  std::string path() const { return path_.string(); }
  std::string base() const { return "--db " + path() + " "; }
  const CliRun& imported() const { return imported_; }

 private:
  std::filesystem::path path_;
  CliRun imported_;
};
#endif

}  // namespace rectrack
