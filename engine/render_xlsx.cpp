// Reports as Excel workbooks, through libxlsxwriter (Debian's libxlsxwriter-dev). Version 1.1.4
// writes only to a file, so a workbook is made in a temporary file that is read back and removed,
// whatever happens.
#include <unistd.h>
#include <xlsxwriter.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
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

// How a column's cells are written: plain, wrapped text, a note (wrapped, italic, as the
// published Annex A prints notes), a month as the annual report shows it ("Mar-23", a real date),
// or a number.
enum class Kind { kPlain, kWrapped, kNote, kMonth, kNumber };
struct Column {
  std::string name;
  double width;
  Kind kind;
};
using Cell = std::variant<std::string, double, Date>;

// One table on a sheet of its own: its caption in row 1, the header in row 2 (frozen, with
// filters, repeated on every printed page), a row per item; A4, landscape, a page wide.
struct Table {
  std::string sheet;  // at most 31 characters, none of []:*?/\ (Excel's rule)
  std::string caption;
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;
};

Result<std::string> WriteWorkbook(const std::string& title, const std::string& subject,
                                  const std::vector<Table>& tables) {
  const TemporaryFile file;
  if (file.path().empty()) return Status::IOError("cannot make a temporary file for the workbook");
  const std::string tmpdir = std::filesystem::temp_directory_path().string();
  lxw_workbook_options options = {};
  options.tmpdir = const_cast<char*>(tmpdir.c_str());
  lxw_workbook* book = workbook_new_opt(file.path().c_str(), &options);
  if (book == nullptr) return Status::IOError("cannot start the workbook in " + file.path());

  lxw_doc_properties properties = {};
  properties.title = const_cast<char*>(title.c_str());
  properties.subject = const_cast<char*>(subject.c_str());
  properties.author = const_cast<char*>("rectrack");
  workbook_set_properties(book, &properties);

  lxw_format* caption = workbook_add_format(book);
  format_set_bold(caption);
  format_set_font_size(caption, 14);
  lxw_format* header = workbook_add_format(book);
  format_set_bold(header);
  format_set_bottom(header, LXW_BORDER_THIN);
  format_set_text_wrap(header);
  lxw_format* wrapped = workbook_add_format(book);
  format_set_text_wrap(wrapped);
  format_set_align(wrapped, LXW_ALIGN_VERTICAL_TOP);
  lxw_format* note = workbook_add_format(book);
  format_set_text_wrap(note);
  format_set_italic(note);
  format_set_align(note, LXW_ALIGN_VERTICAL_TOP);
  lxw_format* month = workbook_add_format(book);
  format_set_num_format(month, "mmm-yy");
  format_set_align(month, LXW_ALIGN_VERTICAL_TOP);
  const auto format_of = [&](Kind kind) -> lxw_format* {
    switch (kind) {
      case Kind::kWrapped:
        return wrapped;
      case Kind::kNote:
        return note;
      case Kind::kMonth:
        return month;
      default:
        return nullptr;
    }
  };

  for (const Table& table : tables) {
    lxw_worksheet* sheet = workbook_add_worksheet(book, table.sheet.c_str());
    if (sheet == nullptr) {
      workbook_close(book);
      return Status::InvalidArgument("'" + table.sheet + "' cannot name a worksheet");
    }
    worksheet_write_string(sheet, 0, 0, table.caption.c_str(), caption);
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const auto col = static_cast<lxw_col_t>(c);
      worksheet_set_column(sheet, col, col, table.columns[c].width,
                           format_of(table.columns[c].kind));
      worksheet_write_string(sheet, 1, col, table.columns[c].name.c_str(), header);
    }
    lxw_row_t r = 2;
    for (const std::vector<Cell>& row : table.rows) {
      for (size_t c = 0; c < row.size() && c < table.columns.size(); ++c) {
        const auto col = static_cast<lxw_col_t>(c);
        lxw_format* format = format_of(table.columns[c].kind);
        if (const auto* text = std::get_if<std::string>(&row[c])) {
          worksheet_write_string(sheet, r, col, text->c_str(), format);
        } else if (const auto* number = std::get_if<double>(&row[c])) {
          worksheet_write_number(sheet, r, col, *number, format);
        } else {
          const Date& d = std::get<Date>(row[c]);
          lxw_datetime when = {
              d.year(), static_cast<int>(d.month()), static_cast<int>(d.day()), 0, 0, 0};
          worksheet_write_datetime(sheet, r, col, &when, format);
        }
      }
      ++r;
    }
    const auto last_col = static_cast<lxw_col_t>(table.columns.size() - 1);
    worksheet_freeze_panes(sheet, 2, 0);
    worksheet_autofilter(sheet, 1, 0, r > 2 ? r - 1 : 1, last_col);
    worksheet_repeat_rows(sheet, 1, 1);
    worksheet_set_landscape(sheet);
    worksheet_set_paper(sheet, 9);  // A4
    worksheet_fit_to_pages(sheet, 1, 0);
  }
  if (const lxw_error error = workbook_close(book); error != LXW_NO_ERROR) {
    return Status::IOError(std::string("cannot write the workbook: ") + lxw_strerror(error));
  }
  std::ifstream in(file.path(), std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) return Status::IOError("cannot read the workbook back from " + file.path());
  return bytes.str();
}

Table AnnexTable(const std::string& sheet, const std::string& caption,
                 const std::vector<AnnexRow>& rows, bool closed) {
  Table t{sheet,
          caption,
          {{"Recommendation", 12, Kind::kPlain},
           {"Inspection", 40, Kind::kWrapped},
           {"Published", 11, Kind::kMonth},
           {"Text", 80, Kind::kWrapped}},
          {}};
  if (closed) t.columns.push_back({"Quarter closed", 14, Kind::kPlain});
  t.columns.push_back({"Note", 50, Kind::kNote});
  for (const AnnexRow& row : rows) {
    std::vector<Cell> cells = {row.id, row.inspection};
    if (row.published_on) {
      cells.emplace_back(*row.published_on);
    } else {
      cells.emplace_back(row.published);
    }
    cells.emplace_back(row.text);
    if (closed) cells.emplace_back(row.quarter);
    cells.emplace_back(row.note);
    t.rows.push_back(std::move(cells));
  }
  return t;
}

std::vector<Cell> Counts(const UnitProgress& u) {
  return {static_cast<double>(u.closed), static_cast<double>(u.open),
          static_cast<double>(u.overdue)};
}

}  // namespace

Result<std::string> AnnexAsXlsx(const AnnexReport& report) {
  return WriteWorkbook(
      AnnexTitle(report), AsAtLine(report),
      {AnnexTable("Open", OpenHeading(report), report.open, false),
       AnnexTable("Closed " + report.financial_year, ClosedHeading(report), report.closed, true)});
}

Result<std::string> ProgressAsXlsx(const ProgressReport& report) {
  const std::string who =
      report.body_name.empty() ? report.body : report.body_name + " (" + report.body + ")";
  const std::string as_at = "as at " + report.as_of.ToString();
  const std::vector<Column> counts = {
      {"Closed", 9, Kind::kNumber}, {"Open", 9, Kind::kNumber}, {"Overdue", 9, Kind::kNumber}};
  Table by_unit{"By unit",
                "Actions by unit, " + as_at,
                {{"Unit", 12, Kind::kPlain}, {"Name", 40, Kind::kWrapped}},
                {}};
  by_unit.columns.insert(by_unit.columns.end(), counts.begin(), counts.end());
  for (const UnitProgress& u : report.units) {
    std::vector<Cell> cells = {u.unit, u.name};
    for (Cell& c : Counts(u)) cells.push_back(std::move(c));
    by_unit.rows.push_back(std::move(cells));
  }
  Table by_recommendation{"By recommendation",
                          "Actions by recommendation and unit, " + as_at,
                          {{"Recommendation", 14, Kind::kPlain},
                           {"State", 12, Kind::kPlain},
                           {"Unit", 12, Kind::kPlain},
                           {"Name", 40, Kind::kWrapped}},
                          {}};
  by_recommendation.columns.insert(by_recommendation.columns.end(), counts.begin(), counts.end());
  for (const RecommendationProgress& rec : report.recommendations) {
    // An open recommendation without actions is a row of its own: no plan is news too.
    if (rec.units.empty()) {
      by_recommendation.rows.push_back(
          {rec.id, rec.state, std::string(), std::string(), 0.0, 0.0, 0.0});
    }
    for (const UnitProgress& u : rec.units) {
      std::vector<Cell> cells = {rec.id, rec.state, u.unit, u.name};
      for (Cell& c : Counts(u)) cells.push_back(std::move(c));
      by_recommendation.rows.push_back(std::move(cells));
    }
  }
  return WriteWorkbook("Progress of " + who + "'s actions", as_at,
                       {std::move(by_unit), std::move(by_recommendation)});
}

}  // namespace rectrack
