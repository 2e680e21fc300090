#include <algorithm>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "web/embedded.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

namespace {

// The success banner after an import, a definition or a revocation, made from the redirect's
// codes (counts and ids) rather than carried as text, so that a link cannot make the page say
// a sentence of the linker's choosing. "" when the query says none.
std::string DoneSaid(const Call& call) {
  const auto imported = ParseDigits(call.Query("imported"), 12);
  const auto unchanged = ParseDigits(call.Query("unchanged"), 12);
  if (imported && unchanged) {
    return "Imported: " + std::to_string(*imported) + " events written, " +
           std::to_string(*unchanged) + " already recorded";
  }
  const std::string defined = call.Query("defined"), id = call.Query("id");
  if ((defined == "body" || defined == "unit") && IsValidId(id)) {
    return "Defined " + defined + " " + id;
  }
  if (const std::string revoked = call.Query("revoked"); IsValidId(revoked)) {
    return "Token " + revoked + " revoked";
  }
  return "";
}

}  // namespace

Response Workspace::Impl::Admin(const Call& call, std::vector<FieldError> errors,
                                const std::string& done, const std::string& secret, int status) {
  Data data;
  data.set("csrf", call.session->csrf);
  SetIf(data, "done", done.empty() ? DoneSaid(call) : done);
  SetIf(data, "secret", secret);
  if (!errors.empty()) SetIf(data, "import_text", call.Form("text"));
  SetErrors(data, errors);
  // The token form keeps its choices when it is refused, and says the error at its input.
  const bool token_refused = !errors.empty() && errors.front().field.rfind("token-", 0) == 0;
  Data roles = List();
  for (const RoleSpec& r : workflow->roles()) {
    Data d;
    d.set("name", r.name);
    d.set("label", Capitalised(Spoken(r.name)));
    d.set("selected", Bool(token_refused && r.name == call.Form("role")));
    roles.push_back(d);
  }
  data.set("roles", roles);
  if (token_refused) SetIf(data, "token_label", call.Form("label"));
  // The define forms: the one posted keeps what was typed and chosen when it is refused, and
  // each error is said at its input, as well as in the summary (GOV.UK's error pattern).
  const std::string posted = errors.empty() ? "" : call.Form("what");
  auto kept = [&](const std::string& what, const std::string& name) {
    return posted == what ? call.Form(name) : std::string();
  };
  auto input = [&](const std::string& what, const std::string& name, const std::string& label,
                   const std::string& hint, const std::string& width, bool textarea = false) {
    const std::string id = what + "-" + name;
    std::string error;
    for (const FieldError& e : errors) {
      if (e.field == id && error.empty()) error = e.message;
    }
    Data d;
    d.set("id", id);
    d.set("name", name);
    d.set("label", label);
    SetIf(d, "hint", hint);
    SetIf(d, "width", width);
    d.set("textarea", Bool(textarea));
    d.set("value", kept(what, name));
    SetIf(d, "error", error);
    std::string described = hint.empty() ? "" : id + "-hint";
    if (!error.empty()) described += (described.empty() ? "" : " ") + id + "-error";
    SetIf(d, "described_by", described);
    data.set("f_" + what + "_" + name, d);
  };
  input("inspection", "id", "Id", "Short, for example da25", "govuk-input--width-10");
  input("inspection", "title", "Title", "", "");
  input("inspection", "short_title", "Short title (optional)", "", "");
  input("inspection", "published", "Published", "For example, 6/3/2025", "govuk-input--width-10");
  input("recommendation", "id", "Id", "For example, da25-n3", "govuk-input--width-10");
  input("recommendation", "owners", "Owners",
        "Body ids, separated by commas, for example CPS or NPCC, CPS", "govuk-input--width-20");
  input("recommendation", "text", "Text",
        "As the report words it. Deadlines in it (\"By March 2026, ...\") become its milestones.",
        "", /*textarea=*/true);
  input("body", "id", "Body id", "", "govuk-input--width-10");
  input("body", "name", "Name", "", "");
  input("unit", "id", "Unit id", "", "govuk-input--width-10");
  input("unit", "name", "Name", "", "");
  input("unit", "kind", "Kind (optional)", "For example, area or directorate",
        "govuk-input--width-20");
  auto choice = [](const std::string& id, const std::string& name, bool selected) {
    Data d;
    d.set("id", id);
    d.set("name", name);
    d.set("selected", Bool(selected));
    return d;
  };
  Data kinds = List();
  for (const char* kind : {"thematic", "area", "invitation", "follow_up"}) {
    kinds.push_back(choice(kind, Spoken(kind), kept("inspection", "kind") == kind));
  }
  data.set("inspection_kinds", kinds);
  Data tokens = List();
  host->Update([&](Engine& engine) {
    data.set("bodies", BodyChoices(engine, call.who, token_refused ? call.Form("body") : ""));
    data.set("unit_bodies", BodyChoices(engine, call.who, kept("unit", "body")));
    Data follow_ups = List(), inspections = List();
    for (const Inspection& i : engine.Inspections()) {
      const std::string name = i.id + ": " + (i.short_title.empty() ? i.title : i.short_title);
      follow_ups.push_back(choice(i.id, name, kept("inspection", "follow_up_of") == i.id));
      inspections.push_back(choice(i.id, name, kept("recommendation", "inspection") == i.id));
    }
    data.set("follow_up_choices", follow_ups);
    data.set("inspection_choices", inspections);
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
  std::string input = "import-file";  // where an error in it is said
  if (text.empty()) {
    text = call.Form("text");
    source = "the pasted text";
    input = "import-text";
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
    return Admin(call, {{input, ImportErrorText(commands.status().message(), source)}}, "", "",
                 400);
  }
  auto written = host->Apply(WriteBatch{std::move(*commands), ActorOf(call.who)});
  if (!written.ok()) {
    return Admin(call, {{input, ImportErrorText(written.status().message(), source)}}, "", "",
                 http::FromStatus(written.status()).status);
  }
  return Redirect("/admin" + QueryString({{"imported", std::to_string(written->appended)},
                                          {"unchanged", std::to_string(written->unchanged)}}));
}

Response Workspace::Impl::Define(const Call& call) {
  const std::string what = call.Form("what");
  const std::string id = call.Form("id");
  // Every input a person must fill is checked at once, so that one post says every error.
  std::vector<FieldError> errors;
  auto need = [&](const std::string& name, const std::string& message) {
    if (IsBlank(call.Form(name))) errors.push_back({what + "-" + name, message});
  };
  Command command;
  if (what == "inspection") {
    need("id", "Enter an id for the inspection");
    need("title", "Enter the inspection's title");
    const std::optional<Date> published = DateAsTyped(call.Form("published"));
    if (IsBlank(call.Form("published"))) {
      errors.push_back({"inspection-published", "Enter the date the report was published"});
    } else if (!published) {
      errors.push_back({"inspection-published",
                        TypedDateError(call.Form("published"), "Published", "6/3/2025")});
    }
    if (errors.empty()) {
      command =
          DefineInspection{Inspection{id, call.Form("title"), call.Form("short_title"), *published,
                                      call.Form("kind"), call.Form("follow_up_of")},
                           ""};
    }
  } else if (what == "recommendation") {
    need("id", "Enter an id for the recommendation");
    DefineRecommendation c;
    c.id = id;
    c.def.inspection = call.Form("inspection");
    c.def.text = call.Form("text");
    c.def.owners = SplitList(call.Form("owners"));
    if (c.def.owners.empty()) {
      errors.push_back({"recommendation-owners", "Name at least one owning body"});
    }
    need("text", "Enter the recommendation's text, as the report words it");
    command = std::move(c);
  } else if (what == "body") {
    need("id", "Enter an id for the body");
    need("name", "Enter the body's name");
    command = DefineBody{Body{id, call.Form("name"), ""}, ""};
  } else if (what == "unit") {
    need("id", "Enter an id for the unit");
    need("name", "Enter the unit's name");
    command = DefineUnit{Unit{id, call.Form("body"), call.Form("name"), call.Form("kind")}, ""};
  } else {
    return NotFound(call);
  }
  if (!errors.empty()) return Admin(call, errors, "", "", 400);
  auto written = host->Apply(WriteBatch{{std::move(command)}, ActorOf(call.who)});
  if (!written.ok()) {
    // The engine's refusal: at the input it names, else at the id (what is defined).
    const std::string& field = written.status().field();
    return Admin(call, {{what + "-" + (field.empty() ? "id" : field), written.status().message()}},
                 "", "", http::FromStatus(written.status()).status);
  }
  if (what == "recommendation") return Redirect("/recommendations/" + id + "?recorded=issue");
  if (what == "inspection") return Redirect("/inspections/" + id);
  return Redirect("/admin" + QueryString({{"defined", what}, {"id", id}}));
}

Response Workspace::Impl::CreateToken(const Call& call) {
  Result<std::pair<storage::TokenRecord, std::string>> made = Status::IOError("not run");
  const Status updated = host->Update([&](Engine& engine) {
    made = engine.CreateToken(
        call.Form("role"), call.Form("body"), std::nullopt,
        call.Form("label").empty() ? "by " + call.who.account : call.Form("label"));
  });
  if (!updated.ok()) return Failure(call, updated);
  if (!made.ok()) {
    // The scope's refusals, as the accounts page says them; anything else is the server's.
    if (made.status().field().empty()) return Failure(call, made.status());
    return Admin(call, {ScopeError(made.status(), call.Form("role"), call.Form("body"), "token-")},
                 "", "", 400);
  }
  (void)accounts;  // the audit list is for accounts; a token's creation is in its own record
  // Shown once, on this answer only (no redirect: the secret must not sit in a URL).
  return Admin(call, {}, "Token " + made->first.id + " created for " + made->first.role,
               made->second, 201);
}

Response Workspace::Impl::RevokeToken(const Call& call) {
  Status revoked;
  host->Update([&](Engine& engine) { revoked = engine.RevokeToken(call.Form("id")); });
  if (!revoked.ok()) return Admin(call, {{"tokens", revoked.message()}}, "", "", 404);
  return Redirect("/admin" + QueryString({{"revoked", call.Form("id")}}));
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
  if (ends(".ico")) return "image/x-icon";
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
