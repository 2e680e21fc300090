#include "web/workspace.h"

#include <algorithm>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "engine/render.h"
#include "http/api_util.h"
#include "web/accounts.h"
#include "web/embedded.h"
#include "web/forms.h"
#include "web/templates.h"

namespace rectrack::web {
namespace {

using http::Request;
using http::Response;
using Params = std::map<std::string, std::string>;

constexpr const char* kCookie = "rectrack_session";
constexpr size_t kMaxFormBytes = 64 * 1024;

// The paths the workspace answers; everything else is the API's.
constexpr std::string_view kPaths[] = {"/",        "/sign-in",         "/sign-out", "/account",
                                       "/live",    "/recommendations", "/actions",  "/inspections",
                                       "/reports", "/alerts",          "/admin",    "/assets"};

Data List() { return Data(Data::type::list); }

// Sets `name` only when `value` is not empty: a mustache section {{#name}} renders for any
// string, even an empty one.
void SetIf(Data& data, const std::string& name, const std::string& value) {
  if (!value.empty()) data.set(name, value);
}

Data Bool(bool value) { return value ? Data(Data::type::bool_true) : Data(Data::type::bool_false); }

void SecurityHeaders(Response* r) {
  r->headers.emplace_back("Content-Security-Policy",
                          "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                          "form-action 'self'; frame-ancestors 'none'");
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  r->headers.emplace_back("Referrer-Policy", "same-origin");
}

Response Html(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  SecurityHeaders(&r);
  return r;
}

Response Redirect(const std::string& location) {
  Response r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "See " + location + "\n";
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Cache-Control", "no-store");
  SecurityHeaders(&r);
  return r;
}

// A query string of `params` in a fixed order, each value percent-encoded.
std::string QueryString(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += name + "=";
    for (unsigned char c : value) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        static const char* kHex = "0123456789ABCDEF";
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  }
  return out;
}

std::string CookieValue(const Request& req, const std::string& name) {
  const std::string header = req.Header("cookie");
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string_view pair(header.data() + at, end - at);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.substr(0, name.size() + 1) == name + "=")
      return std::string(pair.substr(name.size() + 1));
    at = end + 1;
  }
  return "";
}

// A report or list as a file to save: `name` is its file name.
Response Download(const std::string& content_type, std::string body, const std::string& name) {
  Response r;
  r.content_type = content_type;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  SecurityHeaders(&r);
  return r;
}

std::string ScopeLabel(const Principal& who) {
  std::string label = who.role;
  if (!who.body.empty()) label += " of " + who.body;
  if (!who.unit.empty()) label += ", unit " + who.unit;
  return label;
}

std::string StateClass(const Workflow* workflow, const std::string& state) {
  if (state == "verified" || state == "done") return "govuk-tag--green";
  if (state == "superseded" || state == "withdrawn" || state == "dropped") return "govuk-tag--grey";
  if (workflow && !workflow->IsOpen(state)) return "govuk-tag--turquoise";
  if (state == "reopened") return "govuk-tag--orange";
  return "govuk-tag--blue";
}

std::string NextDue(const RecommendationHead& item) {
  std::optional<Date> next;
  for (const MilestoneView& m : item.milestones) {
    if (!m.met && (!next || m.due < *next)) next = m.due;
  }
  return next ? next->ToString() : "";
}

std::string OwnersText(const std::vector<std::string>& owners) { return Join(owners, ", "); }

// The request as the workspace sees it: its target, its form, who sent it.
struct Call {
  const Request& req;
  http::Target target;
  Params form;                     // a POST's decoded fields
  std::optional<Session> session;  // also a half-signed-in one (needs_code)
  Principal who;
  bool signed_in = false;  // fully: the password and, when set up, the second factor

  std::string Query(const std::string& name) const {
    auto it = target.query.find(name);
    return it == target.query.end() ? "" : it->second;
  }
  std::string Form(const std::string& name) const {
    auto it = form.find(name);
    return it == form.end() ? "" : it->second;
  }
};

}  // namespace

struct Workspace::Impl {
  EngineHost* host;
  Accounts* accounts;
  WorkspaceOptions options;
  Templates templates;
  const Workflow* workflow = nullptr;
  const Workflow* action_workflow = nullptr;

  Response Route(Call& call);

  // --- Layout and common parts
  Data Layout(const Call& call, const std::string& title, const std::string& current,
              bool error = false) const {
    Data layout;
    layout.set("title", title);
    if (error) layout.set("error_title", Bool(true));
    if (call.signed_in) {
      Data who;
      who.set("email", call.who.account);
      who.set("scope", ScopeLabel(call.who));
      who.set("csrf", call.session->csrf);
      layout.set("who", who);
    }
    Data items = List();
    auto add = [&](const std::string& href, const std::string& label, const std::string& key) {
      Data item;
      item.set("href", href);
      item.set("label", label);
      if (key == current) item.set("current", Bool(true));
      items.push_back(item);
    };
    if (call.signed_in) add("/", "Dashboard", "dashboard");
    add("/recommendations", "Recommendations", "recommendations");
    if (call.signed_in && action_workflow) add("/actions", "Actions", "actions");
    add("/inspections", "Inspections", "inspections");
    if (call.signed_in) {
      add("/reports/annex", "Reports", "annex");
      add("/alerts", "Alerts", "alerts");
    }
    Data nav;
    nav.set("items", items);
    layout.set("nav", nav);
    return layout;
  }

  Response Page(const Call& call, int status, const std::string& name, const Data& data,
                const std::string& title, const std::string& current, bool error = false,
                int64_t generation = -1) const {
    Data layout = Layout(call, title, current, error);
    if (generation >= 0) layout.set("live_generation", std::to_string(generation));
    return Html(status, templates.Page(name, data, layout));
  }

  Response Message(const Call& call, int status, const std::string& title,
                   const std::string& message) const {
    Data data;
    data.set("title", title);
    data.set("message", message);
    return Page(call, status, "message", data, title, "", status >= 400);
  }

  Response NotFound(const Call& call) const {
    return Message(call, 404, "Page not found",
                   "There is no such page, or it is not yours to see. Check the address.");
  }

  Data BodyChoices(const Engine& engine, const Principal& who, const std::string& selected) const {
    Data bodies = List();
    for (const Body& b : engine.Bodies()) {
      if (!who.body.empty() && b.id != who.body) continue;
      Data d;
      d.set("id", b.id);
      d.set("name", b.name);
      if (b.id == selected) d.set("selected", Bool(true));
      bodies.push_back(d);
    }
    return bodies;
  }

  Data ItemRow(const Engine& engine, const RecommendationHead& v) const {
    (void)engine;
    Data row;
    row.set("id", v.id);
    row.set("text", v.def.text);
    row.set("owners", OwnersText(v.def.owners));
    row.set("state", v.state);
    const Workflow* wf = v.kind == SubjectKind::kAction ? action_workflow : workflow;
    row.set("state_class", StateClass(wf, v.state));
    if (v.overdue) row.set("overdue", Bool(true));
    SetIf(row, "next_due", NextDue(v));
    row.set("issued", v.issued.ToString());
    if (v.action) {
      row.set("recommendation", v.action->recommendation);
      SetIf(row, "unit", v.action->unit);
    }
    return row;
  }

  // --- Pages (web/pages below)
  Response SignInPage(const Call& call, int status, const std::string& error,
                      const std::string& email) const;
  Response SignIn(Call& call);
  std::string SessionCookie(const std::string& id) const;
  Response SignInCode(const Call& call);
  Response SecondFactor(const Call& call);
  Response Dashboard(const Call& call);
  Response Recommendations(const Call& call);
  Response Item(const Call& call, const std::string& id, SubjectKind kind,
                const std::vector<FieldError>& errors = {}, const std::string& failed = "",
                const Params& posted = {}, int status = 200);
  Response Record(const Call& call, const std::string& id, SubjectKind kind);
  Response Actions(const Call& call);
  Response Inspections(const Call& call);
  Response InspectionPage(const Call& call, const std::string& id);
  Response Annex(const Call& call);
  Response Progress(const Call& call);
  Response Alerts(const Call& call);
  Response Account(const Call& call);
  Response AdminAccounts(const Call& call, std::vector<FieldError> errors = {},
                         const std::string& added = "", int status = 200);
  Response AddAccount(const Call& call);
  Response Audit(const Call& call);
  Response Admin(const Call& call, std::vector<FieldError> errors = {},
                 const std::string& done = "", const std::string& secret = "", int status = 200);
  Response Import(const Call& call);
  Response Define(const Call& call);
  Response CreateToken(const Call& call);
  Response RevokeToken(const Call& call);
  Response Asset(const std::string& path) const;
};

// --- Sign-in

Response Workspace::Impl::SignInPage(const Call& call, int status, const std::string& error,
                                     const std::string& email) const {
  Data data;
  if (!error.empty()) data.set("error", error);
  data.set("email", email);
  std::string next = call.target.query.count("next") ? call.Query("next") : call.Form("next");
  data.set("next", next);
  if (options.public_read) data.set("public_read", Bool(true));
  return Page(call, status, "sign_in", data, "Sign in", "", !error.empty());
}

Response Workspace::Impl::SignIn(Call& call) {
  const std::string email = call.Form("email");
  const std::string password = call.Form("password");
  if (email.empty() || password.empty()) {
    return SignInPage(call, 400, "Enter your email address and password", email);
  }
  auto signed_in = accounts->SignIn(email, password, call.req.remote);
  if (!signed_in.ok()) {
    const bool throttled = signed_in.status().code() == Code::kUnprocessable;
    return SignInPage(call, throttled ? 429 : 401,
                      throttled ? "Too many failed attempts: " + signed_in.status().message()
                                : "Enter a correct email address and password",
                      email);
  }
  // Only a path on this site: a sign-in link cannot send people elsewhere.
  std::string next = call.Form("next");
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\'))) {
    next = "/";
  }
  Response r = signed_in->session.needs_code
                   ? Redirect("/sign-in/code" + QueryString({{"next", next == "/" ? "" : next}}))
                   : Redirect(next);
  r.headers.emplace_back("Set-Cookie", SessionCookie(signed_in->id));
  return r;
}

std::string Workspace::Impl::SessionCookie(const std::string& id) const {
  return std::string(kCookie) + "=" + id + "; Path=/; HttpOnly; SameSite=Lax" +
         (options.secure_cookies ? "; Secure" : "");
}

Response Workspace::Impl::SignInCode(const Call& call) {
  if (!call.session || !call.session->needs_code) return Redirect("/sign-in");
  auto page = [&](int status, const std::string& error) {
    Data data;
    SetIf(data, "error", error);
    data.set("csrf", call.session->csrf);
    data.set("next", call.target.query.count("next") ? call.Query("next") : call.Form("next"));
    return Page(call, status, "sign_in_code", data, "Enter your code", "", !error.empty());
  };
  if (call.req.method != "POST") return page(200, "");
  if (!SameSecret(call.Form("csrf"), call.session->csrf))
    return page(403, "Reload the page and try again");
  auto confirmed =
      accounts->ConfirmCode(CookieValue(call.req, kCookie), call.Form("code"), call.req.remote);
  if (!confirmed.ok()) {
    const bool throttled = confirmed.status().code() == Code::kUnprocessable;
    return page(throttled ? 429 : 401,
                throttled ? "Too many failed attempts: " + confirmed.status().message()
                          : "Enter the code your authenticator app shows now");
  }
  std::string next = call.Form("next");
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\'))) {
    next = "/";
  }
  Response r = Redirect(next);
  r.headers.emplace_back("Set-Cookie", SessionCookie(confirmed->id));
  return r;
}

Response Workspace::Impl::SecondFactor(const Call& call) {
  Data data;
  data.set("csrf", call.session->csrf);
  if (call.session->must_enrol) data.set("must_enrol", Bool(true));
  std::string secret = call.Form("secret");
  if (call.req.method == "POST") {
    Status enabled =
        accounts->EnableTotp(call.who.account, secret, call.Form("code"), call.req.remote);
    if (enabled.ok()) {
      return Redirect("/account" + QueryString({{"done", "Your second factor is on"}}));
    }
    data.set("error", "Enter the code the app shows now (" + enabled.message() + ")");
  } else {
    auto fresh = NewTotpSecret();
    if (!fresh.ok())
      return Message(call, 500, "Sorry, there is a problem", fresh.status().message());
    secret = *fresh;
  }
  data.set("secret", secret);
  data.set("uri", "otpauth://totp/rectrack:" + call.who.account + "?secret=" + secret +
                      "&issuer=rectrack&algorithm=SHA1&digits=6&period=30");
  const bool error = call.req.method == "POST";
  return Page(call, error ? 400 : 200, "second_factor", data, "Set up a second factor", "", error);
}

// --- Dashboard

Response Workspace::Impl::Dashboard(const Call& call) {
  Data data;
  int64_t generation = 0;
  host->Read([&](const Engine& engine) {
    generation = engine.last_seq();
    const Date today = engine.clock().Today();
    data.set("today", today.ToString());
    // The state a body's closure waits in for the inspectorate: the one `close` leads to.
    std::string awaiting_state;
    if (const Transition* close = workflow->FindTransition("close")) {
      for (const Case& c : close->cases) {
        if (c.to) awaiting_state = *c.to;
      }
    }
    Data bodies = List();
    for (const Body& b : engine.Bodies()) {
      if (!call.who.body.empty() && b.id != call.who.body) continue;
      ListQuery q;
      q.body = b.id;
      int open = 0, overdue = 0, due_soon = 0, awaiting = 0;
      for (const RecommendationView& v : engine.List(q)) {
        if (!MaySeeItem(engine, call.who, v)) continue;
        if (v.open) ++open;
        if (v.overdue) ++overdue;
        const std::string next = NextDue(v);
        if (v.open && !next.empty() && next <= today.AddDays(30).ToString() &&
            next >= today.ToString()) {
          ++due_soon;
        }
        if (v.state == awaiting_state) ++awaiting;
      }
      Data d;
      d.set("id", b.id);
      d.set("name", b.name);
      d.set("short", b.short_name.empty() ? b.id : b.short_name);
      d.set("open", std::to_string(open));
      d.set("overdue", std::to_string(overdue));
      d.set("due_soon", std::to_string(due_soon));
      d.set("due_before", today.AddDays(31).ToString());
      d.set("awaiting", std::to_string(awaiting));
      d.set("awaiting_state", awaiting_state);
      if (action_workflow) {
        ActionQuery aq;
        aq.body = b.id;
        aq.open = true;
        aq.detail = Detail::kHead;
        std::map<std::string, std::pair<int, int>> by_unit;  // unit -> (open, overdue)
        for (const RecommendationView& a : VisibleActions(engine, call.who, aq)) {
          auto& counts = by_unit[a.action ? a.action->unit : ""];
          ++counts.first;
          if (a.overdue) ++counts.second;
        }
        Data units = List();
        for (const auto& [unit, counts] : by_unit) {
          Data u;
          auto found = engine.FindUnit(unit);
          u.set("name", unit.empty() ? b.name + " as a whole" : found ? found->name : unit);
          u.set("unit", unit);
          u.set("body", b.id);
          u.set("open", std::to_string(counts.first));
          u.set("overdue", std::to_string(counts.second));
          units.push_back(u);
        }
        if (!by_unit.empty()) d.set("has_units", Bool(true));
        d.set("units", units);
      }
      bodies.push_back(d);
    }
    data.set("bodies", bodies);
  });
  return Page(call, 200, "dashboard", data, "Dashboard", "dashboard", false, generation);
}

// --- The recommendations list

Response Workspace::Impl::Recommendations(const Call& call) {
  Data data;
  const std::string body_asked = call.Query("body");
  const std::string inspection = call.Query("inspection");
  const std::string state = call.Query("state");
  const std::string status = call.Query("status");
  const bool overdue = call.Query("overdue") == "true";
  const std::string q = call.Query("q");
  const std::string due_before = call.Query("due_before");
  const std::string as_at = call.Query("as_at");
  const std::string sort = call.Query("sort").empty() ? "issued" : call.Query("sort");
  const bool csv = call.Query("format") == "csv";
  std::string error, error_field;
  std::optional<Date> as_of, due_limit;
  if (!as_at.empty() && !(as_of = Date::Parse(as_at))) {
    error = "As at must be a date like 2025-03-31", error_field = "as_at";
  }
  if (!due_before.empty() && !(due_limit = Date::Parse(due_before))) {
    error = "Due before must be a date like 2025-03-31", error_field = "due_before";
  }
  auto body = ScopeBody(call.who, body_asked);
  if (!body.ok()) return NotFound(call);
  size_t page = 1;
  if (const std::string p = call.Query("page"); !p.empty()) {
    if (p.size() > 6 || p.find_first_not_of("0123456789") != std::string::npos || p == "0") {
      return NotFound(call);
    }
    page = std::stoul(p);
  }
  std::vector<RecommendationView> views;
  int64_t generation = 0;
  std::string today;
  host->Read([&](const Engine& engine) {
    generation = engine.last_seq();
    today = engine.clock().Today().ToString();
    ListQuery query;
    query.as_of = as_of;
    query.body = *body;
    if (workflow->FindState(state)) query.state = state;
    if (status == "open") query.open = true;
    if (status == "closed") query.open = false;
    query.overdue_only = overdue;
    views = engine.List(query);
    std::erase_if(views, [&](const RecommendationView& v) {
      if (!MaySeeItem(engine, call.who, v)) return true;
      if (!inspection.empty() && v.def.inspection != inspection) return true;
      if (!q.empty() && !http::ContainsFolded(v.def.text, q) && !http::ContainsFolded(v.id, q)) {
        return true;
      }
      if (due_limit) {
        const std::string next = NextDue(v);
        if (next.empty() || next >= due_limit->ToString()) return true;
      }
      return false;
    });
    data.set("bodies", BodyChoices(engine, call.who, *body));
    Data inspections = List();
    for (const Inspection& i : engine.Inspections()) {
      Data d;
      d.set("id", i.id);
      d.set("name", i.short_title.empty() ? i.title : i.short_title);
      if (i.id == inspection) d.set("selected", Bool(true));
      inspections.push_back(d);
    }
    data.set("inspections", inspections);
  });
  auto key = [&](const RecommendationView& v) -> std::string {
    if (sort == "id") return v.id;
    if (sort == "state") return v.state + "|" + v.id;
    if (sort == "due") {
      const std::string next = NextDue(v);
      return (next.empty() ? "9999" : next) + "|" + v.id;
    }
    return v.issued.ToString() + "|" + v.id;
  };
  std::stable_sort(views.begin(), views.end(),
                   [&](const auto& a, const auto& b) { return key(a) < key(b); });
  if (csv) {
    std::string out = "id,inspection,owners,state,open,overdue,next_due,issued,text\r\n";
    for (const RecommendationView& v : views) {
      out += CsvField(v.id) + "," + CsvField(v.def.inspection) + "," +
             CsvField(OwnersText(v.def.owners)) + "," + CsvField(v.state) + "," +
             (v.open ? "true" : "false") + "," + (v.overdue ? "true" : "false") + "," +
             CsvField(NextDue(v)) + "," + CsvField(v.issued.ToString()) + "," +
             CsvField(v.def.text) + "\r\n";
    }
    Response r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = std::move(out);
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"recommendations-" +
                                                      (as_at.empty() ? today : as_at) + ".csv\"");
    SecurityHeaders(&r);
    return r;
  }
  Params filters{{"body", body_asked},
                 {"inspection", inspection},
                 {"state", state},
                 {"status", status},
                 {"overdue", overdue ? "true" : ""},
                 {"q", q},
                 {"due_before", due_before},
                 {"as_at", as_at},
                 {"sort", sort == "issued" ? "" : sort}};
  Data states = List();
  for (const StateSpec& s : workflow->states()) {
    Data d;
    d.set("name", s.name);
    if (s.name == state) d.set("selected", Bool(true));
    states.push_back(d);
  }
  data.set("states", states);
  Data statuses = List();
  for (auto [value, label] : std::vector<std::pair<std::string, std::string>>{
           {"", "Open and closed"}, {"open", "Open"}, {"closed", "Closed"}}) {
    Data d;
    d.set("value", value);
    d.set("label", label);
    if (value == status) d.set("selected", Bool(true));
    statuses.push_back(d);
  }
  data.set("statuses", statuses);
  data.set("q", q);
  data.set("due_before", due_before);
  data.set("as_at", as_at);
  data.set("sort", sort == "issued" ? "" : sort);
  if (overdue) data.set("overdue", Bool(true));
  if (!error.empty()) {
    data.set("error", error);
    data.set("error_field", error_field);
    data.set(error_field + "_error", Bool(true));
  }
  data.set("count", std::to_string(views.size()));
  data.set("count_noun", views.size() == 1 ? "recommendation" : "recommendations");
  data.set("as_at_shown", as_at.empty() ? today : as_at);
  Params csv_params = filters;
  csv_params["format"] = "csv";
  data.set("csv_href", "/recommendations" + QueryString(csv_params));
  Data columns = List();
  for (auto [column, label] :
       std::vector<std::pair<std::string, std::string>>{{"id", "Recommendation"},
                                                        {"", "Text"},
                                                        {"", "Owners"},
                                                        {"state", "State"},
                                                        {"due", "Next due"},
                                                        {"issued", "Issued"}}) {
    Data d;
    d.set("label", label);
    if (!column.empty()) {
      Params sorted = filters;
      sorted["sort"] = column == "issued" ? "" : column;
      d.set("href", "/recommendations" + QueryString(sorted));
      d.set("aria_sort", column == sort ? "ascending" : "none");
    }
    columns.push_back(d);
  }
  data.set("columns", columns);
  const size_t per_page = options.page_size;
  const size_t pages = std::max<size_t>(1, (views.size() + per_page - 1) / per_page);
  if (page > pages) return NotFound(call);
  Data rows = List();
  const std::string as_at_query = as_at.empty() ? "" : "?as_at=" + as_at;
  host->ReadAsIs([&](const Engine& engine) {
    for (size_t i = (page - 1) * per_page; i < std::min(views.size(), page * per_page); ++i) {
      Data row = ItemRow(engine, views[i]);
      row.set("as_at_query", as_at_query);
      rows.push_back(row);
    }
  });
  data.set("rows", rows);
  if (!views.empty()) data.set("has_rows", Bool(true));
  if (pages > 1) {
    Data pagination;
    auto href = [&](size_t n) {
      Params p = filters;
      p["page"] = n == 1 ? "" : std::to_string(n);
      return "/recommendations" + QueryString(p);
    };
    if (page > 1) pagination.set("previous", href(page - 1));
    if (page < pages) pagination.set("next", href(page + 1));
    Data numbers = List();
    for (size_t n = 1; n <= pages; ++n) {
      if (n != 1 && n != pages && (n + 2 < page || n > page + 2)) continue;
      Data d;
      d.set("number", std::to_string(n));
      d.set("href", href(n));
      if (n == page) d.set("current", Bool(true));
      numbers.push_back(d);
    }
    pagination.set("pages", numbers);
    data.set("pagination", pagination);
  }
  return Page(call, error.empty() ? 200 : 400, "recommendations", data, "Recommendations",
              "recommendations", !error.empty(), generation);
}

// --- A recommendation's or an action's page, and its forms

Response Workspace::Impl::Item(const Call& call, const std::string& id, SubjectKind kind,
                               const std::vector<FieldError>& errors, const std::string& failed,
                               const Params& posted, int status) {
  const bool action = kind == SubjectKind::kAction;
  const std::string as_at = call.Query("as_at");
  std::optional<Date> as_of;
  const bool bad_date = !as_at.empty() && !(as_of = Date::Parse(as_at));
  Data data;
  bool found = false;
  int64_t generation = 0;
  host->Read([&](const Engine& engine) {
    generation = engine.last_seq();
    auto view = ShowVisible(engine, call.who, id, kind, as_of);
    if (!view.ok()) return;
    found = true;
    const RecommendationView& v = *view;
    const Workflow* wf = action ? action_workflow : workflow;
    const std::string self = std::string(action ? "/actions/" : "/recommendations/") + v.id;
    data.set("self", self);
    data.set("kind_label", action ? "Action" : "Recommendation");
    data.set("id", v.id);
    data.set("text", v.def.text);
    data.set("as_at", as_at);
    data.set("as_at_shown", v.as_of.ToString());
    if (bad_date) data.set("as_at_error", Bool(true));
    data.set("state", v.state);
    data.set("state_class", StateClass(wf, v.state));
    if (v.overdue) data.set("overdue", Bool(true));
    data.set("owner_label", action ? "Owning body" : "Owners");
    data.set("owners", OwnersText(v.def.owners));
    data.set("issued", v.issued.ToString());
    std::string inspection_title;
    std::string follow_up_of;
    for (const Inspection& i : engine.Inspections()) {
      if (i.id == v.def.inspection) inspection_title = i.title, follow_up_of = i.follow_up_of;
    }
    if (action) {
      data.set("caption", "Action under recommendation " + v.action->recommendation);
      data.set("recommendation", v.action->recommendation);
      if (!v.action->unit.empty()) {
        auto unit = engine.FindUnit(v.action->unit);
        data.set("unit", unit ? unit->name : v.action->unit);
      }
    } else {
      data.set("caption", inspection_title);
      data.set("inspection", v.def.inspection);
      data.set("inspection_title", inspection_title);
      SetIf(data, "follow_up_of", follow_up_of);
    }
    auto links = [&](const char* name, const std::vector<std::string>& ids) {
      Data list = List();
      for (const std::string& other : ids) list.push_back(Data(other));
      data.set(name, list);
      if (!ids.empty()) data.set(std::string("has_") + name, Bool(true));
    };
    links("supersedes", v.supersedes);
    links("superseded_by", v.superseded_by);
    Data milestones = List();
    for (const MilestoneView& m : v.milestones) {
      Data d;
      d.set("label", m.label);
      d.set("due", m.due.ToString());
      d.set("original_due", m.original_due.ToString());
      if (m.met) {
        d.set("met", Bool(true));
        d.set("met_on", m.met_on ? m.met_on->ToString() : "");
      } else if (m.overdue) {
        d.set("overdue", Bool(true));
      } else {
        d.set("pending", Bool(true));
      }
      milestones.push_back(d);
    }
    data.set("milestones", milestones);
    if (!v.milestones.empty()) data.set("has_milestones", Bool(true));
    if (!action) {
      const auto actions = VisibleActions(engine, call.who, v.id, v.as_of);
      Data rows = List();
      int closed = 0;
      for (const RecommendationView& a : actions) {
        Data row = ItemRow(engine, a);
        if (auto unit = engine.FindUnit(a.action->unit)) row.set("unit", unit->name);
        if (!a.open) ++closed;
        rows.push_back(row);
      }
      data.set("actions", rows);
      data.set("actions_count", std::to_string(actions.size()));
      data.set("actions_closed", std::to_string(closed));
      if (!actions.empty()) data.set("has_actions", Bool(true));
    }
    Data timeline = List();
    for (auto it = v.timeline.rbegin(); it != v.timeline.rend(); ++it) {
      const TimelineEntry& e = *it;
      Data d;
      d.set("transition", e.transition);
      d.set("effective", e.effective.ToString());
      d.set("recorded", e.recorded);
      d.set("actor", e.actor);
      d.set("role", e.role);
      SetIf(d, "body", e.body);
      SetIf(d, "unit", e.unit);
      d.set("voice", e.voice);
      SetIf(d, "note", e.note);
      if (e.from_state != e.to_state) {
        d.set("from", e.from_state.empty() ? "new" : e.from_state);
        d.set("to", e.to_state);
      }
      Data fields = List();
      for (const auto& [name, values] : e.fields) {
        Data f;
        f.set("name", name);
        f.set("value", Join(values, ", "));
        fields.push_back(f);
      }
      if (!e.fields.empty()) d.set("has_fields", Bool(true));
      d.set("fields", fields);
      timeline.push_back(d);
    }
    data.set("timeline", timeline);
    // Forms only on today's view: what may be recorded depends on the state now.
    if (!call.signed_in || as_of || !wf) return;
    auto today = ShowVisible(engine, call.who, id, kind, std::nullopt, Detail::kHead);
    const std::vector<Form> forms = BuildForms(*wf, OfferedTransitions(*wf, call.who, *today),
                                               *today, engine.Inspections(), engine.Bodies());
    Data form_list = List();
    for (const Form& form : forms) {
      Data f;
      f.set("name", form.transition);
      f.set("label", form.label);
      f.set("button", form.button);
      f.set("self", self + "?version=" + std::to_string(today->version));
      f.set("csrf", call.session->csrf);
      if (form.transition == failed) f.set("open", Bool(true));
      Data fields = List();
      for (const FormField& field : form.fields) {
        Data d;
        const std::string element_id = form.transition + "-" + field.name;
        d.set("id", element_id);
        d.set("name", field.name);
        d.set("label", field.label);
        SetIf(d, "hint", field.hint);
        if (field.required) d.set("required", Bool(true));
        const std::string value =
            form.transition == failed && posted.count(field.name) ? posted.at(field.name) : "";
        d.set("value", value);
        if (field.kind == FormField::Kind::kTextArea) d.set("textarea", Bool(true));
        if (field.kind == FormField::Kind::kDate) d.set("narrow", Bool(true));
        if (field.kind == FormField::Kind::kChoice) {
          Data radios = List();
          for (const auto& [option, label] : field.options) {
            Data o;
            o.set("id", element_id + "-" + option);
            o.set("name", field.name);
            o.set("value", option);
            o.set("label", label);
            if (option == value) o.set("checked", Bool(true));
            radios.push_back(o);
          }
          Data group;
          group.set("options", radios);
          d.set("radios", group);
        }
        for (const FieldError& e : errors) {
          if (form.transition == failed && e.field == field.name) d.set("error", e.message);
        }
        fields.push_back(d);
      }
      f.set("fields", fields);
      form_list.push_back(f);
    }
    data.set("forms", form_list);
    if (!forms.empty()) data.set("has_forms", Bool(true));
  });
  if (!found) return NotFound(call);
  Data error_list = List();
  for (const FieldError& e : errors) {
    Data d;
    // The link goes to the field's input (a choice's first option), else to the form's note.
    std::string target = failed + "-" + e.field;
    if (e.field == "do" || e.field.empty()) target = failed + "-note";
    d.set("field", target);
    d.set("message", e.message);
    error_list.push_back(d);
  }
  data.set("errors", error_list);
  if (!errors.empty()) data.set("has_errors", Bool(true));
  if (const std::string recorded = call.Query("recorded"); !recorded.empty()) {
    data.set("recorded", recorded);
  }
  const std::string title = std::string(action ? "Action " : "Recommendation ") + id;
  return Page(call, status, "item", data, title, action ? "actions" : "recommendations",
              !errors.empty(), generation);
}

Response Workspace::Impl::Record(const Call& call, const std::string& id, SubjectKind kind) {
  const bool action = kind == SubjectKind::kAction;
  const Workflow* wf = action ? action_workflow : workflow;
  if (!wf) return NotFound(call);
  RecordEvent event;
  event.subject_id = id;
  event.kind = kind;
  const std::string failed = call.Form("do");
  std::vector<FieldError> errors = ParseEventForm(*wf, call.form, &event);
  if (const std::string version = call.Query("version"); !version.empty()) {
    if (version.size() < 19 && version.find_first_not_of("0123456789") == std::string::npos) {
      event.expected_version = std::stoll(version);
    }
  }
  // The same check the API makes: what may be seen may be written to, and nothing else.
  bool visible = false;
  host->Read([&](const Engine& engine) {
    visible = ShowVisible(engine, call.who, id, kind, std::nullopt, Detail::kHead).ok();
  });
  if (!visible) return NotFound(call);
  if (!errors.empty()) return Item(call, id, kind, errors, failed, call.form, 400);
  ActAs(call.who, wf, &event);
  auto written = host->Apply(WriteBatch{{std::move(event)}, ActorOf(call.who)});
  if (!written.ok()) {
    std::string message = written.status().message();
    if (written.status().code() == Code::kFailedPrecondition) {
      message = "It changed since you opened this page: check its history, then try again. (" +
                message + ")";
    }
    const int status = http::FromStatus(written.status()).status;
    return Item(call, id, kind, {{"do", message}}, failed, call.form, status);
  }
  return Redirect(std::string(action ? "/actions/" : "/recommendations/") + id +
                  "?recorded=" + failed);
}

// --- Actions, inspections, Annex A, alerts

Response Workspace::Impl::Actions(const Call& call) {
  if (!action_workflow) return NotFound(call);
  const std::string unit = call.Query("unit");
  const std::string status = call.Query("status");
  const bool overdue = call.Query("overdue") == "true";
  auto body = ScopeBody(call.who, call.Query("body"));
  if (!body.ok()) return NotFound(call);
  Data data;
  int64_t generation = 0;
  host->Read([&](const Engine& engine) {
    generation = engine.last_seq();
    ActionQuery q;
    q.body = *body;
    q.unit = unit;
    if (status == "open") q.open = true;
    if (status == "closed") q.open = false;
    q.overdue_only = overdue;
    q.detail = Detail::kHead;
    std::vector<RecommendationView> actions = VisibleActions(engine, call.who, q);
    // A lead's own work first: the soonest due at the top, undated last.
    std::stable_sort(actions.begin(), actions.end(), [](const auto& a, const auto& b) {
      const std::string x = NextDue(a), y = NextDue(b);
      return (x.empty() ? "9999" : x) < (y.empty() ? "9999" : y);
    });
    Data rows = List();
    for (const RecommendationView& a : actions) {
      Data row = ItemRow(engine, a);
      if (auto u = engine.FindUnit(a.action->unit)) row.set("unit", u->name);
      rows.push_back(row);
    }
    data.set("rows", rows);
    data.set("count", std::to_string(actions.size()));
    if (!actions.empty()) data.set("has_rows", Bool(true));
    Data units = List();
    for (const Unit& u : engine.Units(*body)) {
      if (!call.who.unit.empty() && u.id != call.who.unit) continue;
      Data d;
      d.set("id", u.id);
      d.set("name", u.name);
      if (u.id == unit) d.set("selected", Bool(true));
      units.push_back(d);
    }
    data.set("units", units);
  });
  Data statuses = List();
  for (auto [value, label] : std::vector<std::pair<std::string, std::string>>{
           {"", "Open and closed"}, {"open", "Open"}, {"closed", "Closed"}}) {
    Data d;
    d.set("value", value);
    d.set("label", label);
    if (value == status) d.set("selected", Bool(true));
    statuses.push_back(d);
  }
  data.set("statuses", statuses);
  if (overdue) data.set("overdue", Bool(true));
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
      d.set("published", i.published.ToString());
      d.set("kind", i.kind);
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
  host->Read([&](const Engine& engine) {
    Data follow_ups = List();
    bool has_follow_ups = false;
    for (const Inspection& i : engine.Inspections()) {
      if (i.id == id) {
        found = true;
        title = i.title;
        data.set("id", i.id);
        data.set("title", i.title);
        data.set("published", i.published.ToString());
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
    if (has_follow_ups) data.set("has_follow_ups", Bool(true));
    Data rows = List();
    int count = 0;
    for (const RecommendationView& v : engine.List({})) {
      if (v.def.inspection != id || !MaySeeItem(engine, call.who, v)) continue;
      rows.push_back(ItemRow(engine, v));
      ++count;
    }
    data.set("rows", rows);
    data.set("count", std::to_string(count));
  });
  if (!found) return NotFound(call);
  return Page(call, 200, "inspection", data, title, "inspections");
}

Response Workspace::Impl::Annex(const Call& call) {
  auto body = ScopeBody(call.who, call.Query("body"));
  if (!body.ok()) return NotFound(call);
  const std::string as_at = call.Query("as_at");
  std::optional<Date> as_of;
  Data data;
  std::optional<Response> download;
  data.set("as_at", as_at);
  if (!as_at.empty() && !(as_of = Date::Parse(as_at))) {
    data.set("as_at_error", "As at must be a date like 2025-03-31");
  }
  host->Read([&](const Engine& engine) {
    std::string chosen = *body;
    if (chosen.empty() && !engine.Bodies().empty()) chosen = engine.Bodies().front().id;
    data.set("bodies", BodyChoices(engine, call.who, chosen));
    if (chosen.empty() || (!as_at.empty() && !as_of)) return;
    auto report = engine.Annex(chosen, as_of);
    if (!report.ok()) return;
    const std::string file = "annex-a-" + report->body + "-" + report->as_of.ToString();
    const std::string format = call.Query("format");
    if (format == "csv") {
      download = Download("text/csv; charset=utf-8", AnnexAsCsv(*report), file + ".csv");
    } else if (format == "md") {
      download = Download("text/markdown; charset=utf-8", AnnexAsMarkdown(*report), file + ".md");
    } else if (format == "html") {
      download = Download("text/html; charset=utf-8", AnnexAsHtml(*report), file + ".html");
    }
    data.set("body_name", report->body_name);
    Data r;
    r.set("as_of", report->as_of.ToString());
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
    for (const char* format : {"csv", "md", "html"}) {
      r.set(std::string(format) + "_href",
            "/reports/annex" + QueryString({{"body", report->body},
                                            {"as_at", report->as_of.ToString()},
                                            {"format", format}}));
    }
    data.set("report", r);
  });
  if (download) return std::move(*download);
  return Page(call, as_of || as_at.empty() ? 200 : 400, "annex", data, "Annex A", "annex",
              !as_at.empty() && !as_of);
}

Response Workspace::Impl::Progress(const Call& call) {
  auto body = ScopeBody(call.who, call.Query("body"));
  if (!body.ok()) return NotFound(call);
  const std::string as_at = call.Query("as_at");
  std::optional<Date> as_of;
  Data data;
  std::optional<Response> download;
  data.set("as_at", as_at);
  const bool bad_date = !as_at.empty() && !(as_of = Date::Parse(as_at));
  if (bad_date) data.set("as_at_error", "As at must be a date like 2025-03-31");
  auto counts = [](Data& d, const UnitProgress& u) {
    d.set("closed", std::to_string(u.closed));
    d.set("open", std::to_string(u.open));
    d.set("overdue", std::to_string(u.overdue));
  };
  host->Read([&](const Engine& engine) {
    std::string chosen = *body;
    if (chosen.empty() && !engine.Bodies().empty()) chosen = engine.Bodies().front().id;
    data.set("bodies", BodyChoices(engine, call.who, chosen));
    if (chosen.empty() || bad_date || !action_workflow) return;
    auto report = engine.Progress(chosen, as_of);
    if (!report.ok()) return;
    const std::string file = "progress-" + report->body + "-" + report->as_of.ToString();
    if (call.Query("format") == "csv") {
      download = Download("text/csv; charset=utf-8", ProgressAsCsv(*report), file + ".csv");
    } else if (call.Query("format") == "md") {
      download =
          Download("text/markdown; charset=utf-8", ProgressAsMarkdown(*report), file + ".md");
    }
    data.set("body_name", report->body_name);
    Data r;
    r.set("as_of", report->as_of.ToString());
    Data units = List();
    for (const UnitProgress& u : report->units) {
      if (!call.who.unit.empty() && u.unit != call.who.unit) continue;
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
      d.set("state", p.state);
      counts(d, p.all);
      recommendations.push_back(d);
    }
    r.set("recommendations", recommendations);
    for (const char* format : {"csv", "md"}) {
      r.set(std::string(format) + "_href",
            "/reports/progress" + QueryString({{"body", report->body},
                                               {"as_at", report->as_of.ToString()},
                                               {"format", format}}));
    }
    data.set("report", r);
  });
  if (download) return std::move(*download);
  return Page(call, bad_date ? 400 : 200, "progress", data, "Progress on actions", "annex",
              bad_date);
}

Response Workspace::Impl::Alerts(const Call& call) {
  Data data;
  host->Read([&](const Engine& engine) {
    storage::AlertFilter filter;
    filter.body = call.who.body;
    filter.limit = 200;
    filter.newest_first = true;
    auto alerts = engine.ListAlerts(filter);
    Data rows = List();
    int count = 0;
    if (alerts.ok()) {
      for (const storage::AlertRecord& a : *alerts) {
        if (!engine.MaySee(call.who, a.owners)) continue;
        Data d;
        d.set("raised", a.raised);
        d.set("kind", a.kind);
        if (a.late) d.set("late", Bool(true));
        const bool action = engine.KindOf(a.recommendation) == SubjectKind::kAction;
        d.set("href", std::string(action ? "/actions/" : "/recommendations/") + a.recommendation);
        d.set("subject", a.recommendation + (a.milestone.empty() ? "" : " (" + a.milestone + ")"));
        d.set("due", a.due);
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
  return Page(call, 200, "alerts", data, "Alerts", "alerts");
}

// --- Account and administration

Response Workspace::Impl::Account(const Call& call) {
  Data data;
  data.set("email", call.who.account);
  data.set("scope", ScopeLabel(call.who));
  data.set("csrf", call.session->csrf);
  if (call.session->has_second_factor) data.set("has_second_factor", Bool(true));
  SetIf(data, "done", call.Query("done"));
  bool admin = false;
  host->ReadAsIs([&](const Engine& engine) { admin = engine.MayDefine(call.who); });
  if (admin) data.set("admin", Bool(true));
  return Page(call, 200, "account", data, "Your account", "");
}

Response Workspace::Impl::AdminAccounts(const Call& call, std::vector<FieldError> errors,
                                        const std::string& added, int status) {
  Data data;
  auto accounts_list = accounts->List();
  Data rows = List();
  if (accounts_list.ok()) {
    for (const storage::AccountRecord& a : *accounts_list) {
      Data d;
      d.set("email", a.email);
      d.set("role", a.role);
      SetIf(d, "body", a.body);
      SetIf(d, "unit", a.unit);
      d.set("created", a.created);
      if (!a.disabled.empty()) d.set("disabled", Bool(true));
      rows.push_back(d);
    }
  }
  data.set("rows", rows);
  data.set("csrf", call.session->csrf);
  const bool failed = !errors.empty();
  data.set("email", failed ? call.Form("email") : "");
  Data roles = List();
  for (const RoleSpec& r : workflow->roles()) {
    Data d;
    d.set("name", r.name);
    if (failed && r.name == call.Form("role")) d.set("selected", Bool(true));
    roles.push_back(d);
  }
  data.set("roles", roles);
  host->ReadAsIs([&](const Engine& engine) {
    data.set("bodies", BodyChoices(engine, call.who, failed ? call.Form("body") : ""));
    Data units = List();
    for (const Unit& u : engine.Units("")) {
      Data d;
      d.set("id", u.id);
      d.set("name", u.name + " (" + u.body + ")");
      if (failed && u.id == call.Form("unit")) d.set("selected", Bool(true));
      units.push_back(d);
    }
    data.set("units", units);
  });
  Data error_list = List();
  for (const FieldError& e : errors) {
    Data d;
    d.set("field", e.field);
    d.set("message", e.message);
    error_list.push_back(d);
    data.set(e.field + "_error", e.message);
  }
  data.set("errors", error_list);
  if (failed) data.set("has_errors", Bool(true));
  if (!added.empty()) data.set("added", added);
  return Page(call, status, "admin_accounts", data, "Accounts", "", failed);
}

Response Workspace::Impl::AddAccount(const Call& call) {
  storage::AccountRecord record;
  record.email = call.Form("email");
  record.role = call.Form("role");
  record.body = call.Form("body");
  record.unit = call.Form("unit");
  Status scope;
  host->ReadAsIs([&](const Engine& engine) {
    scope = engine.CheckScope("account", record.role, record.body, record.unit);
  });
  if (!scope.ok()) return AdminAccounts(call, {{"email", scope.message()}}, "", 400);
  Status added = accounts->Add(record, call.Form("password"), call.who.account, call.req.remote);
  if (!added.ok()) {
    const bool password = added.message().find("password") != std::string::npos;
    return AdminAccounts(call, {{password ? "password" : "email", added.message()}}, "",
                         http::FromStatus(added).status);
  }
  return Redirect("/admin/accounts?added=" + record.email);
}

Response Workspace::Impl::Audit(const Call& call) {
  Data data;
  Data rows = List();
  if (auto entries = accounts->AuditList(500); entries.ok()) {
    for (const storage::AuditRecord& a : *entries) {
      Data d;
      d.set("at", a.at);
      SetIf(d, "account", a.account);
      d.set("what", a.what);
      SetIf(d, "address", a.address);
      SetIf(d, "detail", a.detail);
      rows.push_back(d);
    }
  }
  data.set("rows", rows);
  return Page(call, 200, "audit", data, "Audit list", "");
}

Response Workspace::Impl::Admin(const Call& call, std::vector<FieldError> errors,
                                const std::string& done, const std::string& secret, int status) {
  Data data;
  data.set("csrf", call.session->csrf);
  SetIf(data, "done", done.empty() ? call.Query("done") : done);
  SetIf(data, "secret", secret);
  if (!errors.empty()) SetIf(data, "import_text", call.Form("text"));
  Data error_list = List();
  for (const FieldError& e : errors) {
    Data d;
    d.set("field", e.field);
    d.set("message", e.message);
    error_list.push_back(d);
  }
  data.set("errors", error_list);
  if (!errors.empty()) data.set("has_errors", Bool(true));
  Data roles = List();
  for (const RoleSpec& r : workflow->roles()) {
    Data d;
    d.set("name", r.name);
    roles.push_back(d);
  }
  data.set("roles", roles);
  Data tokens = List();
  host->Update([&](Engine& engine) {
    data.set("bodies", BodyChoices(engine, call.who, ""));
    Data inspections = List();
    for (const Inspection& i : engine.Inspections()) {
      Data d;
      d.set("id", i.id);
      d.set("name", i.id + ": " + (i.short_title.empty() ? i.title : i.short_title));
      inspections.push_back(d);
    }
    data.set("inspections", inspections);
    auto list = engine.Tokens();
    if (!list.ok()) return;
    for (const storage::TokenRecord& t : *list) {
      Data d;
      d.set("id", t.id);
      d.set("role", t.role);
      SetIf(d, "body", t.body);
      SetIf(d, "unit", t.unit);
      SetIf(d, "label", t.label);
      SetIf(d, "expires", t.expires);
      SetIf(d, "revoked", t.revoked);
      d.set("csrf", call.session->csrf);
      tokens.push_back(d);
    }
  });
  data.set("tokens", tokens);
  return Page(call, status, "admin", data, "Administration", "", !errors.empty());
}

Response Workspace::Impl::Import(const Call& call) {
  std::string text = call.Form("file");
  std::string source = "the uploaded file";
  if (text.empty()) {
    text = call.Form("text");
    source = "the pasted text";
  }
  if (text.empty())
    return Admin(call, {{"import-file", "Choose a file to import, or paste its text"}}, "", "",
                 400);
  auto commands = ParseImport(text, source, *workflow, action_workflow);
  if (!commands.ok()) {
    return Admin(call, {{"import-file", commands.status().message()}}, "", "", 400);
  }
  auto written = host->Apply(WriteBatch{std::move(*commands), ActorOf(call.who)});
  if (!written.ok()) {
    return Admin(call, {{"import-file", written.status().message()}}, "", "",
                 http::FromStatus(written.status()).status);
  }
  return Redirect(
      "/admin" +
      QueryString({{"done", "Imported: " + std::to_string(written->appended) + " events written, " +
                                std::to_string(written->unchanged) + " already recorded"}}));
}

Response Workspace::Impl::Define(const Call& call) {
  const std::string what = call.Form("what");
  const std::string id = call.Form("id");
  Command command;
  std::string field = what + "-id";
  if (what == "inspection") {
    auto published = Date::Parse(call.Form("published"));
    if (!published) {
      return Admin(call, {{"inspection-published", "Published must be a date like 2025-03-06"}}, "",
                   "", 400);
    }
    command = DefineInspection{Inspection{id, call.Form("title"), call.Form("short_title"),
                                          *published, call.Form("kind"), call.Form("follow_up_of")},
                               ""};
  } else if (what == "recommendation") {
    DefineRecommendation c;
    c.id = id;
    c.def.inspection = call.Form("inspection");
    c.def.text = call.Form("text");
    c.def.owners = SplitList(call.Form("owners"));
    if (c.def.owners.empty()) {
      return Admin(call, {{"recommendation-owners", "Name at least one owning body"}}, "", "", 400);
    }
    command = std::move(c);
  } else if (what == "body") {
    command = DefineBody{Body{id, call.Form("name"), ""}, ""};
  } else if (what == "unit") {
    command = DefineUnit{Unit{id, call.Form("body"), call.Form("name"), call.Form("kind")}, ""};
  } else {
    return NotFound(call);
  }
  if (id.empty()) return Admin(call, {{field, "Give it an id"}}, "", "", 400);
  auto written = host->Apply(WriteBatch{{std::move(command)}, ActorOf(call.who)});
  if (!written.ok()) {
    return Admin(call, {{field, written.status().message()}}, "", "",
                 http::FromStatus(written.status()).status);
  }
  if (what == "recommendation") return Redirect("/recommendations/" + id + "?recorded=issue");
  if (what == "inspection") return Redirect("/inspections/" + id);
  return Redirect("/admin" + QueryString({{"done", "Defined " + what + " " + id}}));
}

Response Workspace::Impl::CreateToken(const Call& call) {
  Result<std::pair<storage::TokenRecord, std::string>> made = Status::IOError("not run");
  host->Update([&](Engine& engine) {
    made = engine.CreateToken(
        call.Form("role"), call.Form("body"), std::nullopt,
        call.Form("label").empty() ? "by " + call.who.account : call.Form("label"));
  });
  if (!made.ok()) return Admin(call, {{"token-role", made.status().message()}}, "", "", 400);
  (void)accounts;  // the audit list is for accounts; a token's creation is in its own record
  // Shown once, on this answer only (no redirect: the secret must not sit in a URL).
  return Admin(call, {}, "Token " + made->first.id + " created for " + made->first.role,
               made->second, 201);
}

Response Workspace::Impl::RevokeToken(const Call& call) {
  Status revoked;
  host->Update([&](Engine& engine) { revoked = engine.RevokeToken(call.Form("id")); });
  if (!revoked.ok()) return Admin(call, {{"tokens", revoked.message()}}, "", "", 404);
  return Redirect("/admin" + QueryString({{"done", "Token " + call.Form("id") + " revoked"}}));
}

Response Workspace::Impl::Asset(const std::string& path) const {
  const std::string name = path.substr(1);  // "assets/rectrack.css"
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (name != file.name) continue;
    Response r;
    const bool css = name.size() > 4 && name.substr(name.size() - 4) == ".css";
    r.content_type = css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
    r.body.assign(reinterpret_cast<const char*>(file.data), file.size);
    r.headers.emplace_back("Cache-Control", "public, max-age=3600");
    SecurityHeaders(&r);
    return r;
  }
  Response r = Html(404, "not found");
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

// --- Routing

Response Workspace::Impl::Route(Call& call) {
  const std::string& method = call.req.method == "HEAD" ? std::string("GET") : call.req.method;
  const std::string& path = call.target.path;
  if (path.rfind("/assets/", 0) == 0 && method == "GET") return Asset(path);
  if (path == "/live" && method == "GET") {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    host->Read([&](const Engine& engine) { r.body = std::to_string(engine.last_seq()); });
    r.headers.emplace_back("Cache-Control", "no-store");
    SecurityHeaders(&r);
    return r;
  }
  if (path == "/sign-in/code") return SignInCode(call);
  if (call.session && call.session->needs_code && path != "/sign-out") {
    return Redirect("/sign-in/code");
  }
  if (path == "/sign-in") {
    if (method == "GET") return call.signed_in ? Redirect("/") : SignInPage(call, 200, "", "");
    if (method == "POST") return SignIn(call);
    return Message(call, 405, "Not allowed", "Use the sign-in form.");
  }
  // Every other POST comes from a signed-in person's form and carries its CSRF token.
  if (method == "POST") {
    if (!call.signed_in) return Redirect("/sign-in");
    if (!SameSecret(call.Form("csrf"), call.session->csrf)) {
      return Message(call, 403, "The form has expired",
                     "This form was not sent from a page of this session (its security token "
                     "is missing or wrong). Nothing was recorded. Go back, reload the page and "
                     "try again.");
    }
  } else if (method != "GET") {
    return Message(call, 405, "Not allowed", "Use the pages' links and forms.");
  }
  // A role that must use a second factor may do nothing else until it is set up.
  if (call.signed_in && call.session->must_enrol && path != "/account/second-factor" &&
      path != "/sign-out") {
    return Redirect("/account/second-factor");
  }
  const bool may_read = call.signed_in || options.public_read;
  const bool public_page = path == "/recommendations" || path == "/inspections" ||
                           path.rfind("/recommendations/", 0) == 0 ||
                           path.rfind("/inspections/", 0) == 0;
  if (!call.signed_in && !(may_read && public_page && method == "GET")) {
    std::string next = call.req.target;
    return Redirect("/sign-in" + (next == "/" ? "" : QueryString({{"next", next}})));
  }
  auto tail = [&](const std::string& prefix) -> std::optional<std::string> {
    if (path.rfind(prefix, 0) != 0) return std::nullopt;
    std::string rest = path.substr(prefix.size());
    if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
    return rest;
  };
  if (method == "GET") {
    if (path == "/") return Dashboard(call);
    if (path == "/recommendations") return Recommendations(call);
    if (auto id = tail("/recommendations/")) return Item(call, *id, SubjectKind::kRecommendation);
    if (path == "/actions") return Actions(call);
    if (auto id = tail("/actions/")) return Item(call, *id, SubjectKind::kAction);
    if (path == "/inspections") return Inspections(call);
    if (auto id = tail("/inspections/")) return InspectionPage(call, *id);
    if (path == "/reports/annex") return Annex(call);
    if (path == "/reports/progress") return Progress(call);
    if (path == "/alerts") return Alerts(call);
    if (path == "/account") return Account(call);
    if (path == "/account/second-factor") return SecondFactor(call);
  } else {
    if (path == "/account/second-factor") return SecondFactor(call);
    if (path == "/sign-out") {
      accounts->SignOut(CookieValue(call.req, kCookie), call.req.remote);
      Response r = Redirect("/sign-in");
      r.headers.emplace_back("Set-Cookie",
                             std::string(kCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
      return r;
    }
    if (path == "/account/sign-out-everywhere") {
      (void)accounts->SignOutEverywhere(call.who.account, call.req.remote);
      Response r = Redirect("/sign-in");
      r.headers.emplace_back("Set-Cookie",
                             std::string(kCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
      return r;
    }
    if (auto id = tail("/recommendations/")) return Record(call, *id, SubjectKind::kRecommendation);
    if (auto id = tail("/actions/")) return Record(call, *id, SubjectKind::kAction);
  }
  if (path == "/admin" || path.rfind("/admin/", 0) == 0) {
    bool admin = false;
    host->ReadAsIs([&](const Engine& engine) { admin = engine.MayDefine(call.who); });
    if (!admin) return NotFound(call);
    if (path == "/admin/accounts" && method == "GET") {
      return AdminAccounts(call, {}, call.Query("added"));
    }
    if (path == "/admin/accounts" && method == "POST") return AddAccount(call);
    if (path == "/admin/audit" && method == "GET") return Audit(call);
    if (path == "/admin/import" && method == "POST") return Import(call);
    if (path == "/admin/define" && method == "POST") return Define(call);
    if (path == "/admin/tokens" && method == "POST") return CreateToken(call);
    if (path == "/admin/tokens/revoke" && method == "POST") return RevokeToken(call);
    if (path == "/admin" && method == "GET") return Admin(call);
  }
  return NotFound(call);
}

// --- The front

Workspace::Workspace(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Workspace::~Workspace() = default;

Result<std::unique_ptr<Workspace>> Workspace::Create(EngineHost* host, Accounts* accounts,
                                                     WorkspaceOptions options) {
  ASSIGN_OR_RETURN(Templates templates, Templates::Load());
  auto impl = std::make_unique<Impl>(Impl{host, accounts, options, std::move(templates)});
  host->ReadAsIs([&](const Engine& engine) {
    impl->workflow = &engine.workflow();
    impl->action_workflow = engine.action_workflow();
  });
  return std::unique_ptr<Workspace>(new Workspace(std::move(impl)));
}

bool Workspace::Claims(std::string_view path) const {
  for (std::string_view prefix : kPaths) {
    if (path == prefix) return true;
    if (prefix != "/" && path.substr(0, prefix.size()) == prefix && path.size() > prefix.size() &&
        path[prefix.size()] == '/') {
      return true;
    }
  }
  return false;
}

Response Workspace::Handle(const Request& request) {
  auto target = http::ParseTarget(request.target);
  if (!target.ok()) return Html(400, "bad request: " + HtmlEscape(target.status().message()));
  Call call{request, *target, {}, std::nullopt, Principal{"", "reader", "", "", ""}, false};
  if (request.method == "POST") {
    // An import file may be as large as the server takes (max_body_bytes); other forms are small.
    const bool upload = call.target.path == "/admin/import";
    if (!upload && request.body.size() > kMaxFormBytes) {
      return Html(413, "a form may send at most " + std::to_string(kMaxFormBytes) + " bytes");
    }
    const std::string type = Lower(request.Header("content-type"));
    if (type.rfind("multipart/form-data", 0) == 0) {
      auto form = ParseMultipart(request.body, request.Header("content-type"));
      if (!form.ok()) return Html(400, "malformed form: " + HtmlEscape(form.status().message()));
      call.form = std::move(*form);
    } else if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      auto form = http::ParseTarget("/?" + request.body);
      if (!form.ok()) return Html(400, "malformed form: " + HtmlEscape(form.status().message()));
      call.form = form->query;
    } else {
      return Html(415, "send the form as application/x-www-form-urlencoded or multipart/form-data");
    }
  }
  if (auto session = impl_->accounts->Resume(CookieValue(request, kCookie))) {
    call.session = session;
    if (!session->needs_code) {
      call.who = session->who;
      call.signed_in = true;
    }
  }
  return impl_->Route(call);
}

}  // namespace rectrack::web
