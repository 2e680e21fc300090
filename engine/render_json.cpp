// JSON renderings for programs. The shapes are a public contract (render.h): every key is always
// present with one type, dates are "YYYY-MM-DD" strings and field values are always arrays, so a
// client never has to guess whether it got a scalar or a list.
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "engine/event_codec.h"
#include "engine/render.h"

namespace rectrack {
namespace {

namespace json = boost::json;

json::object ListObject(const RecommendationView& v) {
  json::array milestones;
  for (const MilestoneView& m : v.milestones) {
    milestones.push_back(json::object{{"label", m.label},
                                      {"due", m.due.ToString()},
                                      {"original_due", m.original_due.ToString()},
                                      {"met", m.met},
                                      {"overdue", m.overdue}});
  }
  return json::object{{"id", v.id},
                      {"inspection", v.def.inspection},
                      {"owners", JsonStrings(v.def.owners)},
                      {"state", v.state},
                      {"open", v.open},
                      {"overdue", v.overdue},
                      {"milestones", std::move(milestones)},
                      {"text", v.def.text},
                      {"superseded_by", JsonStrings(v.superseded_by)},
                      {"supersedes", JsonStrings(v.supersedes)},
                      {"as_of", v.as_of.ToString()}};
}

json::object TimelineObject(const TimelineEntry& e) {
  json::object fields;
  for (const auto& [name, values] : e.fields) fields[name] = JsonStrings(values);
  json::array attachments;
  for (const Attachment& a : e.attachments) {
    attachments.push_back(json::object{{"sha256", a.sha256},
                                       {"name", a.name},
                                       {"media_type", a.media_type},
                                       {"size", a.size},
                                       {"href", "/api/v1/evidence/" + a.sha256}});
  }
  return json::object{{"seq", e.seq},
                      {"effective", e.effective.ToString()},
                      {"recorded", e.recorded},
                      {"do", e.transition},
                      {"voice", e.voice},
                      {"actor", e.actor},
                      {"role", e.role},
                      {"body", e.body},
                      {"unit", e.unit},
                      {"note", e.note},
                      {"fields", std::move(fields)},
                      {"attachments", std::move(attachments)},
                      {"from", e.from_state},
                      {"to", e.to_state}};
}

json::object ActionObject(const RecommendationView& v) {
  const MilestoneView* due = v.milestones.empty() ? nullptr : &v.milestones.front();
  const ActionInfo info = v.action ? *v.action : ActionInfo{};
  return json::object{{"id", v.id},
                      {"recommendation", info.recommendation},
                      {"title", v.def.text},
                      {"body", v.def.owners.empty() ? "" : v.def.owners.front()},
                      {"unit", info.unit},
                      {"milestone", info.milestone},
                      {"state", v.state},
                      {"open", v.open},
                      {"overdue", v.overdue},
                      {"due", due ? due->due.ToString() : ""},
                      {"original_due", due ? due->original_due.ToString() : ""},
                      {"planned", v.issued.ToString()},
                      {"as_of", v.as_of.ToString()}};
}

json::array Timeline(const RecommendationView& v) {
  json::array timeline;
  for (const TimelineEntry& e : v.timeline) timeline.push_back(TimelineObject(e));
  return timeline;
}

json::object ProgressObject(const UnitProgress& p) {
  return json::object{{"unit", p.unit}, {"name", p.name},       {"closed", p.closed},
                      {"open", p.open}, {"overdue", p.overdue}, {"total", p.total()}};
}

json::array ProgressArray(const std::vector<UnitProgress>& units) {
  json::array out;
  for (const UnitProgress& p : units) out.push_back(ProgressObject(p));
  return out;
}

json::array AnnexRows(const std::vector<AnnexRow>& rows, bool closed) {
  json::array out;
  for (const AnnexRow& row : rows) {
    json::object o{{"id", row.id},
                   {"inspection", row.inspection},
                   {"published", row.published},
                   {"text", row.text}};
    if (closed) o["quarter"] = row.quarter;
    o["note"] = row.note;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

std::string ListAsJson(const std::vector<RecommendationView>& views) {
  json::array out;
  for (const RecommendationView& v : views) out.push_back(ListObject(v));
  return json::serialize(out);
}

std::string ShowAsJson(const RecommendationView& view,
                       const std::vector<RecommendationView>& actions) {
  json::object out = ListObject(view);
  json::array listed;
  for (const RecommendationView& a : actions) listed.push_back(ActionObject(a));
  out["actions"] = std::move(listed);
  out["timeline"] = Timeline(view);
  return json::serialize(out);
}

std::string ActionsAsJson(const std::vector<RecommendationView>& actions) {
  json::array out;
  for (const RecommendationView& a : actions) out.push_back(ActionObject(a));
  return json::serialize(out);
}

std::string ActionAsJson(const RecommendationView& action) {
  json::object out = ActionObject(action);
  out["timeline"] = Timeline(action);
  return json::serialize(out);
}

std::string RecordedAsJson(const RecommendationView& item,
                           const std::optional<TimelineEntry>& event,
                           const std::vector<RecommendationView>& actions) {
  json::object out;
  if (item.kind == SubjectKind::kAction) {
    out = ActionObject(item);
  } else {
    out = ListObject(item);
    json::array listed;
    for (const RecommendationView& a : actions) listed.push_back(ActionObject(a));
    out["actions"] = std::move(listed);
  }
  out["event"] = event ? json::value(TimelineObject(*event)) : json::value(nullptr);
  return json::serialize(out);
}

std::string UnitsAsJson(const std::vector<Unit>& units) {
  json::array out;
  for (const Unit& u : units) {
    out.push_back(json::object{{"id", u.id}, {"body", u.body}, {"name", u.name}, {"kind", u.kind}});
  }
  return json::serialize(out);
}

std::string ProgressAsJson(const ProgressReport& report) {
  json::array recommendations;
  for (const RecommendationProgress& r : report.recommendations) {
    recommendations.push_back(json::object{{"id", r.id},
                                           {"text", r.text},
                                           {"state", r.state},
                                           {"open", r.open},
                                           {"all", ProgressObject(r.all)},
                                           {"units", ProgressArray(r.units)}});
  }
  json::object out{{"body", report.body},
                   {"body_name", report.body_name},
                   {"as_of", report.as_of.ToString()},
                   {"units", ProgressArray(report.units)},
                   {"recommendations", std::move(recommendations)}};
  return json::serialize(out);
}

std::string AnnexAsJson(const AnnexReport& report) {
  json::object out{{"body", report.body},
                   {"body_name", report.body_name},
                   {"as_of", report.as_of.ToString()},
                   {"financial_year", report.financial_year},
                   {"open", AnnexRows(report.open, false)},
                   {"closed", AnnexRows(report.closed, true)}};
  return json::serialize(out);
}

std::string AlertsCsvHeader() {
  return CsvLine({"seq", "id", "kind", "subject", "recommendation", "milestone", "occurrence",
                  "due", "raised", "late", "owners", "audience", "state"});
}

std::string AlertCsvLine(const storage::AlertRecord& a, const std::string& state) {
  // What the alert is about is in its payload (data.subject), as the API's JSON shows it.
  std::string subject = "recommendation";
  const json::value payload = json::parse(a.payload, {}, {});
  if (const json::object* o = payload.if_object()) {
    if (const json::value* data = o->if_contains("data"); data && data->is_object()) {
      if (const json::value* s = data->as_object().if_contains("subject"); s && s->is_string()) {
        subject = std::string(s->as_string());
      }
    }
  }
  const auto joined = [](const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ";") + item;
    return out;
  };
  return CsvLine({std::to_string(a.seq), a.id, a.kind, subject, a.recommendation, a.milestone,
                  std::to_string(a.occurrence), a.due, a.raised, a.late ? "true" : "false",
                  joined(a.owners), joined(a.audience), state});
}

}  // namespace rectrack
