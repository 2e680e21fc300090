#include <algorithm>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "web/embedded.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

Response Workspace::Impl::Admin(const Call& call, std::vector<FieldError> errors,
                                const std::string& done, const std::string& secret, int status) {
  Data data;
  data.set("csrf", call.session->csrf);
  SetIf(data, "done", done.empty() ? call.Query("done") : done);
  SetIf(data, "secret", secret);
  if (!errors.empty()) SetIf(data, "import_text", call.Form("text"));
  SetErrors(data, errors);
  Data roles = List();
  for (const RoleSpec& r : workflow->roles()) {
    Data d;
    d.set("name", r.name);
    d.set("label", Spoken(r.name));
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
      d.set("role", Spoken(t.role));
      SetIf(d, "body", t.body);
      SetIf(d, "unit", t.unit);
      SetIf(d, "label", t.label);
      SetIf(d, "expires", LongDate(t.expires));
      SetIf(d, "revoked", SpokenTime(t.revoked));
      d.set("csrf", call.session->csrf);
      tokens.push_back(d);
    }
  });
  data.set("tokens", tokens);
  return Page(call, status, "admin", data, "Administration", "admin", !errors.empty());
}

Response Workspace::Impl::Import(const Call& call) {
  const std::vector<EvidenceFile> chosen = call.Files("file");
  std::string text = chosen.empty() ? "" : chosen.front().content;
  std::string source = "the uploaded file";
  if (text.empty()) {
    text = call.Form("text");
    source = "the pasted text";
  }
  if (text.empty())
    return Admin(call, {{"import-file", "Choose a file to import, or paste its text"}}, "", "",
                 400);
  const EngineHost::ImportTurn turn = host->TakeImportTurn();
  if (!turn) {
    return Admin(call,
                 {{"import-file", "Another import is being read; send this one again shortly"}}, "",
                 "", 503);
  }
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
    auto published = DateAsTyped(call.Form("published"));
    if (!published) {
      return Admin(
          call, {{"inspection-published", "Published must be a real date, for example 6/3/2025"}},
          "", "", 400);
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

namespace {

std::string AssetType(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".woff")) return "font/woff";
  return "application/octet-stream";
}

}  // namespace

Response Workspace::Impl::Asset(const std::string& path) const {
  const std::string name = path.substr(1);  // "assets/rectrack.css"
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (name != file.name) continue;
    Response r;
    r.content_type = AssetType(name);
    r.body.assign(reinterpret_cast<const char*>(file.data), file.size);
    // GDS Transport's file names carry their version; the rest change with rectrack.
    const bool font = name.rfind("assets/fonts/", 0) == 0;
    r.headers.emplace_back("Cache-Control",
                           font ? "public, max-age=31536000, immutable" : "public, max-age=3600");
    SecurityHeaders(&r);
    return r;
  }
  Response r = Html(404, "not found");
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

}  // namespace rectrack::web
