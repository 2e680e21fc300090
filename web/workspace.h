// Workspace: the web workspace for people: server-rendered pages in the GOV.UK Design System's
// patterns, over the same engine host, access rules (engine/access.h) and commands as the JSON
// API, served by the same server (http::Front).
//
// Pages (each bookmarkable, its filters in the URL):
//   GET  /                      dashboard: per body, open, overdue, due in 30 days, awaiting
//                               assessment, overdue actions by unit; each count a link
//   GET  /recommendations       filter, sort, page, "as at"; ?format=csv downloads the list
//   GET  /recommendations/{id}  text, owners, milestones, actions, timeline; the forms of the
//                               transitions this person may fire, generated from the workflow
//   POST /recommendations/{id}  records one of those transitions (post/redirect/get)
//   GET  /actions, /actions/{id}, POST /actions/{id}
//   GET  /inspections, /inspections/{id}
//   GET  /reports/annex         Annex A for a body as at a date
//   GET  /alerts                raised alerts and how their delivery went
//   GET  /account               who you are; sign out everywhere
//   GET  /admin/accounts, POST /admin/accounts; GET /admin/audit   (inspectorate)
//   GET  /sign-in, POST /sign-in, POST /sign-out, POST /account/sign-out-everywhere
//   GET  /set-password?token=, POST /set-password   (a one-time link, Accounts::CreatePasswordLink)
//   GET  /live                  the log's position, polled by the page script
//   GET  /assets/...            the compiled stylesheet and script
// Every path that is not the API's (http::Api::Owns) is the workspace's: any other is the page
// "Page not found" (404), not the API's JSON.
//
// Security: a session cookie (HttpOnly, SameSite=Lax, Secure when configured); a CSRF token in
// every form, checked on every POST; a Content-Security-Policy without inline script; every
// value escaped by the templates. Without a session only /sign-in and the assets answer (and,
// when public_read is on, the read-only pages as an unscoped reader). Requests and answer bytes
// are limited per account, or per address without one, as the API's per token.
//
// Thread-safety: Handle may be called from many threads. A POST that records something waits
// for its group commit on the calling thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "http/api.h"

namespace rectrack {

class DocumentConverter;
class EngineHost;
}  // namespace rectrack

namespace rectrack::web {

class Accounts;
class Templates;

struct WorkspaceOptions {
  bool public_read = false;     // read-only pages without signing in
  bool secure_cookies = false;  // mark the session cookie Secure (set when served over TLS)
  size_t page_size = 50;        // rows of a list page
  // Where people reach this server ("https://rectrack.example"): the base of set-password links
  // shown to the inspectorate, and an Origin forms may come from; "" takes the Host the
  // administrator asked by (https with secure_cookies), or a path without one.
  std::string public_url = "";
  // The service runs on gov.uk, so it may (and does) use GDS Transport, which is licensed for
  // gov.uk services only; elsewhere pages use the system font stack.
  bool gov_uk = false;
  // Makes the reports' DOCX, ODT and PDF downloads (shared with the API, which bounds them as a
  // whole). Null: one with the default limits.
  std::shared_ptr<const DocumentConverter> documents;
  // Requests and bytes of answers a minute, per signed-in account (else per address), as the
  // API's per token (ApiOptions, serve's rate_per_minute and rate_bytes_per_minute); 0 disables
  // one. The stylesheet and script, and the page script's poll of /live, are not counted.
  int rate_per_minute = 6000;
  long long rate_bytes_per_minute = 1LL << 30;
};

class Workspace : public http::Front {
 public:
  // REQUIRES: `host` and `accounts` outlive the Workspace. InvalidArgument when a template does
  // not parse.
  static Result<std::unique_ptr<Workspace>> Create(EngineHost* host, Accounts* accounts,
                                                   WorkspaceOptions options);
  ~Workspace() override;

  http::Response Handle(const http::Request& request) override;
  // A page saying the form sent too much (the layout, signed in or not), for a 413.
  std::optional<http::Response> Refusal(const http::Request& head, int status,
                                        const std::string& detail) override;

 private:
  struct Impl;
  explicit Workspace(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rectrack::web
