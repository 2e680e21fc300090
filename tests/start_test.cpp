// How the rectrack binary starts itself: with glibc's malloc asked for transparent huge pages
// (cli/main.cpp), unless the user's GLIBC_TUNABLES already says.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/serve_process.h"

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
  EXPECT_FALSE(HeapAskedForHugePages({"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}));
}

}  // namespace
}  // namespace rectrack
