// The workspace's front (workspace.h): making it, reading a request (its address, its form)
// and the session it carries, the rate it is held to, then the routing (workspace.cpp).
#include <algorithm>

#include "common/strings.h"
#include "engine/documents.h"
#include "engine/host.h"
#include "http/multipart.h"
#include "web/workspace.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

// --- The front

Workspace::Workspace(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Workspace::~Workspace() = default;

Result<std::unique_ptr<Workspace>> Workspace::Create(EngineHost* host, Accounts* accounts,
                                                     WorkspaceOptions options) {
  ASSIGN_OR_RETURN(Templates templates, Templates::Load());
  if (!options.documents) options.documents = std::make_shared<DocumentConverter>();
  auto impl = std::make_unique<Impl>(host, accounts, std::move(options), std::move(templates));
  host->ReadAsIs([&](const Engine& engine) {
    impl->workflow = &engine.workflow();
    impl->action_workflow = engine.action_workflow();
  });
  return std::unique_ptr<Workspace>(new Workspace(std::move(impl)));
}

std::optional<Response> Workspace::Refusal(const Request& head, int status,
                                           const std::string& detail) {
  auto target = http::ParseTarget(head.target);
  if (!target.ok()) return std::nullopt;
  Call call{head, *target, {}, std::nullopt, Principal{"", "reader", "", "", ""}, false};
  if (auto session = impl_->accounts->Resume(CookieValue(head, kCookie))) {
    call.session = session;
    if (!session->needs_code) {
      call.who = session->who;
      call.signed_in = true;
    }
  }
  if (status != 413) return impl_->Message(call, status, "The request was refused", detail);
  return impl_->Message(call, 413, "The file is too large",
                        "The form sent more than this server takes (" + detail +
                            "). Go back and choose a smaller file.");
}

// A request the workspace cannot read (its address, or its form): said as a page once the
// session is known, in words a person can act on.
struct Unreadable {
  int status = 400;  // 400, 413 or 415
  std::string title;
  std::string detail;
};

// Reads a POST's form into `call` (its fields, and its files when multipart), or says why it
// cannot.
static std::optional<Unreadable> ReadForm(const Request& request, Call& call) {
  auto refused = [](int status, std::string detail) {
    return Unreadable{status,
                      status == 413 ? "The form is too large" : "The form could not be read",
                      std::move(detail)};
  };
  // A form with files (an import, evidence) may be as large as the server takes
  // (max_body_bytes; the engine holds evidence to its own limits); other forms are small.
  const std::string type = Lower(request.Header("content-type"));
  const std::string& path = call.target.path;
  const bool takes_files = path == "/admin/import" || path.rfind("/admin/draft", 0) == 0 ||
                           path.rfind("/recommendations/", 0) == 0 ||
                           path.rfind("/actions/", 0) == 0;
  if (!takes_files && request.body.size() > kMaxFormBytes) {
    return refused(413, "This form may send at most " + std::to_string(kMaxFormBytes) + " bytes.");
  }
  auto repeated = [&](const std::string& name) {
    return refused(400, "The form could not be read: the field '" + name +
                            "' was sent more than once. Go back, reload the page and try again.");
  };
  if (http::IsMultipartForm(type)) {
    auto parts = http::ParseMultipartForm(request.Header("content-type"), request.body);
    if (!parts.ok()) {
      return refused(400, "The form could not be read: " + parts.status().message() +
                              ". Go back, reload the page and try again.");
    }
    for (http::FormPart& part : *parts) {
      if (part.content_type.empty() && part.filename.empty()) {
        if (!call.form.emplace(part.name, std::move(part.body)).second) return repeated(part.name);
      } else {
        call.uploads.push_back(std::move(part));
      }
    }
  } else if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    // Files come as multipart: URL-encoded, a form holds text, read whole before it is looked
    // at, so held to what the largest event's text can be.
    if (request.body.size() > kMaxEventFormBytes) {
      return refused(413, "A form without files may send at most " +
                              std::to_string(kMaxEventFormBytes) + " bytes.");
    }
    if (static_cast<size_t>(std::count(request.body.begin(), request.body.end(), '&')) >=
        kMaxFormFields) {
      return refused(413, "A form may send at most " + std::to_string(kMaxFormFields) + " fields.");
    }
    auto form = http::ParseFormBody(request.body);
    if (!form.ok()) {
      return refused(400, "The form could not be read: " + form.status().message() +
                              ". Go back, reload the page and try again.");
    }
    call.form = std::move(*form);
  } else {
    return refused(415,
                   "Send the form as application/x-www-form-urlencoded or multipart/form-data.");
  }
  // Browsers send a text area's line breaks as CR LF (HTML's form submission): the engine
  // keeps text with LF line breaks, and refuses a CR as a control character.
  for (auto& [name, value] : call.form) value = WithLfLineBreaks(std::move(value));
  return std::nullopt;
}

Response Workspace::Handle(const Request& request) {
  auto target = http::ParseTarget(request.target);
  // Said once the session is known, as a page in the layout.
  std::optional<Unreadable> unreadable;
  if (!target.ok()) {
    unreadable = Unreadable{400, "The address is not right",
                            "The address could not be read (" + target.status().message() +
                                "). Check it, or go back and use the page's links."};
  }
  Call call{request,      target.ok() ? *target : http::Target{"/", {}}, {},
            std::nullopt, Principal{"", "reader", "", "", ""},           false};
  if (!unreadable && request.method == "POST") unreadable = ReadForm(request, call);
  // The stylesheet and script are the same for everyone: no session is looked up for them.
  const bool asset = call.target.path.rfind("/assets/", 0) == 0;
  if (auto session =
          asset ? std::nullopt : impl_->accounts->Resume(CookieValue(request, kCookie))) {
    call.session = session;
    if (!session->needs_code) {
      call.who = session->who;
      call.signed_in = true;
    }
  }
  // Nor the page script's poll of /live (every 2 s from each open page: a few numbers'
  // bytes, read under the lock), which would spend a reader's budget on its open tabs.
  auto refuse = [&] {
    return impl_->Message(call, unreadable->status, unreadable->title, unreadable->detail);
  };
  if (asset || call.target.path == "/live") return unreadable ? refuse() : impl_->Route(call);
  // Counted per account once signed in (a second-factor code not yet given counts as the
  // address), else per address: as the API counts per token.
  const std::string client =
      call.signed_in ? "account:" + Lower(call.who.account) : "address:" + request.remote;
  if (!impl_->rate.Allow(client)) {
    Response r = impl_->Message(
        call, 429, "Too many requests",
        "More than " + std::to_string(impl_->options.rate_per_minute) + " pages, or " +
            std::to_string(impl_->options.rate_bytes_per_minute) +
            " bytes of pages and downloads, in a minute. Wait a minute, then try again.");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  Response answer = unreadable ? refuse() : impl_->Route(call);
  impl_->rate.Charge(client,
                     answer.body.size() + (answer.shared_body ? answer.shared_body->size() : 0));
  return answer;
}

}  // namespace rectrack::web
