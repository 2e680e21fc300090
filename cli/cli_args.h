// The `rectrack` command line as data: the usage text, arguments parsed into options and
// positionals, and the table of what each command takes, checked before any database is opened
// (cli/cli.cpp runs the commands).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/date.h"
#include "common/status.h"

namespace rectrack::cli {

extern const char* const kUsage;
// What kUsage says of command `cmd` (each of its entries, with their continuation lines), after
// "usage:"; for a command it does not know, where to find them all. What a usage mistake
// prints under its message: the one command, not the whole page, which would scroll the
// message away.
std::string UsageOf(const std::string& cmd);

// One command line: `--name value`, `--name=value` and `--flag`, and the rest in order; after
// `--`, every word is one of the rest (an id that begins with '-').
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> options;

  bool Has(const std::string& name) const { return options.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second.back();
  }
  // Every value of a repeatable option, in order.
  std::vector<std::string> All(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? std::vector<std::string>() : it->second;
  }
};

// InvalidArgument for an unknown option, or one missing its value.
Result<Args> ParseArgs(const std::vector<std::string>& argv);
// The command a command line names, even one ParseArgs refuses: its first word that is neither
// an option nor an option's value (`--rules rules show` names show); "" when it names none.
std::string CommandNamed(const std::vector<std::string>& argv);

// What each command takes. Usage mistakes are caught from this table before the database is
// opened, so a typo never creates a stray rectrack.db, and they exit with status 2.
struct CommandSpec {
  std::set<std::string> options;
  size_t min_args;
  size_t max_args;
  std::set<std::string> formats;
  bool creates_database;  // only commands that write may create a database
};

// Every command by name.
const std::map<std::string, CommandSpec>& Commands();

// InvalidArgument, saying what, for any usage mistake: an unknown command, an option it does not
// take, the wrong number of arguments, a malformed date, format or field.
Status CheckUsage(const Args& args);

// The date option `name`, or nullopt when not given; InvalidArgument when not YYYY-MM-DD.
Result<std::optional<Date>> OptionalDate(const Args& args, const std::string& name);

// --limit, a whole number from 1 to 999999999, or nullopt when not given; InvalidArgument else.
Result<std::optional<size_t>> Limit(const Args& args);

// --format, one of `allowed`, else `fallback`; InvalidArgument naming the choices.
Result<std::string> Format(const Args& args, const std::set<std::string>& allowed,
                           const std::string& fallback);

}  // namespace rectrack::cli
