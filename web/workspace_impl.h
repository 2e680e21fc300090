// The web workspace's insides, shared by its files: the request as the pages see it (Call), the
// pages (Workspace::Impl) and the helpers they use. Not a public header: only web/*.cpp include
// it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/strings.h"
#include "engine/model.h"
#include "engine/principal.h"
#include "http/api.h"
#include "http/api_util.h"
#include "http/multipart.h"
#include "web/accounts.h"
#include "web/forms.h"
#include "web/spoken.h"
#include "web/templates.h"
#include "web/workspace.h"

namespace rectrack {
class Engine;
class EngineHost;
class Workflow;
struct Draft;
struct DraftRequest;
struct ReportText;
}  // namespace rectrack

namespace rectrack::web {

using http::Request;
using http::Response;
using Params = std::map<std::string, std::string>;

inline constexpr const char* kCookie = "rectrack_session";
inline constexpr size_t kMaxFormBytes = 64 * 1024;
// A form without files: room for a note, a text and fields within the engine's default limits
// many times over, URL-encoded (up to three bytes a byte). With the limits raised towards their
// largest (1 MB each), a form filled to all of them at once is refused 413 here.
inline constexpr size_t kMaxEventFormBytes = 4 * 1024 * 1024;
// No page's form has more than a few dozen fields.
inline constexpr size_t kMaxFormFields = 256;

// Helpers shared by the pages (workspace.cpp).
Data List();
Data Bool(bool value);
// Sets `name` to `value`, or to false when it is empty: a mustache section {{#name}} renders for
// any string, even an empty one, and a name left unset is looked up in the enclosing data (the
// context stack), so that a list's row without it would show the page's. Booleans are set
// either way for the same reason: Bool(condition), never only when true.
void SetIf(Data& data, const std::string& name, const std::string& value);
// The headers every answer carries: a Content-Security-Policy without inline script, no framing,
// no sniffing, no referrer beyond this site.
void SecurityHeaders(Response* r);
Response Html(int status, std::string body);
// 303 See Other: post/redirect/get.
Response Redirect(const std::string& location);
// A report or list as a file to save: `name` is its file name.
Response Download(const std::string& content_type, std::string body, const std::string& name);
// `value` with every byte but RFC 3986's unreserved ones percent-encoded: safe in any part of a
// URL.
std::string PercentEncoded(std::string_view value);
// A query string of `params` in a fixed order, each value percent-encoded; "" for none.
std::string QueryString(const Params& params);
std::string CookieValue(const Request& req, const std::string& name);
std::string ScopeLabel(const Principal& who);
// The GOV.UK tag colour of a state.
std::string StateClass(const Workflow* workflow, const std::string& state);
// The earliest unmet milestone's due date, "" for none.
std::string NextDue(const RecommendationHead& item);
// "412 bytes", "9 KB", "1.4 MB": a file's size as people read it.
std::string FileSize(int64_t bytes);
std::string OwnersText(const std::vector<std::string>& owners);
// Sets the error summary's list ("errors": field to link to, message) and "has_errors", and
// each input's message beside it: "<field>_error" ("-" written "_": "token_body_error"), the
// first error at that input.
void SetErrors(Data& data, const std::vector<FieldError>& errors);
// Engine::CheckScope's refusal of an account's or token's `role` and `body` as a form says it:
// at the input it is about (`prefix` + role, body or unit), in the page's words rather than
// the command line's ("needs --body": "Select the body a body lead acts for").
FieldError ScopeError(const Status& refused, const std::string& role, const std::string& body,
                      const std::string& prefix = "");
// A date typed into a one-field date input, as a page uses it (spoken.h: DateAsTyped): the
// date, the ISO form that links and filters carry, what the input shows again, and what the
// input says of something typed that is not a date (TypedDateError: "" when it is one, or
// nothing was typed).
struct TypedDateField {
  TypedDateField(const std::string& typed, const std::string& label, const std::string& example)
      : date(DateAsTyped(typed)),
        iso(date             ? date->ToString()
            : IsBlank(typed) ? ""
                             : typed),
        shown(date ? TypedDate(*date) : typed),
        error(TypedDateError(typed, label, example)) {}
  // The "as at" field every page with one has.
  explicit TypedDateField(const std::string& typed) : TypedDateField(typed, "As at", "31/3/2025") {}
  bool bad() const { return !error.empty(); }
  std::optional<Date> date;
  std::string iso;    // "" when nothing was typed
  std::string shown;  // "31/3/2025" when read; else as typed
  std::string error;
};
// `next` when it is a path on this site (not "//host" nor "/\\host", no control characters),
// where a sign-in may go; "/" otherwise.
std::string LocalPath(const std::string& next);

// The request as the workspace sees it: its target, its form, who sent it.
struct Call {
  const Request& req;
  http::Target target;
  Params form;                     // a POST's decoded fields
  std::optional<Session> session;  // also a half-signed-in one (needs_code)
  Principal who;
  bool signed_in = false;  // fully: the password and, when set up, the second factor
  std::vector<http::FormPart> uploads = {};  // a multipart POST's files (parts with a filename)

  std::string Query(const std::string& name) const {
    auto it = target.query.find(name);
    return it == target.query.end() ? "" : it->second;
  }
  std::string Form(const std::string& name) const {
    auto it = form.find(name);
    return it == form.end() ? "" : it->second;
  }
  // The files posted under `name` that were chosen (a file input left empty sends a part with
  // no filename, which is not a file).
  std::vector<EvidenceFile> Files(const std::string& name) const {
    std::vector<EvidenceFile> files;
    for (const http::FormPart& part : uploads) {
      if (part.name == name && !part.filename.empty()) files.push_back({part.filename, part.body});
    }
    return files;
  }
};

// The page of a long list a request asks for: ?page= (from 1) and ?per_page= (10 to 200, or
// `default_per_page`). InvalidArgument, saying which, when either is not such a number: a page
// says so (400); a page past the list's last is not found (404).
struct PageAsked {
  size_t page = 1;
  size_t per_page = 0;
  size_t first() const { return (page - 1) * per_page; }  // the index of its first row
  size_t end() const { return page * per_page; }
};
Result<PageAsked> AskedPage(const Call& call, size_t default_per_page);
// The GOV.UK pagination of page `page` of `pages` of the list at `path` (the _pagination
// partial's data, labelled "Pages of <what>"): each page's link is `path` with `filters` and
// its page number (none for the first).
Data Pagination(size_t page, size_t pages, const std::string& what, const std::string& path,
                const Params& filters);

// 32 random bytes, or "" when the system has none to give.
std::string NewFormKey();

struct Workspace::Impl {
  Impl(EngineHost* host, Accounts* accounts, WorkspaceOptions options, Templates templates)
      : host(host),
        accounts(accounts),
        options(std::move(options)),
        templates(std::move(templates)) {}

  EngineHost* host;
  Accounts* accounts;
  WorkspaceOptions options;
  // The key of the MACs the server puts in a form to know a value there is its own (a second
  // factor's key): random, in this process only, so no page shows it. "" when the system gave
  // no random bytes; such a form then cannot be sent.
  const std::string form_key = NewFormKey();
  Templates templates;
  http::RateLimiter rate{options.rate_per_minute, options.rate_bytes_per_minute};
  const Workflow* workflow = nullptr;
  const Workflow* action_workflow = nullptr;

  Response Route(Call& call);

  // --- Layout and common parts (workspace.cpp)
  // Whether the signed-in person may administer (import, define, accounts, audit): the role the
  // workflow lets create recommendations. The nav and every /admin page ask it.
  bool MayAdminister(const Call& call) const;
  Data Layout(const Call& call, const std::string& title, const std::string& current,
              bool error = false) const;
  // The page `name` with `data` in the layout; `generation` (the log's position) lets the page
  // script notice changes.
  Response Page(const Call& call, int status, const std::string& name, const Data& data,
                const std::string& title, const std::string& current, bool error = false,
                int64_t generation = -1) const;
  Response Message(const Call& call, int status, const std::string& title,
                   const std::string& message) const;
  Response NotFound(const Call& call) const;
  // The filters a list or a report has, for FiltersExist.
  enum Filter : unsigned {
    kBodyFilter = 1,
    kInspectionFilter = 2,
    kUnitFilter = 4,
    kStateFilter = 8,     // the recommendation workflow's states
    kStatusFilter = 16,   // open or closed
    kOverdueFilter = 32,  // true
    kCsvFilter = 64,      // format=csv
  };
  // Whether the filters `page_has` in a list's or a report's address name what there is (read
  // under the engine's lock): an unknown body, inspection or unit is NotFound, as the API says;
  // a state the workflow has not, a status but open or closed, overdue but true or a format but
  // csv is InvalidArgument saying which (no form offers them: the address was edited). What the
  // page has not is left alone. FilterRefusal answers either as a page.
  Status FiltersExist(const Engine& engine, const Call& call, unsigned page_has) const;
  Response FilterRefusal(const Call& call, const Status& why) const;
  // 400, "The address is not right", and what `status` says is wrong with it (a page number
  // that is not a number).
  Response AddressNotRight(const Call& call, const Status& status) const;
  // 500, "Sorry, there is a problem", and what went wrong: what a page could not read (a history
  // that cannot be read back names its item and `rectrack rebuild`).
  Response Failure(const Call& call, const Status& status) const;

  // A page's content (what goes in <main>), rendered once per state of the log, day and scope:
  // the dashboard and the lists cost a pass over every recommendation, and most requests find
  // nothing changed since the last. `direct` is an answer to give as it is (an error page, a
  // download), never kept.
  struct Content {
    int status = 200;
    std::string html;
    bool error = false;
    int64_t generation = -1;
    std::optional<Response> direct;
  };
  // The page whose content `build` renders, from the cache when the log, the day and the
  // alerts are as they were when it was kept for this scope (role, body, unit) and target;
  // the layout (who is signed in, the CSRF token of the sign-out form) is rendered per request.
  Response CachedPage(const Call& call, const std::string& title, const std::string& current,
                      const std::function<Content()>& build);
  Data BodyChoices(const Engine& engine, const Principal& who, const std::string& selected) const;
  Data ItemRow(const RecommendationHead& v) const;

  // --- Pages: sign-in and accounts (pages_people.cpp); recommendations, actions and
  // inspections (pages_work.cpp); reports and alerts (pages_reports.cpp); administration
  // (pages_admin.cpp)
  Response SignInPage(const Call& call, int status, const std::string& error,
                      const std::string& email) const;
  Response SignIn(Call& call);
  std::string SessionCookie(const std::string& id) const;
  Response SignInCode(const Call& call);
  Response SecondFactor(const Call& call);
  Response SetPassword(const Call& call);
  Response Dashboard(const Call& call);
  Content DashboardContent(const Call& call);
  Response Recommendations(const Call& call);
  Content RecommendationsContent(const Call& call);
  Response Item(const Call& call, const std::string& id, SubjectKind kind,
                const std::vector<FieldError>& errors = {}, const std::string& failed = "",
                const Params& posted = {}, int status = 200);
  Response Record(const Call& call, const std::string& id, SubjectKind kind);
  // Asks "Are you sure?" before recording `event`, read from the form, which would move the
  // item to `ends_in`, a state nothing leaves (Workflow::IsFinal): a page saying what will be
  // recorded, and the posted form again with `confirmed=yes`. `text` is the item's.
  Response ConfirmEnd(const Call& call, const Workflow& wf, const std::string& id, SubjectKind kind,
                      const RecordEvent& event, const std::string& ends_in,
                      const std::string& text);
  Response Evidence(const Call& call, const std::string& sha256);
  Response Actions(const Call& call);
  Response Inspections(const Call& call);
  Response InspectionPage(const Call& call, const std::string& id);
  // What a report page (Annex A, progress) asks about: its body, scoped to who asks, and its
  // "as at" date. Sets the page's date field (and its error) in `data`. NotFound for another
  // body than the caller's, InvalidArgument for a format there is not (FilterRefusal).
  struct ReportAsk {
    std::string body;  // "" until ReportBody picks one
    std::string as_at;
    std::optional<Date> as_of;
    bool bad_date = false;
  };
  Result<ReportAsk> AskedReport(const Call& call, Data& data) const;
  // The body the report is of (the one asked, else the first the caller may see), with the
  // body choices set in `data`; "" when there is none. REQUIRES: under the host's lock.
  std::string ReportBody(const Engine& engine, const Call& call, const ReportAsk& ask,
                         Data& data) const;
  Response Annex(const Call& call);
  Response Progress(const Call& call);
  Response DocumentDownload(const Call& call, Result<std::string> document, DocumentFormat format,
                            const std::string& file);
  Response Alerts(const Call& call);
  Response Account(const Call& call);
  // `link`: a set-password link to show once.
  Response AdminAccounts(const Call& call, std::vector<FieldError> errors = {},
                         const std::string& added = "", int status = 200,
                         const std::string& link = "");
  Response AddAccount(const Call& call);
  // Disables (ending its sessions) or enables an account; not one's own.
  Response SetAccountStatus(const Call& call);
  Response Audit(const Call& call);
  Response Admin(const Call& call, std::vector<FieldError> errors = {},
                 const std::string& done = "", const std::string& secret = "", int status = 200);
  Response Import(const Call& call);
  // Drafting from a report (pages_draft.cpp): the upload form (`draft` null) or the review of
  // a draft beside its report's text; the upload; the reviewed draft's import.
  Response DraftPage(const Call& call, const Draft* draft, const ReportText* report,
                     const DraftRequest* request, std::vector<FieldError> errors, int status);
  Response DraftUpload(const Call& call);
  Response DraftImport(const Call& call);
  Response Define(const Call& call);
  Response CreateToken(const Call& call);
  Response RevokeToken(const Call& call);
  Response Asset(const std::string& path) const;

  std::atomic<int> reading_reports{0};  // reports being read now: at most one

  // CachedPage's entries: key -> (generation, content); bounded in bytes, cleared when full.
  static constexpr size_t kCacheBytes = 32 << 20;
  Mutex cache_mutex;
  size_t cache_bytes GUARDED_BY(cache_mutex) = 0;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const Content>>> cache
      GUARDED_BY(cache_mutex);
};

}  // namespace rectrack::web
