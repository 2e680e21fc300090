#include "cli/cli_args.h"

#include <gtest/gtest.h>

#include <array>

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "common/strings.h"
#include "engine/clock.h"
#include "engine/rules.h"
#include "tests/test_support.h"

namespace rectrack::cli {
namespace {

class CliArgsTest : public ::testing::Test {
 protected:
  // Parses `argv`, failing the test when it does not parse.
  static Args Parse(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv);
    EXPECT_TRUE(args.ok()) << args.status().message();
    return args.ok() ? std::move(args).value() : Args();
  }

  // The message of CheckUsage for `argv`: "" when it is accepted; "<code> message" otherwise,
  // so a test also sees that usage mistakes are InvalidArgument.
  static std::string Usage(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv);
    if (!args.ok()) return "parse: " + args.status().message();
    Status s = CheckUsage(*args);
    if (s.ok()) return "";
    if (s.code() != Code::kInvalidArgument) return "not InvalidArgument: " + s.message();
    return s.message();
  }

  static std::string ParseError(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv);
    if (args.ok()) return "";
    EXPECT_EQ(args.status().code(), Code::kInvalidArgument);
    return args.status().message();
  }

  // Whether kUsage mentions `word` as a whole word (not inside a longer one).
  static bool UsageMentions(const std::string& word) {
    const std::string usage = kUsage;
    auto is_word_char = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
    };
    for (size_t at = usage.find(word); at != std::string::npos; at = usage.find(word, at + 1)) {
      const bool starts = at == 0 || !is_word_char(usage[at - 1]) || word.rfind("--", 0) == 0;
      const size_t end = at + word.size();
      const bool ends = end == usage.size() || !is_word_char(usage[end]);
      if (starts && ends) return true;
    }
    return false;
  }
};

TEST_F(CliArgsTest, SeparateAndInlineValuesAreBothOptionValues) {
  Args args = Parse({"list", "--as-of", "2025-03-31", "--body=CPS", "--format", "json"});
  EXPECT_EQ(args.positional, std::vector<std::string>{"list"});
  EXPECT_EQ(args.Get("as-of"), "2025-03-31");
  EXPECT_EQ(args.Get("body"), "CPS");
  EXPECT_EQ(args.Get("format"), "json");
  EXPECT_EQ(args.options.size(), 3u);
  EXPECT_FALSE(args.Has("state"));
  EXPECT_EQ(args.Get("state"), "");
  EXPECT_EQ(args.Get("state", "all"), "all");
}

TEST_F(CliArgsTest, AnInlineValueMayBeEmptyOrHoldEqualsSignsAndDashes) {
  Args args = Parse({"record", "r1", "close", "--note=", "--field=evidence=a=b", "--label=--x"});
  EXPECT_TRUE(args.Has("note"));
  EXPECT_EQ(args.Get("note", "fallback"), "");
  EXPECT_EQ(args.Get("field"), "evidence=a=b");
  EXPECT_EQ(args.Get("label"), "--x");
}

TEST_F(CliArgsTest, FlagsTakeNoValueAndLeaveTheNextWordPositional) {
  Args args = Parse({"list", "--open", "--overdue", "extra"});
  EXPECT_TRUE(args.Has("open"));
  EXPECT_TRUE(args.Has("overdue"));
  EXPECT_FALSE(args.Has("closed"));
  EXPECT_EQ(args.Get("open", "fallback"), "");
  EXPECT_EQ(args.positional, (std::vector<std::string>{"list", "extra"}));
}

TEST_F(CliArgsTest, RepeatedOptionsKeepEveryValueInOrderAndGetReturnsTheLast) {
  Args args = Parse({"record", "--field", "evidence=a", "r1", "--field=evidence=b", "close",
                     "--role", "inspectorate", "--role", "body_lead"});
  EXPECT_EQ(args.options.at("field"), (std::vector<std::string>{"evidence=a", "evidence=b"}));
  EXPECT_EQ(args.Get("role"), "body_lead");
  EXPECT_EQ(args.options.at("role").size(), 2u);
  // Positionals interleaved with options keep their order.
  EXPECT_EQ(args.positional, (std::vector<std::string>{"record", "r1", "close"}));
}

TEST_F(CliArgsTest, WordsThatAreNotLongOptionsArePositional) {
  Args args = Parse({"import", "a.yaml", "-", "-x", "b c.yaml"});
  EXPECT_EQ(args.positional, (std::vector<std::string>{"import", "a.yaml", "-", "-x", "b c.yaml"}));
  EXPECT_TRUE(args.options.empty());
  EXPECT_TRUE(Parse({}).positional.empty());
}

// As getopt has it: the first "--" ends the options, so an id that begins with a dash can be
// named; every word after it is positional, a later "--" and "-o" included.
// A usage mistake shows the usage of the command named, not of an option's value that happens
// to be a command's name (--rules rules).
TEST_F(CliArgsTest, TheCommandNamedIsNoOptionsValue) {
  EXPECT_EQ(CommandNamed({"--db", "list", "--rules", "rules", "show", "x", "--bogus"}), "show");
  EXPECT_EQ(CommandNamed({"--actor=verify", "list"}), "list");
  EXPECT_EQ(CommandNamed({"-o", "verify", "draft"}), "draft");
  EXPECT_EQ(CommandNamed({"--db", "x.db", "--", "list"}), "");
  EXPECT_EQ(CommandNamed({"--open", "list"}), "list");
}

TEST_F(CliArgsTest, DoubleDashEndsTheOptions) {
  Args args = Parse({"show", "--format", "json", "--", "--odd-id", "--", "-o", "x"});
  EXPECT_EQ(args.positional, (std::vector<std::string>{"show", "--odd-id", "--", "-o", "x"}));
  EXPECT_EQ(args.options.size(), 1u);
  EXPECT_EQ(args.Get("format"), "json");
  // Before it, "--odd-id" is an option still.
  EXPECT_EQ(ParseError({"show", "--odd-id", "--"}), "unknown option --odd-id");
  EXPECT_EQ(Usage({"show", "--", "-r1"}), "");
}

// -h asks for help, as with every tool; after "--" it is an id like any other.
TEST_F(CliArgsTest, DashHIsHelp) {
  EXPECT_TRUE(Parse({"show", "-h"}).Has("help"));
  EXPECT_TRUE(Parse({"-h"}).Has("help"));
  const Args id = Parse({"show", "--", "-h"});
  EXPECT_FALSE(id.Has("help"));
  EXPECT_EQ(id.positional, (std::vector<std::string>{"show", "-h"}));
  const CliRun help = Rectrack("show -h");
  EXPECT_EQ(help.status, 0) << help.out;
  EXPECT_NE(help.out.find("usage: rectrack"), std::string::npos) << help.out;
}

TEST_F(CliArgsTest, AnUnknownOptionIsInvalidArgumentNamingIt) {
  EXPECT_EQ(ParseError({"list", "--colour", "red"}), "unknown option --colour");
  EXPECT_EQ(ParseError({"list", "--colour=red"}), "unknown option --colour");
  EXPECT_EQ(ParseError({"list", "--As-Of", "2025-03-31"}), "unknown option --As-Of");
  // A flag given a value is not the flag.
  EXPECT_NE(ParseError({"list", "--open=yes"}), "");
}

TEST_F(CliArgsTest, AValuedOptionWithoutItsValueIsInvalidArgument) {
  EXPECT_EQ(ParseError({"list", "--as-of"}), "--as-of needs a value");
  // The next word is an option, not a value.
  EXPECT_EQ(ParseError({"list", "--body", "--open"}), "--body needs a value");
  EXPECT_EQ(ParseError({"record", "r1", "close", "--note", "--field=a=b"}), "--note needs a value");
  // Every option the usage text shows with a value is one.
  for (const char* name : {"db",         "workflow",  "action-workflow",
                           "rules",      "clock",     "actor",
                           "as-of",      "body",      "state",
                           "format",     "effective", "by",
                           "role",       "note",      "field",
                           "expires",    "label",     "listen",
                           "config",     "threads",   "kind",
                           "clock-rate", "unit",      "rec",
                           "clock-since"}) {
    EXPECT_EQ(ParseError({"list", std::string("--") + name}),
              std::string("--") + name + " needs a value");
    EXPECT_EQ(ParseError({"list", std::string("--") + name, "v"}), "") << name;
  }
}

TEST_F(CliArgsTest, CheckUsageAcceptsWellFormedCommands) {
  const std::vector<std::vector<std::string>> good = {
      {"import", "a.yaml"},
      {"import", "a.yaml", "b.yaml", "c.yaml"},
      {"list"},
      {"list", "--as-of", "2025-03-31", "--body", "CPS", "--state", "issued", "--open", "--overdue",
       "--format", "csv"},
      {"show", "da23-r1", "--format=json", "--db", "x.db"},
      {"actions", "--unit", "cps-sw", "--rec", "r1", "--closed", "--format", "table"},
      {"units", "--body", "CPS", "--format", "json"},
      {"record", "r1", "close", "--effective", "2025-03-20", "--by", "CPS", "--unit", "cps-sw",
       "--field", "evidence=minutes", "--note", "done"},
      {"report", "annex", "--body", "CPS", "--format", "html"},
      {"report", "progress", "--body", "CPS", "--as-of", "2025-03-31", "--format", "text"},
      {"token", "create", "--role", "reader", "--expires", "2026-01-01", "--label", "AGO"},
      {"token", "list"},
      {"token", "revoke", "0123456789ab"},
      {"serve", "--listen", "127.0.0.1:0", "--threads", "2", "--public-read", "--clock-rate", "60"},
      {"alerts"},
      {"alerts", "a1", "--state", "failed", "--kind", "due_soon", "--format", "json"},
      {"rules", "r1", "--as-of", "2025-03-31"},
      {"verify", "--db", "x.db", "--actor", "me", "--clock", "2025-03-31", "--help"},
      {"workflow", "--workflow", "w.yaml", "--action-workflow", "a.yaml", "--rules", "rules"},
  };
  for (const auto& argv : good) {
    std::string line;
    for (const auto& a : argv) line += a + " ";
    EXPECT_EQ(Usage(argv), "") << line;
  }
}

TEST_F(CliArgsTest, AnUnknownCommandIsInvalidArgument) {
  EXPECT_EQ(Usage({"lsit"}), "unknown command 'lsit'");
  EXPECT_EQ(Usage({"List"}), "unknown command 'List'");
  EXPECT_EQ(Usage({"a.yaml", "import"}), "unknown command 'a.yaml'");
}

TEST_F(CliArgsTest, AnOptionTheCommandDoesNotTakeIsInvalidArgument) {
  EXPECT_EQ(Usage({"verify", "--as-of", "2025-03-31"}), "'verify' does not take --as-of");
  EXPECT_EQ(Usage({"list", "--unit", "cps-sw"}), "'list' does not take --unit");
  EXPECT_EQ(Usage({"show", "r1", "--open"}), "'show' does not take --open");
  EXPECT_EQ(Usage({"import", "a.yaml", "--format", "json"}), "'import' does not take --format");
  EXPECT_EQ(Usage({"token", "list", "--public-read"}), "'token' does not take --public-read");
  EXPECT_EQ(Usage({"record", "r1", "close", "--listen", "x"}), "'record' does not take --listen");
}

TEST_F(CliArgsTest, TooFewOrTooManyArgumentsIsInvalidArgument) {
  EXPECT_EQ(Usage({"show"}), "'show' takes 1 argument(s), not 0");
  EXPECT_EQ(Usage({"show", "r1", "r2"}), "'show' takes 1 argument(s), not 2");
  EXPECT_EQ(Usage({"list", "r1"}), "'list' takes 0 argument(s), not 1");
  EXPECT_EQ(Usage({"record", "r1"}), "'record' takes 2 argument(s), not 1");
  EXPECT_EQ(Usage({"record", "r1", "close", "now"}), "'record' takes 2 argument(s), not 3");
  EXPECT_EQ(Usage({"import"}), "'import' takes 1 or more argument(s), not 0");
  EXPECT_EQ(Usage({"report"}), "'report' takes 1 argument(s), not 0");
  // Commands with a bounded range name it.
  EXPECT_EQ(Usage({"token"}), "'token' takes 1 or 2 argument(s), not 0");
  EXPECT_EQ(Usage({"token", "revoke", "id", "more"}), "'token' takes 1 or 2 argument(s), not 3");
  EXPECT_EQ(Usage({"alerts", "a1", "a2"}), "'alerts' takes 0 or 1 argument(s), not 2");
  EXPECT_EQ(Usage({"rules", "r1", "r2"}), "'rules' takes 0 or 1 argument(s), not 2");
}

// A misspelt subcommand is a usage mistake, caught before a database could be created.
TEST_F(CliArgsTest, ATokenSubcommandThatDoesNotExistOrTakesNoSuchArgumentIsAUsageMistake) {
  const std::string usage =
      "usage: token create --role ROLE [--body B [--unit U]] [--expires D] | token list | "
      "token revoke ID";
  EXPECT_EQ(Usage({"token", "crate", "--role", "reader"}), usage);
  EXPECT_EQ(Usage({"token", "list", "extra"}), usage);
  EXPECT_EQ(Usage({"token", "revoke"}), usage);
  EXPECT_EQ(Usage({"token", "create", "x"}), usage);
}

TEST_F(CliArgsTest, AMalformedDateIsInvalidArgumentNamingTheOption) {
  EXPECT_EQ(Usage({"list", "--as-of", "31/03/2025"}),
            "--as-of must be a real date written YYYY-MM-DD, not '31/03/2025'");
  EXPECT_EQ(Usage({"record", "r1", "close", "--effective", "2025-02-29"}),
            "--effective must be a real date written YYYY-MM-DD, not '2025-02-29'");
  EXPECT_EQ(Usage({"token", "create", "--role", "reader", "--expires", "tomorrow"}),
            "--expires must be a real date written YYYY-MM-DD, not 'tomorrow'");
  EXPECT_EQ(Usage({"list", "--as-of="}), "--as-of must be a real date written YYYY-MM-DD, not ''");
}

TEST_F(CliArgsTest, AFormatTheCommandDoesNotOfferIsInvalidArgumentListingTheChoices) {
  EXPECT_EQ(Usage({"list", "--format", "xml"}), "--format must be csv|json|table, not 'xml'");
  EXPECT_EQ(Usage({"show", "r1", "--format", "csv"}), "--format must be json|text, not 'csv'");
  EXPECT_EQ(Usage({"units", "--format="}), "--format must be json|table, not ''");
  // report annex and progress share one table but not every format: Annex A has no text.
  EXPECT_EQ(Usage({"report", "annex", "--body", "CPS", "--format", "text"}),
            "report annex takes --format md, csv, json or html");
  EXPECT_EQ(Usage({"report", "progress", "--body", "CPS", "--format", "html"}), "");
}

TEST_F(CliArgsTest, OtherUsageMistakesAreInvalidArgument) {
  EXPECT_EQ(Usage({"list", "--open", "--closed"}), "give --open or --closed, not both");
  EXPECT_EQ(Usage({"record", "r1", "close", "--field", "evidence"}),
            "--field must be NAME=VALUE, not 'evidence'");
  EXPECT_EQ(Usage({"record", "r1", "close", "--field", "=x"}),
            "--field must be NAME=VALUE, not '=x'");
  EXPECT_EQ(Usage({"record", "r1", "close", "--field", "a=1", "--field", "b"}),
            "--field must be NAME=VALUE, not 'b'");
  EXPECT_EQ(Usage({"record", "r1", "close", "--field", "note="}), "");  // an empty value is a value
  const std::string report = "usage: report annex|progress --body B [--as-of D] [--format F]";
  EXPECT_EQ(Usage({"report", "annex"}), report);
  EXPECT_EQ(Usage({"report", "summary", "--body", "CPS"}), report);
  EXPECT_EQ(Usage({"list", "--db", ":memory:"}),
            "--db needs a file: nothing would be kept in ':memory:'");
  EXPECT_EQ(Usage({"list", "--db="}), "--db needs a file: nothing would be kept in ''");
  for (const char* limit : {"abc", "0", "-1", "1e3", "1000000000"}) {
    EXPECT_EQ(
        Usage({"list", "--limit", limit}),
        "--limit must be a whole number from 1 to 999999999, not '" + std::string(limit) + "'");
  }
  EXPECT_EQ(Usage({"list", "--limit", "999999999"}), "");
}

TEST_F(CliArgsTest, OptionalDateIsNulloptWhenAbsentAndTheDateWhenGiven) {
  auto absent = OptionalDate(Parse({"list"}), "as-of");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  auto given = OptionalDate(Parse({"list", "--as-of", "2024-02-29"}), "as-of");
  ASSERT_TRUE(given.ok()) << given.status().message();
  ASSERT_TRUE(given->has_value());
  EXPECT_EQ((*given)->ToString(), "2024-02-29");

  // The last of repeated values counts.
  auto last = OptionalDate(Parse({"list", "--as-of", "bad", "--as-of", "2025-01-01"}), "as-of");
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ((*last)->ToString(), "2025-01-01");

  auto bad = OptionalDate(Parse({"list", "--as-of", "2025-1-1"}), "as-of");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "--as-of must be a real date written YYYY-MM-DD, not '2025-1-1'");
}

TEST_F(CliArgsTest, FormatReturnsTheGivenChoiceOrTheFallback) {
  const std::set<std::string> allowed = {"table", "json", "csv"};
  auto fallback = Format(Parse({"list"}), allowed, "table");
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(*fallback, "table");
  auto given = Format(Parse({"list", "--format", "csv"}), allowed, "table");
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(*given, "csv");
  // No --format and no fallback: "" (the command picks its own default).
  auto none = Format(Parse({"list"}), allowed, "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");

  auto bad = Format(Parse({"list", "--format", "JSON"}), allowed, "table");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "--format must be csv|json|table, not 'JSON'");
  // Given but empty is not "not given".
  auto empty = Format(Parse({"list", "--format="}), allowed, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "--format must be csv|json|table, not ''");
}

TEST_F(CliArgsTest, EveryCommandOptionAndFormatAppearsInTheUsageText) {
  ASSERT_FALSE(Commands().empty());
  for (const auto& [name, spec] : Commands()) {
    EXPECT_TRUE(UsageMentions(name)) << "command '" << name << "' is not in kUsage";
    EXPECT_NE(std::string(kUsage).find("\n  " + name + " "), std::string::npos)
        << "command '" << name << "' has no line of its own in kUsage";
    for (const std::string& option : spec.options) {
      EXPECT_TRUE(UsageMentions("--" + option)) << name << " --" << option;
    }
    for (const std::string& format : spec.formats) {
      EXPECT_TRUE(UsageMentions(format)) << name << " --format " << format;
    }
    EXPECT_LE(spec.min_args, spec.max_args) << name;
  }
  for (const char* global :
       {"--db", "--workflow", "--action-workflow", "--rules", "--clock", "--actor"}) {
    EXPECT_TRUE(UsageMentions(global)) << global;
  }
}

TEST_F(CliArgsTest, OnlyCommandsThatWriteMayCreateADatabase) {
  for (const char* writer : {"import", "record", "token", "serve"}) {
    ASSERT_TRUE(Commands().count(writer)) << writer;
    EXPECT_TRUE(Commands().at(writer).creates_database) << writer;
  }
  for (const char* reader :
       {"list", "show", "actions", "units", "report", "alerts", "verify", "rules", "workflow"}) {
    ASSERT_TRUE(Commands().count(reader)) << reader;
    EXPECT_FALSE(Commands().at(reader).creates_database) << reader;
  }
}

// The promise of Commands(), kept by the binary as a user runs it: a usage mistake exits with
// status 2 and leaves no database behind.
TEST(CliUsageTest, AUsageMistakeExitsWithTwoAndCreatesNoDatabase) {
  namespace fs = std::filesystem;
  const fs::path db =
      fs::path(::testing::TempDir()) / ("cli_usage_" + std::to_string(::getpid()) + ".db");
  for (const char* mistake : {"lsit", "token crate --role reader", "token list extra",
                              "token revoke", "list --format xml"}) {
    fs::remove(db);
    const CliRun run = Rectrack("--db " + db.string() + " " + mistake);
    EXPECT_EQ(run.status, 2) << mistake << ": " << run.out;
    EXPECT_FALSE(fs::exists(db)) << mistake << " created " << db;
  }
  fs::remove(db);
}

// An option given twice, or one naming something given empty (a script's unset variable), is a
// usage mistake: which one was meant, or whether the inspectorate was, would be a guess.
TEST(CliUsageTest, AnOptionGivenTwiceOrANameGivenEmptyIsAUsageMistake) {
  const DemoDatabase demo("twice");
  ASSERT_EQ(demo.imported().status, 0) << demo.imported().out;
  const std::string base = demo.base();
  const std::string log = Rectrack(base + "show da23-r2").out;
  for (const auto& [command, says] :
       {std::pair{"record da23-r2 update --note n --by CPS --by SFO", "--by was given 2 times"},
        std::pair{"record da23-r2 update --note n --by ''", "--by is empty"},
        std::pair{"list --body ''", "--body is empty"},
        std::pair{"list --limit 1 --limit 2", "--limit was given 2 times"}}) {
    const CliRun run = Rectrack(base + command);
    EXPECT_EQ(run.status, 2) << command << ": " << run.out;
    EXPECT_NE(run.out.find(says), std::string::npos) << command << ": " << run.out;
  }
  EXPECT_EQ(Rectrack(base + "show da23-r2").out, log) << "nothing was recorded";
  // --field gathers: each is one field.
  const CliRun fields =
      Rectrack(base +
               "record da23-r2 extend --field milestone=due --field due=2099-06-30 "
               "--field reason=r");
  EXPECT_EQ(fields.status, 0) << fields.out;
}

// `rectrack workflow` checks a file as every other command loads it: one of the wrong subject
// (the action workflow given as the recommendations') is refused, not printed as if it would do.
TEST(CliUsageTest, TheWorkflowCommandRefusesAFileOfTheWrongSubject) {
  const std::string dir = std::string(RECTRACK_SOURCE_DIR) + "/workflows/";
  const CliRun swapped = Rectrack("workflow --workflow " + dir + "action.yaml");
  EXPECT_EQ(swapped.status, 1) << swapped.out;
  EXPECT_NE(swapped.out.find("expected a workflow whose subject is recommendation"),
            std::string::npos)
      << swapped.out;
  const CliRun actions = Rectrack("workflow --action-workflow " + dir + "recommendation.yaml");
  EXPECT_EQ(actions.status, 1) << actions.out;
  EXPECT_NE(actions.out.find("expected a workflow whose subject is action"), std::string::npos)
      << actions.out;
  EXPECT_EQ(Rectrack("workflow").status, 0);
}

// The set-password link `user add` prints must be one a person can open: a --url that is no
// http(s) address with a host is refused before the account is made.
TEST(CliUsageTest, UserAddRefusesAUrlThatIsNoAddressBeforeMakingTheAccount) {
  const DemoDatabase demo("url");
  ASSERT_EQ(demo.imported().status, 0) << demo.imported().out;
  const std::string base = demo.base();
  const CliRun refused = Rectrack(base +
                                  "user add --email new@cps.example --role reader "
                                  "--url 'javascript:alert(1)' < /dev/null");
  EXPECT_EQ(refused.status, 1) << refused.out;
  EXPECT_NE(refused.out.find("--url must be an http:// or https:// address"), std::string::npos)
      << refused.out;
  EXPECT_EQ(Rectrack(base + "user list").out.find("new@cps.example"), std::string::npos);
}

// A filter of `alerts` that names nothing (a typo) is said, not answered with no alerts.
TEST(CliUsageTest, AlertsFilteredByAKindOrBodyThereIsNotIsAnError) {
  const DemoDatabase demo("alerts");
  ASSERT_EQ(demo.imported().status, 0) << demo.imported().out;
  const std::string base = demo.base();
  const CliRun kind = Rectrack(base + "alerts --kind bogus");
  EXPECT_EQ(kind.status, 1) << kind.out;
  EXPECT_NE(kind.out.find("no alert kind 'bogus' (they have: "), std::string::npos) << kind.out;
  const CliRun body = Rectrack(base + "alerts --body NOPE");
  EXPECT_EQ(body.status, 1) << body.out;
  EXPECT_NE(body.out.find("no body 'NOPE'"), std::string::npos) << body.out;
  EXPECT_EQ(Rectrack(base + "alerts --kind overdue --body CPS").status, 0);
}

// RECTRACK_CLOCK sets the command line's today when --clock is not given, as for the README's
// tour beside the demo server; --clock still wins, and a malformed value is an error naming it.
TEST(CliUsageTest, RectrackClockSetsTodayUnlessClockIsGiven) {
  const DemoDatabase demo("clock");
  ASSERT_EQ(demo.imported().status, 0) << demo.imported().out;
  const std::string base = demo.base();
  // da23-r2 was closed by the CPS in August 2024 and reopened by the follow-up in March 2025.
  ::setenv("RECTRACK_CLOCK", "2024-09-30", 1);  // the binary inherits it
  const CliRun then = Rectrack(base + "show da23-r2");
  EXPECT_NE(then.out.find("closed"), std::string::npos) << then.out;
  EXPECT_EQ(then.out.find("reopened"), std::string::npos) << then.out;
  const CliRun flag = Rectrack(base + "--clock 2025-04-01 show da23-r2");
  EXPECT_NE(flag.out.find("reopened"), std::string::npos) << flag.out;
  // With its rate and the real instant it read that, the day moves on as the demo server's
  // does: 2024-09-30, a day a second, 200 real seconds ago, is in April 2025, after the
  // follow-up reopened it.
  ::setenv("RECTRACK_CLOCK", "2024-09-30", 1);
  ::setenv("RECTRACK_CLOCK_RATE", "86400", 1);
  const auto since = std::chrono::system_clock::now() - std::chrono::seconds(200);
  ::setenv("RECTRACK_CLOCK_SINCE", FormatInstant(since).c_str(), 1);
  const CliRun moved = Rectrack(base + "show da23-r2");
  EXPECT_NE(moved.out.find("reopened"), std::string::npos) << moved.out;
  // A real instant in the future, or one so long ago that the clock reads past 2200, is refused.
  ::setenv("RECTRACK_CLOCK_SINCE", "2199-01-01T00:00:00Z", 1);
  const CliRun future = Rectrack(base + "list");
  EXPECT_NE(future.out.find("RECTRACK_CLOCK_SINCE '2199-01-01T00:00:00Z' is in the future"),
            std::string::npos)
      << future.out;
  ::setenv("RECTRACK_CLOCK_SINCE", "1971-01-01", 1);
  const CliRun stale = Rectrack(base + "list");
  EXPECT_NE(stale.out.find("run 86400 times faster since 1971-01-01T00:00:00Z, reads past 2200"),
            std::string::npos)
      << stale.out;
  ::setenv("RECTRACK_CLOCK_SINCE", "soon", 1);
  const CliRun bad_since = Rectrack(base + "list");
  EXPECT_EQ(bad_since.status, 1);
  EXPECT_NE(bad_since.out.find("RECTRACK_CLOCK_SINCE must be a real instant"), std::string::npos)
      << bad_since.out;
  // --clock takes its rate and instant from the flags, not the environment.
  const CliRun flag_alone = Rectrack(base + "--clock 2024-09-30 show da23-r2");
  EXPECT_EQ(flag_alone.out.find("reopened"), std::string::npos) << flag_alone.out;
  ::unsetenv("RECTRACK_CLOCK_RATE");
  ::unsetenv("RECTRACK_CLOCK_SINCE");
  ::setenv("RECTRACK_CLOCK", "yesterday", 1);
  const CliRun bad = Rectrack(base + "list");
  ::unsetenv("RECTRACK_CLOCK");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("RECTRACK_CLOCK must be like 2025-03-31"), std::string::npos) << bad.out;
}

// A report imported again under a new id (its draft imported twice by a slip) is refused, as on
// the web's draft page, and nothing is imported; --again says it is another report.
TEST(CliUsageTest, AnInspectionOfAHeldOnesTitleAndDateIsRefusedUnlessAgain) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("cli_again_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string base = "--db " + (dir / "r.db").string() + " --clock 2025-12-01 ";
  ASSERT_EQ(Rectrack(base + "import " + RECTRACK_SOURCE_DIR + "/demo/domestic-abuse.yaml").status,
            0);
  const std::string again = (dir / "again.yaml").string();
  std::ofstream(again) << "inspections:\n"
                          "  - id: da23-again\n"
                          "    title: \"The service from the Crown Prosecution Service (CPS) to "
                          "VICTIMS of domestic abuse\"\n"
                          "    published: 2023-03-01\n";
  const std::string events_before = Rectrack(base + "verify").out.substr(0, 14);
  const CliRun refused = Rectrack(base + "import " + again);
  EXPECT_EQ(refused.status, 1) << refused.out;
  EXPECT_NE(refused.out.find("inspection 'da23-again' has the title and publication date of "
                             "inspection 'da23', imported already: nothing was imported"),
            std::string::npos)
      << refused.out;
  EXPECT_EQ(Rectrack(base + "verify").out.substr(0, 14), events_before);  // "OK: 25 events,"
  const CliRun taken = Rectrack(base + "import --again " + again);
  EXPECT_EQ(taken.status, 0) << taken.out;
  EXPECT_NE(taken.out.find("1 events appended"), std::string::npos) << taken.out;
  fs::remove_all(dir);
}

// An id that begins with a dash, which an import may hold, is named after "--": shown, and
// recorded on. Before it, the id is taken for an option, a usage mistake.
TEST(CliUsageTest, AnIdThatBeginsWithADashIsNamedAfterDoubleDash) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("cli_dash_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string base = "--db " + (dir / "r.db").string() + " --clock 2025-12-01 ";
  const std::string file = (dir / "dash.yaml").string();
  std::ofstream(file) << "bodies:\n  - {id: CPS, name: Crown Prosecution Service}\n"
                         "inspections:\n  - {id: i1, title: One, published: 2025-01-06}\n"
                         "recommendations:\n"
                         "  - {id: --r1, inspection: i1, owners: [CPS], text: Do it.}\n";
  ASSERT_EQ(Rectrack(base + "import " + file).status, 0);
  EXPECT_EQ(Rectrack(base + "show --r1").status, 2);
  const CliRun shown = Rectrack(base + "show --format json -- --r1");
  EXPECT_EQ(shown.status, 0) << shown.out;
  EXPECT_NE(shown.out.find("\"id\":\"--r1\""), std::string::npos) << shown.out;
  const CliRun closed = Rectrack(base + "record --by CPS -- --r1 close --note done");
  EXPECT_EQ(closed.status, 2) << "the options go before --: " << closed.out;
  const CliRun recorded = Rectrack(base + "record --by CPS --note done -- --r1 close");
  EXPECT_EQ(recorded.status, 0) << recorded.out;
  EXPECT_NE(Rectrack(base + "show -- --r1").out.find("closed"), std::string::npos);
  // A --limit that is no number is a usage mistake, said before the database is read.
  const CliRun limit = Rectrack(base + "list --limit abc");
  EXPECT_EQ(limit.status, 2) << limit.out;
  EXPECT_NE(limit.out.find("--limit must be a whole number"), std::string::npos) << limit.out;
  fs::remove_all(dir);
}

// `rectrack webhook-secret` makes a secret the rules accept, a new one each time.
TEST(CliUsageTest, WebhookSecretPrintsANewStandardWebhooksSecret) {
  const CliRun a = Rectrack("webhook-secret");
  const CliRun b = Rectrack("webhook-secret");
  ASSERT_EQ(a.status, 0) << a.out;
  const std::string secret = a.out.substr(0, a.out.find('\n'));
  EXPECT_EQ(secret.rfind("whsec_", 0), 0u) << secret;
  EXPECT_TRUE(CheckWebhookSecret(secret).ok()) << secret;
  EXPECT_EQ(Base64Decode(secret.substr(6))->size(), 32u);
  EXPECT_NE(a.out, b.out);
}

// Which command lines start again: those whose memory grows with the log, a world or an answer.
TEST(StartAgainTest, OnlyACommandWhoseMemoryGrowsWithTheLogStartsAgain) {
  using Line = std::vector<std::string>;
  for (const Line& grows :
       {Line{"--db", "x.db", "serve"}, Line{"import", "a.yaml"}, Line{"verify"}, Line{"rebuild"},
        Line{"report", "progress", "--body", "CPS"},
        Line{"record", "r1", "close", "--attach", "minutes.pdf"}, Line{"token", "list"},
        Line{"report", "annex", "--body", "CPS"}, Line{"list", "--open"},
        Line{"list", "--limit", "1001"}, Line{"list", "--format", "json", "--limit", "100000"}}) {
    EXPECT_TRUE(rectrack::GrowsWithTheLog(grows)) << grows.back();
  }
  for (const Line& part :
       {Line{"show", "r1"}, Line{"--db", "x.db", "show", "r1", "--as-of", "2025-01-01"},
        Line{"record", "r1", "update", "--note", "serve"}, Line{"list", "--open", "--limit", "100"},
        Line{"list", "--limit", "1000"}, Line{"actions", "--rec", "r1"}, Line{"rules", "r1"},
        Line{"backup", "b"}, Line{"workflow"}, Line{}, Line{"serve", "--bogus"}, Line{"bogus"},
        Line{"show"}}) {
    EXPECT_FALSE(rectrack::GrowsWithTheLog(part)) << (part.empty() ? "(nothing)" : part.front());
  }
}

}  // namespace
}  // namespace rectrack::cli
