// The command line's commands, split by subject across files: cli.cpp has the dispatch and
// the reading commands, cli_records.cpp the ones about the log's content and its copies
// (record, report, verify, backup), cli_draft.cpp the drafting of a report's recommendations,
// cli_serve.cpp `serve` and `alerts`.
// Private to rectrack::cli.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "common/date.h"
#include "common/status.h"
#include "engine/clock.h"
#include "engine/engine.h"

namespace rectrack::cli {

// What a command runs with: its arguments, the engine's options, the clock and where to print.
struct Context {
  const Args& args;
  std::vector<std::string> rest;  // the positional arguments after the command's name
  Engine::Options options;
  const Clock& clock;
  std::optional<Date> as_of;  // --as-of
  std::ostream& out;
};

// Who the log names as the actor of what the command writes: --actor, or cli:$USER.
std::string Actor(const Context& c);
// OK for "" (every body) or a body `engine` knows; else NotFound saying which there are (ids
// are case-sensitive: "no body 'cps' (the bodies are CPS, NPCC, SFO)").
Status CheckBody(const Engine& engine, const std::string& body);

// The bytes of the file at `path`, read only when it holds at most `limit` bytes: TooLarge
// otherwise, naming it as `what` ("--attach") says.
Result<std::string> ReadBoundedFile(const std::string& path, size_t limit, const std::string& what);
// Writes `bytes` to `path` whole or not at all: into a file beside it, then renamed over it (over
// the file a symbolic link names). A path that is no regular file (/dev/stdout, a pipe) is
// written to directly.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

// `record ID TRANSITION ...`: one event, with any --attach files as its evidence.
Status RunRecord(Engine& engine, const Context& c);
// `report annex|progress`: printed, or a document written to --output.
Status RunReport(Engine& engine, const Context& c);
// `verify`: the chain, a replay, the item index and every evidence file; needs no engine of
// its own.
Status RunVerify(const Context& c);
// `rebuild`: the item index from the log (Engine::Rebuild).
Status RunRebuild(Engine& engine, const Context& c);
// `backup DIR`: a verified copy of the database.
Status RunBackup(const Context& c);
// `draft REPORT`: a draft import file of the report's recommendations (cli_draft.cpp).
Status RunDraft(const Context& c);
// `serve`: the HTTP API, the web workspace and the alerts over one engine (cli_serve.cpp).
Status RunServe(const Context& c);
// `alerts [ID]` and `alerts test-email --to ADDRESS` (cli_serve.cpp).
Status RunAlerts(const Context& c);

}  // namespace rectrack::cli
