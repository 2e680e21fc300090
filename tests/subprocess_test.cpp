// RunProgram (common/subprocess.h) with real programs: what goes in comes out, and a program that
// hangs, floods or cannot start ends with a clear error and leaves nothing running.
#include "common/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace rectrack {
namespace {

using std::chrono::milliseconds;

ProgramLimits Limits(int timeout_ms, size_t max_output = 64 << 20) {
  ProgramLimits limits;
  limits.timeout = milliseconds(timeout_ms);
  limits.max_output_bytes = max_output;
  return limits;
}

TEST(SubprocessTest, WhatGoesInComesOutWhole) {
  // Larger than a pipe's buffer both ways, so writing and reading must interleave.
  std::string input;
  for (int i = 0; input.size() < 5'000'000; ++i) input += "line " + std::to_string(i) + "\n";
  auto run = RunProgram({"cat"}, input, Limits(20'000));
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(run->out, input);
  EXPECT_EQ(run->err, "");
}

TEST(SubprocessTest, ExitCodeAndStandardErrorComeBack) {
  auto run = RunProgram({"sh", "-c", "echo out; echo 'it broke' >&2; exit 3"}, "", Limits(10'000));
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->exit_code, 3);
  EXPECT_EQ(run->out, "out\n");
  EXPECT_EQ(run->err, "it broke\n");
}

TEST(SubprocessTest, AProgramThatStopsReadingEarlyDoesNotEndUs) {
  // `true` exits at once; writing megabytes to it meets EPIPE, never SIGPIPE.
  auto run = RunProgram({"true"}, std::string(4'000'000, 'x'), Limits(10'000));
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->exit_code, 0);
}

TEST(SubprocessTest, AMissingProgramIsNamed) {
  auto run = RunProgram({"rectrack-no-such-program"}, "", Limits(10'000));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Code::kIOError);
  EXPECT_NE(run.status().message().find("rectrack-no-such-program"), std::string::npos)
      << run.status().message();
}

TEST(SubprocessTest, AHangingProgramAndWhatItStartedAreKilledAtTheTimeout) {
  const std::string pid_file = ::testing::TempDir() + "/subprocess-test-child.pid";
  std::remove(pid_file.c_str());
  const auto start = std::chrono::steady_clock::now();
  // The shell starts a child that would outlive it, then waits: both must go.
  auto run =
      RunProgram({"sh", "-c", "sleep 300 & echo $! > " + pid_file + "; wait"}, "", Limits(700));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Code::kUnavailable);
  EXPECT_EQ(run.status().message(), "sh did not finish within 700 ms and was stopped");
  EXPECT_GE(took, milliseconds(700));
  EXPECT_LT(took, milliseconds(5000));
  std::ifstream in(pid_file);
  pid_t child = 0;
  ASSERT_TRUE(in >> child);
  // The child is gone, or a zombie waiting for init to reap it (state Z in /proc).
  auto dead = [](pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && line.compare(paren, 3, ") Z") == 0;
  };
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = dead(child);
    if (!gone) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(gone) << "the program's child " << child << " was left running";
}

TEST(SubprocessTest, AProgramThatClosesItsOutputButRunsOnIsStillTimed) {
  auto run = RunProgram({"sh", "-c", "exec >&- 2>&-; sleep 300"}, "", Limits(500));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Code::kUnavailable);
}

TEST(SubprocessTest, TooMuchOutputIsRefusedAndTheProgramKilled) {
  auto run = RunProgram({"yes"}, "", Limits(10'000, 1 << 20));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Code::kTooLarge);
  EXPECT_EQ(run.status().message(), "yes wrote more than 1048576 bytes");
}

TEST(SubprocessTest, AProgramKilledByASignalIsAnError) {
  auto run = RunProgram({"sh", "-c", "kill -9 $$"}, "", Limits(10'000));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().message(), "sh was ended by signal 9");
}

TEST(SubprocessTest, NoProgramIsRefused) {
  EXPECT_EQ(RunProgram({}, "", Limits(1000)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace rectrack
