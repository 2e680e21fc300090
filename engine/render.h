// Rendering views and reports for people and programs: text tables, CSV (RFC 4180), JSON,
// Markdown and HTML. The CLI prints these; the HTTP API serves the same bytes.
// Boost.JSON stays inside render_json.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/reports.h"
#include "storage/alert_store.h"

namespace rectrack {

// `rectrack list`. JSON: an array of objects with id, inspection, owners, state, open, overdue,
// milestones [{label, due, original_due, met, overdue}], text, superseded_by, supersedes, as_of.
std::string ListAsTable(const std::vector<RecommendationView>& views);
std::string ListAsCsv(const std::vector<RecommendationView>& views);
std::string ListAsJson(const std::vector<RecommendationView>& views);

// `rectrack show`. Text: state, owners, milestones, links, its actions, then the timeline of
// both voices. JSON: the list object plus "actions" (as ActionsAsJson's items) and "timeline":
// [{seq, effective, recorded, do, voice, actor, role, body, unit, note, fields, attachments:
// [{sha256, name, media_type, size, href}], from, to}].
// `actions` are the recommendation's actions as at the same date.
std::string ShowAsText(const RecommendationView& view,
                       const std::vector<RecommendationView>& actions = {});
std::string ShowAsJson(const RecommendationView& view,
                       const std::vector<RecommendationView>& actions = {});

// `rectrack actions`. JSON: an array of objects with id, recommendation, title, body, unit,
// milestone, state, open, overdue, due and original_due ("" when it has no due date), planned,
// as_of.
std::string ActionsAsTable(const std::vector<RecommendationView>& actions);
std::string ActionsAsCsv(const std::vector<RecommendationView>& actions);
std::string ActionsAsJson(const std::vector<RecommendationView>& actions);
// `rectrack show ACTION`. JSON: the actions object plus "timeline" as ShowAsJson's.
std::string ActionAsText(const RecommendationView& action);
std::string ActionAsJson(const RecommendationView& action);

// What the API answers when an event is recorded: ShowAsJson (an action: ActionAsJson) with
// "event", the timeline entry recorded (null when nothing new was recorded), in place of the
// whole "timeline", so the answer does not grow with the history. `item` needs no timeline.
std::string RecordedAsJson(const RecommendationView& item,
                           const std::optional<TimelineEntry>& event,
                           const std::vector<RecommendationView>& actions = {});

// Units. JSON: an array of {id, body, name, kind}.
std::string UnitsAsTable(const std::vector<Unit>& units);
std::string UnitsAsJson(const std::vector<Unit>& units);

// `rectrack report progress`. JSON: {"body","body_name","as_of","units":[P],
// "recommendations":[{id,text,state,open,"all":P,"units":[P]}]} where P is
// {unit, name, closed, open, overdue, total}; units furthest behind first.
std::string ProgressAsText(const ProgressReport& report);
std::string ProgressAsMarkdown(const ProgressReport& report);
std::string ProgressAsCsv(const ProgressReport& report);
// A web page that prints as an A4 document (as AnnexAsHtml): the totals by unit, then a heading,
// the text and a table per recommendation.
std::string ProgressAsHtml(const ProgressReport& report);
// "Progress of <body name> on its actions": every rendering's title.
std::string ProgressTitle(const ProgressReport& report);
// As an Excel workbook: a sheet of the body's totals by unit and one by recommendation and unit,
// counts as numbers, laid out as AnnexAsXlsx's sheets are. IOError as AnnexAsXlsx.
Result<std::string> ProgressAsXlsx(const ProgressReport& report);
std::string ProgressAsJson(const ProgressReport& report);

// `rectrack report annex`. JSON: {"body","as_of","financial_year","open":[{id,inspection,
// published,text,note}],"closed":[{id,inspection,published,text,quarter,note}]}.
std::string AnnexAsMarkdown(const AnnexReport& report);
std::string AnnexAsCsv(const AnnexReport& report);
std::string AnnexAsJson(const AnnexReport& report);
// HTML: a page (language and title set) with each table under its caption, header cells in a
// <thead>, notes in italics, and a print stylesheet for A4 with page numbers.
std::string AnnexAsHtml(const AnnexReport& report);
// As an Excel workbook (XLSX): a sheet per table, under the annual report's caption, with a
// frozen header row, filters, set widths, notes in italics and publication dates as dates.
// IOError when the workbook cannot be written (it is made in a temporary file, then removed).
Result<std::string> AnnexAsXlsx(const AnnexReport& report);
// What every rendering of Annex A says: its title, "As at ..." line and the two tables' captions.
std::string AnnexTitle(const AnnexReport& report);
std::string AsAtLine(const AnnexReport& report);
std::string OpenHeading(const AnnexReport& report);
std::string ClosedHeading(const AnnexReport& report);

// Alerts as CSV (the command line's and the API's): the header row, and one alert in its
// delivery `state`. `subject` is what it is about (recommendation or action, from its payload);
// owners and audience are joined by ';'.
std::string AlertsCsvHeader();
std::string AlertCsvLine(const storage::AlertRecord& alert, const std::string& state);
// Alerts as the command line's table: a header row, then one aligned row per alert (`states`,
// each one's delivery state, in the same order), then the count.
std::string AlertsAsTable(const std::vector<storage::AlertRecord>& alerts,
                          const std::vector<std::string>& states);

// RFC 4180 field quoting (a field that a spreadsheet would take for a formula starts with an
// apostrophe), and a record of such fields ending in LF; HTML text escaping.
// Exposed for tests and other renderers.
std::string CsvField(const std::string& value);
std::string CsvLine(const std::vector<std::string>& fields);
std::string HtmlEscape(const std::string& value);

}  // namespace rectrack
