#include <algorithm>
#include <tuple>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/render.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

namespace {

// The "open or closed" filter's choices, `selected` ("", "open" or "closed") chosen.
Data StatusChoices(const std::string& selected) {
  Data statuses = List();
  for (auto [value, label] : std::vector<std::pair<std::string, std::string>>{
           {"", "Open and closed"}, {"open", "Open"}, {"closed", "Closed"}}) {
    Data d;
    d.set("value", value);
    d.set("label", label);
    d.set("selected", Bool(value == selected));
    statuses.push_back(d);
  }
  return statuses;
}

// A filter as the MoJ filter's "Selected filters" shows it: its heading and its value in words.
struct SelectedFilter {
  std::string key, heading, label;
};

// Sets "selected_filters" (a tag per filter set in `filters`, linking to `path` without it, from
// the first page) and "has_selected", which the filter panel shows above its fields.
void SetSelectedFilters(Data& data, const std::string& path, const Params& filters,
                        const std::vector<SelectedFilter>& shown) {
  Data selected = List();
  bool any = false;
  for (const SelectedFilter& s : shown) {
    auto it = filters.find(s.key);
    if (it == filters.end() || it->second.empty()) continue;
    Params without = filters;
    without.erase(s.key);
    Data d;
    d.set("heading", s.heading);
    d.set("label", s.label.empty() ? it->second : s.label);
    d.set("href", path + QueryString(without));
    selected.push_back(d);
    any = true;
  }
  data.set("selected_filters", selected);
  data.set("clear_href", path);
  data.set("has_selected", Bool(any));
}

// The actions list's `unit` for actions of no unit (the body's own): not an id (model.h:
// IsValidId), so no unit can be called it.
constexpr const char* kNoUnit = "(none)";
constexpr const char* kNoUnitName = "The body as a whole (no unit)";

}  // namespace

Status Workspace::Impl::FiltersExist(const Engine& engine, const Call& call,
                                     unsigned page_has) const {
  auto asked = [&](Filter filter, const char* name) {
    return (page_has & filter) ? call.Query(name) : std::string();
  };
  if (const std::string body = asked(kBodyFilter, "body"); !body.empty() && !engine.HasBody(body)) {
    return Status::NotFound("no body '" + body + "'");
  }
  if (const std::string inspection = asked(kInspectionFilter, "inspection"); !inspection.empty()) {
    const std::vector<Inspection> all = engine.Inspections();
    if (std::none_of(all.begin(), all.end(),
                     [&](const Inspection& i) { return i.id == inspection; })) {
      return Status::NotFound("no inspection '" + inspection + "'");
    }
  }
  if (const std::string unit = asked(kUnitFilter, "unit");
      !unit.empty() && unit != kNoUnit && !engine.FindUnit(unit)) {
    return Status::NotFound("no unit '" + unit + "'");
  }
  if (const std::string state = asked(kStateFilter, "state");
      !state.empty() && !engine.workflow().FindState(state)) {
    return Status::InvalidArgument("There is no state '" + state + "'.");
  }
  if (const std::string status = asked(kStatusFilter, "status");
      !status.empty() && status != "open" && status != "closed") {
    return Status::InvalidArgument("Open or closed must be 'open' or 'closed', not '" + status +
                                   "'.");
  }
  if (const std::string overdue = asked(kOverdueFilter, "overdue");
      !overdue.empty() && overdue != "true") {
    return Status::InvalidArgument("Overdue must be 'true' or not given, not '" + overdue + "'.");
  }
  if (const std::string format = asked(kCsvFilter, "format"); !format.empty() && format != "csv") {
    return Status::InvalidArgument("There is no format '" + format +
                                   "': the list downloads as csv.");
  }
  return Status();
}

Response Workspace::Impl::FilterRefusal(const Call& call, const Status& why) const {
  return why.code() == Code::kNotFound ? NotFound(call) : AddressNotRight(call, why);
}

namespace {

std::string StatusLabel(const std::string& status) {
  return status == "open" ? "Open" : status == "closed" ? "Closed" : status;
}

}  // namespace

// --- Dashboard

Workspace::Impl::Content Workspace::Impl::DashboardContent(const Call& call) {
  Data data;
  int64_t generation = 0;
  Status failed;  // the first list that could not be made
  host->Read([&](const Engine& engine) {
    generation = engine.last_seq();
    const Date today = engine.clock().Today();
    data.set("today", today.LongString());
    // The state a body's closure waits in for the inspectorate: the one `close` leads to.
    std::string awaiting_state;
    if (const Transition* close = workflow->FindTransition("close")) {
      for (const Case& c : close->cases) {
        if (c.to) awaiting_state = *c.to;
      }
    }
    // Counted as items change (Engine::CountWork): the dashboard costs the bodies and units,
    // not a walk over every recommendation under the lock.
    constexpr int kDueSoonDays = 30;
    auto work = engine.CountWork(today, kDueSoonDays);
    if (!work.ok()) {
      failed = work.status();
      return;
    }
    const WorkCounts none;
    Data bodies = List();
    for (const Body& b : engine.Bodies()) {
      if (!call.who.body.empty() && b.id != call.who.body) continue;
      auto found = work->find({SubjectKind::kRecommendation, b.id, ""});
      const WorkCounts& counts = found == work->end() ? none : found->second;
      auto awaiting = counts.states.find(awaiting_state);
      Data d;
      d.set("id", b.id);
      d.set("name", b.name);
      d.set("short", b.short_name.empty() ? b.id : b.short_name);
      d.set("open", std::to_string(counts.open));
      d.set("overdue", std::to_string(counts.overdue));
      d.set("due_soon", std::to_string(counts.due_soon));
      d.set("due_from", today.ToString());
      d.set("due_before", today.AddDays(kDueSoonDays + 1).ToString());
      d.set("awaiting", std::to_string(awaiting == counts.states.end() ? 0 : awaiting->second));
      d.set("awaiting_state", awaiting_state);
      if (action_workflow) {
        // The body's units with open actions (a unit's lead counts its own), "" first: the
        // body as a whole.
        Data units = List();
        for (auto it = work->lower_bound({SubjectKind::kAction, b.id, ""});
             it != work->end() && it->first.kind == SubjectKind::kAction && it->first.body == b.id;
             ++it) {
          const std::string& unit = it->first.unit;
          if (it->second.open == 0 || (!call.who.unit.empty() && unit != call.who.unit)) continue;
          Data u;
          auto found_unit = engine.FindUnit(unit);
          u.set("name", unit.empty() ? b.name + " as a whole"
                        : found_unit ? found_unit->name
                                     : unit);
          u.set("unit", unit.empty() ? kNoUnit : unit);
          u.set("body", b.id);
          u.set("open", std::to_string(it->second.open));
          u.set("overdue", std::to_string(it->second.overdue));
          units.push_back(u);
        }
        d.set("has_units", Bool(units.is_non_empty_list()));
        d.set("units", units);
      }
      bodies.push_back(d);
    }
    data.set("bodies", bodies);
  });
  if (!failed.ok()) return Content{0, "", false, -1, Failure(call, failed)};
  return Content{200, templates.Render("dashboard", data), false, generation, std::nullopt};
}

Response Workspace::Impl::Dashboard(const Call& call) {
  return CachedPage(call, "Dashboard", "dashboard", [&] { return DashboardContent(call); });
}

// --- The recommendations list

Workspace::Impl::Content Workspace::Impl::RecommendationsContent(const Call& call) {
  Data data;
  const std::string body_asked = call.Query("body");
  const std::string inspection = call.Query("inspection");
  const std::string state = call.Query("state");
  const std::string status = call.Query("status");
  const bool overdue = call.Query("overdue") == "true";
  const std::string q = call.Query("q");
  const TypedDateField due_before_typed(call.Query("due_before"), "Due before", "31/3/2025");
  const TypedDateField due_from_typed(call.Query("due_from"), "Due on or after", "1/1/2025");
  const TypedDateField as_at_typed(call.Query("as_at"));
  // As links and filters carry them: ISO when read.
  const std::string& due_before = due_before_typed.iso;
  const std::string& due_from = due_from_typed.iso;
  const std::string& as_at = as_at_typed.iso;
  // A column's name sorts by it, first to last; "-" before it, last to first. Issue date, first
  // to last, is the list's own order.
  const std::string sort_asked = call.Query("sort");
  const bool descending = !sort_asked.empty() && sort_asked[0] == '-';
  std::string sort = descending ? sort_asked.substr(1) : sort_asked;
  if (sort != "id" && sort != "state" && sort != "due") sort = "issued";
  const std::string sort_param = descending ? "-" + sort : sort == "issued" ? "" : sort;
  const bool csv = call.Query("format") == "csv";
  // Every date that cannot be read is said, each at its field.
  std::vector<FieldError> errors;
  const std::optional<Date> as_of = as_at_typed.date, due_limit = due_before_typed.date,
                            due_start = due_from_typed.date;
  if (due_from_typed.bad()) errors.push_back({"due_from", due_from_typed.error});
  if (due_before_typed.bad()) errors.push_back({"due_before", due_before_typed.error});
  if (due_start && due_limit && *due_start >= *due_limit) {
    // Nothing is due on or after a date and before an earlier one: say so rather than list none.
    errors.push_back({"due_before", "Due before must be after " + due_start->LongString()});
  }
  if (as_at_typed.bad()) errors.push_back({"as_at", as_at_typed.error});
  auto body = ScopeBody(call.who, body_asked);
  if (!body.ok()) return Content{0, "", false, -1, NotFound(call)};
  // A download is the whole list, whatever page it was asked from.
  const Result<PageAsked> asked =
      csv ? PageAsked{1, options.page_size} : AskedPage(call, options.page_size);
  if (!asked.ok()) return Content{0, "", false, -1, AddressNotRight(call, asked.status())};
  const size_t page = asked->page, per_page = asked->per_page;
  const std::string per_page_asked = call.Query("per_page");
  // The list is walked once, under the engine's lock, and only a page of views is kept: every
  // other recommendation that passes the filters leaves its place in the order (its sort key
  // and id), or, for a download, its CSV line. In the list's own order (issue date, then id)
  // not even that: the walk is in that order already.
  const bool in_list_order = sort == "issued" && !descending;
  auto sort_key = [&](const RecommendationView& v) -> std::string {
    if (sort == "state") return v.state;
    if (sort == "issued") return v.issued.ToString();
    if (sort == "due") return NextDue(v);  // "" for none: last, whichever way round
    return "";                             // id, or the list's order
  };
  auto csv_line = [](const RecommendationView& v) {
    return CsvField(v.id) + "," + CsvField(v.def.inspection) + "," +
           CsvField(OwnersText(v.def.owners)) + "," + CsvField(v.state) + "," +
           (v.open ? "true" : "false") + "," + (v.overdue ? "true" : "false") + "," +
           CsvField(NextDue(v)) + "," + CsvField(v.issued.ToString()) + "," + CsvField(v.def.text) +
           "\r\n";
  };
  struct Place {
    std::string key;
    std::string id;
    std::string csv;  // the row's line, for a download
  };
  std::vector<Place> places;
  std::vector<RecommendationView> views;  // the page's
  size_t count = 0;
  const size_t page_first = asked->first(), page_end = asked->end();
  int64_t generation = 0;
  std::string today, body_name, inspection_name;
  Status failed;         // the list could not be made
  Status filters_exist;  // the address's filters name what there is
  host->Read([&](const Engine& engine) {
    filters_exist = FiltersExist(engine, call,
                                 kBodyFilter | kInspectionFilter | kStateFilter | kStatusFilter |
                                     kOverdueFilter | kCsvFilter);
    if (!filters_exist.ok()) return;
    generation = engine.last_seq();
    today = engine.clock().Today().ToString();
    ListQuery query;
    query.as_of = as_of;
    query.body = *body;
    query.state = state;
    if (status == "open") query.open = true;
    if (status == "closed") query.open = false;
    query.overdue_only = overdue;
    failed = engine.VisitList(query, [&](const RecommendationView& v) {
      if (!MaySeeItem(engine, call.who, v)) return true;
      if (!inspection.empty() && v.def.inspection != inspection) return true;
      if (!q.empty() && !http::ContainsFolded(v.def.text, q) && !http::ContainsFolded(v.id, q)) {
        return true;
      }
      if (due_limit || due_start) {
        const std::string next = NextDue(v);
        if (next.empty() || (due_limit && next >= due_limit->ToString()) ||
            (due_start && next < due_start->ToString())) {
          return true;
        }
      }
      if (csv) {
        places.push_back({sort_key(v), v.id, csv_line(v)});
      } else if (!in_list_order) {
        places.push_back({sort_key(v), v.id, ""});
      } else if (count >= page_first && count < page_end) {
        views.push_back(v);
      }
      ++count;
      return true;
    });
    if (!failed.ok()) return;
    if (!in_list_order) {
      std::sort(places.begin(), places.end(), [descending](const Place& a, const Place& b) {
        // No key (no milestone due) goes last; a sort by id has no key at all.
        if (a.key.empty() != b.key.empty()) return b.key.empty();
        return descending ? std::tie(b.key, b.id) < std::tie(a.key, a.id)
                          : std::tie(a.key, a.id) < std::tie(b.key, b.id);
      });
    }
    // The page's views, made again from their ids (as at the same date, in the same hold).
    for (size_t i = page_first; !csv && !in_list_order && i < std::min(places.size(), page_end);
         ++i) {
      auto view = engine.Show(places[i].id, as_of, Detail::kHead);
      if (!view.ok()) {
        failed = view.status();
        return;
      }
      views.push_back(std::move(*view));
    }
    data.set("bodies", BodyChoices(engine, call.who, *body));
    for (const Body& b : engine.Bodies()) {
      if (b.id == body_asked) body_name = b.name;
    }
    Data inspections = List();
    for (const Inspection& i : engine.Inspections()) {
      Data d;
      d.set("id", i.id);
      d.set("name", i.short_title.empty() ? i.title : i.short_title);
      d.set("selected", Bool(i.id == inspection));
      if (i.id == inspection) inspection_name = i.short_title.empty() ? i.title : i.short_title;
      inspections.push_back(d);
    }
    data.set("inspections", inspections);
  });
  if (!filters_exist.ok()) return Content{0, "", false, -1, FilterRefusal(call, filters_exist)};
  if (!failed.ok()) return Content{0, "", false, -1, Failure(call, failed)};
  if (csv && errors.empty()) {  // a bad date is said on the page, not hidden in a file
    std::string out = "id,inspection,owners,state,open,overdue,next_due,issued,text\r\n";
    for (const Place& place : places) out += place.csv;
    // The file is named by a date parsed, never by the text of the query.
    return Content{0, "", false, -1,
                   Download("text/csv; charset=utf-8", std::move(out),
                            "recommendations-" + (as_of ? as_of->ToString() : today) + ".csv")};
  }
  Params filters{{"per_page", per_page_asked},
                 {"body", body_asked},
                 {"inspection", inspection},
                 {"state", state},
                 {"status", status},
                 {"overdue", overdue ? "true" : ""},
                 {"q", q},
                 {"due_from", due_from},
                 {"due_before", due_before},
                 {"as_at", as_at},
                 {"sort", sort_param}};
  Data states = List();
  for (const StateSpec& s : workflow->states()) {
    Data d;
    d.set("name", s.name);
    d.set("label", Spoken(s.name));
    d.set("selected", Bool(s.name == state));
    states.push_back(d);
  }
  data.set("states", states);
  data.set("statuses", StatusChoices(status));
  SetSelectedFilters(data, "/recommendations", filters,
                     {{"body", "Body", body_name},
                      {"inspection", "Inspection", inspection_name},
                      {"state", "State", ""},
                      {"status", "Open or closed", StatusLabel(status)},
                      {"overdue", "Overdue", "Overdue only"},
                      {"q", "Text or id contains", ""},
                      {"due_from", "Due on or after", LongDate(due_from)},
                      {"due_before", "Due before", LongDate(due_before)},
                      {"as_at", "As at", LongDate(as_at)}});
  data.set("q", q);
  data.set("due_from", due_from_typed.shown);
  data.set("due_before", due_before_typed.shown);
  data.set("as_at", as_at_typed.shown);
  data.set("sort", sort_param);
  SetIf(data, "per_page", per_page_asked);  // kept when the filters are applied
  data.set("overdue", Bool(overdue));
  SetErrors(data, errors);  // each also at its field: due_from_error, ...
  data.set("count", std::to_string(count));
  data.set("count_noun", count == 1 ? "recommendation" : "recommendations");
  data.set("as_at_shown", LongDate(as_at_typed.date ? as_at : today));  // what the list shows
  Params csv_params = filters;
  csv_params["format"] = "csv";
  data.set("csv_href", "/recommendations" + QueryString(csv_params));
  Data columns = List();
  for (auto [column, label] :
       std::vector<std::pair<std::string, std::string>>{{"id", "Reference"},
                                                        {"", "Recommendation"},
                                                        {"", "Owners"},
                                                        {"state", "State"},
                                                        {"due", "Next due"},
                                                        {"issued", "Issued"}}) {
    Data d;
    d.set("label", label);
    // The column sorted by sorts the other way round when followed again.
    Params sorted = filters;
    const bool reverse = column == sort && !descending;
    sorted["sort"] = reverse ? "-" + column : column == "issued" ? "" : column;
    SetIf(d, "href", column.empty() ? "" : "/recommendations" + QueryString(sorted));
    SetIf(d, "aria_sort",
          column.empty()   ? ""
          : column != sort ? "none"
          : descending     ? "descending"
                           : "ascending");
    columns.push_back(d);
  }
  data.set("columns", columns);
  const size_t pages = std::max<size_t>(1, (count + per_page - 1) / per_page);
  if (page > pages) return Content{0, "", false, -1, NotFound(call)};
  Data rows = List();
  const std::string as_at_query = as_at.empty() ? "" : "?as_at=" + as_at;
  for (const RecommendationView& view : views) {
    Data row = ItemRow(view);
    row.set("as_at_query", as_at_query);
    rows.push_back(row);
  }
  data.set("rows", rows);
  data.set("has_rows", Bool(count > 0));
  if (pages > 1) {
    data.set("pagination", Pagination(page, pages, "recommendations", "/recommendations", filters));
  }
  return Content{errors.empty() ? 200 : 400, templates.Render("recommendations", data),
                 !errors.empty(), generation, std::nullopt};
}

Response Workspace::Impl::Recommendations(const Call& call) {
  return CachedPage(call, "Recommendations", "recommendations",
                    [&] { return RecommendationsContent(call); });
}

// --- Actions, inspections, Annex A, alerts

Response Workspace::Impl::Actions(const Call& call) {
  if (!action_workflow) return NotFound(call);
  const std::string unit = call.Query("unit");
  // The actions of no unit (the body's as a whole), as the dashboard counts them apart.
  const bool no_unit = unit == kNoUnit;
  const std::string status = call.Query("status");
  const bool overdue = call.Query("overdue") == "true";
  auto body = ScopeBody(call.who, call.Query("body"));
  if (!body.ok()) return NotFound(call);
  const bool csv = call.Query("format") == "csv";
  // A download is the whole list, whatever page it was asked from.
  const Result<PageAsked> asked =
      csv ? PageAsked{1, options.page_size} : AskedPage(call, options.page_size);
  if (!asked.ok()) return AddressNotRight(call, asked.status());
  Data data;
  int64_t generation = 0;
  size_t count = 0;
  std::string unit_name, csv_file, today;
  Status failed, filters_exist;
  host->Read([&](const Engine& engine) {
    filters_exist = FiltersExist(
        engine, call, kBodyFilter | kUnitFilter | kStatusFilter | kOverdueFilter | kCsvFilter);
    if (!filters_exist.ok()) return;
    generation = engine.last_seq();
    today = engine.clock().Today().ToString();
    ActionQuery q;
    q.body = *body;
    if (status == "open") q.open = true;
    if (status == "closed") q.open = false;
    q.overdue_only = overdue;
    q.detail = Detail::kHead;
    // A unit's lead walks its own only (and sees no action of the body as a whole).
    q.unit = unit.empty() || no_unit ? call.who.unit : unit;
    // One walk under the engine's lock, in the page's order: by next due date (undated last),
    // then the list's own order (the API's: by recommendation, due date and id). A page keeps
    // each action's place and makes again the views of its own rows only; a download keeps
    // every view, for its lines.
    struct Place {
      std::string due;  // "9999" for none
      size_t walked = 0;
      std::string id;
    };
    std::vector<Place> places;
    std::vector<RecommendationView> walked;  // a download's views, in walk order
    failed = engine.VisitActions(q, [&](const RecommendationView& a) {
      if (!MaySeeItem(engine, call.who, a)) return true;
      if (no_unit && !a.action->unit.empty()) return true;
      const std::string due = NextDue(a);
      places.push_back({due.empty() ? "9999" : due, places.size(), a.id});
      if (csv) walked.push_back(a);
      return true;
    });
    if (!failed.ok()) return;
    std::sort(places.begin(), places.end(), [](const Place& a, const Place& b) {
      return std::tie(a.due, a.walked) < std::tie(b.due, b.walked);
    });
    if (csv) {
      std::vector<RecommendationView> shown;
      for (const Place& place : places) shown.push_back(std::move(walked[place.walked]));
      csv_file = ActionsAsCsv(shown);
      return;
    }
    count = places.size();
    Data rows = List();
    for (size_t i = asked->first(); i < std::min(places.size(), asked->end()); ++i) {
      auto a = engine.ShowAction(places[i].id, std::nullopt, Detail::kHead);
      if (!a.ok()) {
        failed = a.status();
        return;
      }
      Data row = ItemRow(*a);
      if (auto u = engine.FindUnit(a->action->unit)) row.set("unit", u->name);
      rows.push_back(row);
    }
    data.set("rows", rows);
    data.set("count", std::to_string(count));
    data.set("count_noun", count == 1 ? "action" : "actions");
    data.set("has_rows", Bool(count > 0));
    Data units = List();
    for (const Unit& u : engine.Units(*body)) {
      if (!call.who.unit.empty() && u.id != call.who.unit) continue;
      Data d;
      d.set("id", u.id);
      d.set("name", u.name);
      d.set("selected", Bool(u.id == unit));
      if (u.id == unit) unit_name = u.name;
      units.push_back(d);
    }
    data.set("units", units);
    if (no_unit) unit_name = kNoUnitName;
    if (call.who.unit.empty()) {  // a unit's lead sees none of the body's own
      data.set("no_unit", kNoUnit);
      data.set("no_unit_selected", Bool(no_unit));
    }
  });
  if (!filters_exist.ok()) return FilterRefusal(call, filters_exist);
  if (!failed.ok()) return Failure(call, failed);
  if (csv) {
    return Download("text/csv; charset=utf-8", std::move(csv_file), "actions-" + today + ".csv");
  }
  data.set("statuses", StatusChoices(status));
  data.set("overdue", Bool(overdue));
  SetIf(data, "body", call.Query("body"));
  SetIf(data, "per_page", call.Query("per_page"));  // kept when the filters are applied
  const Params filters{{"per_page", call.Query("per_page")},
                       {"body", call.Query("body")},
                       {"unit", unit},
                       {"status", status},
                       {"overdue", overdue ? "true" : ""}};
  const size_t pages = std::max<size_t>(1, (count + asked->per_page - 1) / asked->per_page);
  if (asked->page > pages) return NotFound(call);
  if (pages > 1) {
    data.set("pagination", Pagination(asked->page, pages, "actions", "/actions", filters));
  }
  Params csv_params = filters;
  csv_params["format"] = "csv";
  data.set("csv_href", "/actions" + QueryString(csv_params));
  SetSelectedFilters(data, "/actions", filters,
                     {{"body", "Body", ""},
                      {"unit", "Unit", unit_name},
                      {"status", "Open or closed", StatusLabel(status)},
                      {"overdue", "Overdue", "Overdue only"}});
  return Page(call, 200, "actions", data, "Actions", "actions", false, generation);
}

Response Workspace::Impl::Inspections(const Call& call) {
  Data data;
  host->Read([&](const Engine& engine) {
    Data rows = List();
    for (const Inspection& i : engine.Inspections()) {
      Data d;
      d.set("id", i.id);
      d.set("title", i.title);
      d.set("published", i.published.LongString());
      d.set("kind", Spoken(i.kind));
      SetIf(d, "follow_up_of", i.follow_up_of);
      rows.push_back(d);
    }
    data.set("rows", rows);
  });
  return Page(call, 200, "inspections", data, "Inspections", "inspections");
}

Response Workspace::Impl::InspectionPage(const Call& call, const std::string& id) {
  Data data;
  bool found = false;
  std::string title;
  Status failed;
  host->Read([&](const Engine& engine) {
    Data follow_ups = List();
    bool has_follow_ups = false;
    for (const Inspection& i : engine.Inspections()) {
      if (i.id == id) {
        found = true;
        title = i.title;
        data.set("id", i.id);
        data.set("title", i.title);
        data.set("published", i.published.LongString());
        SetIf(data, "follow_up_of", i.follow_up_of);
      }
      if (i.follow_up_of == id) {
        Data d;
        d.set("id", i.id);
        d.set("title", i.title);
        follow_ups.push_back(d);
        has_follow_ups = true;
      }
    }
    data.set("follow_ups", follow_ups);
    data.set("has_follow_ups", Bool(has_follow_ups));
    Data rows = List();
    int count = 0;
    failed = engine.VisitList({}, [&](const RecommendationView& v) {
      if (v.def.inspection != id || !MaySeeItem(engine, call.who, v)) return true;
      rows.push_back(ItemRow(v));
      ++count;
      return true;
    });
    data.set("rows", rows);
    data.set("count", std::to_string(count));
  });
  if (!failed.ok()) return Failure(call, failed);
  if (!found) return NotFound(call);
  return Page(call, 200, "inspection", data, title, "inspections");
}

}  // namespace rectrack::web
