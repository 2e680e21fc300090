#include <algorithm>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "storage/crypto.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

// --- Sign-in

Response Workspace::Impl::SignInPage(const Call& call, int status, const std::string& error,
                                     const std::string& email) const {
  Data data;
  if (!error.empty()) data.set("error", error);
  SetErrors(data,
            error.empty() ? std::vector<FieldError>{} : std::vector<FieldError>{{"email", error}});
  data.set("email", email);
  std::string next = call.target.query.count("next") ? call.Query("next") : call.Form("next");
  data.set("next", next);
  data.set("public_read", Bool(options.public_read));
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
                      throttled ? Capitalised(signed_in.status().message())
                                : "Enter a correct email address and password",
                      email);
  }
  // Only a path on this site: a sign-in link cannot send people elsewhere.
  const std::string next = LocalPath(call.Form("next"));
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
    SetErrors(data,
              error.empty() ? std::vector<FieldError>{} : std::vector<FieldError>{{"code", error}});
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
    return page(throttled ? 429 : 401, throttled
                                           ? Capitalised(confirmed.status().message())
                                           : "Enter the code your authenticator app shows now");
  }
  Response r = Redirect(LocalPath(call.Form("next")));
  r.headers.emplace_back("Set-Cookie", SessionCookie(confirmed->id));
  return r;
}

Response Workspace::Impl::SetPassword(const Call& call) {
  const std::string token = call.req.method == "POST" ? call.Form("token") : call.Query("token");
  auto page = [&](int status, const std::string& error) {
    Data data;
    data.set("token", token);
    SetIf(data, "error", error);
    SetErrors(data, error.empty() ? std::vector<FieldError>{}
                                  : std::vector<FieldError>{{"password", error}});
    return Page(call, status, "set_password", data, "Set your password", "", !error.empty());
  };
  auto does_not_work = [&] {
    return Message(call, 401, "This link does not work",
                   "It was used already, has expired or was mistyped. Ask the inspectorate for "
                   "a new one.");
  };
  if (call.req.method != "POST") {
    return accounts->PasswordLinkWorks(token) ? page(200, "") : does_not_work();
  }
  if (call.Form("password") != call.Form("confirm")) {
    return page(400, "The two passwords are not the same");
  }
  Status set = accounts->UsePasswordLink(token, call.Form("password"), call.req.remote);
  if (set.code() == Code::kUnauthenticated) return does_not_work();
  if (!set.ok()) return page(400, "Enter a password of at least 10 characters");
  return Redirect("/sign-in");
}

Response Workspace::Impl::SecondFactor(const Call& call) {
  // One is replaced only by an administrator turning it off: a session alone is not enough.
  if (call.session->has_second_factor) return Redirect("/account");
  Data data;
  data.set("csrf", call.session->csrf);
  data.set("must_enrol", Bool(call.session->must_enrol));
  // The key is the server's, made for this page: the form carries it with a MAC under a key
  // only this process knows, bound to the session, so that a key of the sender's choosing (all
  // zeros) is refused. (Not the CSRF token as the MAC's key: every page shows that.)
  if (form_key.empty()) return Failure(call, Status::IOError("no random bytes for a form key"));
  auto check = [&](const std::string& key) {
    return storage::HmacSha256Hex(form_key,
                                  "second factor key\n" + call.session->csrf + "\n" + key);
  };
  std::string secret = call.Form("secret");
  std::string error;
  if (call.req.method == "POST" && !SameSecret(call.Form("secret_check"), check(secret))) {
    error = "Add the key this page shows now to your authenticator app, then enter its code";
    secret.clear();
  } else if (call.req.method == "POST") {
    Status enabled =
        accounts->EnableTotp(call.who.account, secret, call.Form("code"), call.req.remote);
    if (enabled.ok()) {
      return Redirect("/account?done=second-factor");
    }
    error = "Enter the code the app shows now (" + enabled.message() + ")";
  }
  if (!error.empty()) {
    data.set("error", error);
    SetErrors(data, {{"code", error}});
  }
  if (secret.empty()) {
    auto fresh = NewTotpSecret();
    if (!fresh.ok()) return Failure(call, fresh.status());
    secret = *fresh;
  }
  data.set("secret", secret);
  data.set("secret_check", check(secret));
  // The label is the account, encoded: an address may hold '#', '?' or '&'.
  data.set("uri", "otpauth://totp/rectrack:" + PercentEncoded(call.who.account) +
                      "?secret=" + secret + "&issuer=rectrack&algorithm=SHA1&digits=6&period=30");
  const bool failed = !error.empty();
  return Page(call, failed ? 400 : 200, "second_factor", data, "Set up a second factor", "",
              failed);
}

// --- Account and administration

Response Workspace::Impl::Account(const Call& call) {
  Data data;
  data.set("email", call.who.account);
  data.set("scope", ScopeLabel(call.who));
  data.set("csrf", call.session->csrf);
  data.set("has_second_factor", Bool(call.session->has_second_factor));
  // Said from a code, not carried as text: a link cannot put words in the banner.
  SetIf(data, "done", call.Query("done") == "second-factor" ? "Your second factor is on" : "");
  data.set("admin", Bool(MayAdminister(call)));
  return Page(call, 200, "account", data, "Your account", "");
}

Response Workspace::Impl::AdminAccounts(const Call& call, std::vector<FieldError> errors,
                                        const std::string& added, int status,
                                        const std::string& link) {
  Data data;
  auto accounts_list = accounts->List();
  Data rows = List();
  // After an account is added or its status changed (post/redirect/get), which account, said
  // from the list: a link cannot put words in the banners, nor say a status it does not have.
  const std::string added_asked = Lower(added), disabled_asked = Lower(call.Query("disabled")),
                    enabled_asked = Lower(call.Query("enabled"));
  std::string added_said, status_changed;
  if (accounts_list.ok()) {
    for (const storage::AccountRecord& a : *accounts_list) {
      const std::string email = Lower(a.email);
      if (!added_asked.empty() && email == added_asked) added_said = a.email;
      if (!disabled_asked.empty() && email == disabled_asked && !a.disabled.empty()) {
        status_changed = a.email + " is disabled and signed out everywhere";
      } else if (!enabled_asked.empty() && email == enabled_asked && a.disabled.empty()) {
        status_changed = a.email + " is enabled";
      }
      Data d;
      d.set("email", a.email);
      d.set("role", Spoken(a.role));
      SetIf(d, "body", a.body);
      SetIf(d, "unit", a.unit);
      d.set("created", SpokenTime(a.created));
      d.set("created_iso", a.created);
      d.set("disabled", Bool(!a.disabled.empty()));
      d.set("self", Bool(Lower(a.email) == Lower(call.who.account)));
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
    d.set("label", Capitalised(Spoken(r.name)));
    d.set("selected", Bool(failed && r.name == call.Form("role")));
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
      d.set("selected", Bool(failed && u.id == call.Form("unit")));
      units.push_back(d);
    }
    data.set("units", units);
  });
  SetErrors(data, errors);
  SetIf(data, "added", added_said);
  SetIf(data, "status_changed", status_changed);
  SetIf(data, "link", link);
  return Page(call, status, "admin_accounts", data, "Accounts", "admin", failed);
}

Response Workspace::Impl::AddAccount(const Call& call) {
  storage::AccountRecord record;
  record.email = call.Form("email");
  record.role = call.Form("role");
  record.body = call.Form("body");
  record.unit = call.Form("unit");
  if (record.email.empty())
    return AdminAccounts(call, {{"email", "Enter an email address"}}, "", 400);
  Status scope;
  host->ReadAsIs([&](const Engine& engine) {
    scope = engine.CheckScope("account", record.role, record.body, record.unit);
  });
  if (!scope.ok()) {
    return AdminAccounts(call, {ScopeError(scope, record.role, record.body)}, "", 400);
  }
  Status added = accounts->Add(record, call.Form("password"), call.who.account, call.req.remote);
  if (!added.ok()) {
    return AdminAccounts(call, {{added.field().empty() ? "email" : added.field(), added.message()}},
                         "", http::FromStatus(added).status);
  }
  if (call.Form("password").empty()) {
    // No password given: a one-time link for the person to set one, shown once, here.
    auto token = accounts->CreatePasswordLink(record.email, call.who.account, call.req.remote);
    if (!token.ok()) return AdminAccounts(call, {{"email", token.status().message()}}, "", 500);
    // A whole address, to send: public_url, or else the one the administrator asked by (over
    // TLS when the cookies say so: a proxy ends it), or a path when not even that is known.
    const std::string host = call.req.Header("host");
    const std::string base = !options.public_url.empty() ? options.public_url
                             : host.empty()
                                 ? ""
                                 : (options.secure_cookies ? "https://" : "http://") + host;
    return AdminAccounts(call, {}, record.email, 201,
                         base + "/set-password" + QueryString({{"token", *token}}));
  }
  return Redirect("/admin/accounts" + QueryString({{"added", record.email}}));
}

Response Workspace::Impl::SetAccountStatus(const Call& call) {
  const std::string email = Lower(call.Form("email"));
  const std::string to = call.Form("status");
  if (to != "disabled" && to != "active") {
    return AdminAccounts(call, {{"accounts", "Choose to disable or enable an account"}}, "", 400);
  }
  if (email == Lower(call.who.account)) {
    return AdminAccounts(call, {{"accounts", "You cannot disable your own account"}}, "", 400);
  }
  Status changed =
      accounts->SetDisabled(email, to == "disabled", call.who.account, call.req.remote);
  if (!changed.ok()) {
    return AdminAccounts(call, {{"accounts", changed.message()}}, "",
                         http::FromStatus(changed).status);
  }
  return Redirect("/admin/accounts" +
                  QueryString({{to == "disabled" ? "disabled" : "enabled", email}}));
}

Response Workspace::Impl::Audit(const Call& call) {
  Data data;
  Data rows = List();
  if (auto entries = accounts->AuditList(500); entries.ok()) {
    for (const storage::AuditRecord& a : *entries) {
      Data d;
      d.set("at", SpokenTime(a.at));
      SetIf(d, "account", a.account);
      d.set("what", Spoken(a.what));
      SetIf(d, "address", a.address);
      SetIf(d, "detail", a.detail);
      rows.push_back(d);
    }
  }
  data.set("rows", rows);
  return Page(call, 200, "audit", data, "Sign-in and account audit list", "admin");
}

}  // namespace rectrack::web
