// `rectrack draft REPORT`: a draft import file of a report's recommendations (draft/draft.h).
#include <cstdlib>
#include <filesystem>

#include "cli/commands.h"
#include "cli/config.h"
#include "common/strings.h"
#include "draft/draft.h"
#include "engine/documents.h"

namespace rectrack::cli {

Status RunDraft(const Context& c) {
  const std::string& path = c.rest[0];
  DraftRequest request;
  request.source = std::filesystem::path(path).filename().string();
  request.inspection_id = c.args.Get("inspection");
  request.follow_up_of = c.args.Get("follow-up-of");
  ASSIGN_OR_RETURN(request.published, OptionalDate(c.args, "published"));
  // The bodies and the parent's recommendations, when there is a database to know them.
  if (std::filesystem::exists(c.options.db_path)) {
    ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(c.options));
    RETURN_IF_ERROR(AddWhatEngineKnows(*engine, &request));
  } else if (!request.follow_up_of.empty()) {
    return Status::NotFound("--follow-up-of " + request.follow_up_of + ": there is no database (" +
                            c.options.db_path + ") to read its recommendations from");
  }
  // The converters as `serve` and `report` run them: RECTRACK_PANDOC, the timeout, ...
  ConverterOptions converters;
  RETURN_IF_ERROR(ApplyDocumentsEnvironment(
      &converters, [](const char* name) -> const char* { return std::getenv(name); }));
  ReportReadOptions reading;
  reading.pandoc = converters.pandoc;
  reading.timeout_seconds = converters.timeout_seconds;
  if (const char* pdftotext = std::getenv("RECTRACK_PDFTOTEXT"); pdftotext && *pdftotext) {
    reading.pdftotext = pdftotext;
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadBoundedFile(path, reading.max_bytes, "report"));
  auto report = ReadReport(bytes, reading);
  if (!report.ok()) return report.status().WithContext(path);
  const Draft draft = DraftFromReport(*report, request);
  RETURN_IF_ERROR(CheckDraftSize(draft).WithContext(path));
  const std::string yaml = DraftAsYaml(draft, *report, request);
  if (!c.args.Has("output")) {
    c.out << yaml;
    return Status();
  }
  RETURN_IF_ERROR(WriteFileAtomically(c.args.Get("output"), yaml));
  size_t checks = draft.inspection_checks.size();
  for (const auto& r : draft.recommendations) checks += r.checks.empty() ? 0 : 1;
  for (const auto& j : draft.judgements) checks += j.checks.empty() ? 0 : 1;
  c.out << "wrote " << c.args.Get("output") << ": "
        << Plural(draft.recommendations.size(), "recommendation") << ", "
        << Plural(draft.judgements.size(), "judgement") << ", "
        << Plural(draft.new_bodies.size(), "new body", "new bodies") << " proposed, "
        << Plural(checks, "item") << " to check, " << Plural(draft.questions.size(), "question")
        << ". Review it, set reviewed: true, then run rectrack import.\n";
  return Status();
}

}  // namespace rectrack::cli
