#include <algorithm>
#include <limits>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/documents.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/render.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

Result<Workspace::Impl::ReportAsk> Workspace::Impl::AskedReport(const Call& call,
                                                                Data& data) const {
  auto body = ScopeBody(call.who, call.Query("body"));
  if (!body.ok()) return Status::NotFound(body.status().message());
  if (const std::string format = call.Query("format"); !format.empty() && format != "csv" &&
                                                       format != "md" && format != "html" &&
                                                       !DocumentFormatNamed(format)) {
    return Status::InvalidArgument("There is no format '" + format +
                                   "': csv, md, html, xlsx, docx, odt or pdf.");
  }
  const TypedDateField as_at(call.Query("as_at"));
  ReportAsk ask{*body, as_at.iso, as_at.date, as_at.bad()};
  data.set("as_at", as_at.shown);
  if (ask.bad_date) {
    data.set("as_at_error", as_at.error);
    SetErrors(data, {{"as_at", as_at.error}});
  }
  return ask;
}

std::string Workspace::Impl::ReportBody(const Engine& engine, const Call& call,
                                        const ReportAsk& ask, Data& data) const {
  std::string chosen = ask.body;
  if (chosen.empty() && !engine.Bodies().empty()) chosen = engine.Bodies().front().id;
  data.set("bodies", BodyChoices(engine, call.who, chosen));
  return chosen;
}

// A document to save as `file`.<format>, or the page that says why it could not be made (busy:
// try again shortly).
Response Workspace::Impl::DocumentDownload(const Call& call, Result<std::string> document,
                                           DocumentFormat format, const std::string& file) {
  if (document.status().code() == Code::kUnavailable) {
    Response busy = Message(call, 503, "Sorry, the service is busy", document.status().message());
    busy.headers.emplace_back("Retry-After", "5");
    return busy;
  }
  if (!document.ok()) {
    return Failure(call, document.status());
  }
  return Download(DocumentMediaType(format), std::move(*document),
                  file + "." + DocumentFormatName(format));
}

Response Workspace::Impl::Annex(const Call& call) {
  Data data;
  const auto ask = AskedReport(call, data);
  if (!ask.ok()) return FilterRefusal(call, ask.status());
  Status filters_exist, failed;
  std::optional<Response> download;
  std::optional<AnnexReport> to_make;  // a document, made after the lock is released
  const std::optional<DocumentFormat> document = DocumentFormatNamed(call.Query("format"));
  std::string file;
  host->Read([&](const Engine& engine) {
    filters_exist = FiltersExist(engine, call, kBodyFilter);
    if (!filters_exist.ok()) return;
    const std::string chosen = ReportBody(engine, call, *ask, data);
    if (chosen.empty() || ask->bad_date) return;
    auto report = engine.Annex(chosen, ask->as_of);
    if (!report.ok()) {
      failed = report.status();
      return;
    }
    file = "annex-a-" + report->body + "-" + report->as_of.ToString();
    const std::string format = call.Query("format");
    if (document) {
      to_make = std::move(*report);
      return;
    }
    if (format == "csv") {
      download = Download("text/csv; charset=utf-8", AnnexAsCsv(*report), file + ".csv");
    } else if (format == "md") {
      download = Download("text/markdown; charset=utf-8", AnnexAsMarkdown(*report), file + ".md");
    } else if (format == "html") {
      download = Download("text/html; charset=utf-8", AnnexAsHtml(*report), file + ".html");
    }
    data.set("body_name", report->body_name);
    Data r;
    r.set("as_of", report->as_of.LongString());
    r.set("financial_year", report->financial_year);
    r.set("body", report->body);
    r.set("closed_count", std::to_string(report->closed.size()));
    auto rows = [](const std::vector<AnnexRow>& in) {
      Data out = List();
      for (const AnnexRow& row : in) {
        Data d;
        d.set("id", row.id);
        d.set("inspection", row.inspection);
        d.set("published", row.published);
        d.set("text", row.text);
        SetIf(d, "quarter", row.quarter);
        SetIf(d, "note", row.note);
        out.push_back(d);
      }
      return out;
    };
    r.set("open", rows(report->open));
    r.set("closed", rows(report->closed));
    for (const char* format : {"csv", "md", "html", "xlsx", "docx", "odt", "pdf"}) {
      r.set(std::string(format) + "_href",
            "/reports/annex" + QueryString({{"body", report->body},
                                            {"as_at", report->as_of.ToString()},
                                            {"format", format}}));
    }
    data.set("report", r);
  });
  if (!filters_exist.ok()) return FilterRefusal(call, filters_exist);
  if (!failed.ok()) return Failure(call, failed);
  if (to_make)
    return DocumentDownload(call, options.documents->Annex(*to_make, *document), *document, file);
  if (download) return std::move(*download);
  return Page(call, ask->bad_date ? 400 : 200, "annex", data, "Annex A", "annex", ask->bad_date);
}

Response Workspace::Impl::Progress(const Call& call) {
  Data data;
  const auto ask = AskedReport(call, data);
  if (!ask.ok()) return FilterRefusal(call, ask.status());
  Status filters_exist, failed;
  std::optional<Response> download;
  std::optional<ProgressReport> to_make;  // a document, made after the lock is released
  const std::optional<DocumentFormat> document = DocumentFormatNamed(call.Query("format"));
  std::string file;
  auto counts = [](Data& d, const UnitProgress& u) {
    d.set("closed", std::to_string(u.closed));
    d.set("open", std::to_string(u.open));
    d.set("overdue", std::to_string(u.overdue));
  };
  host->Read([&](const Engine& engine) {
    filters_exist = FiltersExist(engine, call, kBodyFilter);
    if (!filters_exist.ok()) return;
    const std::string chosen = ReportBody(engine, call, *ask, data);
    if (chosen.empty() || ask->bad_date || !action_workflow) return;
    auto report = ProgressVisible(engine, call.who, chosen, ask->as_of);
    if (!report.ok()) {
      failed = report.status();
      return;
    }
    file = "progress-" + report->body + "-" + report->as_of.ToString();
    if (document) {
      to_make = std::move(*report);
      return;
    }
    if (call.Query("format") == "csv") {
      download = Download("text/csv; charset=utf-8", ProgressAsCsv(*report), file + ".csv");
    } else if (call.Query("format") == "md") {
      download =
          Download("text/markdown; charset=utf-8", ProgressAsMarkdown(*report), file + ".md");
    } else if (call.Query("format") == "html") {
      download = Download("text/html; charset=utf-8", ProgressAsHtml(*report), file + ".html");
    }
    data.set("body_name", report->body_name);
    Data r;
    r.set("as_of", report->as_of.LongString());
    Data units = List();
    for (const UnitProgress& u : report->units) {
      Data d;
      d.set("name", u.name);
      counts(d, u);
      units.push_back(d);
    }
    r.set("units", units);
    Data recommendations = List();
    for (const RecommendationProgress& p : report->recommendations) {
      Data d;
      d.set("id", p.id);
      d.set("text", p.text);
      d.set("state", Spoken(p.state));
      counts(d, p.all);
      recommendations.push_back(d);
    }
    r.set("recommendations", recommendations);
    for (const char* format : {"csv", "md", "html", "xlsx", "docx", "odt", "pdf"}) {
      r.set(std::string(format) + "_href",
            "/reports/progress" + QueryString({{"body", report->body},
                                               {"as_at", report->as_of.ToString()},
                                               {"format", format}}));
    }
    data.set("report", r);
  });
  if (!filters_exist.ok()) return FilterRefusal(call, filters_exist);
  if (!failed.ok()) return Failure(call, failed);
  if (to_make) {
    return DocumentDownload(call, options.documents->Progress(*to_make, *document), *document,
                            file);
  }
  if (download) return std::move(*download);
  return Page(call, ask->bad_date ? 400 : 200, "progress", data, "Progress on actions", "annex",
              ask->bad_date);
}

Response Workspace::Impl::Alerts(const Call& call) {
  Data data;
  const std::string state = call.Query("state");
  static const std::vector<std::string> kStates = {"", "pending", "delivered", "failed",
                                                   "unsubscribed"};
  if (std::find(kStates.begin(), kStates.end(), state) == kStates.end()) return NotFound(call);
  Data states = List();
  for (const std::string& s : kStates) {
    Data d;
    d.set("value", s);
    d.set("label", s.empty() ? "Every delivery state" : s);
    d.set("selected", Bool(s == state));
    states.push_back(d);
  }
  data.set("states", states);
  // As CSV: every alert the page would show, not only the newest 200.
  const bool csv = call.Query("format") == "csv";
  std::string csv_file = AlertsCsvHeader(), today;
  host->Read([&](const Engine& engine) {
    today = engine.clock().Today().ToString();
    storage::AlertFilter filter;
    filter.body = call.who.body;
    filter.state = call.Query("state");
    auto alerts = NewestVisibleAlerts(engine, call.who, filter,
                                      csv ? std::numeric_limits<size_t>::max() : 200);
    if (csv) {
      if (!alerts.ok()) return;
      for (const storage::AlertRecord& a : *alerts) {
        auto alert_state = engine.AlertState(a.id);
        csv_file += AlertCsvLine(a, alert_state.ok() ? *alert_state : "unknown");
      }
      return;
    }
    Data rows = List();
    int count = 0;
    if (alerts.ok()) {
      for (const storage::AlertRecord& a : *alerts) {
        Data d;
        d.set("raised", SpokenTime(a.raised));
        d.set("kind", Spoken(a.kind));
        d.set("late", Bool(a.late));
        const bool action = engine.KindOf(a.recommendation) == SubjectKind::kAction;
        d.set("href", std::string(action ? "/actions/" : "/recommendations/") + a.recommendation);
        d.set("subject", a.recommendation + (a.milestone.empty() ? "" : " (" + a.milestone + ")"));
        d.set("due", ShortDate(a.due));
        d.set("audience", Join(a.audience, ", "));
        auto alert_state = engine.AlertState(a.id);
        const std::string state = alert_state.ok() ? *alert_state : "unknown";
        d.set("state", state);
        d.set("state_class", state == "failed"      ? "govuk-tag--red"
                             : state == "delivered" ? "govuk-tag--green"
                                                    : "govuk-tag--grey");
        rows.push_back(d);
        ++count;
      }
    }
    data.set("rows", rows);
    data.set("count", std::to_string(count));
  });
  if (csv) {
    return Download("text/csv; charset=utf-8", std::move(csv_file), "alerts-" + today + ".csv");
  }
  data.set("csv_href",
           "/alerts?" + std::string(state.empty() ? "" : "state=" + state + "&") + "format=csv");
  return Page(call, 200, "alerts", data, "Alerts", "alerts");
}

}  // namespace rectrack::web
