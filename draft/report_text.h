// The text of an inspection report as the paragraphs a person would point at, read from a PDF
// (poppler's pdftotext -layout), a DOCX or ODT (pandoc), HTML (pandoc) or UTF-8 text, with what
// conversion leaves behind undone:
//
//   - words split across lines joined ("trauma-\ninformed" and "trauma- informed" become
//     "trauma-informed"; "recom-\nmendation" becomes "recommendation" when the report writes the
//     word whole elsewhere; a suspended "pre- and post-charge" is left alone);
//   - running page headers and footers (a line repeated at the top or foot of most pages) and
//     page numbers ("7", "Page 7 of 32", "7 of 32") dropped, even in the middle of a paragraph;
//   - a paragraph broken by a page or a column joined again (it does not end a sentence and the
//     next starts in lower case);
//   - list markers ("1.", "(a)", "iv.", "Recommendation 3", "R3", "•", "-") taken off the text
//     and kept beside it; table rules dropped and each table cell a paragraph of its own.
//
// Every outside program runs through RunProgram (common/subprocess.h): bounded in time and
// output, and killed with whatever it started when it overruns. Thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rectrack {

enum class ReportFormat { kPdf, kDocx, kOdt, kHtml, kText };
const char* ReportFormatName(ReportFormat format);  // "PDF", "DOCX", ...

struct ReportReadOptions {
  std::string pandoc = "pandoc";        // DOCX, ODT, HTML; looked up in PATH
  std::string pdftotext = "pdftotext";  // PDF (poppler-utils)
  int timeout_seconds = 60;
  size_t max_bytes = 20 << 20;      // the document
  size_t max_text_bytes = 8 << 20;  // the text a converter may print
  // What a DOCX's or ODT's entries may take unpacked, as its ZIP directory says: a small file
  // that unpacks to gigabytes (a zip bomb) is refused before a converter spends a minute on it.
  size_t max_unpacked_bytes = 64 << 20;
  // The heap pandoc may take (its runtime's -M): a report whose text reaches max_text_bytes
  // needs about 1.5 GiB; more is a document built to exhaust the machine.
  int max_converter_heap_mb = 2048;
  // The paragraphs read: a long inspection report has a few thousand. A review page shows each,
  // so this bounds the page a server makes of one upload.
  size_t max_paragraphs = 10000;
};

enum class Marker {
  kNone,
  kNumber,          // "1." "2)" "(3)"
  kLetter,          // "a." "(b)" "c)"
  kRoman,           // "i." "(iv)"
  kBullet,          // "•" "-" "*" "▪"
  kRecommendation,  // "Recommendation 3", "Recommendation 3:", "R3"
};

struct Paragraph {
  std::string text;  // one line, markers and emphasis taken off
  Marker marker = Marker::kNone;
  std::string label;     // the marker's number or letter: "3", "b", "iv"; the report's own
                         // paragraph number ("2.12") when unmarked; "" otherwise
  bool cell = false;     // a table cell
  int row = 0;           // cells of one table row share a row number (1-based); 0 otherwise
  int cells_in_row = 0;  // how many paragraphs that row holds
  int page = 0;          // 1-based when the document has pages (a PDF), else 0
  int number = 0;        // 1-based position among the report's paragraphs
};

struct ReportText {
  ReportFormat format = ReportFormat::kText;
  int pages = 0;  // 0 when the document has no pages
  std::vector<Paragraph> paragraphs;
};

// What `bytes` is, from its content: "%PDF-", a ZIP holding word/document.xml (DOCX) or an ODF
// text document, HTML, else UTF-8 text. InvalidArgument when it is empty, a truncated PDF or
// ZIP, another kind of file, or text that is not UTF-8 (saying which byte).
Result<ReportFormat> SniffReport(std::string_view bytes);

// The report's paragraphs. TooLarge over max_bytes (or a converter printing more than
// max_text_bytes, or more than max_paragraphs paragraphs); InvalidArgument for a file that is not a
// report SniffReport knows or that holds no text (a scanned PDF); IOError when the converter fails
// (quoting the first line it printed: an encrypted PDF, a malformed DOCX); Unavailable when it
// overran timeout_seconds.
Result<ReportText> ReadReport(std::string_view bytes, const ReportReadOptions& options);

// `text` with what means nothing in a report, and no stored text may hold, made plain: each
// control character a space, Unicode's own line breaks (U+0085, U+2028, U+2029) '\n'; '\n',
// '\t' and '\f' (a page) stay. REQUIRES: UTF-8.
std::string Printable(std::string_view text);

// The paragraphs of text as a converter printed it: '\f' separates pages. REQUIRES: `text` is
// UTF-8 (ReadReport makes it so); control characters become spaces.
ReportText ParagraphsOf(std::string_view text, ReportFormat format);

}  // namespace rectrack
