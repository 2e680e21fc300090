// Reports as documents to save, print or paste into the annual report: XLSX made in process
// (render.h), DOCX and ODT made by pandoc and PDF by WeasyPrint, both from the report's HTML
// (AnnexAsHtml, ProgressAsHtml), so every format says the same thing.
//
// A conversion by an outside program is bounded: at most `max_concurrent` run at once (more are
// refused at once, not queued), each within `timeout_seconds` (then killed) and
// `max_output_bytes`. Thread-safe: one DocumentConverter serves every thread of a server.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/reports.h"

namespace rectrack {

enum class DocumentFormat { kXlsx, kDocx, kOdt, kPdf };

// "xlsx", "docx", "odt" or "pdf"; nullopt for anything else.
std::optional<DocumentFormat> DocumentFormatNamed(std::string_view name);
// The name above, which is also the file's extension.
const char* DocumentFormatName(DocumentFormat format);
const char* DocumentMediaType(DocumentFormat format);
// True for the formats an outside program makes (seconds, not milliseconds: a server makes them
// off its I/O threads).
bool MadeByConverter(DocumentFormat format);

struct ConverterOptions {
  std::string pandoc = "pandoc";          // DOCX and ODT; looked up in PATH
  std::string weasyprint = "weasyprint";  // PDF
  int timeout_seconds = 60;
  int max_concurrent = 2;  // a PDF of a large annex holds a core for seconds
  size_t max_output_bytes = 64 << 20;
  // A house style: a DOCX (or ODT) whose styles (fonts, headings, table captions) the documents
  // take, as pandoc's --reference-doc reads it. "" for pandoc's own.
  std::string reference_docx = "";
  std::string reference_odt = "";
};

class DocumentConverter {
 public:
  explicit DocumentConverter(ConverterOptions options = {});

  const ConverterOptions& options() const { return options_; }

  // The report in `format`. Unavailable when max_concurrent conversions are running (nothing was
  // started: try again) or the program did not finish in time (it was killed); IOError when it
  // cannot be run or fails (with the first line of what it said).
  Result<std::string> Annex(const AnnexReport& report, DocumentFormat format) const;
  Result<std::string> Progress(const ProgressReport& report, DocumentFormat format) const;

 private:
  Result<std::string> FromHtml(const std::string& html, DocumentFormat format) const;

  ConverterOptions options_;
  mutable std::atomic<int> running_{0};
};

}  // namespace rectrack
