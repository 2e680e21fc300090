// JSON renderings for programs. The shapes are a public contract (render.h): every key is always
// present with one type, dates are "YYYY-MM-DD" strings and field values are always arrays, so a
// client never has to guess whether it got a scalar or a list.
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "engine/render.h"

namespace rectrack {
namespace {

namespace json = boost::json;

json::array Strings(const std::vector<std::string>& items) {
  json::array out;
  for (const std::string& item : items) out.emplace_back(item);
  return out;
}

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
                      {"owners", Strings(v.def.owners)},
                      {"state", v.state},
                      {"open", v.open},
                      {"overdue", v.overdue},
                      {"milestones", std::move(milestones)},
                      {"text", v.def.text},
                      {"superseded_by", Strings(v.superseded_by)},
                      {"supersedes", Strings(v.supersedes)},
                      {"as_of", v.as_of.ToString()}};
}

json::object TimelineObject(const TimelineEntry& e) {
  json::object fields;
  for (const auto& [name, values] : e.fields) fields[name] = Strings(values);
  return json::object{{"seq", e.seq},           {"effective", e.effective.ToString()},
                      {"recorded", e.recorded}, {"do", e.transition},
                      {"voice", e.voice},       {"actor", e.actor},
                      {"role", e.role},         {"body", e.body},
                      {"note", e.note},         {"fields", std::move(fields)},
                      {"from", e.from_state},   {"to", e.to_state}};
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

std::string ShowAsJson(const RecommendationView& view) {
  json::object out = ListObject(view);
  json::array timeline;
  for (const TimelineEntry& e : view.timeline) timeline.push_back(TimelineObject(e));
  out["timeline"] = std::move(timeline);
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

}  // namespace rectrack
