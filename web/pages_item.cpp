#include "common/strings.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/render.h"
#include "web/workspace_impl.h"

namespace rectrack::web {

namespace {

// The form field a refused write's error belongs to: the input the engine says it is about
// (Status::field), when the form has it, so that the error summary leads to where the answer
// goes; else the form as a whole ("do").
std::string RefusedField(const Workflow& wf, const std::string& transition, const Status& why) {
  const Transition* t = wf.FindTransition(transition);
  const std::string& field = why.field();
  if (t && (field == "effective" || field == "note" || t->Takes(field))) return field;
  return "do";
}

}  // namespace

// --- A recommendation's or an action's page, and its forms

Response Workspace::Impl::Item(const Call& call, const std::string& id, SubjectKind kind,
                               const std::vector<FieldError>& errors, const std::string& failed,
                               const Params& posted, int status) {
  const bool action = kind == SubjectKind::kAction;
  const TypedDateField as_at_typed(call.Query("as_at"));
  const std::optional<Date> as_of = as_at_typed.date;
  const bool bad_date = as_at_typed.bad();
  Data data;
  bool found = false;
  int64_t generation = 0;
  std::map<std::string, std::string> anchors;  // "transition|field" -> the input to link to
  Status unreadable;  // an item that may be seen but whose history cannot be read back
  host->Read([&](const Engine& engine) {
    generation = engine.last_seq();
    auto view = ShowVisible(engine, call.who, id, kind, as_of);
    if (!view.ok()) {
      if (view.status().code() != Code::kNotFound) unreadable = view.status();
      return;
    }
    found = true;
    const RecommendationView& v = *view;
    const Workflow* wf = action ? action_workflow : workflow;
    const std::string self = std::string(action ? "/actions/" : "/recommendations/") + v.id;
    data.set("self", self);
    data.set("kind_label", action ? "Action" : "Recommendation");
    data.set("id", v.id);
    data.set("text", v.def.text);
    data.set("as_at", as_at_typed.shown);
    data.set("as_at_shown", v.as_of.LongString());
    SetIf(data, "as_at_error", as_at_typed.error);
    data.set("state", Spoken(v.state));
    data.set("state_class", StateClass(wf, v.state));
    data.set("overdue", Bool(v.overdue));
    data.set("owner_label", action ? "Owning body" : "Owners");
    data.set("owners", OwnersText(v.def.owners));
    data.set("issued", v.issued.LongString());
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
      data.set(std::string("has_") + name, Bool(!ids.empty()));
    };
    links("supersedes", v.supersedes);
    links("superseded_by", v.superseded_by);
    Data milestones = List();
    for (const MilestoneView& m : v.milestones) {
      Data d;
      d.set("label", m.label);
      d.set("due", m.due.LongString());
      d.set("original_due", m.original_due.LongString());
      // Each of the three set, true or false: a key a row lacks is looked up in the page's data
      // (mustache's context stack), whose "overdue" is the recommendation's.
      d.set("met", Bool(m.met));
      if (m.met) d.set("met_on", m.met_on ? m.met_on->LongString() : "");
      d.set("overdue", Bool(!m.met && m.overdue));
      d.set("pending", Bool(!m.met && !m.overdue));
      milestones.push_back(d);
    }
    data.set("milestones", milestones);
    data.set("has_milestones", Bool(!v.milestones.empty()));
    if (!action) {
      auto listed = VisibleActions(engine, call.who, v.id, v.as_of);
      if (!listed.ok()) {
        unreadable = listed.status();
        return;
      }
      const std::vector<RecommendationView>& actions = *listed;
      Data rows = List();
      int closed = 0;
      for (const RecommendationView& a : actions) {
        Data row = ItemRow(a);
        if (auto unit = engine.FindUnit(a.action->unit)) row.set("unit", unit->name);
        if (!a.open) ++closed;
        rows.push_back(row);
      }
      data.set("actions", rows);
      data.set("actions_count", std::to_string(actions.size()));
      data.set("actions_closed", std::to_string(closed));
      data.set("has_actions", Bool(!actions.empty()));
      data.set("unit_only", Bool(!call.who.unit.empty()));
    }
    Data timeline = List();
    for (auto it = v.timeline.rbegin(); it != v.timeline.rend(); ++it) {
      const TimelineEntry& e = *it;
      Data d;
      d.set("transition", Capitalised(Spoken(e.transition)));
      d.set("effective", e.effective.LongString());
      d.set("effective_iso", e.effective.ToString());
      d.set("recorded", SpokenTime(e.recorded));
      d.set("recorded_iso", e.recorded);
      d.set("actor", SpokenActor(e.actor));
      d.set("role", Spoken(e.role));
      SetIf(d, "body", e.body);
      SetIf(d, "unit", e.unit);
      d.set("voice", e.voice);
      SetIf(d, "note", e.note);
      const bool moved = e.from_state != e.to_state;
      SetIf(d, "from", !moved ? "" : e.from_state.empty() ? "new" : Spoken(e.from_state));
      SetIf(d, "to", moved ? Spoken(e.to_state) : "");
      Data fields = List();
      for (const auto& [name, values] : e.fields) {
        Data f;
        const FieldSpec* spec = wf ? wf->FindField(name) : nullptr;
        f.set("name", FieldLabel(spec, name));
        f.set("value", FieldValueText(spec, values));
        fields.push_back(f);
      }
      d.set("has_fields", Bool(!e.fields.empty()));
      Data files = List();
      for (const Attachment& a : e.attachments) {
        Data file;
        file.set("name", a.name);
        file.set("href", "/evidence/" + a.sha256);
        file.set("size", FileSize(a.size));
        files.push_back(file);
      }
      d.set("files", files);
      d.set("has_files", Bool(!e.attachments.empty()));
      d.set("has_description",
            Bool(!e.fields.empty() || !e.note.empty() || !e.attachments.empty()));
      d.set("fields", fields);
      timeline.push_back(d);
    }
    data.set("timeline", timeline);
    // Forms only on today's view: what may be recorded depends on the state now.
    if (!call.signed_in || as_of || !wf) return;
    auto today = ShowVisible(engine, call.who, id, kind, std::nullopt, Detail::kHead);
    if (!today.ok()) {
      unreadable = today.status();
      return;
    }
    // The inspectorate's latest judgement (its voice, after the issue): forms that may not be
    // dated before it say when it was.
    std::optional<Date> judged;
    for (size_t i = 1; i < v.timeline.size(); ++i) {
      if (v.timeline[i].voice == "inspectorate") {
        judged = std::max(judged.value_or(v.timeline[i].effective), v.timeline[i].effective);
      }
    }
    const std::vector<Form> forms =
        BuildForms(*wf, OfferedTransitions(*wf, call.who, *today), *today, engine.Inspections(),
                   engine.Bodies(), judged);
    Data form_list = List();
    for (const Form& form : forms) {
      Data f;
      f.set("name", form.transition);
      f.set("label", form.label);
      f.set("button", form.button);
      Data conditions = List();
      for (const std::string& condition : form.conditions) conditions.push_back(Data(condition));
      f.set("conditions", conditions);
      f.set("has_conditions", Bool(!form.conditions.empty()));
      f.set("self", self + "?version=" + std::to_string(today->version));
      f.set("csrf", call.session->csrf);
      f.set("open", Bool(form.transition == failed));
      f.set("takes_files", Bool(form.takes_files));
      f.set("ends_life", Bool(form.ends_life));
      Data fields = List();
      for (const FormField& field : form.fields) {
        Data d;
        const std::string element_id = form.transition + "-" + field.name;
        d.set("id", element_id);
        d.set("name", field.name);
        d.set("label", field.label);
        SetIf(d, "hint", field.hint);
        d.set("required", Bool(field.required));
        auto echoed = [&](const std::string& name) {  // what was posted, when re-shown
          return form.transition == failed && posted.count(name) ? posted.at(name) : "";
        };
        const std::string value = echoed(field.name);
        d.set("value", value);
        anchors[form.transition + "|" + field.name] = element_id;
        d.set("textarea", Bool(field.kind == FormField::Kind::kTextArea));
        d.set("date", Bool(false));
        d.set("radios", Bool(false));
        if (field.kind == FormField::Kind::kDate) {
          Data date;
          date.set("day", echoed(field.name + "-day"));
          date.set("month", echoed(field.name + "-month"));
          date.set("year", echoed(field.name + "-year"));
          d.set("date", date);
          anchors[form.transition + "|" + field.name] = element_id + "-day";
        }
        if (field.kind == FormField::Kind::kChoice) {
          Data radios = List();
          for (const auto& [option, label] : field.options) {
            Data o;
            o.set("id", element_id + "-" + option);
            o.set("name", field.name);
            o.set("value", option);
            o.set("label", label);
            o.set("checked", Bool(option == value));
            radios.push_back(o);
          }
          Data group;
          group.set("options", radios);
          d.set("radios", group);
          if (!field.options.empty()) {
            anchors[form.transition + "|" + field.name] = element_id + "-" + field.options[0].first;
          }
        }
        std::string error;
        for (const FieldError& e : errors) {
          if (form.transition == failed && e.field == field.name) error = e.message;
        }
        SetIf(d, "error", error);
        // What a screen reader reads with the field: its hint, then its error.
        std::string described_by = field.hint.empty() ? "" : element_id + "-hint";
        if (!error.empty())
          described_by += (described_by.empty() ? "" : " ") + element_id + "-error";
        SetIf(d, "described_by", described_by);
        fields.push_back(d);
      }
      f.set("fields", fields);
      form_list.push_back(f);
    }
    data.set("forms", form_list);
    data.set("has_forms", Bool(!forms.empty()));
  });
  if (!unreadable.ok()) return Failure(call, unreadable);
  if (!found) return NotFound(call);
  // Each error links to its field's input (a choice's first option, a date's day), else to the
  // form's note.
  std::vector<FieldError> linked;
  if (bad_date) linked.push_back({"as_at", as_at_typed.error});
  for (const FieldError& e : errors) {
    auto anchor = anchors.find(failed + "|" + e.field);
    linked.push_back({anchor != anchors.end() ? anchor->second : failed + "-note", e.message});
  }
  SetErrors(data, linked);
  // Only a transition's name: a link cannot put words of its own in the banner.
  const Workflow* item_workflow = action ? action_workflow : workflow;
  if (const std::string recorded = call.Query("recorded");
      item_workflow && item_workflow->FindTransition(recorded)) {
    data.set("recorded", recorded);
  }
  const std::string title = std::string(action ? "Action " : "Recommendation ") + id;
  return Page(call, bad_date && status == 200 ? 400 : status, "item", data, title,
              action ? "actions" : "recommendations", !linked.empty(), generation);
}

// An evidence file, to whoever may see an item whose history names it: the API's rule and the
// API's response (always a download, never rendered here).
Response Workspace::Impl::Evidence(const Call& call, const std::string& sha256) {
  std::optional<Result<EvidenceDownload>> found;
  host->Read([&](const Engine& engine) { found = EvidenceVisible(engine, call.who, sha256); });
  if (!found || !found->ok()) return NotFound(call);
  return http::EvidenceFileResponse(std::move(**found));
}

Response Workspace::Impl::Record(const Call& call, const std::string& id, SubjectKind kind) {
  const bool action = kind == SubjectKind::kAction;
  const Workflow* wf = action ? action_workflow : workflow;
  if (!wf) return NotFound(call);
  RecordEvent event;
  event.subject_id = id;
  event.kind = kind;
  const std::string failed = call.Form("do");
  event.files = call.Files("evidence_files");
  std::vector<FieldError> errors = ParseEventForm(*wf, call.form, &event);
  if (const std::string version = call.Query("version"); !version.empty()) {
    // The page's own form carries the version it showed; anything else is not that form.
    const std::optional<int64_t> number = ParseDigits(version, 18);
    if (!number) {
      return Message(call, 400, "The form could not be read",
                     "The address the form was sent to has a version that is not a number. Go "
                     "back to the page, reload it and try again.");
    }
    event.expected_version = *number;
  }
  ActAs(call.who, wf, &event);
  // The same check the API makes: what may be seen may be written to, and nothing else.
  Status visible;
  std::string ends_in;  // a final state the event would move the item to, as it stands now
  std::string text;     // the item's text, for the question about it
  host->Read([&](const Engine& engine) {
    auto head = ShowVisible(engine, call.who, id, kind, std::nullopt, Detail::kHead);
    visible = head.status();
    if (!head.ok() || !errors.empty()) return;
    if (auto nothing = NothingToRecord(*wf, event, *head)) {
      errors.push_back(std::move(*nothing));
      return;
    }
    // What the workflow would decide: a refused event is not asked about, but refused.
    auto to =
        wf->Decide(head->state, *wf->FindTransition(event.transition), event.role, event.fields);
    if (to.ok() && *to != head->state && wf->IsFinal(*to)) ends_in = *to, text = head->def.text;
  });
  if (visible.code() == Code::kNotFound) return NotFound(call);
  if (!visible.ok()) return Failure(call, visible);
  if (!errors.empty()) return Item(call, id, kind, errors, failed, call.form, 400);
  // The question cannot carry files a form posted: a transition that takes them is not asked.
  if (!ends_in.empty() && event.files.empty() && call.Form("confirmed") != "yes") {
    return ConfirmEnd(call, *wf, id, kind, event, ends_in, text);
  }
  auto written = host->Apply(WriteBatch{{std::move(event)}, ActorOf(call.who)});
  if (!written.ok()) {
    std::string message =
        RefusalText(written.status(), id, failed, {wf, action ? workflow : action_workflow});
    // The page's version, which the form carries, is no longer the item's (the engine's words
    // name the log's versions, which mean nothing to a person); other refusals in their own.
    if (written.status().code() == Code::kFailedPrecondition && !call.Query("version").empty()) {
      message =
          "It changed since you opened this page (perhaps by you, from another tab or before "
          "going back): check its history below, then try again.";
    }
    const int status = http::FromStatus(written.status()).status;
    return Item(call, id, kind, {{RefusedField(*wf, failed, written.status()), message}}, failed,
                call.form, status);
  }
  return Redirect(std::string(action ? "/actions/" : "/recommendations/") + id +
                  "?recorded=" + failed);
}

Response Workspace::Impl::ConfirmEnd(const Call& call, const Workflow& wf, const std::string& id,
                                     SubjectKind kind, const RecordEvent& event,
                                     const std::string& ends_in, const std::string& text) {
  const std::string noun = kind == SubjectKind::kAction ? "action" : "recommendation";
  const std::string self = "/" + noun + "s/" + id;
  const std::string verb = Spoken(event.transition);
  const std::string question = "Are you sure you want to " + verb + " " + noun + " " + id + "?";
  Data data;
  data.set("id", id);
  data.set("kind_label", Capitalised(noun));
  data.set("question", question);
  data.set("ends_in", Spoken(ends_in));
  data.set("text", text);
  Data recorded = List();
  auto row = [&](const std::string& label, const std::string& value) {
    Data d;
    d.set("label", label);
    d.set("value", value);
    recorded.push_back(d);
  };
  for (const auto& [name, values] : event.fields) {
    const FieldSpec* spec = wf.FindField(name);
    row(FieldLabel(spec, name), FieldValueText(spec, values));
  }
  row("Effective date", event.effective ? event.effective->LongString() : "Today");
  if (!event.note.empty()) row("Note", event.note);
  data.set("recorded", recorded);
  Data posted = List();
  for (const auto& [name, value] : call.form) {
    if (name == "csrf" || name == "confirmed") continue;
    Data d;
    d.set("name", name);
    d.set("value", value);
    posted.push_back(d);
  }
  data.set("posted", posted);
  data.set("csrf", call.session->csrf);
  const std::string version = call.Query("version");
  data.set("self", self + (version.empty() ? "" : QueryString({{"version", version}})));
  data.set("back", self);
  data.set("button", Capitalised(verb) + " " + noun);
  return Page(call, 200, "confirm", data, question, noun + "s");
}

}  // namespace rectrack::web
