#include "engine/evidence.h"

#include <algorithm>

#include "common/strings.h"
#include "common/text.h"
#include "storage/crypto.h"

namespace rectrack {
namespace {

constexpr std::string_view kDocx =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
constexpr std::string_view kXlsx =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
constexpr std::string_view kOdt = "application/vnd.oasis.opendocument.text";

struct Kind {
  std::string_view media_type;
  std::string_view label;                    // in messages
  std::vector<std::string_view> extensions;  // what its name may end in
};

const std::vector<Kind>& Kinds() {
  static const std::vector<Kind> kinds = {
      {"application/pdf", "a PDF", {".pdf"}},
      {kDocx, "a Word document (DOCX)", {".docx"}},
      {kXlsx, "an Excel workbook (XLSX)", {".xlsx"}},
      {kOdt, "an OpenDocument text (ODT)", {".odt"}},
      {"image/png", "a PNG image", {".png"}},
      {"image/jpeg", "a JPEG image", {".jpg", ".jpeg"}},
      {"text/csv", "a CSV file", {".csv"}},
      {"text/plain", "plain text", {".txt", ".text", ".md", ".log"}},
  };
  return kinds;
}

const Kind& KindOf(std::string_view media_type) {
  for (const Kind& k : Kinds()) {
    if (k.media_type == media_type) return k;
  }
  return Kinds().back();
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Whether `needle` occurs in the last `window` bytes of `s`.
bool EndsWithin(std::string_view s, std::string_view needle, size_t window) {
  const size_t from = s.size() > window ? s.size() - window : 0;
  return s.find(needle, from) != std::string_view::npos;
}

std::string Extension(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? "" : Lower(std::string_view(name).substr(dot));
}

// How a refusal names a file: "the file 'dip-sample.pdf'", so that a message a page begins
// with a capital letter does not change the name.
std::string TheFile(const std::string& name) { return "the file '" + name + "'"; }

// What the bytes are, and whether they end as that kind must: "" when unknown.
Result<std::string_view> Sniff(const std::string& name, std::string_view content) {
  auto truncated = [&](const Kind& kind) {
    return Status::InvalidArgument(TheFile(name) + " is " + std::string(kind.label) +
                                   " that ends too soon: the file is incomplete (truncated)");
  };
  if (StartsWith(content, "%PDF-")) {
    // "%%EOF" ends every PDF; an incremental update may leave a little after it.
    if (!EndsWithin(content, "%%EOF", 1024)) return truncated(KindOf("application/pdf"));
    return std::string_view("application/pdf");
  }
  if (StartsWith(content, "PK\x03\x04")) {
    // The end of central directory record: 22 bytes, after at most a 64 KiB comment.
    if (!EndsWithin(content, std::string_view("PK\x05\x06", 4), 22 + 65535)) {
      return Status::InvalidArgument(TheFile(name) +
                                     " is a ZIP archive that ends too soon: the file is "
                                     "incomplete (truncated)");
    }
    // ODF puts an uncompressed "mimetype" entry first; OOXML names its main part.
    // (substr would throw past the end: a ZIP this short is none of the formats.)
    if (content.size() >= 38 + kOdt.size() && content.substr(30, 8) == "mimetype" &&
        content.substr(38, kOdt.size()) == kOdt) {
      return kOdt;
    }
    const bool ooxml = content.find("[Content_Types].xml") != std::string_view::npos;
    if (ooxml && content.find("word/document.xml") != std::string_view::npos) return kDocx;
    if (ooxml && content.find("xl/workbook.xml") != std::string_view::npos) return kXlsx;
    return std::string_view("");
  }
  if (StartsWith(content, "\x89PNG\r\n\x1a\n")) {
    if (!EndsWithin(content, "IEND", 12)) return truncated(KindOf("image/png"));
    return std::string_view("image/png");
  }
  if (StartsWith(content, "\xFF\xD8\xFF")) {
    if (!EndsWithin(content, "\xFF\xD9", 16)) return truncated(KindOf("image/jpeg"));
    return std::string_view("image/jpeg");
  }
  // Text: valid UTF-8 without controls but tab, CR, LF (and a form feed between pages).
  const bool text =
      IsValidUtf8(content) && std::none_of(content.begin(), content.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f') || u == 0x7F;
      });
  if (text) return std::string_view(Extension(name) == ".csv" ? "text/csv" : "text/plain");
  return std::string_view("");
}

// U+202A-U+202E and U+2066-U+2069 reorder what follows them: "policy<U+202E>fdp.exe" shows
// as "policyexe.pdf". A file name is no place for them.
bool HasBidiControl(std::string_view name) {
  for (size_t i = 0; i + 2 < name.size(); ++i) {
    const auto b1 = static_cast<unsigned char>(name[i + 1]);
    const auto b2 = static_cast<unsigned char>(name[i + 2]);
    if (static_cast<unsigned char>(name[i]) != 0xE2) continue;
    if ((b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9)) {
      return true;
    }
  }
  return false;
}

// The name without any directory a client put in front of it.
std::string BaseName(const std::string& name) {
  const size_t slash = name.find_last_of("/\\");
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

}  // namespace

Result<std::string> EvidenceMediaType(const std::string& name, std::string_view content) {
  if (content.empty()) return Status::InvalidArgument(TheFile(name) + " is empty");
  ASSIGN_OR_RETURN(std::string_view type, Sniff(name, content));
  if (type.empty()) {
    std::vector<std::string> labels;
    for (const Kind& k : Kinds()) labels.emplace_back(k.label);
    return Status::InvalidArgument(TheFile(name) +
                                   " is not a kind of file rectrack keeps as evidence (" +
                                   Join(labels, ", ") + "), as its content shows");
  }
  const Kind& kind = KindOf(type);
  const std::string extension = Extension(name);
  if (std::find(kind.extensions.begin(), kind.extensions.end(), extension) ==
      kind.extensions.end()) {
    return Status::InvalidArgument(TheFile(name) + " is " + std::string(kind.label) +
                                   ", as its content shows: its name must end in " +
                                   std::string(kind.extensions.front()));
  }
  return std::string(type);
}

EvidenceFile::EvidenceFile(std::string name, std::string content)
    : name(std::move(name)),
      content(std::move(content)),
      sha256(storage::Sha256Hex(this->content)) {}

Result<std::vector<Attachment>> DescribeEvidence(const std::vector<EvidenceFile>& files,
                                                 const EvidenceLimits& limits) {
  if (files.size() > limits.files) {
    return Status::InvalidArgument(std::to_string(files.size()) + " files: at most " +
                                   std::to_string(limits.files) + " may be attached to an event");
  }
  std::vector<Attachment> out;
  size_t total = 0;
  for (const EvidenceFile& file : files) {
    const std::string name = BaseName(file.name);
    if (name.empty() || name.size() > kMaxNameBytes || !IsValidUtf8(name) ||
        FindControl(name) != std::string::npos || name.find_first_of("\t\n") != std::string::npos ||
        HasBidiControl(name)) {
      return Status::InvalidArgument(
          "an evidence file needs a name of at most " + std::to_string(kMaxNameBytes) +
          " bytes of UTF-8 without control characters, tabs, line breaks or bidirectional "
          "controls");
    }
    if (file.content.size() > limits.file) {
      return Status::TooLarge(TheFile(name) + " is " + std::to_string(file.content.size()) +
                              " bytes: a file may be at most " + std::to_string(limits.file));
    }
    total += file.content.size();
    if (total > limits.event) {
      return Status::TooLarge("the files come to more than " + std::to_string(limits.event) +
                              " bytes: an event's files may come to at most that");
    }
    ASSIGN_OR_RETURN(std::string media_type, EvidenceMediaType(name, file.content));
    if (std::find(limits.media_types.begin(), limits.media_types.end(), media_type) ==
        limits.media_types.end()) {
      return Status::InvalidArgument(
          TheFile(name) + " is " + std::string(KindOf(media_type).label) +
          ", which this server does not take as evidence (" + Join(limits.media_types, ", ") + ")");
    }
    Attachment a{file.sha256, name, media_type, static_cast<int64_t>(file.content.size())};
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
  }
  return out;
}

}  // namespace rectrack
