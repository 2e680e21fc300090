// Annex A as an Excel workbook, through libxlsxwriter (Debian's libxlsxwriter-dev). Version 1.1.4
// writes only to a file, so the workbook is made in a temporary file that is read back and
// removed, whatever happens.
#include <unistd.h>
#include <xlsxwriter.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/render.h"

namespace rectrack {
namespace {

// A temporary file name, the file made (so no one else takes the name) and removed on leaving.
class TemporaryFile {
 public:
  TemporaryFile() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "rectrack-xlsx-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd >= 0) {
      ::close(fd);
      path_ = pattern;
    }
  }
  ~TemporaryFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }  // "" when none could be made

 private:
  std::string path_;
};

struct Formats {
  lxw_format* caption;
  lxw_format* header;
  lxw_format* text;   // wrapped, top-aligned
  lxw_format* note;   // as text, in italics, as the published Annex A prints notes
  lxw_format* month;  // a date shown as the annual report does: "Mar-23"
};

// One table on its own sheet: the caption in row 1, the header in row 2 (frozen, with filters),
// then a row per recommendation.
void WriteTable(lxw_workbook* book, const Formats& f, const std::string& sheet_name,
                const std::string& caption, const std::vector<AnnexRow>& rows, bool closed) {
  lxw_worksheet* sheet = workbook_add_worksheet(book, sheet_name.c_str());
  std::vector<std::pair<std::string, double>> columns = {
      {"Recommendation", 12}, {"Inspection", 40}, {"Published", 11}, {"Text", 80}};
  if (closed) columns.push_back({"Quarter closed", 14});
  columns.push_back({"Note", 50});
  worksheet_write_string(sheet, 0, 0, caption.c_str(), f.caption);
  for (size_t c = 0; c < columns.size(); ++c) {
    const auto col = static_cast<lxw_col_t>(c);
    const bool wrapped = columns[c].first == "Text" || columns[c].first == "Inspection";
    worksheet_set_column(sheet, col, col, columns[c].second,
                         columns[c].first == "Note" ? f.note
                         : wrapped                  ? f.text
                                                    : nullptr);
    worksheet_write_string(sheet, 1, col, columns[c].first.c_str(), f.header);
  }
  lxw_row_t r = 2;
  for (const AnnexRow& row : rows) {
    lxw_col_t c = 0;
    worksheet_write_string(sheet, r, c++, row.id.c_str(), nullptr);
    worksheet_write_string(sheet, r, c++, row.inspection.c_str(), f.text);
    if (row.published_on) {
      lxw_datetime when = {row.published_on->year(),
                           static_cast<int>(row.published_on->month()),
                           static_cast<int>(row.published_on->day()),
                           0,
                           0,
                           0};
      worksheet_write_datetime(sheet, r, c++, &when, f.month);
    } else {
      worksheet_write_string(sheet, r, c++, row.published.c_str(), nullptr);
    }
    worksheet_write_string(sheet, r, c++, row.text.c_str(), f.text);
    if (closed) worksheet_write_string(sheet, r, c++, row.quarter.c_str(), nullptr);
    worksheet_write_string(sheet, r, c++, row.note.c_str(), f.note);
    ++r;
  }
  worksheet_freeze_panes(sheet, 2, 0);
  worksheet_autofilter(sheet, 1, 0, r > 2 ? r - 1 : 1, static_cast<lxw_col_t>(columns.size() - 1));
  worksheet_repeat_rows(sheet, 1, 1);  // printed: the header on every page
  worksheet_set_landscape(sheet);
  worksheet_set_paper(sheet, 9);  // A4
  worksheet_fit_to_pages(sheet, 1, 0);
}

}  // namespace

Result<std::string> AnnexAsXlsx(const AnnexReport& report) {
  const TemporaryFile file;
  if (file.path().empty()) return Status::IOError("cannot make a temporary file for the workbook");
  const std::string tmpdir = std::filesystem::temp_directory_path().string();
  lxw_workbook_options options = {};
  options.tmpdir = const_cast<char*>(tmpdir.c_str());
  lxw_workbook* book = workbook_new_opt(file.path().c_str(), &options);
  if (book == nullptr) return Status::IOError("cannot start the workbook in " + file.path());

  const std::string title = AnnexTitle(report);
  const std::string subject = AsAtLine(report);
  lxw_doc_properties properties = {};
  properties.title = const_cast<char*>(title.c_str());
  properties.subject = const_cast<char*>(subject.c_str());
  properties.author = const_cast<char*>("rectrack");
  workbook_set_properties(book, &properties);

  Formats f{};
  f.caption = workbook_add_format(book);
  format_set_bold(f.caption);
  format_set_font_size(f.caption, 14);
  f.header = workbook_add_format(book);
  format_set_bold(f.header);
  format_set_bottom(f.header, LXW_BORDER_THIN);
  format_set_text_wrap(f.header);
  f.text = workbook_add_format(book);
  format_set_text_wrap(f.text);
  format_set_align(f.text, LXW_ALIGN_VERTICAL_TOP);
  f.note = workbook_add_format(book);
  format_set_text_wrap(f.note);
  format_set_italic(f.note);
  format_set_align(f.note, LXW_ALIGN_VERTICAL_TOP);
  f.month = workbook_add_format(book);
  format_set_num_format(f.month, "mmm-yy");
  format_set_align(f.month, LXW_ALIGN_VERTICAL_TOP);

  WriteTable(book, f, "Open", OpenHeading(report), report.open, false);
  WriteTable(book, f, "Closed " + report.financial_year, ClosedHeading(report), report.closed,
             true);
  if (const lxw_error error = workbook_close(book); error != LXW_NO_ERROR) {
    return Status::IOError(std::string("cannot write the workbook: ") + lxw_strerror(error));
  }
  std::ifstream in(file.path(), std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) return Status::IOError("cannot read the workbook back from " + file.path());
  return bytes.str();
}

}  // namespace rectrack
