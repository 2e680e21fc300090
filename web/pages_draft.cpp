// Drafting from a report (inspectorate only): upload a report, review the draft beside the
// report's text with each item's source highlighted, correct any cell, and import it through the
// same path as an import file (docs/draft.md).
//
// The page keeps no state on the server between the upload and the import: the review form
// carries the report's paragraphs and every cell, so the server holds nothing a client could
// pile up (the form is bounded by the server's max_body_bytes like any upload).
#include <algorithm>

#include "common/strings.h"
#include "draft/draft.h"
#include "engine/documents.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "web/workspace_impl.h"

namespace rectrack::web {
namespace {

constexpr const char* kOutcomes[] = {"achieved", "partially_achieved", "not_achieved"};

std::string JoinNumbers(const std::vector<int>& numbers) {
  std::vector<std::string> parts;
  for (int n : numbers) parts.push_back(std::to_string(n));
  return Join(parts, ",");
}

std::vector<int> Numbers(const std::string& text) {
  std::vector<int> numbers;
  for (const std::string& part : SplitList(text)) {
    if (const std::optional<int64_t> n = ParseDigits(part, 7))
      numbers.push_back(static_cast<int>(*n));
  }
  return numbers;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  for (const std::string& line : SplitList(text, '\n')) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The report's paragraphs as the review form carries them: "page<TAB>text" a line each (a
// paragraph's text holds neither, ParagraphsOf having joined its lines).
std::string EncodeParagraphs(const ReportText& report) {
  std::string out;
  for (const Paragraph& p : report.paragraphs) {
    out += std::to_string(p.page) + "\t" + p.text + "\n";
  }
  return out;
}

ReportText DecodeParagraphs(const std::string& encoded) {
  ReportText report;
  size_t from = 0;
  while (from < encoded.size()) {
    size_t nl = encoded.find('\n', from);
    if (nl == std::string::npos) nl = encoded.size();
    const std::string line = encoded.substr(from, nl - from);
    from = nl + 1;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab > 6) continue;
    Paragraph p;
    const std::optional<int64_t> page = ParseDigits(line.substr(0, tab), 6);
    if (!page) continue;
    p.page = static_cast<int>(*page);
    p.text = line.substr(tab + 1);
    p.number = static_cast<int>(report.paragraphs.size()) + 1;
    report.pages = std::max(report.pages, p.page);
    report.paragraphs.push_back(std::move(p));
  }
  return report;
}

std::string MilestonesText(const std::vector<TextMilestone>& milestones) {
  std::vector<std::string> parts;
  for (const TextMilestone& m : milestones) parts.push_back(m.label + " " + m.due.ToString());
  return Join(parts, "; ");
}

// "designed 2025-07-31; implemented 2026-03-31" back into milestones.
std::optional<std::vector<TextMilestone>> ParseMilestones(const std::string& text) {
  std::vector<TextMilestone> milestones;
  for (const std::string& part : SplitList(text, ';')) {
    const size_t space = part.rfind(' ');
    if (space == std::string::npos) return std::nullopt;
    auto due = Date::Parse(part.substr(space + 1));
    std::string label = part.substr(0, space);
    while (!label.empty() && label.back() == ' ') label.pop_back();
    if (!due || label.empty()) return std::nullopt;
    milestones.push_back({label, *due, ""});
  }
  return milestones;
}

// What the review form holds, read back: the draft as corrected, the report's paragraphs, and
// the cells that could not be read.
struct Reviewed {
  Draft draft;
  DraftRequest request;
  ReportText report;
  std::vector<FieldError> errors;
};

Reviewed ReadReviewForm(const Call& call) {
  Reviewed r;
  r.report = DecodeParagraphs(call.Form("report"));
  r.request.source = call.Form("source");
  Draft& d = r.draft;
  d.reviewed = true;
  d.inspection_id = call.Form("inspection-id");
  d.title = call.Form("inspection-title");
  d.follow_up_of = call.Form("inspection-follow_up_of");
  d.inspection_checks = Lines(call.Form("inspection-checks"));
  d.published = DateAsTyped(call.Form("inspection-published"));
  if (!d.published) {
    const std::string typed = call.Form("inspection-published");
    r.errors.push_back(
        {"inspection-published", IsBlank(typed) ? "Enter the date the report was published"
                                                : TypedDateError(typed, "Published", "6/3/2025")});
  }
  auto count = [&](const std::string& name) {
    return static_cast<int>(ParseDigits(call.Form(name), 4).value_or(0));
  };
  for (int i = 1; i <= count("body-count"); ++i) {
    const std::string k = "body-" + std::to_string(i) + "-";
    if (call.Form(k + "import").empty()) continue;
    d.new_bodies.push_back({call.Form(k + "id"), call.Form(k + "name"), call.Form(k + "phrase")});
  }
  for (int i = 1; i <= count("rec-count"); ++i) {
    const std::string k = "rec-" + std::to_string(i) + "-";
    DraftRecommendation rec;
    rec.number = call.Form(k + "number");
    rec.id = call.Form(k + "id");
    rec.text = call.Form(k + "text");
    rec.owners = SplitList(call.Form(k + "owners"));
    rec.paragraphs = Numbers(call.Form(k + "paragraphs"));
    rec.checks = Lines(call.Form(k + "checks"));
    auto milestones = ParseMilestones(call.Form(k + "milestones"));
    if (!milestones) {
      r.errors.push_back({k + "milestones", "Recommendation " + rec.number +
                                                ": write milestones as a label and a date, like "
                                                "'designed 2025-07-31; implemented 2026-03-31'"});
    } else {
      rec.milestones = *milestones;
    }
    rec.left_out = call.Form(k + "import").empty();  // kept on the page, not imported
    if (!rec.left_out && rec.owners.empty()) {
      r.errors.push_back({k + "owners", "Recommendation " + rec.number +
                                            ": give its owners, or untick it to leave it out"});
    }
    d.recommendations.push_back(std::move(rec));
  }
  for (int i = 1; i <= count("judgement-count"); ++i) {
    const std::string k = "judgement-" + std::to_string(i) + "-";
    DraftJudgement j;
    j.number = call.Form(k + "number");
    j.rec = call.Form(k + "rec");
    j.outcome = call.Form(k + "outcome");
    if (std::find(std::begin(kOutcomes), std::end(kOutcomes), j.outcome) == std::end(kOutcomes)) {
      r.errors.push_back({k + "outcome", "Judgement on recommendation " + j.number +
                                             ": the outcome is one of achieved, "
                                             "partially_achieved or not_achieved"});
    }
    j.phrase = call.Form(k + "phrase");
    j.superseded_by = SplitList(call.Form(k + "superseded_by"));
    j.paragraphs = Numbers(call.Form(k + "paragraphs"));
    j.checks = Lines(call.Form(k + "checks"));
    j.left_out = call.Form(k + "import").empty();
    d.judgements.push_back(std::move(j));
  }
  return r;
}

// An error ParseImport gave for the draft written from the form ("the draft:22:13: ...") said
// about the row it is in ("ec24-r6: ..."): the page has rows, not lines.
std::string AboutRow(const std::string& yaml, const std::string& message) {
  const std::string prefix = "the draft:";
  if (message.rfind(prefix, 0) != 0) return message;
  size_t at = prefix.size(), line = 0;
  while (at < message.size() && std::isdigit(static_cast<unsigned char>(message[at]))) {
    line = line * 10 + static_cast<size_t>(message[at++] - '0');
  }
  const size_t rest = message.find(": ", at);
  if (line == 0 || rest == std::string::npos) return message;
  std::vector<std::string> lines;
  size_t from = 0;
  while (from <= yaml.size() && lines.size() < line) {
    size_t nl = yaml.find('\n', from);
    if (nl == std::string::npos) nl = yaml.size();
    lines.push_back(yaml.substr(from, nl - from));
    from = nl + 1;
  }
  for (size_t i = lines.size(); i-- > 0;) {
    for (const std::string start : {"  - id: \"", "  - {id: \"", "  - {rec: \""}) {
      if (lines[i].rfind(start, 0) != 0) continue;
      const size_t end = lines[i].find('"', start.size());
      return lines[i].substr(start.size(), end - start.size()) + ": " + message.substr(rest + 2);
    }
  }
  return message.substr(rest + 2);
}

// A row's checks: shown ("checks") and carried to the next post ("checks_text", one a line).
void SetChecks(Data& row, const std::vector<std::string>& checks) {
  Data shown = List();
  for (const std::string& check : checks) shown.push_back(Data("text", check));
  row.set("checks", shown);
  row.set("checks_text", Join(checks, "\n"));
}

}  // namespace

Response Workspace::Impl::DraftPage(const Call& call, const Draft* draft, const ReportText* report,
                                    const DraftRequest* request, std::vector<FieldError> errors,
                                    int status) {
  Data data;
  data.set("csrf", call.session->csrf);
  SetErrors(data, errors);
  Data inspections = List();
  host->ReadAsIs([&](const Engine& engine) {
    for (const Inspection& i : engine.Inspections()) {
      Data d;
      d.set("id", i.id);
      d.set("name", i.id + ": " + (i.short_title.empty() ? i.title : i.short_title));
      d.set("selected", Bool(draft && draft->follow_up_of == i.id));
      inspections.push_back(d);
    }
  });
  data.set("inspections", inspections);
  if (!draft) {
    SetIf(data, "inspection_id", call.Form("inspection"));
    SetIf(data, "published", call.Form("published"));
    return Page(call, status, "draft", data, "Draft from a report", "admin", !errors.empty());
  }
  // Which paragraph each row came from, so the report's text can mark and link them.
  std::map<int, std::string> marked;
  data.set("review", Bool(true));
  data.set("source", request->source);
  data.set("report", EncodeParagraphs(*report));
  data.set("inspection_id", draft->inspection_id);
  data.set("title", draft->title);
  SetIf(data, "published", draft->published ? TypedDate(*draft->published) : "");
  SetIf(data, "follow_up_of", draft->follow_up_of);
  Data checks = List();
  for (const std::string& c : draft->inspection_checks) checks.push_back(Data("text", c));
  data.set("inspection_checks", checks);
  data.set("inspection_checks_text", Join(draft->inspection_checks, "\n"));
  for (const FieldError& e : errors) {
    if (e.field == "inspection-published") data.set("published_error", e.message);
    // Importing what looks like a report imported already is asked about, not assumed.
    if (e.field == "import-again") data.set("import_again_error", e.message);
  }
  Data bodies = List();
  for (size_t i = 0; i < draft->new_bodies.size(); ++i) {
    const DraftBody& b = draft->new_bodies[i];
    Data d;
    d.set("n", std::to_string(i + 1));
    d.set("id", b.id);
    d.set("name", b.name);
    d.set("phrase", b.phrase);
    bodies.push_back(d);
  }
  data.set("bodies", bodies);
  data.set("body_count", std::to_string(draft->new_bodies.size()));
  auto rows = [&](const std::vector<int>& paragraphs, Data& d, const std::string& label) {
    d.set("paragraphs", JoinNumbers(paragraphs));
    SetIf(d, "first", paragraphs.empty() ? "" : std::to_string(paragraphs.front()));
    for (int p : paragraphs) marked.emplace(p, label);
  };
  Data recs = List();
  for (size_t i = 0; i < draft->recommendations.size(); ++i) {
    const DraftRecommendation& rec = draft->recommendations[i];
    Data d;
    d.set("n", std::to_string(i + 1));
    d.set("number", rec.number);
    d.set("id", rec.id);
    d.set("text", rec.text);
    d.set("owners", Join(rec.owners, ", "));
    d.set("milestones", MilestonesText(rec.milestones));
    SetChecks(d, rec.checks);
    d.set("import", Bool(!rec.left_out));
    rows(rec.paragraphs, d, "Recommendation " + rec.number);
    recs.push_back(d);
  }
  data.set("recommendations", recs);
  data.set("rec_count", std::to_string(draft->recommendations.size()));
  Data judgements = List();
  for (size_t i = 0; i < draft->judgements.size(); ++i) {
    const DraftJudgement& j = draft->judgements[i];
    Data d;
    d.set("n", std::to_string(i + 1));
    d.set("number", j.number);
    d.set("rec", j.rec);
    d.set("phrase", j.phrase);
    Data outcomes = List();
    for (const char* o : kOutcomes) {
      Data od("value", std::string(o));
      od.set("selected", Bool(j.outcome == o));
      outcomes.push_back(od);
    }
    d.set("outcomes", outcomes);
    d.set("superseded_by", Join(j.superseded_by, ", "));
    SetChecks(d, j.checks);
    d.set("import", Bool(!j.left_out));
    rows(j.paragraphs, d, "Judgement on recommendation " + j.number);
    judgements.push_back(d);
  }
  data.set("judgements", judgements);
  data.set("judgement_count", std::to_string(draft->judgements.size()));
  Data questions = List();
  for (const DraftQuestion& q : draft->questions) {
    Data d;
    d.set("paragraph", std::to_string(q.paragraph));
    d.set("text", q.text);
    d.set("why", q.why);
    questions.push_back(d);
    marked.emplace(q.paragraph, "Question");
  }
  data.set("questions", questions);
  Data paragraphs = List();
  int page = 0;
  for (const Paragraph& p : report->paragraphs) {
    Data d;
    d.set("number", std::to_string(p.number));
    d.set("text", p.text);
    SetIf(d, "page", p.page != page && p.page > 0 ? std::to_string(p.page) : "");
    page = p.page;
    auto m = marked.find(p.number);
    SetIf(d, "marked_as", m != marked.end() ? m->second : "");
    paragraphs.push_back(d);
  }
  data.set("paragraphs", paragraphs);
  return Page(call, status, "draft", data, "Review the draft", "admin", !errors.empty());
}

Response Workspace::Impl::DraftUpload(const Call& call) {
  const std::vector<EvidenceFile> chosen = call.Files("report");
  if (chosen.empty() || chosen.front().content.empty()) {
    return DraftPage(call, nullptr, nullptr, nullptr,
                     {{"report-file", "Choose the report: a PDF, DOCX, ODT, HTML or text file"}},
                     400);
  }
  DraftRequest request;
  request.source = chosen.front().name;
  request.inspection_id = call.Form("inspection");
  request.follow_up_of = call.Form("follow_up_of");
  if (!IsBlank(call.Form("published"))) {
    request.published = DateAsTyped(call.Form("published"));
    if (!request.published) {
      return DraftPage(
          call, nullptr, nullptr, nullptr,
          {{"draft-published", TypedDateError(call.Form("published"), "Published", "6/3/2025")}},
          400);
    }
  }
  Status known;
  host->ReadAsIs([&](const Engine& engine) { known = AddWhatEngineKnows(engine, &request); });
  if (!known.ok()) {
    return DraftPage(call, nullptr, nullptr, nullptr,
                     {{request.follow_up_of.empty() ? "draft-inspection" : "draft-follow_up_of",
                       known.message()}},
                     400);
  }
  // One report is read and drafted at a time: a converter holds a core for seconds.
  if (reading_reports.fetch_add(1) > 0) {
    reading_reports.fetch_sub(1);
    return DraftPage(call, nullptr, nullptr, nullptr,
                     {{"report-file", "Another report is being read; send this one again shortly"}},
                     503);
  }
  struct Release {
    std::atomic<int>& count;
    ~Release() { count.fetch_sub(1); }
  } release{reading_reports};
  ReportReadOptions reading;
  reading.pandoc = options.documents->options().pandoc;
  reading.timeout_seconds = options.documents->options().timeout_seconds;
  auto report = ReadReport(chosen.front().content, reading);
  if (!report.ok()) {
    return DraftPage(call, nullptr, nullptr, nullptr,
                     {{"report-file", chosen.front().name + ": " + report.status().message()}},
                     http::FromStatus(report.status()).status);
  }
  const Draft draft = DraftFromReport(*report, request);
  if (Status size = CheckDraftSize(draft); !size.ok()) {
    return DraftPage(call, nullptr, nullptr, nullptr,
                     {{"report-file", chosen.front().name + ": " + size.message()}},
                     http::FromStatus(size).status);
  }
  return DraftPage(call, &draft, &*report, &request, {}, 200);
}

Response Workspace::Impl::DraftImport(const Call& call) {
  Reviewed r = ReadReviewForm(call);
  auto again = [&](std::vector<FieldError> errors, int status) {
    return DraftPage(call, &r.draft, &r.report, &r.request, std::move(errors), status);
  };
  // The form came back from the browser: as bounded as the upload it was made from.
  if (Status size = CheckDraftSize(r.draft); !size.ok()) {
    return Message(call, 413, "The draft is too large", size.message());
  }
  if (r.report.paragraphs.size() > ReportReadOptions().max_paragraphs) {
    return Message(call, 413, "The draft is too large",
                   "The report's text has more paragraphs than a report read for a draft may have");
  }
  // Whether the report is imported already, as the form now says it (title, date): worked out
  // again, not carried from the upload, once there is a date to go by.
  Status known;
  host->ReadAsIs([&](const Engine& engine) { known = AddWhatEngineKnows(engine, &r.request); });
  if (!known.ok()) return again({{"draft-import", known.message()}}, 400);
  const std::vector<KnownInspection> same =
      SameReport(r.draft.title, r.draft.published, 0, r.request.inspections);
  if (r.draft.published) {
    std::erase_if(r.draft.inspection_checks, [](const std::string& check) {
      return IsSameReportCheck(check) || IsNoDateCheck(check);
    });
    for (const KnownInspection& k : same) r.draft.inspection_checks.push_back(SameReportCheck(k));
  }
  if (!r.errors.empty()) return again(r.errors, 400);
  const std::string yaml = DraftAsYaml(r.draft, ReportText(), r.request);
  const EngineHost::ImportTurn turn = host->TakeImportTurn();
  if (!turn)
    return again({{"draft-import", "Another import is being read; try again shortly"}}, 503);
  auto commands = ParseImport(yaml, "the draft", *workflow, action_workflow);
  if (!commands.ok()) {
    return again({{"draft-import", AboutRow(yaml, commands.status().message())}}, 400);
  }
  if (call.Form("import-again").empty()) {
    if (!same.empty()) {
      return again(
          {{"import-again", "Inspection " + same.front().id + " has this title and was published " +
                                same.front().published.LongString() +
                                ": if this is another report, tick 'Import it again'"}},
          409);
    }
  }
  auto written = host->Apply(WriteBatch{std::move(*commands), ActorOf(call.who)});
  if (!written.ok()) {
    return again({{"draft-import", AboutRow(yaml, written.status().message())}},
                 http::FromStatus(written.status()).status);
  }
  return Redirect("/inspections/" + r.draft.inspection_id);
}

}  // namespace rectrack::web
