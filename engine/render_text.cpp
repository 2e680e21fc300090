// Text renderings: terminal tables, CSV, Markdown and HTML. Every function is a pure function of
// its view, so the CLI and the server print the same bytes for the same state.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "common/strings.h"
#include "engine/render.h"

namespace rectrack {
namespace {

using Rows = std::vector<std::vector<std::string>>;

constexpr size_t kTextWidth = 100;
constexpr const char* kLabelIndent = "  ";
constexpr size_t kLabelWidth = 15;

// "verified (closed)", "in_progress (open)"; a state named "closed" or "open" is not said twice.
std::string StateAndOpenness(const std::string& state, bool open) {
  const std::string openness = open ? "open" : "closed";
  return state == openness ? state : state + " (" + openness + ")";
}

// Columns are measured in code points, not bytes, so names with accents still line up.
size_t DisplayWidth(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

std::string OneLine(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out += (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
  }
  return out;
}

// Pads every column but the last to its widest cell; no line ends in spaces.
std::string Align(const Rows& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

// Word-wraps `text` so it can follow a label; continuation lines start under the first word.
std::string Wrap(const std::string& text, size_t indent) {
  const size_t width = kTextWidth > indent + 20 ? kTextWidth - indent : 20;
  std::string out;
  size_t line = 0;
  size_t pos = 0;
  const std::string flat = OneLine(text);
  while (pos < flat.size()) {
    size_t start = flat.find_first_not_of(' ', pos);
    if (start == std::string::npos) break;
    size_t end = flat.find(' ', start);
    if (end == std::string::npos) end = flat.size();
    const std::string word = flat.substr(start, end - start);
    if (line > 0 && line + 1 + DisplayWidth(word) > width) {
      out += "\n" + std::string(indent, ' ');
      line = 0;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    out += word;
    line += DisplayWidth(word);
    pos = end;
  }
  return out;
}

std::string Labelled(const std::string& label, const std::string& value) {
  std::string head = kLabelIndent + label;
  head += std::string(kLabelWidth > label.size() ? kLabelWidth - label.size() : 1, ' ');
  return head + Wrap(value, DisplayWidth(head)) + "\n";
}

std::string NextDue(const RecommendationView& view) {
  // A closed recommendation owes nothing, even if a milestone was never reported met.
  if (!view.open) return "-";
  const MilestoneView* next = nullptr;
  for (const MilestoneView& m : view.milestones) {
    if (!m.met && (!next || m.due < next->due)) next = &m;
  }
  return next ? next->due.ToString() : "-";
}

std::string Voice(const TimelineEntry& entry) {
  if (entry.voice != "body") return entry.voice;
  if (entry.body.empty()) return "body";
  return "body " + entry.body + (entry.unit.empty() ? "" : "/" + entry.unit);
}

// An action's owning unit, or its body when the body as a whole owns it.
std::string UnitOf(const RecommendationView& action) {
  if (action.action && !action.action->unit.empty()) return action.action->unit;
  return action.def.owners.empty() ? "" : action.def.owners.front();
}

std::string DueOf(const RecommendationView& action) {
  return action.milestones.empty() ? "-" : action.milestones.front().due.ToString();
}

std::string FieldsText(const Fields& fields) {
  std::vector<std::string> parts;
  for (const auto& [name, values] : fields) parts.push_back(name + "=" + Join(values, ","));
  return Join(parts, " ");
}

std::string TimelineText(const RecommendationView& v) {
  Rows timeline;
  for (const TimelineEntry& e : v.timeline) {
    std::string details = FieldsText(e.fields);
    if (!e.note.empty()) details += (details.empty() ? "\"" : "  \"") + OneLine(e.note) + "\"";
    for (const Attachment& a : e.attachments) {
      details += (details.empty() ? "" : "  ") + std::string("[") + OneLine(a.name) + " " +
                 a.sha256.substr(0, 12) + "]";
    }
    timeline.push_back({e.effective.ToString(), Voice(e), e.transition,
                        (e.from_state.empty() ? "" : e.from_state + " ") + "-> " + e.to_state,
                        details});
  }
  return Align(timeline, "  ");
}

std::string ProgressCell(const UnitProgress& p) {
  return std::to_string(p.closed) + "/" + std::to_string(p.total()) + " closed, " +
         std::to_string(p.open) + " open" +
         (p.overdue ? ", " + std::to_string(p.overdue) + " overdue" : "");
}

// --- Annex A: the headings are shared by Markdown and HTML so both say the same thing.

// A table cell's text as Markdown shows it, whatever it holds: one line, and every character
// that could end the cell or make markup (a tag, a link, emphasis, code) escaped with a
// backslash, which CommonMark allows before any ASCII punctuation.
std::string MdCell(const std::string& s) {
  const std::string flat = OneLine(s);
  std::string out;
  out.reserve(flat.size());
  for (char c : flat) {
    if (std::string_view("\\|<>[]*_`~&").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A text as a Markdown paragraph of its own: as MdCell, and a start that would make it a
// heading, a list item, a quote or a rule ("# ", "- ", "1. ", "> ", "---") escaped too.
std::string MdParagraph(const std::string& s) {
  std::string out = MdCell(s);
  size_t digits = 0;
  while (digits < out.size() && digits < 9 &&
         std::isdigit(static_cast<unsigned char>(out[digits]))) {
    ++digits;
  }
  if (digits > 0 && digits < out.size() && (out[digits] == '.' || out[digits] == ')')) {
    out.insert(digits, "\\");
  } else if (!out.empty() && std::string_view("#-+=").find(out[0]) != std::string_view::npos) {
    out.insert(0, "\\");
  }
  return out;
}

std::string MdTable(const std::vector<AnnexRow>& rows, bool closed) {
  if (rows.empty()) return "None.\n";
  std::string out = closed
                        ? "| Inspection | Published | Recommendation | Quarter closed | Note |\n"
                          "|---|---|---|---|---|\n"
                        : "| Inspection | Published | Recommendation | Note |\n|---|---|---|---|\n";
  for (const AnnexRow& row : rows) {
    std::vector<const std::string*> cells = {&row.inspection, &row.published, &row.text};
    if (closed) cells.push_back(&row.quarter);
    cells.push_back(&row.note);
    for (const std::string* cell : cells) {
      out += "| ";
      out += MdCell(*cell);
      out += ' ';
    }
    out += "|\n";
  }
  return out;
}

std::string HtmlTable(const std::string& caption, const std::vector<AnnexRow>& rows, bool closed) {
  std::vector<std::string> heads = {"Inspection", "Published", "Recommendation"};
  if (closed) heads.push_back("Quarter closed");
  heads.push_back("Note");
  std::string out = "<table>\n<caption>" + HtmlEscape(caption) + "</caption>\n<thead><tr>";
  for (const std::string& h : heads) out += "<th>" + h + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  if (rows.empty()) {
    out += "<tr><td colspan=\"" + std::to_string(heads.size()) + "\">None.</td></tr>\n";
  }
  for (const AnnexRow& row : rows) {
    std::vector<std::string> cells = {row.inspection, row.published, row.text};
    if (closed) cells.push_back(row.quarter);
    out += "<tr>";
    for (const std::string& c : cells) out += "<td>" + HtmlEscape(c) + "</td>";
    // Notes in italics, as the published Annex A prints them.
    out += row.note.empty() ? "<td></td>" : "<td><em>" + HtmlEscape(row.note) + "</em></td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

// The head of a report as a web page and as a printed document: A4 with page numbers (read by
// WeasyPrint; a browser prints with it too), tables that repeat their header row on every page,
// a caption kept on the page of its table's first row.
std::string HtmlHead(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         HtmlEscape(title) + "</title>\n" + R"(<style>
@page { size: A4; margin: 18mm 15mm 20mm;
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 9pt; } }
body { font-family: Arial, sans-serif; font-size: 10pt; line-height: 1.4; }
table { border-collapse: collapse; width: 100%; margin: 0 0 2em; }
caption { text-align: left; font-weight: bold; font-size: 1.2em; margin-bottom: 0.5em;
  break-after: avoid; }
thead { display: table-header-group; }
th, td { border: 1px solid #b1b4b6; padding: 4px 6px; text-align: left; vertical-align: top; }
tr { break-inside: avoid; }
</style>
</head>
<body>
)";
}

std::string ProgressHtmlTable(const std::string& caption, const std::vector<UnitProgress>& units,
                              const char* none) {
  if (units.empty()) return "<p>" + std::string(none) + "</p>\n";
  std::string out = "<table>\n<caption>" + HtmlEscape(caption) +
                    "</caption>\n<thead><tr><th>Unit</th><th>Closed</th><th>Open</th>"
                    "<th>Overdue</th></tr></thead>\n<tbody>\n";
  for (const UnitProgress& p : units) {
    out += "<tr><td>" + HtmlEscape(p.name) + "</td><td>" + std::to_string(p.closed) + "</td><td>" +
           std::to_string(p.open) + "</td><td>" + std::to_string(p.overdue) + "</td></tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

}  // namespace

std::string CsvField(const std::string& value) {
  // A field a spreadsheet would run as a formula ("=HYPERLINK(...)", "+1+cmd|...") is written
  // with a leading apostrophe, which spreadsheets show as text (OWASP's advice on CSV injection).
  const bool formula =
      !value.empty() && std::string_view("=+-@\t\r").find(value[0]) != std::string_view::npos;
  const std::string text = formula ? "'" + value : value;
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + CsvField(fields[i]);
  // Records end with LF, not RFC 4180's CRLF: the command line prints CSV to terminals, where a
  // CR is escaped (cli/terminal.h), and every CSV reader takes LF.
  return line + "\n";
}

std::string AnnexTitle(const AnnexReport& r) {
  return "Annex A: " + (r.body_name.empty() ? r.body : r.body_name + " (" + r.body + ")");
}
std::string AsAtLine(const AnnexReport& r) {
  return "As at " + r.as_of.LongString() + " (financial year " + r.financial_year + ")";
}
std::string OpenHeading(const AnnexReport& r) {
  return "Table of open recommendations as at " + r.as_of.LongString();
}
std::string ClosedHeading(const AnnexReport& r) {
  return Plural(r.closed.size(), "recommendation") + " closed by the " + r.body + " in " +
         r.financial_year;
}

std::string HtmlEscape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string ListAsTable(const std::vector<RecommendationView>& views) {
  Rows rows = {{"ID", "INSPECTION", "OWNERS", "STATE", "OVERDUE", "NEXT DUE"}};
  for (const RecommendationView& v : views) {
    rows.push_back({v.id, v.def.inspection, Join(v.def.owners, ","), v.state,
                    v.overdue ? "yes" : "", NextDue(v)});
  }
  return Align(rows, "") + Plural(views.size(), "recommendation") + "\n";
}

std::string ListAsCsv(const std::vector<RecommendationView>& views) {
  std::string out =
      CsvLine({"id", "inspection", "owners", "state", "open", "overdue", "milestones", "text"});
  for (const RecommendationView& v : views) {
    std::vector<std::string> milestones;
    for (const MilestoneView& m : v.milestones) {
      milestones.push_back(m.label + ":" + m.due.ToString() + (m.met ? ":met" : ""));
    }
    out += CsvLine({v.id, v.def.inspection, Join(v.def.owners, ";"), v.state,
                    v.open ? "true" : "false", v.overdue ? "true" : "false", Join(milestones, ";"),
                    v.def.text});
  }
  return out;
}

std::string ShowAsText(const RecommendationView& v,
                       const std::vector<RecommendationView>& actions) {
  std::string out = v.id + "\n";
  out += Labelled("inspection", v.def.inspection);
  out += Labelled("owners", Join(v.def.owners, ", "));
  out += Labelled("state", StateAndOpenness(v.state, v.open));
  out += Labelled("overdue", v.overdue ? "yes" : "no");
  out += Labelled("issued", v.issued.ToString());
  out += Labelled("as at", v.as_of.ToString());
  if (!v.superseded_by.empty()) out += Labelled("superseded by", Join(v.superseded_by, ", "));
  if (!v.supersedes.empty()) out += Labelled("supersedes", Join(v.supersedes, ", "));
  out += Labelled("text", v.def.text);

  out += "\nMilestones\n";
  if (v.milestones.empty()) out += "  none\n";
  Rows milestones;
  for (const MilestoneView& m : v.milestones) {
    std::string status = m.overdue ? "OVERDUE" : "not met";
    if (m.met) status = m.met_on ? "met " + m.met_on->ToString() : "met";
    milestones.push_back(
        {m.label, "by " + m.due.ToString(), status,
         m.original_due != m.due ? "originally " + m.original_due.ToString() : ""});
  }
  out += Align(milestones, "  ");

  if (!actions.empty()) {
    out += "\nActions\n";
    Rows rows;
    for (const RecommendationView& a : actions) {
      rows.push_back(
          {a.id, UnitOf(a), a.state, a.overdue ? "OVERDUE" : "", DueOf(a), OneLine(a.def.text)});
    }
    out += Align(rows, "  ");
  }

  out += "\nTimeline\n" + TimelineText(v);
  return out;
}

std::string AnnexAsMarkdown(const AnnexReport& r) {
  std::string out = "# " + MdCell(AnnexTitle(r)) + "\n\n" + AsAtLine(r) + "\n\n";
  out += "## " + OpenHeading(r) + "\n\n" + MdTable(r.open, false) + "\n";
  out += "## " + ClosedHeading(r) + "\n\n" + MdTable(r.closed, true);
  return out;
}

std::string AnnexAsCsv(const AnnexReport& r) {
  std::string out = CsvLine({"table", "id", "inspection", "published", "text", "quarter", "note"});
  for (const AnnexRow& row : r.open) {
    out += CsvLine({"open", row.id, row.inspection, row.published, row.text, "", row.note});
  }
  for (const AnnexRow& row : r.closed) {
    out +=
        CsvLine({"closed", row.id, row.inspection, row.published, row.text, row.quarter, row.note});
  }
  return out;
}

std::string AnnexAsHtml(const AnnexReport& r) {
  std::string out = HtmlHead(AnnexTitle(r));
  out += "<h1>" + HtmlEscape(AnnexTitle(r)) + "</h1>\n<p>" + HtmlEscape(AsAtLine(r)) + "</p>\n";
  out += HtmlTable(OpenHeading(r), r.open, false);
  out += HtmlTable(ClosedHeading(r), r.closed, true);
  return out + "</body>\n</html>\n";
}

}  // namespace rectrack

namespace rectrack {

std::string ActionsAsTable(const std::vector<RecommendationView>& actions) {
  Rows rows = {{"ID", "RECOMMENDATION", "OWNER", "STATE", "OVERDUE", "DUE", "TITLE"}};
  for (const RecommendationView& a : actions) {
    rows.push_back({a.id, a.action ? a.action->recommendation : "", UnitOf(a), a.state,
                    a.overdue ? "yes" : "", DueOf(a), OneLine(a.def.text)});
  }
  return Align(rows, "") + Plural(actions.size(), "action") + "\n";
}

std::string ActionsAsCsv(const std::vector<RecommendationView>& actions) {
  std::string out = CsvLine({"id", "recommendation", "body", "unit", "state", "open", "overdue",
                             "due", "original_due", "milestone", "title"});
  for (const RecommendationView& a : actions) {
    const MilestoneView* due = a.milestones.empty() ? nullptr : &a.milestones.front();
    const ActionInfo info = a.action ? *a.action : ActionInfo{};
    out += CsvLine({a.id, info.recommendation, a.def.owners.empty() ? "" : a.def.owners.front(),
                    info.unit, a.state, a.open ? "true" : "false", a.overdue ? "true" : "false",
                    due ? due->due.ToString() : "", due ? due->original_due.ToString() : "",
                    info.milestone, a.def.text});
  }
  return out;
}

std::string ActionAsText(const RecommendationView& a) {
  const ActionInfo info = a.action ? *a.action : ActionInfo{};
  std::string out = a.id + "\n";
  out += Labelled("recommendation", info.recommendation);
  out += Labelled("body", a.def.owners.empty() ? "" : a.def.owners.front());
  out += Labelled("unit", info.unit.empty() ? "(the body as a whole)" : info.unit);
  if (!info.milestone.empty()) out += Labelled("milestone", info.milestone);
  out += Labelled("state", StateAndOpenness(a.state, a.open));
  std::string due = DueOf(a);
  if (!a.milestones.empty() && a.milestones.front().original_due != a.milestones.front().due) {
    due += " (originally " + a.milestones.front().original_due.ToString() + ")";
  }
  out += Labelled("due", due);
  out += Labelled("overdue", a.overdue ? "yes" : "no");
  out += Labelled("planned", a.issued.ToString());
  out += Labelled("as at", a.as_of.ToString());
  out += Labelled("title", a.def.text);
  out += "\nTimeline\n" + TimelineText(a);
  return out;
}

std::string UnitsAsTable(const std::vector<Unit>& units) {
  Rows rows = {{"ID", "BODY", "KIND", "NAME"}};
  for (const Unit& u : units) rows.push_back({u.id, u.body, u.kind, u.name});
  return Align(rows, "") + Plural(units.size(), "unit") + "\n";
}

std::string ProgressAsText(const ProgressReport& r) {
  std::string out = "Progress of " + r.body_name + " (" + r.body + ") on its actions, as at " +
                    r.as_of.ToString() + "\n\nBy unit, furthest behind first\n";
  Rows units = {{"UNIT", "CLOSED", "OPEN", "OVERDUE", "NAME"}};
  for (const UnitProgress& p : r.units) {
    units.push_back({p.unit.empty() ? r.body : p.unit, std::to_string(p.closed),
                     std::to_string(p.open), std::to_string(p.overdue), p.name});
  }
  out += r.units.empty() ? "  no actions\n" : Align(units, "  ");
  for (const RecommendationProgress& rec : r.recommendations) {
    out += "\n" + rec.id + "  " + rec.state +
           (rec.all.total() ? "  " + ProgressCell(rec.all) : std::string()) + "\n";
    out += "  " + Wrap(rec.text, 2) + "\n";
    Rows rows;
    for (const UnitProgress& p : rec.units) {
      rows.push_back({p.unit.empty() ? r.body : p.unit, ProgressCell(p)});
    }
    out += rows.empty() ? "    no actions planned\n" : Align(rows, "    ");
  }
  return out;
}

std::string ProgressAsMarkdown(const ProgressReport& r) {
  auto table = [](const std::vector<UnitProgress>& units, const char* none) {
    if (units.empty()) return std::string(none) + "\n";
    std::string out = "| Unit | Closed | Open | Overdue |\n|---|---|---|---|\n";
    for (const UnitProgress& p : units) {
      out += "| " + MdCell(p.name) + " | " + std::to_string(p.closed) + " | " +
             std::to_string(p.open) + " | " + std::to_string(p.overdue) + " |\n";
    }
    return out;
  };
  std::string out = "# " + MdCell(ProgressTitle(r)) + "\n\nAs at " + r.as_of.LongString() +
                    "\n\n## By unit, furthest behind first\n\n" + table(r.units, "No actions.");
  for (const RecommendationProgress& rec : r.recommendations) {
    out += "\n## " + rec.id + " (" + rec.state + ")\n\n" + MdParagraph(rec.text) + "\n\n" +
           table(rec.units, "No actions planned.");
  }
  return out;
}

std::string ProgressTitle(const ProgressReport& r) {
  return "Progress of " + r.body_name + " on its actions";
}

std::string ProgressAsHtml(const ProgressReport& r) {
  std::string out = HtmlHead(ProgressTitle(r));
  out += "<h1>" + HtmlEscape(ProgressTitle(r)) + "</h1>\n<p>As at " + r.as_of.LongString() +
         "</p>\n<h2>By unit, furthest behind first</h2>\n" +
         ProgressHtmlTable("Actions by unit", r.units, "No actions.");
  for (const RecommendationProgress& rec : r.recommendations) {
    out += "<h2>" + HtmlEscape(rec.id) + " (" + HtmlEscape(rec.state) + ")</h2>\n<p>" +
           HtmlEscape(rec.text) + "</p>\n" +
           ProgressHtmlTable("Actions on " + rec.id + " by unit", rec.units, "No actions planned.");
  }
  return out + "</body>\n</html>\n";
}

std::string ProgressAsCsv(const ProgressReport& r) {
  std::string out =
      CsvLine({"recommendation", "state", "unit", "name", "closed", "open", "overdue"});
  for (const RecommendationProgress& rec : r.recommendations) {
    // An open recommendation without actions is a row of its own: no plan is news too.
    if (rec.units.empty()) out += CsvLine({rec.id, rec.state, "", "", "0", "0", "0"});
    for (const UnitProgress& p : rec.units) {
      out += CsvLine({rec.id, rec.state, p.unit, p.name, std::to_string(p.closed),
                      std::to_string(p.open), std::to_string(p.overdue)});
    }
  }
  return out;
}

std::string AlertsAsTable(const std::vector<storage::AlertRecord>& alerts,
                          const std::vector<std::string>& states) {
  Rows rows = {{"ALERT", "DUE", "KIND", "ABOUT", "OWNERS", "DELIVERY", "RAISED"}};
  for (size_t i = 0; i < alerts.size(); ++i) {
    const storage::AlertRecord& a = alerts[i];
    rows.push_back(
        {a.id, a.due, a.kind, a.recommendation + (a.milestone.empty() ? "" : " " + a.milestone),
         Join(a.owners, ","), i < states.size() ? states[i] : "", a.late ? "late" : "on time"});
  }
  return Align(rows, "") + std::to_string(alerts.size()) +
         (alerts.size() == 1 ? " alert\n" : " alerts\n");
}

}  // namespace rectrack
