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
  EXPECT_FALSE(c.gov_uk);            // the system font stack unless the service is on gov.uk
  EXPECT_GT(c.history_cache_mb, 0);  // histories out of memory unless told otherwise
}

TEST_F(ConfigTest, TheFileSetsAndTheEnvironmentOverrides) {
  Write(
      "listen: \"127.0.0.1:9001\"\nthreads: 3\nmax_streams: 5\npublic_read: true\n"
      "db: /tmp/x.db\ngov_uk: true\nsecure_cookies: true\nhistory_cache_mb: 32\n");
  ServeConfig c;
  ASSERT_TRUE(LoadConfigFile(path_, &c).ok());
  EXPECT_EQ(c.server.port, 9001);
  EXPECT_EQ(c.server.threads, 3);
  EXPECT_EQ(c.api.max_streams, 5);
  EXPECT_TRUE(c.api.public_read);
  EXPECT_TRUE(c.gov_uk);
  EXPECT_TRUE(c.secure_cookies);
  EXPECT_EQ(c.db, "/tmp/x.db");
  EXPECT_EQ(c.history_cache_mb, 32);
  fake_env = {{"RECTRACK_THREADS", "4"},
              {"RECTRACK_LISTEN", "[::1]:9002"},
              {"RECTRACK_HISTORY_CACHE_MB", "0"}};
  ASSERT_TRUE(ApplyEnvironment(&c, FakeGetenv).ok());
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.address, "::1");
  EXPECT_EQ(c.server.port, 9002);
  EXPECT_EQ(c.history_cache_mb, 0);
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
  EXPECT_EQ(c.api.rate_bytes_per_minute, 268435456);
  EXPECT_EQ(c.server.timeout_seconds, 30);
  EXPECT_EQ(c.text_limits.note, 8192u);
  EXPECT_EQ(c.text_limits.text, 32768u);
  EXPECT_EQ(c.text_limits.field_value, 4096u);
  EXPECT_EQ(c.text_limits.evidence.file, EvidenceLimits{}.file);
  EXPECT_EQ(c.text_limits.evidence.media_types, EvidenceLimits{}.media_types);
  EXPECT_EQ(c.documents.max_concurrent, 2);
  EXPECT_FALSE(c.api.public_read);
  EXPECT_EQ(c.second_factor_roles, (std::set<std::string>{"inspectorate"}));
  EXPECT_TRUE(c.secure_cookies);  // its public_url is https://
}

// serve reads the text limits from its file and the environment; every other command from the
// environment alone.
TEST_F(ConfigTest, TextLimitsFromTheFileAndTheEnvironment) {
  Write("max_note_bytes: 2000\nmax_text_bytes: 50000\n");
  ServeConfig c;
  ASSERT_TRUE(LoadConfigFile(path_, &c).ok());
  EXPECT_EQ(c.text_limits.note, 2000u);
  EXPECT_EQ(c.text_limits.text, 50000u);
  EXPECT_EQ(c.text_limits.field_value, TextLimits{}.field_value);
  fake_env = {{"RECTRACK_MAX_FIELD_BYTES", "1000"}};
  ASSERT_TRUE(ApplyEnvironment(&c, FakeGetenv).ok());
  EXPECT_EQ(c.text_limits.field_value, 1000u);

  TextLimits limits;
  fake_env = {{"RECTRACK_MAX_NOTE_BYTES", "300"}};
  ASSERT_TRUE(ApplyTextLimitsEnvironment(&limits, FakeGetenv).ok());
  EXPECT_EQ(limits.note, 300u);
  EXPECT_EQ(limits.text, TextLimits{}.text);
  fake_env = {{"RECTRACK_MAX_TEXT_BYTES", "99999999"}};
  const Status s = ApplyTextLimitsEnvironment(&limits, FakeGetenv);
  EXPECT_EQ(s.message(), "RECTRACK_MAX_TEXT_BYTES: max_text_bytes must be from 100 to 1048576");
  EXPECT_EQ(limits.text, TextLimits{}.text) << "nothing changed by a refused setting";
}

TEST_F(ConfigTest, DocumentAndEvidenceSettings) {
  Write(
      "pandoc: /opt/pandoc/bin/pandoc\ndocument_timeout_seconds: 20\ndocuments_at_once: 3\n"
      "max_evidence_file_bytes: 2048\nmax_evidence_bytes: 4096\n"
      "evidence_types: application/pdf, text/csv\n");
  ServeConfig c;
  const Status loaded = LoadConfigFile(path_, &c);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_EQ(c.documents.pandoc, "/opt/pandoc/bin/pandoc");
  EXPECT_EQ(c.documents.weasyprint, "weasyprint");
  EXPECT_EQ(c.documents.timeout_seconds, 20);
  EXPECT_EQ(c.documents.max_concurrent, 3);
  EXPECT_EQ(c.text_limits.evidence.file, 2048u);
  EXPECT_EQ(c.text_limits.evidence.event, 4096u);
  EXPECT_EQ(c.text_limits.evidence.media_types,
            (std::vector<std::string>{"application/pdf", "text/csv"}));
  // Conversions share the blocking pool with the writes: one thread stays for them.
  Write("documents_at_once: 4\n");
  EXPECT_NE(LoadConfigFile(path_, &c).message().find("documents_at_once must be from 1 to 3"),
            std::string::npos);
  Write("reference_docx: /nonexistent/house-style.docx\n");
  EXPECT_NE(LoadConfigFile(path_, &c).message().find(
                "reference_docx: cannot read /nonexistent/house-style.docx"),
            std::string::npos);
  ConverterOptions documents;
  fake_env = {{"RECTRACK_WEASYPRINT", "/opt/weasyprint"}, {"RECTRACK_DOCUMENTS_AT_ONCE", "3"}};
  ASSERT_TRUE(ApplyDocumentsEnvironment(&documents, FakeGetenv).ok());
  EXPECT_EQ(documents.weasyprint, "/opt/weasyprint");
  EXPECT_EQ(documents.max_concurrent, ConverterOptions{}.max_concurrent)
      << "how many at once is the server's to say";
  Write("evidence_types: application/x-msdownload\n");
  EXPECT_NE(
      LoadConfigFile(path_, &c).message().find("rectrack cannot check 'application/x-msdownload'"),
      std::string::npos);
  // Every command, not only serve, holds evidence to the environment's limits.
  TextLimits limits;
  fake_env = {{"RECTRACK_MAX_EVIDENCE_FILE_BYTES", "5000"}};
  ASSERT_TRUE(ApplyTextLimitsEnvironment(&limits, FakeGetenv).ok());
  EXPECT_EQ(limits.evidence.file, 5000u);
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
      "smtp_url: \"smtps://mail.example:465\"\nsmtp_user: rectrack\n"
      "smtp_password_env: RELAY_SECRET\nsmtp_ca_file: /etc/ca.pem\n"
      "smtp_from: rectrack@hmcpsi.example\n"
      "public_url: https://rectrack.example/\n");
  ServeConfig c;
  ASSERT_TRUE(LoadConfigFile(path_, &c).ok());
  EXPECT_TRUE(c.alerting.delivery.allow.Check("https://hooks.cps.example/x").ok());
  EXPECT_TRUE(c.alerting.delivery.allow.Check("http://127.0.0.1:9000/x").ok());
  EXPECT_FALSE(c.alerting.delivery.allow.Check("http://127.0.0.1:9001/x").ok());
  EXPECT_FALSE(c.alerting.delivery.allow.Check("http://169.254.169.254/").ok());
  EXPECT_EQ(c.alerting.delivery.timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.alerting.smtp.url, "smtps://mail.example:465");
  EXPECT_EQ(c.alerting.smtp.user, "rectrack");
  EXPECT_EQ(c.alerting.smtp.ca_file, "/etc/ca.pem");
  EXPECT_FALSE(c.alerting.smtp.plain);
  EXPECT_EQ(c.alerting.smtp.password, "");  // read from the environment, not the file
  fake_env = {};
  Status unset = ResolveSmtpPassword(&c, FakeGetenv);
  EXPECT_NE(unset.message().find("RELAY_SECRET, which is not set"), std::string::npos)
      << unset.message();
  fake_env = {{"RELAY_SECRET", "s3cret"}};
  ASSERT_TRUE(ResolveSmtpPassword(&c, FakeGetenv).ok());
  EXPECT_EQ(c.alerting.smtp.password, "s3cret");
  EXPECT_EQ(c.alerting.smtp_from, "rectrack@hmcpsi.example");
  EXPECT_EQ(c.alerting.link_base, "https://rectrack.example");
  fake_env = {{"RECTRACK_WEBHOOK_ALLOW", "a.example, b.example"}};
  ASSERT_TRUE(ApplyEnvironment(&c, FakeGetenv).ok());
  EXPECT_TRUE(c.alerting.delivery.allow.Check("http://b.example/").ok());
  EXPECT_FALSE(c.alerting.delivery.allow.Check("https://hooks.cps.example/x").ok());
  ServeConfig defaults;
  EXPECT_FALSE(defaults.alerting.delivery.allow.Check("http://127.0.0.1/").ok())
      << "webhooks must be refused until allowed";
  for (const char* bad :
       {"webhook_timeout_seconds: 0\n", "smtp_relay: \"127.0.0.1:25\"\n",
        "smtp_url: \"mail.example:25\"\n", "smtp_url: \"http://mail.example\"\n",
        "smtp_url: \"smtp://user@mail.example:587\"\n",
        "smtp_url: \"smtp://mail.example:587/path\"\n",
        "smtp_url: \"smtp://mail.example:587\"\nsmtp_plain: true\n",
        "smtp_plain: true\nsmtp_url: \"smtp://10.0.0.5:25\"\n",
        "smtp_url: \"smtps://localhost:465\"\nsmtp_plain: true\n", "smtp_from: \"a b\"\n",
        "public_url: ftp://x\n",
        // Links are made by adding paths to it: a host, nothing after.
        "public_url: \"https://\"\n", "public_url: \"http://exa mple.org/\"\n",
        "public_url: \"https://a.example/?x=1\"\n", "public_url: \"https://user@a.example\"\n"}) {
    ServeConfig fresh;
    Write(bad);
    EXPECT_FALSE(LoadConfigFile(path_, &fresh).ok()) << bad;
  }
  // Plain SMTP is for a relay on this machine.
  for (const char* good : {"smtp_url: \"smtp://127.0.0.1:25\"\nsmtp_plain: true\n",
                           "smtp_url: \"smtp://localhost:2525\"\nsmtp_plain: true\n",
                           "smtp_url: \"smtp://[::1]:25\"\nsmtp_plain: true\n"}) {
    ServeConfig fresh;
    Write(good);
    const Status loaded = LoadConfigFile(path_, &fresh);
    EXPECT_TRUE(loaded.ok()) << good << loaded.message();
  }
  // A user needs a password, and a password a user.
  ServeConfig user_only;
  Write("smtp_url: \"smtp://mail.example:587\"\nsmtp_user: rectrack\n");
  ASSERT_TRUE(LoadConfigFile(path_, &user_only).ok());
  EXPECT_NE(ResolveSmtpPassword(&user_only, FakeGetenv).message().find("without a password"),
            std::string::npos);
}

}  // namespace
}  // namespace rectrack::cli
