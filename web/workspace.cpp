#include "web/workspace.h"

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/documents.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/render.h"
#include "storage/crypto.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

// --- Helpers

Data List() { return Data(Data::type::list); }

// Sets `name` only when `value` is not empty: a mustache section {{#name}} renders for any
// string, even an empty one.
void SetIf(Data& data, const std::string& name, const std::string& value) {
  data.set(name, value.empty() ? Bool(false) : Data(value));
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

// Whether a browser says the form was sent from another site's page: Fetch Metadata's
// Sec-Fetch-Site, or an Origin that is neither this server's (as the Host it was asked by, over
// http or https: a proxy may end TLS) nor `public_url`'s. No such header (curl, an old browser):
// not from another site. Signing in has no session's CSRF token yet, and a forged sign-in would
// put the victim's browser in the forger's account; the other forms have both checks.
namespace {
// "https://host:443" is "https://host", as a browser writes an Origin; lower case.
std::string WithoutDefaultPort(std::string origin) {
  origin = Lower(origin);
  for (auto [scheme, port] :
       {std::pair<std::string_view, std::string_view>{"http://", ":80"}, {"https://", ":443"}}) {
    if (origin.starts_with(scheme) && origin.ends_with(port)) {
      origin.resize(origin.size() - port.size());
    }
  }
  return origin;
}

bool FromAnotherSite(const Request& req, const std::string& public_url) {
  if (req.Header("sec-fetch-site") == "cross-site") return true;
  const std::string origin = WithoutDefaultPort(req.Header("origin"));
  if (origin.empty()) return false;
  const std::string ours =
      WithoutDefaultPort(public_url.substr(0, public_url.find('/', public_url.find("//") + 2)));
  if (!ours.empty() && origin == ours) return false;
  for (const char* scheme : {"http://", "https://"}) {
    if (origin == WithoutDefaultPort(scheme + req.Header("host"))) return false;
  }
  return true;
}
}  // namespace

std::string PercentEncoded(std::string_view value) {
  std::string out;
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
  return out;
}

std::string QueryString(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += name + "=" + PercentEncoded(value);
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
  std::string label = Spoken(who.role);
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

std::string FileSize(int64_t bytes) {
  if (bytes < 1000) return std::to_string(bytes) + " bytes";
  if (bytes < 1000 * 1000) return std::to_string((bytes + 500) / 1000) + " KB";
  const int64_t tenths = (bytes + 50'000) / 100'000;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MB";
}

std::string NextDue(const RecommendationHead& item) {
  const std::optional<Date> next = NextDueNotMet(item);
  return next ? next->ToString() : "";
}

std::string OwnersText(const std::vector<std::string>& owners) { return Join(owners, ", "); }

Result<PageAsked> AskedPage(const Call& call, size_t default_per_page) {
  PageAsked asked{1, default_per_page};
  if (const std::string page = call.Query("page"); !page.empty()) {
    const std::optional<int64_t> n = ParseDigits(page, 6);
    if (!n || *n == 0) {
      return Status::InvalidArgument(
          "The page number in the address (page=) must be a whole "
          "number from 1 to 999999.");
    }
    asked.page = static_cast<size_t>(*n);
  }
  if (const std::string per_page = call.Query("per_page"); !per_page.empty()) {
    const std::optional<int64_t> n = ParseDigits(per_page, 3);
    if (!n || *n < 10 || *n > 200) {
      return Status::InvalidArgument(
          "The rows a page shows (per_page= in the address) must be "
          "a whole number from 10 to 200.");
    }
    asked.per_page = static_cast<size_t>(*n);
  }
  return asked;
}

Data Pagination(size_t page, size_t pages, const std::string& what, const std::string& path,
                const Params& filters) {
  auto href = [&](size_t n) {
    Params p = filters;
    p["page"] = n == 1 ? "" : std::to_string(n);
    return path + QueryString(p);
  };
  Data pagination;
  pagination.set("label", "Pages of " + what);
  if (page > 1) pagination.set("previous", href(page - 1));
  if (page < pages) pagination.set("next", href(page + 1));
  // The first and last pages, and two either side of this one (GOV.UK's pattern).
  Data numbers = List();
  for (size_t n = 1; n <= pages; ++n) {
    if (n != 1 && n != pages && (n + 2 < page || n > page + 2)) continue;
    Data d;
    d.set("number", std::to_string(n));
    d.set("href", href(n));
    d.set("current", Bool(n == page));
    numbers.push_back(d);
  }
  pagination.set("pages", numbers);
  return pagination;
}

void SetErrors(Data& data, const std::vector<FieldError>& errors) {
  Data list = List();
  std::set<std::string> said;
  for (const FieldError& e : errors) {
    Data d;
    d.set("field", e.field);
    d.set("message", e.message);
    list.push_back(d);
    std::string key = e.field + "_error";
    std::replace(key.begin(), key.end(), '-', '_');
    if (said.insert(key).second) data.set(key, e.message);  // the first error at each input
  }
  data.set("errors", list);
  data.set("has_errors", Bool(!errors.empty()));
}

FieldError ScopeError(const Status& refused, const std::string& role, const std::string& body,
                      const std::string& prefix) {
  const std::string field = refused.field().empty() ? "role" : refused.field();
  const std::string spoken = Spoken(role);
  // "an inspectorate", "a body lead", "a unit lead" (not by its letter: a "u" says "you").
  const std::string a = std::string(spoken.find_first_of("aeio") == 0 ? "an " : "a ") + spoken;
  if (field == "body") {
    if (body.empty()) return {prefix + field, "Select the body " + a + " acts for"};
    if (refused.message().find("is not scoped to a body") != std::string::npos) {
      return {prefix + field, "Select None: " + a + " does not act for one body"};
    }
  }
  std::string message = refused.message();
  if (const size_t at = message.find("a " + role + " "); at != std::string::npos) {
    message.replace(at, 2 + role.size(), a);
  }
  return {prefix + field, Capitalised(message)};
}

std::string NewFormKey() {
  Result<std::string> key = storage::RandomBytes(32);
  return key.ok() ? *key : std::string();
}

std::string LocalPath(const std::string& next) {
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\'))) {
    return "/";
  }
  // It becomes a Location header: a decoded CR or LF must not start a header of its own.
  for (unsigned char c : next) {
    if (c < 0x20 || c == 0x7f || c == '\\') return "/";
  }
  return next;
}

// --- Layout and common parts

bool Workspace::Impl::MayAdminister(const Call& call) const {
  if (!call.signed_in) return false;
  bool admin = false;
  host->ReadAsIs([&](const Engine& engine) { admin = engine.MayDefine(call.who); });
  return admin;
}

Data Workspace::Impl::Layout(const Call& call, const std::string& title, const std::string& current,
                             bool error) const {
  Data layout;
  layout.set("title", title);
  layout.set("stylesheet", options.gov_uk ? "rectrack-gov-uk.css" : "rectrack.css");
  // GOV.UK's crown, like its typeface, is for services on gov.uk only.
  layout.set("gov_uk", Bool(options.gov_uk));
  layout.set("error_title", Bool(error));
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
    item.set("current", Bool(key == current));
    items.push_back(item);
  };
  if (call.signed_in) add("/", "Dashboard", "dashboard");
  add("/recommendations", "Recommendations", "recommendations");
  if (call.signed_in && action_workflow) add("/actions", "Actions", "actions");
  add("/inspections", "Inspections", "inspections");
  if (call.signed_in) {
    add("/reports/annex", "Reports", "annex");
    add("/alerts", "Alerts", "alerts");
    if (MayAdminister(call)) add("/admin", "Administration", "admin");
  }
  Data nav;
  nav.set("items", items);
  layout.set("nav", nav);
  return layout;
}

Response Workspace::Impl::Page(const Call& call, int status, const std::string& name,
                               const Data& data, const std::string& title,
                               const std::string& current, bool error, int64_t generation) const {
  Data layout = Layout(call, title, current, error);
  if (generation >= 0) layout.set("live_generation", std::to_string(generation));
  return Html(status, templates.Page(name, data, layout));
}

Response Workspace::Impl::CachedPage(const Call& call, const std::string& title,
                                     const std::string& current,
                                     const std::function<Content()>& build) {
  // The state asked about without catching up with other processes first: the server's own
  // writes are in it at once, and `serve` catches up with the command line's every second
  // (ServerOptions::poll_milliseconds), so a page is at most that late with them.
  std::string generation;
  host->ReadAsIs([&](const Engine& engine) {
    generation = std::to_string(engine.last_seq()) + "-" + std::to_string(engine.last_alert_seq()) +
                 "-" + engine.clock().Today().ToString();
  });
  const std::string key =
      call.who.role + "|" + call.who.body + "|" + call.who.unit + "|" + call.req.target;
  std::shared_ptr<const Content> content;
  {
    MutexLock lock(&cache_mutex);
    auto hit = cache.find(key);
    if (hit != cache.end() && hit->second.first == generation) content = hit->second.second;
  }
  if (!content) {
    Content fresh = build();
    if (fresh.direct) return std::move(*fresh.direct);
    // Kept under the generation read before it was built: it may be newer than that, never
    // older, so an entry never shows less than its key promises.
    content = std::make_shared<const Content>(std::move(fresh));
    const size_t size = key.size() + content->html.size() + 256;
    MutexLock lock(&cache_mutex);
    if (cache_bytes + size > kCacheBytes) {
      cache.clear();
      cache_bytes = 0;
    }
    if (auto old = cache.find(key); old != cache.end()) {
      cache_bytes -= std::min(cache_bytes, key.size() + old->second.second->html.size() + 256);
    }
    cache[key] = {generation, content};
    cache_bytes += size;
  }
  // The layout around it differs by who is signed in (and their CSRF token), not by the
  // content: each thread keeps the last few rendered, split where the content goes.
  const std::string layout_key = call.who.account + "|" + (call.session ? call.session->csrf : "") +
                                 "|" + title + "|" + current + "|" + (content->error ? "e" : "") +
                                 "|" + std::to_string(content->generation) +
                                 (options.gov_uk ? "|gov.uk" : "");
  thread_local std::map<std::string, std::pair<std::string, std::string>> layouts;
  auto layout = layouts.find(layout_key);
  if (layout == layouts.end()) {
    if (layouts.size() >= 64) layouts.clear();
    Data data = Layout(call, title, current, content->error);
    if (content->generation >= 0) {
      data.set("live_generation", std::to_string(content->generation));
    }
    static const std::string kMarker = "\x01rectrack-content\x01";
    data.set("content", kMarker);
    const std::string rendered = templates.Render("layout", data);
    const size_t at = std::min(rendered.find(kMarker), rendered.size());
    layout = layouts
                 .emplace(layout_key, std::make_pair(rendered.substr(0, at),
                                                     rendered.substr(std::min(at + kMarker.size(),
                                                                              rendered.size()))))
                 .first;
  }
  std::string page;
  page.reserve(layout->second.first.size() + content->html.size() + layout->second.second.size());
  page.append(layout->second.first).append(content->html).append(layout->second.second);
  return Html(content->status, std::move(page));
}

Response Workspace::Impl::Message(const Call& call, int status, const std::string& title,
                                  const std::string& message) const {
  Data data;
  data.set("title", title);
  data.set("message", message);
  // Not "Error: " in the title: GOV.UK keeps that for a form's errors, not a page that could
  // not be shown ("Page not found").
  return Page(call, status, "message", data, title, "", false);
}

Response Workspace::Impl::Failure(const Call& call, const Status& status) const {
  return Message(call, 500, "Sorry, there is a problem with the service", status.message());
}

Response Workspace::Impl::NotFound(const Call& call) const {
  return Message(call, 404, "Page not found",
                 "There is no such page, or it is not yours to see. Check the address.");
}

Response Workspace::Impl::AddressNotRight(const Call& call, const Status& status) const {
  return Message(call, 400, "The address is not right", status.message());
}

Data Workspace::Impl::BodyChoices(const Engine& engine, const Principal& who,
                                  const std::string& selected) const {
  Data bodies = List();
  for (const Body& b : engine.Bodies()) {
    if (!who.body.empty() && b.id != who.body) continue;
    Data d;
    d.set("id", b.id);
    d.set("name", b.name);
    d.set("selected", Bool(b.id == selected));
    bodies.push_back(d);
  }
  return bodies;
}

Data Workspace::Impl::ItemRow(const RecommendationHead& v) const {
  Data row;
  row.set("id", v.id);
  row.set("text", v.def.text);
  row.set("owners", OwnersText(v.def.owners));
  row.set("state", Spoken(v.state));
  const Workflow* wf = v.kind == SubjectKind::kAction ? action_workflow : workflow;
  row.set("state_class", StateClass(wf, v.state));
  row.set("overdue", Bool(v.overdue));
  SetIf(row, "next_due", ShortDate(NextDue(v)));
  row.set("issued", v.issued.ShortString());
  SetIf(row, "recommendation", v.action ? v.action->recommendation : "");
  SetIf(row, "unit", v.action ? v.action->unit : "");
  return row;
}

// --- Routing

Response Workspace::Impl::Route(Call& call) {
  const std::string& method = call.req.method == "HEAD" ? std::string("GET") : call.req.method;
  const std::string& path = call.target.path;
  if (path.rfind("/assets/", 0) == 0 && method == "GET") return Asset(path);
  if (method != "GET" && method != "POST") {
    // Pages are read with GET (and HEAD); their forms POST.
    Response r = Message(call, 405, "Not allowed", "Use the pages' links and forms.");
    r.headers.emplace_back("Allow", "GET, HEAD, POST");
    return r;
  }
  if (method == "POST" && FromAnotherSite(call.req, options.public_url)) {
    return Message(call, 403, "The form came from another site",
                   "This form was sent from a page of another website, so nothing was done. "
                   "Go to rectrack's own page and try again.");
  }
  // While the server reads the log (EngineHost::kStarting) a page waits for it: the API's lists
  // are answered from the item heads meanwhile, but a page shows more than a list.
  if (!host->started()) {
    Response r = Message(call, 503, "Sorry, rectrack is starting",
                         "It is reading its records and will be ready in a few seconds. Nothing "
                         "you sent was recorded: reload this page to try again.");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  if (path == "/sign-in/code") return SignInCode(call);
  // The link's token is the credential: no session, and no CSRF token (a forger cannot know it).
  if (path == "/set-password") return SetPassword(call);
  if (call.session && call.session->needs_code && path != "/sign-out") {
    return Redirect("/sign-in/code");
  }
  if (path == "/sign-in") {
    if (method == "GET") return call.signed_in ? Redirect("/") : SignInPage(call, 200, "", "");
    return SignIn(call);  // a POST: no other method comes this far
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
  }
  // A role that must use a second factor may do nothing else until it is set up.
  if (call.signed_in && call.session->must_enrol && path != "/account/second-factor" &&
      path != "/sign-out") {
    return Redirect("/account/second-factor");
  }
  const bool may_read = call.signed_in || options.public_read;
  // With public_read, an item's evidence files are as public as the item (the same rule).
  const bool public_page = path == "/recommendations" || path == "/inspections" ||
                           path.rfind("/recommendations/", 0) == 0 ||
                           path.rfind("/inspections/", 0) == 0 ||
                           path.rfind("/evidence/", 0) == 0 || path == "/live";
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
    if (path == "/live") {  // the log's position, which the page script polls
      Response r;
      r.content_type = "text/plain; charset=utf-8";
      host->Read([&](const Engine& engine) { r.body = std::to_string(engine.last_seq()); });
      r.headers.emplace_back("Cache-Control", "no-store");
      SecurityHeaders(&r);
      return r;
    }
    if (path == "/") return Dashboard(call);
    if (path == "/recommendations") return Recommendations(call);
    if (auto id = tail("/recommendations/")) return Item(call, *id, SubjectKind::kRecommendation);
    if (path == "/actions") return Actions(call);
    if (auto id = tail("/actions/")) return Item(call, *id, SubjectKind::kAction);
    if (path == "/inspections") return Inspections(call);
    if (auto id = tail("/inspections/")) return InspectionPage(call, *id);
    if (path == "/reports") return Redirect("/reports/annex");  // the nav's Reports
    if (path == "/reports/annex") return Annex(call);
    if (path == "/reports/progress") return Progress(call);
    if (path == "/alerts") return Alerts(call);
    if (auto sha256 = tail("/evidence/")) return Evidence(call, *sha256);
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
    if (!MayAdminister(call)) return NotFound(call);
    if (path == "/admin/accounts" && method == "GET") {
      return AdminAccounts(call, {}, call.Query("added"));
    }
    if (path == "/admin/accounts" && method == "POST") return AddAccount(call);
    if (path == "/admin/accounts/status" && method == "POST") return SetAccountStatus(call);
    if (path == "/admin/audit" && method == "GET") return Audit(call);
    if (path == "/admin/import" && method == "POST") return Import(call);
    if (path == "/admin/draft" && method == "GET") {
      return DraftPage(call, nullptr, nullptr, nullptr, {}, 200);
    }
    if (path == "/admin/draft" && method == "POST") return DraftUpload(call);
    if (path == "/admin/draft/import" && method == "POST") return DraftImport(call);
    if (path == "/admin/define" && method == "POST") return Define(call);
    if (path == "/admin/tokens" && method == "POST") return CreateToken(call);
    if (path == "/admin/tokens/revoke" && method == "POST") return RevokeToken(call);
    if (path == "/admin" && method == "GET") return Admin(call);
  }
  return NotFound(call);
}

}  // namespace rectrack::web
