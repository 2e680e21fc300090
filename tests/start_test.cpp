// How the rectrack binary starts itself: with glibc's malloc asked for transparent huge pages
// (cli/main.cpp), unless the user's GLIBC_TUNABLES already says; and how `serve` lets go of the
// histories its start read, in turns once it answers (cli.cpp, engine/turns.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/server_fixture.h"

namespace rectrack {
namespace {

class StartTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(RECTRACK_SANITIZED) || !defined(__GLIBC__)
    GTEST_SKIP() << "the sanitizers' allocator is not glibc's: rectrack leaves it as it is";
#endif
    dir_ = std::filesystem::temp_directory_path() /
           ("rectrack-start-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Whether `rectrack serve`, started with `settings` (added to this process's environment,
  // whose own GLIBC_TUNABLES is taken out first), asked for huge pages for its heap: the kernel
  // then shows flag "hg" (madvise MADV_HUGEPAGE) among the [heap] mapping's VmFlags. glibc asks
  // only where the kernel gives huge pages when asked (transparent_hugepage "madvise").
  bool HeapAskedForHugePages(const std::vector<std::string>& settings) {
    ::unsetenv("GLIBC_TUNABLES");
    ServeProcess server({"--db", (dir_ / "start.db").string()}, settings);
    EXPECT_GT(server.port(), 0) << server.first_line();
    std::ifstream smaps("/proc/" + std::to_string(server.pid()) + "/smaps");
    bool in_heap = false, asked = false;
    for (std::string line; std::getline(smaps, line);) {
      if (line.find("[heap]") != std::string::npos) in_heap = true;
      if (in_heap && line.rfind("VmFlags:", 0) == 0) {
        asked = (line + " ").find(" hg ") != std::string::npos;
        break;
      }
    }
    EXPECT_TRUE(in_heap) << "no [heap] mapping in /proc/PID/smaps";
    EXPECT_EQ(server.Stop(), 0);
    return asked;
  }

  // The kernel's transparent huge page mode, as /sys says it ("[madvise]"): glibc asks for huge
  // pages only in that mode (with "always" every heap has them unasked).
  static bool KernelGivesHugePagesWhenAsked() {
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string modes;
    std::getline(in, modes);
    return modes.find("[madvise]") != std::string::npos;
  }

  std::filesystem::path dir_;
};

TEST_F(StartTest, TheServerAsksForHugePagesForItsHeap) {
  if (!KernelGivesHugePagesWhenAsked()) GTEST_SKIP() << "transparent huge pages are not 'madvise'";
  EXPECT_TRUE(HeapAskedForHugePages({}));
}

TEST_F(StartTest, AUsersOwnTunablesDoNotStopHugePages) {
  if (!KernelGivesHugePagesWhenAsked()) GTEST_SKIP() << "transparent huge pages are not 'madvise'";
  EXPECT_TRUE(HeapAskedForHugePages({"GLIBC_TUNABLES=glibc.malloc.tcache_count=8"}));
}

TEST_F(StartTest, AUserWhoSaysNoToHugePagesIsHeard) {
  if (!KernelGivesHugePagesWhenAsked()) GTEST_SKIP() << "transparent huge pages are not 'madvise'";
  EXPECT_FALSE(HeapAskedForHugePages({"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}));
}

// The mark of a process started again: never a second time, whatever glibc did to the
// tunables (it cleans them for a setuid or capability-raised process).
TEST_F(StartTest, AProcessStartedAgainIsNotStartedAgain) {
  if (!KernelGivesHugePagesWhenAsked()) GTEST_SKIP() << "transparent huge pages are not 'madvise'";
  EXPECT_FALSE(HeapAskedForHugePages({"RECTRACK_STARTED_AGAIN=1"}));
}

using server_test::Connection;
using server_test::ImportSynthetic;
using server_test::Reply;

class ServeStartTest : public server_test::ServerTest {
 protected:
  // A counter or gauge of /metrics, or -1 when it is not there.
  long long Metric(Connection& c, const std::string& name) {
    const Reply m = c.Request("GET", "/metrics", inspectorate_);
    EXPECT_EQ(m.status, 200);
    const size_t at = m.body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::atoll(m.body.c_str() + at + name.size() + 2);
  }

  // `rectrack serve` without alert rules (an empty rules directory): no alert raise reads the
  // histories back beside the requests of the test.
  void StartWithoutAlerts(const std::vector<std::string>& settings) {
    const std::filesystem::path rules = dir_ / "no-rules";
    std::filesystem::create_directories(rules);
    server_ = std::make_unique<ServeProcess>(
        std::vector<std::string>{"--db", db_, "--rules", rules.string()}, settings);
    port_ = server_->port();
    ASSERT_GT(port_, 0) << "server did not start: " << server_->first_line();
  }
};

TEST_F(ServeStartTest, TheHistoriesReadAtTheStartAreLetGoInTurnsOnceItAnswers) {
  // More items than a turn (4,096), recommendations and their actions.
#ifdef RECTRACK_SANITIZED
  constexpr int kRecommendations = 5000;
#else
  constexpr int kRecommendations = 10000;
#endif
  ASSERT_NO_FATAL_FAILURE(ImportSynthetic(db_, dir_, kRecommendations));
  ASSERT_NO_FATAL_FAILURE(StartWithoutAlerts({"RECTRACK_HISTORY_CACHE_MB=8"}));
  Connection c(port_);
  ASSERT_EQ(c.Request("GET", "/healthz", "").status, 200);
  // The rest of the turns go on between requests, and end by themselves.
  long long left = Metric(c, "rectrack_histories_to_let_go");
  ASSERT_GE(left, 0) << "no rectrack_histories_to_let_go in /metrics";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    left = Metric(c, "rectrack_histories_to_let_go");
  }
  EXPECT_EQ(left, 0) << "histories still held a minute after the start";
  // Let go (the start's let-go caches nothing): a recommendation's timeline is read back, and
  // is the same as a server holding every history shows.
  const std::string timeline = "/api/v1/recommendations/da23-r2";
  const long long read_back = Metric(c, "rectrack_histories_read_back_total");
  const Reply shown = c.Request("GET", timeline, inspectorate_);
  EXPECT_EQ(shown.status, 200) << shown.body.substr(0, 500);
  EXPECT_NE(shown.body.find("\"timeline\""), std::string::npos);
  EXPECT_GT(Metric(c, "rectrack_histories_read_back_total"), read_back);
  EXPECT_EQ(Stop(), 0);
  // Holding every history, there is nothing to let go, and nothing is read back.
  ASSERT_NO_FATAL_FAILURE(StartWithoutAlerts({"RECTRACK_HISTORY_CACHE_MB=0"}));
  Connection held(port_);
  EXPECT_EQ(Metric(held, "rectrack_histories_to_let_go"), 0);
  EXPECT_EQ(held.Request("GET", timeline, inspectorate_).body, shown.body);
  EXPECT_EQ(Metric(held, "rectrack_histories_read_back_total"), 0);
}

// With alert rules (the bundled ones), the alerts' first pass over the items goes in turns
// (1,024 items each) while the server answers: histories are let go only once it has read them
// all, and then the alerts it found due are raised.
TEST_F(ServeStartTest, TheAlertsFirstPassGoesInTurnsThenRaisesAndLetsHistoriesGo) {
#ifdef RECTRACK_SANITIZED
  constexpr int kRecommendations = 3000;
#else
  constexpr int kRecommendations = 6000;
#endif
  ASSERT_NO_FATAL_FAILURE(ImportSynthetic(db_, dir_, kRecommendations));
  ASSERT_NO_FATAL_FAILURE(Start({"RECTRACK_HISTORY_CACHE_MB=8"}));
  Connection c(port_);
  ASSERT_EQ(c.Request("GET", "/healthz", "").status, 200);
  long long first_pass = Metric(c, "rectrack_alerts_first_pass_items_left");
  long long to_let_go = Metric(c, "rectrack_histories_to_let_go");
  ASSERT_GE(first_pass, 0) << "no rectrack_alerts_first_pass_items_left in /metrics";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((first_pass > 0 || to_let_go > 0) && std::chrono::steady_clock::now() < deadline) {
    if (first_pass > 0) {
      EXPECT_GT(to_let_go, 0) << "histories let go before the first pass";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    first_pass = Metric(c, "rectrack_alerts_first_pass_items_left");
    to_let_go = Metric(c, "rectrack_histories_to_let_go");
  }
  EXPECT_EQ(first_pass, 0) << "the first pass was not done a minute after the start";
  EXPECT_EQ(to_let_go, 0);
  // The synthetic recommendations have milestones long past: their alerts are raised.
  Reply alerts;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    alerts = c.Request("GET", "/api/v1/alerts?limit=5", inspectorate_);
  } while (alerts.body.find("\"recommendation\":") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(alerts.status, 200);
  EXPECT_NE(alerts.body.find("\"recommendation\":"), std::string::npos)
      << alerts.body.substr(0, 300);
  EXPECT_EQ(Stop(), 0);
}

}  // namespace
}  // namespace rectrack
