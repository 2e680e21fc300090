// Evidence files: what kind of file one is, as its bytes show, and whether it may be kept.
//
// A file's name is a claim; its content decides. A PDF must start "%PDF-" and end with "%%EOF";
// DOCX, XLSX and ODT are ZIP archives with the parts each format must have and a whole central
// directory; PNG and JPEG have their signatures and end markers; CSV and plain text are UTF-8
// without control characters. A file cut short (an upload that stopped mid-way) fails the end
// checks. The name's extension must agree with the content (a PNG named policy.pdf is refused),
// so a reader's program opens what the name promises.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/commands.h"
#include "engine/model.h"

namespace rectrack {

// The media type of `content`, named `name`: one of "application/pdf", the DOCX, XLSX and ODT
// types, "image/png", "image/jpeg", "text/csv" (UTF-8 text named *.csv) or "text/plain".
// InvalidArgument saying what is wrong, naming the file: empty, not a kind rectrack knows,
// truncated, or named for another kind.
Result<std::string> EvidenceMediaType(const std::string& name, std::string_view content);

// Checks `files` against `limits` (count, sizes, allowed media types) and describes each as an
// Attachment (hash, name without directories, media type, size); the same file given twice under
// the same name is described once. TooLarge for a size limit; InvalidArgument for anything else,
// naming the file.
Result<std::vector<Attachment>> DescribeEvidence(const std::vector<EvidenceFile>& files,
                                                 const EvidenceLimits& limits);

}  // namespace rectrack
