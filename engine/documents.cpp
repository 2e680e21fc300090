#include "engine/documents.h"

#include <chrono>
#include <vector>

#include "common/subprocess.h"
#include "engine/render.h"

namespace rectrack {
namespace {

struct FormatInfo {
  DocumentFormat format;
  const char* name;
  const char* media_type;
};

constexpr FormatInfo kFormats[] = {
    {DocumentFormat::kXlsx, "xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {DocumentFormat::kDocx, "docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {DocumentFormat::kOdt, "odt", "application/vnd.oasis.opendocument.text"},
    {DocumentFormat::kPdf, "pdf", "application/pdf"},
};

const FormatInfo& Info(DocumentFormat format) {
  for (const FormatInfo& info : kFormats) {
    if (info.format == format) return info;
  }
  return kFormats[0];
}

// A claim on one of the converter's places, given back when it goes out of scope.
class Place {
 public:
  Place(std::atomic<int>& running, int limit) : running_(running) {
    int now = running_.load();
    while (now < limit && !running_.compare_exchange_weak(now, now + 1)) {
    }
    held_ = now < limit;
  }
  ~Place() {
    if (held_) running_.fetch_sub(1);
  }
  bool held() const { return held_; }

 private:
  std::atomic<int>& running_;
  bool held_ = false;
};

std::string FirstLine(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  return line.empty() ? "no message" : line;
}

}  // namespace

std::optional<DocumentFormat> DocumentFormatNamed(std::string_view name) {
  for (const FormatInfo& info : kFormats) {
    if (name == info.name) return info.format;
  }
  return std::nullopt;
}

const char* DocumentFormatName(DocumentFormat format) { return Info(format).name; }
const char* DocumentMediaType(DocumentFormat format) { return Info(format).media_type; }
bool MadeByConverter(DocumentFormat format) { return format != DocumentFormat::kXlsx; }

DocumentConverter::DocumentConverter(ConverterOptions options) : options_(std::move(options)) {}

Result<std::string> DocumentConverter::Annex(const AnnexReport& report,
                                             DocumentFormat format) const {
  if (format == DocumentFormat::kXlsx) return AnnexAsXlsx(report);
  return FromHtml(AnnexAsHtml(report), format);
}

Result<std::string> DocumentConverter::Progress(const ProgressReport& report,
                                                DocumentFormat format) const {
  if (format == DocumentFormat::kXlsx) return ProgressAsXlsx(report);
  return FromHtml(ProgressAsHtml(report), format);
}

Result<std::string> DocumentConverter::FromHtml(const std::string& html,
                                                DocumentFormat format) const {
  Place place(running_, options_.max_concurrent);
  if (!place.held()) {
    return Status::Unavailable(std::to_string(options_.max_concurrent) +
                               " documents are being made already; try again in a moment");
  }
  std::vector<std::string> argv;
  if (format == DocumentFormat::kPdf) {
    // PDF/UA: tagged, with the title and language of the HTML, and real table headers.
    argv = {options_.weasyprint, "--quiet", "--pdf-variant", "pdf/ua-1", "-", "-"};
  } else {
    // The page's <h1> becomes the document's title (the title style, and its metadata);
    // the tables keep their captions and repeat their header row on every page.
    // Not --sandbox: Debian 12's pandoc (2.17) then cannot read its own docx and odt templates.
    // The HTML is rectrack's own, every text in it escaped: it names no file or URL to fetch.
    argv = {options_.pandoc,
            "--from",
            "html",
            "--to",
            DocumentFormatName(format),
            "--shift-heading-level-by=-1",
            "--output",
            "-"};
    const std::string& style =
        format == DocumentFormat::kDocx ? options_.reference_docx : options_.reference_odt;
    if (!style.empty()) argv.push_back("--reference-doc=" + style);
  }
  ProgramLimits limits;
  limits.timeout = std::chrono::seconds(options_.timeout_seconds);
  limits.max_output_bytes = options_.max_output_bytes;
  Result<ProgramOutput> ran = RunProgram(argv, html, limits);
  // A document this large is the server's to make, not a request too large: say it as a failure.
  if (ran.status().code() == Code::kTooLarge) return Status::IOError(ran.status().message());
  ASSIGN_OR_RETURN(ProgramOutput made, std::move(ran));
  if (made.exit_code != 0) {
    return Status::IOError(argv[0] + " could not make the " + DocumentFormatName(format) +
                           " (exit " + std::to_string(made.exit_code) +
                           "): " + FirstLine(made.err));
  }
  if (made.out.empty()) return Status::IOError(argv[0] + " made an empty document");
  return std::move(made.out);
}

}  // namespace rectrack
