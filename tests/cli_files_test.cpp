// The command line and the files around it: output that cannot be written, a database write
// the system refuses, a backup, and a database read by a user who may not write it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace rectrack {
namespace {

// What a command prints that cannot be written (a full disk: /dev/full) is a failure, said, not
// exit 0 with the output lost: a report cut short must not pass for a whole one.
TEST(CliFilesTest, OutputThatCannotBeWrittenIsAFailureSaidOnStandardError) {
  const DemoDatabase demo("full");
  ASSERT_EQ(demo.imported().status, 0) << demo.imported().out;
  const std::string base = std::string(RECTRACK_BINARY) + " " + demo.base();
  for (const char* command : {"list", "show da23-r2", "report annex --body CPS"}) {
    // Standard error to the pipe, standard output to the full device.
    FILE* pipe = ::popen((base + command + " 2>&1 >/dev/full").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string said;
    std::array<char, 4096> buf;
    for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;)
      said.append(buf.data(), n);
    const int status = ::pclose(pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << command << ": " << status;
    EXPECT_EQ(said, "rectrack: error: cannot write standard output: No space left on device\n")
        << command;
  }
}

// A write the system refuses (here this process's file-size limit, as a full disk would) is said
// with what explains it, not as a bare "disk I/O error"; and nothing is half-written: the same
// import, without the limit, goes through and verifies.
TEST(CliFilesTest, AWriteTheSystemRefusesSaysWhy) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("cli_fsize_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string import = std::string(RECTRACK_BINARY) + " --db " + (dir / "r.db").string() +
                             " import " + RECTRACK_SOURCE_DIR + "/demo/domestic-abuse.yaml";
  // SIGXFSZ ignored, so that a write past the limit fails with EFBIG rather than killing.
  // Where the limit stops it depends on which file SQLite grows first; either way, the message
  // says what explains it, and nothing is written.
  for (const char* blocks : {"1", "200"}) {
    fs::remove_all(dir / "r.db");
    const CliRun run =
        Shell("(trap '' XFSZ; ulimit -f " + std::string(blocks) + "; " + import + ")");
    EXPECT_EQ(run.status, 1) << run.out;
    EXPECT_NE(run.out.find("ulimit -f"), std::string::npos) << blocks << ": " << run.out;
    EXPECT_EQ(run.out.find("imported"), std::string::npos) << blocks << ": " << run.out;
  }
  ASSERT_EQ(Rectrack("--db " + (dir / "r.db").string() + " import " + RECTRACK_SOURCE_DIR +
                     "/demo/domestic-abuse.yaml")
                .status,
            0);
  const CliRun verified = Rectrack("--db " + (dir / "r.db").string() + " verify");
  EXPECT_EQ(verified.status, 0) << verified.out;
  fs::remove_all(dir);
}

// A backup is one file, verified before it takes its name, that opens where its reader may not
// write: every reading command answers from it as a user who may write neither it nor its
// directory (as root, the test runs them as nobody), as they answer from the database itself,
// and leaves nothing beside it. A write is refused there, saying why.
TEST(CliFilesTest, ABackupIsReadByAUserWhoMayNotWriteIt) {
  namespace fs = std::filesystem;
  const DemoDatabase demo("readonly");
  ASSERT_EQ(demo.imported().status, 0) << demo.imported().out;
  const fs::path dir = fs::path(::testing::TempDir()) / ("cli_ro_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path backup = dir / "bk";
  const CliRun made = Rectrack(demo.base() + "backup " + backup.string());
  ASSERT_EQ(made.status, 0) << made.out;
  const fs::path copy = backup / fs::path(demo.path()).filename();
  auto beside = [&] {
    std::string names;
    for (const auto& entry : fs::directory_iterator(backup)) {
      names += entry.path().filename().string() + " ";
    }
    return names;
  };
  EXPECT_EQ(beside(), copy.filename().string() + " ");
  // Bytes 18 and 19 of the header: 1 for a rollback journal, 2 for WAL. Read by a user who may
  // write it (the one who made it), it stays so: reading changes nothing of it.
  auto rollback_journal = [&] {
    std::ifstream header(copy, std::ios::binary);
    std::array<char, 20> bytes{};
    header.read(bytes.data(), bytes.size());
    return bytes[18] == 1 && bytes[19] == 1;
  };
  EXPECT_TRUE(rollback_journal());
  const fs::path again = dir / "again";
  for (const std::string& command :
       std::vector<std::string>{"verify", "list", "show da23-r2", "token list", "user list",
                                "backup " + again.string()}) {
    const CliRun run = Rectrack("--db " + copy.string() + " " + command);
    EXPECT_EQ(run.status, 0) << command << ": " << run.out;
  }
  EXPECT_TRUE(fs::exists(again / copy.filename()));
  EXPECT_TRUE(rollback_journal());
  EXPECT_EQ(beside(), copy.filename().string() + " ");

  std::string as_reader;
  if (::geteuid() == 0) {
    as_reader = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    const CliRun can = Shell(as_reader + RECTRACK_BINARY + " workflow");
    RECTRACK_SKIP_IF_MISSING(can.status == 0 ? ""
                                             : "cannot run the binary as nobody (setpriv, or a "
                                               "directory nobody may not enter): " +
                                                   can.out);
  }
  fs::permissions(copy, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(backup, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  const std::string on_copy = " --db " + copy.string() + " --clock 2025-06-01 ";
  for (const char* command :
       {"show da23-r2", "list --limit 3", "list", "report annex --body CPS --as-of 2025-03-31",
        "actions", "units", "alerts", "rules da23-r2", "user list"}) {
    const CliRun original = Rectrack(demo.base() + " --clock 2025-06-01 " + command);
    const CliRun read = Shell(as_reader + RECTRACK_BINARY + on_copy + command);
    EXPECT_EQ(read.status, 0) << command << ": " << read.out;
    EXPECT_EQ(read.out, original.out) << command;
  }
  const CliRun verified = Shell(as_reader + RECTRACK_BINARY + on_copy + "verify");
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_NE(verified.out.find("hash chain intact"), std::string::npos) << verified.out;
  const CliRun write =
      Shell(as_reader + RECTRACK_BINARY + on_copy + "record da23-r2 update --note n");
  EXPECT_EQ(write.status, 1) << write.out;
  EXPECT_NE(write.out.find("readonly"), std::string::npos) << write.out;
  EXPECT_EQ(beside(), copy.filename().string() + " ");
  fs::permissions(backup, fs::perms::owner_all);
  fs::remove_all(dir);
}

// Read as another user who may not write it, a database in WAL mode that no one has open (no
// -shm beside it) is refused: SQLite would leave a -shm owned by that user, and its owner could
// no longer write it. Nothing is left beside it, and its owner goes on writing. An empty file is
// no database: a reading command says so and leaves it empty.
TEST(CliFilesTest, AReaderLeavesNothingThatStopsTheOwnerWriting) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("cli_owner_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path empty = dir / "empty.db";
  std::ofstream(empty.string()).close();
  const CliRun none = Rectrack("--db " + empty.string() + " list");
  EXPECT_EQ(none.status, 1) << none.out;
  EXPECT_NE(none.out.find("is an empty file, not a database"), std::string::npos) << none.out;
  EXPECT_EQ(fs::file_size(empty), 0u);
  fs::remove(empty);
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to read as another user";
  const std::string live = (dir / "live.db").string();
  ASSERT_EQ(
      Rectrack("--db " + live + " import " + RECTRACK_SOURCE_DIR + "/demo/domestic-abuse.yaml")
          .status,
      0);
  fs::permissions(dir, fs::perms::all);  // anyone may make files here
  const CliRun read = Shell("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                            std::string(RECTRACK_BINARY) + " --db " + live + " list");
  RECTRACK_SKIP_IF_MISSING(read.out.find("setpriv") != std::string::npos ? read.out : "");
  EXPECT_EQ(read.status, 1) << read.out;
  EXPECT_NE(read.out.find("would leave one, owned by this user, that would stop its owner "
                          "writing it"),
            std::string::npos)
      << read.out;
  std::string beside;
  for (const auto& entry : fs::directory_iterator(dir)) {
    beside += entry.path().filename().string() + " ";
  }
  EXPECT_EQ(beside, "live.db ");
  const CliRun written = Rectrack("--db " + live + " record da23-r2 update --note still");
  EXPECT_EQ(written.status, 0) << written.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rectrack
