#include "cli/config.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <set>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

namespace rectrack::cli {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> fake_env;
const char* FakeGetenv(const char* name) {
  auto it = fake_env.find(name);
  return it == fake_env.end() ? nullptr : it->second.c_str();
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_env.clear();
    path_ =
        (fs::path(::testing::TempDir()) / ("config_test_" + std::to_string(::getpid()) + ".yaml"))
            .string();
  }
  void TearDown() override { fs::remove(path_); }
  void Write(const char* text) {
    FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs(text, f);
    std::fclose(f);
  }
  std::string path_;
};

TEST_F(ConfigTest, DefaultsAreLoopbackAndBounded) {
  ServeConfig c;
  EXPECT_EQ(c.server.address, "127.0.0.1");
  EXPECT_GT(c.server.max_connections, 0);
  EXPECT_GT(c.api.rate_per_minute, 0);
  EXPECT_FALSE(c.api.public_read);
  EXPECT_FALSE(c.gov_uk);  // the system font stack unless the service is on gov.uk
}

TEST_F(ConfigTest, TheFileSetsAndTheEnvironmentOverrides) {
  Write(
      "listen: \"127.0.0.1:9001\"\nthreads: 3\nmax_streams: 5\npublic_read: true\n"
      "db: /tmp/x.db\ngov_uk: true\nsecure_cookies: true\n");
  ServeConfig c;
  ASSERT_TRUE(LoadConfigFile(path_, &c).ok());
  EXPECT_EQ(c.server.port, 9001);
  EXPECT_EQ(c.server.threads, 3);
  EXPECT_EQ(c.api.max_streams, 5);
  EXPECT_TRUE(c.api.public_read);
  EXPECT_TRUE(c.gov_uk);
  EXPECT_TRUE(c.secure_cookies);
  EXPECT_EQ(c.db, "/tmp/x.db");
  fake_env = {{"RECTRACK_THREADS", "4"}, {"RECTRACK_LISTEN", "[::1]:9002"}};
  ASSERT_TRUE(ApplyEnvironment(&c, FakeGetenv).ok());
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.address, "::1");
  EXPECT_EQ(c.server.port, 9002);
  EXPECT_EQ(c.api.max_streams, 5);  // untouched by the environment
}

TEST_F(ConfigTest, TheDeployExampleLoadsAndBindsToLoopback) {
  ServeConfig c;
  const Status loaded =
      LoadConfigFile(std::string(RECTRACK_SOURCE_DIR) + "/deploy/rectrack.example.yaml", &c);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_EQ(c.db, "/var/lib/rectrack/rectrack.db");
  EXPECT_EQ(c.server.address, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.api.rate_per_minute, 600);
  EXPECT_EQ(c.server.timeout_seconds, 30);
  EXPECT_FALSE(c.api.public_read);
  EXPECT_EQ(c.second_factor_roles, (std::set<std::string>{"inspectorate"}));
  EXPECT_TRUE(c.secure_cookies);  // its public_url is https://
}

TEST_F(ConfigTest, BadSettingsSayWhichAndWhere) {
  Write("threads: 3\nthreads_per_core: 2\n");
  ServeConfig c;
  Status s = LoadConfigFile(path_, &c);
  EXPECT_NE(s.message().find(":2:1: unknown key 'threads_per_core'"), std::string::npos)
      << s.message();
  Write("threads: lots\n");
  s = LoadConfigFile(path_, &c);
  EXPECT_NE(s.message().find(":1:10: threads must be a whole number, not 'lots'"),
            std::string::npos)
      << s.message();
  fake_env = {{"RECTRACK_RATE_PER_MINUTE", "-5"}};
  s = ApplyEnvironment(&c, FakeGetenv);
  EXPECT_NE(s.message().find("RECTRACK_RATE_PER_MINUTE: rate_per_minute must be a whole number"),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(LoadConfigFile(path_ + ".missing", &c).ok());
}

TEST_F(ConfigTest, AlertSettings) {
  Write(
      "webhook_allow: [hooks.cps.example, \"127.0.0.1:9000\"]\nwebhook_timeout_seconds: 3\n"
      "smtp_relay: \"127.0.0.1:2525\"\nsmtp_from: rectrack@hmcpsi.example\n"
      "public_url: https://rectrack.example/\n");
  ServeConfig c;
  ASSERT_TRUE(LoadConfigFile(path_, &c).ok());
  EXPECT_TRUE(c.alerting.delivery.allow.Check("https://hooks.cps.example/x").ok());
  EXPECT_TRUE(c.alerting.delivery.allow.Check("http://127.0.0.1:9000/x").ok());
  EXPECT_FALSE(c.alerting.delivery.allow.Check("http://127.0.0.1:9001/x").ok());
  EXPECT_FALSE(c.alerting.delivery.allow.Check("http://169.254.169.254/").ok());
  EXPECT_EQ(c.alerting.delivery.timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.alerting.smtp_relay, "127.0.0.1:2525");
  EXPECT_EQ(c.alerting.smtp_from, "rectrack@hmcpsi.example");
  EXPECT_EQ(c.alerting.link_base, "https://rectrack.example");
  fake_env = {{"RECTRACK_WEBHOOK_ALLOW", "a.example, b.example"}};
  ASSERT_TRUE(ApplyEnvironment(&c, FakeGetenv).ok());
  EXPECT_TRUE(c.alerting.delivery.allow.Check("http://b.example/").ok());
  EXPECT_FALSE(c.alerting.delivery.allow.Check("https://hooks.cps.example/x").ok());
  ServeConfig defaults;
  EXPECT_FALSE(defaults.alerting.delivery.allow.Check("http://127.0.0.1/").ok())
      << "webhooks must be refused until allowed";
  for (const char* bad : {"webhook_timeout_seconds: 0\n", "smtp_relay: nowhere\n",
                          "smtp_from: \"a b\"\n", "public_url: ftp://x\n"}) {
    Write(bad);
    EXPECT_FALSE(LoadConfigFile(path_, &c).ok()) << bad;
  }
}

}  // namespace
}  // namespace rectrack::cli
