// Rendering views and reports for people and programs: text tables, CSV (RFC 4180), JSON,
// Markdown and HTML. The CLI prints these; the HTTP server will serve the same bytes.
// Boost.JSON stays inside render_json.cpp.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/model.h"

namespace rectrack {

// `rectrack list`. JSON: an array of objects with id, inspection, owners, state, open, overdue,
// milestones [{label, due, original_due, met, overdue}], text, superseded_by, supersedes, as_of.
std::string ListAsTable(const std::vector<RecommendationView>& views);
std::string ListAsCsv(const std::vector<RecommendationView>& views);
std::string ListAsJson(const std::vector<RecommendationView>& views);

// `rectrack show`. Text: state, owners, milestones, links, then the timeline of both voices.
// JSON: the list object plus "timeline": [{seq, effective, recorded, do, voice, actor, role,
// body, note, fields, from, to}].
std::string ShowAsText(const RecommendationView& view);
std::string ShowAsJson(const RecommendationView& view);

// `rectrack report annex`. JSON: {"body","as_of","financial_year","open":[{id,inspection,
// published,text,note}],"closed":[{id,inspection,published,text,quarter,note}]}.
std::string AnnexAsMarkdown(const AnnexReport& report);
std::string AnnexAsCsv(const AnnexReport& report);
std::string AnnexAsJson(const AnnexReport& report);
std::string AnnexAsHtml(const AnnexReport& report);

// RFC 4180 field quoting; HTML text escaping. Exposed for tests and other renderers.
std::string CsvField(const std::string& value);
std::string HtmlEscape(const std::string& value);

}  // namespace rectrack
