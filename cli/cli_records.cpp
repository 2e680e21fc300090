#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "common/strings.h"
#include "engine/documents.h"
#include "engine/render.h"
#include "storage/database.h"

namespace rectrack::cli {
namespace {}  // namespace

Result<std::string> ReadBoundedFile(const std::string& path, size_t limit,
                                    const std::string& what) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return Status::InvalidArgument(what + " " + path + ": " + error.message());
  if (size > limit) {
    return Status::TooLarge(what + " " + path + ": " + std::to_string(size) + " bytes; at most " +
                            std::to_string(limit) + " are read");
  }
  std::ifstream in(path, std::ios::binary);
  std::string content(size, '\0');
  if (!in.read(content.data(), static_cast<std::streamsize>(size))) {
    return Status::IOError(what + " " + path + ": cannot read it");
  }
  return content;
}

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  // Not a file to replace (/dev/stdout, a pipe, /dev/null): written to as it is.
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!error && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    return out ? Status() : Status::IOError("cannot write " + path + SystemReason(errno));
  }
  // A symbolic link is followed: the file it names is replaced, not the link.
  std::string target = path;
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(path, error))) {
    const std::filesystem::path link = std::filesystem::read_symlink(path, error);
    if (!error) {
      target =
          (link.is_absolute() ? link : std::filesystem::path(path).parent_path() / link).string();
    }
  }
  const std::string partial = target + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      const int error = errno;
      std::remove(partial.c_str());
      return Status::IOError("cannot write " + path + SystemReason(error));
    }
  }
  if (std::rename(partial.c_str(), target.c_str()) != 0) {
    const int error = errno;
    std::remove(partial.c_str());
    return Status::IOError("cannot write " + path + SystemReason(error));
  }
  return Status();
}

namespace {

// A document (a workbook, DOCX, ODT, PDF) is written to a file, never to a terminal; --output is
// for nothing else.
Status CheckOutput(const Args& args, const std::string& format) {
  const bool document = DocumentFormatNamed(format).has_value();
  if (document && !args.Has("output")) {
    return Status::InvalidArgument("--format " + format + " writes a file: give --output FILE." +
                                   format);
  }
  if (args.Has("output") && !document) {
    return Status::InvalidArgument("--output is for --format xlsx, docx, odt or pdf");
  }
  return Status();
}

}  // namespace

Status RunRecord(Engine& engine, const Context& c) {
  const Args& args = c.args;
  if (c.rest.size() != 2) return Status::InvalidArgument("record needs ID and TRANSITION");
  RecordEvent e;
  e.subject_id = c.rest[0];
  e.transition = c.rest[1];
  ASSIGN_OR_RETURN(e.effective, OptionalDate(args, "effective"));
  e.body = args.Get("by");
  e.unit = args.Get("unit");
  if (!e.unit.empty() && e.body.empty()) {
    return Status::InvalidArgument("--unit U goes with --by BODY, the body the unit is part of");
  }
  e.role = args.Get("role", e.body.empty() ? "inspectorate" : "body_lead");
  e.note = args.Get("note");
  if (args.Has("field")) {
    for (const auto& kv : args.options.at("field")) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::InvalidArgument("--field must be NAME=VALUE, not '" + kv + "'");
      }
      e.fields[kv.substr(0, eq)].push_back(kv.substr(eq + 1));
    }
  }
  for (const std::string& path : args.All("attach")) {
    ASSIGN_OR_RETURN(std::string content,
                     ReadBoundedFile(path, c.options.text_limits.evidence.file, "--attach"));
    e.files.push_back({path, std::move(content)});
  }
  ASSIGN_OR_RETURN(ApplyReport report, engine.Apply({e}, Actor(c)));
  if (report.appended == 0) {
    c.out << "unchanged: the same event is already recorded\n";
    return Status();
  }
  auto view = engine.KindOf(e.subject_id) == SubjectKind::kAction
                  ? engine.ShowAction(e.subject_id, std::nullopt)
                  : engine.Show(e.subject_id, std::nullopt);
  if (!view.ok()) return view.status();
  c.out << "recorded event " << report.seqs.back() << ": " << e.subject_id << " is now "
        << view->state << "\n";
  return Status();
}

Status RunReport(Engine& engine, const Context& c) {
  RETURN_IF_ERROR(CheckBody(engine, c.args.Get("body")));
  ConverterOptions converters;  // as serve's, from RECTRACK_PANDOC, RECTRACK_REFERENCE_DOCX, ...
  RETURN_IF_ERROR(ApplyDocumentsEnvironment(
      &converters, [](const char* name) -> const char* { return std::getenv(name); }));
  const DocumentConverter documents(converters);
  if (c.rest.size() == 1 && c.rest[0] == "progress") {
    ASSIGN_OR_RETURN(
        std::string format,
        Format(c.args, {"text", "md", "csv", "json", "html", "xlsx", "docx", "odt", "pdf"},
               "text"));
    RETURN_IF_ERROR(CheckOutput(c.args, format));
    ASSIGN_OR_RETURN(ProgressReport report, engine.Progress(c.args.Get("body"), c.as_of));
    if (const auto document = DocumentFormatNamed(format)) {
      ASSIGN_OR_RETURN(std::string bytes, documents.Progress(report, *document));
      return WriteFileAtomically(c.args.Get("output"), bytes);
    }
    c.out << (format == "json"   ? ProgressAsJson(report)
              : format == "csv"  ? ProgressAsCsv(report)
              : format == "md"   ? ProgressAsMarkdown(report)
              : format == "html" ? ProgressAsHtml(report)
                                 : ProgressAsText(report));
    return Status();
  }
  if (c.rest.size() != 1 || c.rest[0] != "annex") {
    return Status::InvalidArgument("report needs a kind: report annex|progress --body B");
  }
  if (!c.args.Has("body")) return Status::InvalidArgument("report annex needs --body B");
  ASSIGN_OR_RETURN(
      std::string format,
      Format(c.args, {"md", "csv", "json", "html", "xlsx", "docx", "odt", "pdf"}, "md"));
  RETURN_IF_ERROR(CheckOutput(c.args, format));
  ASSIGN_OR_RETURN(AnnexReport report, engine.AnnexFromHeads(c.args.Get("body"), c.as_of));
  if (const auto document = DocumentFormatNamed(format)) {
    ASSIGN_OR_RETURN(std::string bytes, documents.Annex(report, *document));
    return WriteFileAtomically(c.args.Get("output"), bytes);
  }
  c.out << (format == "json"   ? AnnexAsJson(report)
            : format == "csv"  ? AnnexAsCsv(report)
            : format == "html" ? AnnexAsHtml(report)
                               : AnnexAsMarkdown(report));
  return Status();
}

Status RunVerify(const Context& c) {
  ASSIGN_OR_RETURN(VerifyResult result, Engine::VerifyDatabase(c.options));
  c.out << "OK: " << result.events << " events, hash chain intact, every event replays through "
        << c.options.workflow_path << ", " << result.evidence_files
        << " evidence files match their hashes, the item index (" << result.index_rows
        << " rows) matches the log";
  if (result.index_through < result.events) {
    c.out << " up to event " << result.index_through
          << " (the events after it are read from the log; writes index them a batch at a time)";
  }
  if (result.heads_current) {
    c.out << ", the item heads (" << result.head_rows << " rows) match the log";
  } else {
    c.out << "; the item heads are not current (worked out under another workflow, or not yet "
             "since an upgrade): "
          << (c.options.read_only
                  ? "`rebuild` works them out again (read only, as here, nothing writes them)"
                  : "the next command that reads the whole log (`list`, `serve`, `rebuild`, "
                    "...) works them out again");
  }
  c.out << "\nhead " << result.head_hash << "\n";
  return Status();
}

Status RunRebuild(Engine& engine, const Context& c) {
  ASSIGN_OR_RETURN(const int64_t rows, engine.Rebuild());
  c.out << "OK: rebuilt the item index from the log: " << rows << " rows for " << engine.last_seq()
        << " events, and the item heads\n";
  return Status();
}

namespace {

// The backup into `copy` (in a directory that exists): made and verified under a name no one
// takes for a backup, and only then given its own, so that a backup killed (or failing) on the
// way leaves nothing that looks finished.
Result<VerifyResult> BackUpTo(const Context& c, const std::filesystem::path& copy) {
  std::error_code error;
  const std::string unverified = copy.string() + ".unverified";
  std::filesystem::remove(unverified, error);
  {
    ASSIGN_OR_RETURN(auto db,
                     storage::Database::Open(c.options.db_path,
                                             storage::Database::Existing(c.options.read_only)));
    RETURN_IF_ERROR(db->BackupTo(unverified));
  }
  // Read only: the copy stays as BackupTo left it, one file in rollback-journal mode, which
  // opens where its reader may not write (no WAL, no -shm beside it).
  Engine::Options copied = c.options;
  copied.db_path = unverified;
  copied.read_only = true;
  auto verified = Engine::VerifyDatabase(copied);
  if (!verified.ok()) {
    // Not left to look like a backup: the copy is of the database as it is, so what failed is
    // the database itself, which `rectrack verify` names.
    std::filesystem::remove(unverified, error);
    return verified.status().WithContext("the backup of " + c.options.db_path +
                                         " does not verify, so it was removed (rectrack verify "
                                         "checks the database itself)");
  }
  if (std::rename(unverified.c_str(), copy.c_str()) != 0) {
    const int reason = errno;
    std::filesystem::remove(unverified, error);
    return Status::IOError("cannot back up to '" + copy.string() +
                           "': cannot rename the verified copy onto it" + SystemReason(reason));
  }
  return verified;
}

}  // namespace

// A copy of the database (evidence and accounts included) made by SQLite's online backup, so
// it is consistent even while `serve` writes; then verified as `verify` would. A backup that
// fails leaves no directory it made.
Status RunBackup(const Context& c) {
  const std::filesystem::path dir = c.rest[0];
  std::error_code error;
  const bool made = std::filesystem::create_directories(dir, error);
  if (error) return Status::IOError("cannot make " + dir.string() + ": " + error.message());
  const std::filesystem::path copy = dir / std::filesystem::path(c.options.db_path).filename();
  if (std::filesystem::exists(copy)) {
    return Status::InvalidArgument(copy.string() + " exists already: back up into a new directory");
  }
  Result<VerifyResult> verified =
      ::access(dir.c_str(), W_OK) != 0
          ? Status::IOError("cannot back up into " + dir.string() + SystemReason(errno))
          : BackUpTo(c, copy);
  if (!verified.ok()) {
    if (made) std::filesystem::remove(dir, error);  // (only if empty: nothing else of ours)
    return verified.status();
  }
  c.out << "backed up " << c.options.db_path << " to " << copy.string() << ": " << verified->events
        << " events and " << verified->evidence_files << " evidence files, verified\nhead "
        << verified->head_hash << "\n";
  return Status();
}

}  // namespace rectrack::cli
