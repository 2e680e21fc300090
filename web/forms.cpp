#include "web/forms.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/strings.h"
#include "engine/workflow.h"
#include "web/spoken.h"

namespace rectrack::web {
namespace {

// A workflow's name as a form's label: "not_achieved" is "Not achieved".
std::string Label(std::string name) { return Capitalised(Spoken(std::move(name))); }

// What GOV.UK's error messages say of a required field left empty: "Select the outcome" for a
// choice, "Enter the reason" for what is typed.
std::string RequiredMessage(const FieldSpec* spec, const std::string& field) {
  std::string label = spec && !spec->label.empty() ? spec->label : Spoken(field);
  if (!label.empty())
    label[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(label[0])));
  // As FieldFor shows it: one of a list of choices (a list of values is typed, one a line).
  const bool choice = spec && !spec->list &&
                      (spec->type == FieldType::kEnum || spec->type == FieldType::kMilestone ||
                       spec->type == FieldType::kInspection || spec->type == FieldType::kBody);
  return (choice ? "Select the " : "Enter the ") + label;
}

}  // namespace

std::string FieldLabel(const FieldSpec* spec, const std::string& name) {
  return spec && !spec->label.empty() ? spec->label : Label(name);
}

namespace {

// Whether `c` may be part of a name or an id (an id is letters, digits, '.', '_' and '-').
bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// Whether text[at, at + size) stands alone: no name or id goes on before or after it.
bool StandsAlone(const std::string& text, size_t at, size_t size) {
  return (at == 0 || !NameChar(text[at - 1])) &&
         (at + size == text.size() || !NameChar(text[at + size]));
}

// `text` with every `name` in it that stands alone written `said` instead, so that an id that
// contains the name ("x_in_progress") is left as it is.
void ReplaceAll(std::string& text, const std::string& name, const std::string& said) {
  if (name.empty() || name == said) return;
  for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at)) {
    if (!StandsAlone(text, at, name.size())) {
      ++at;
      continue;
    }
    text.replace(at, name.size(), said);
    at += said.size();
  }
}

// `text` with each ISO date in it that stands alone (2025-03-06; not one inside an id such as
// "r-2025-03-06-a1") as GOV.UK writes dates (6 March 2025).
std::string DatesSpoken(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (i + 10 <= text.size() && StandsAlone(text, i, 10) && Date::Parse(text.substr(i, 10))) {
      out += LongDate(text.substr(i, 10));
      i += 10;
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

std::string RefusalText(const Status& why, const std::string& id, const std::string& transition,
                        const std::vector<const Workflow*>& workflows) {
  std::string text = why.message();
  auto strip = [&](const std::string& prefix) {
    if (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
  };
  strip(id + ": ");
  // "'close' effective 2025-12-01: 3 actions are..." or "... 2023-01-01 comes before ...".
  const std::string event = "'" + transition + "' effective ";
  if (text.rfind(event, 0) == 0 && text.size() > event.size() + 10 &&
      Date::Parse(text.substr(event.size(), 10))) {
    const std::string rest = text.substr(event.size() + 10);
    if (rest.rfind(": ", 0) == 0) text = rest.substr(2);
    if (rest[0] == ' ') text = "the effective date" + rest;
  }
  if (!why.field().empty()) strip("field '" + why.field() + "': ");
  for (const Workflow* wf : workflows) {
    if (!wf) continue;
    // A field named as a field ("give 'override'", "needs field 'in'") by its label; a value
    // quoted ("no milestone 'due'") stays as it was given.
    for (const Transition& t : wf->transitions()) {
      for (const auto* names : {&t.required, &t.optional}) {
        for (const std::string& name : *names) {
          const std::string label = FieldLabel(wf->FindField(name), name);
          ReplaceAll(text, "give '" + name + "'", "give " + label);
          ReplaceAll(text, "field '" + name + "'", label);
        }
      }
      ReplaceAll(text, "'" + t.name + "'", Spoken(t.name));
    }
    for (const StateSpec& state : wf->states()) {
      ReplaceAll(text, "'" + state.name + "'", Spoken(state.name));
      ReplaceAll(text, state.name, Spoken(state.name));
    }
    for (const RoleSpec& role : wf->roles()) ReplaceAll(text, role.name, Spoken(role.name));
  }
  return Capitalised(DatesSpoken(text));
}

std::string FieldValueText(const FieldSpec* spec, const std::vector<std::string>& values) {
  std::vector<std::string> shown = values;
  for (std::string& value : shown) {
    if (spec && spec->type == FieldType::kEnum) value = Spoken(value);
    if (spec && spec->type == FieldType::kDate) value = LongDate(value);
  }
  return Join(shown, ", ");
}

namespace {

// Whether an item's form has an input for `spec`: a milestone is named only where there are
// milestones to name.
bool Offered(const FieldSpec* spec, const RecommendationHead& item) {
  return spec && !(spec->type == FieldType::kMilestone && item.milestones.empty());
}

FormField FieldFor(const FieldSpec& spec, bool required, const RecommendationHead& item,
                   const std::vector<Inspection>& inspections, const std::vector<Body>& bodies) {
  FormField f;
  f.name = spec.name;
  f.label = FieldLabel(&spec, spec.name);
  f.hint = Capitalised(spec.description);
  f.required = required;
  f.list = spec.list;
  switch (spec.type) {
    case FieldType::kText:
      f.kind = FormField::Kind::kTextArea;
      if (spec.list) f.hint += std::string(f.hint.empty() ? "" : ". ") + "One per line";
      break;
    case FieldType::kDate:
      f.kind = FormField::Kind::kDate;
      f.hint += std::string(f.hint.empty() ? "" : ". ") + "For example, 31 3 2026";
      break;
    case FieldType::kEnum:
      f.kind = FormField::Kind::kChoice;
      for (const std::string& v : spec.values) f.options.emplace_back(v, Label(v));
      break;
    case FieldType::kMilestone:
      f.kind = FormField::Kind::kChoice;
      for (const MilestoneView& m : item.milestones) {
        // "Due 31 July 2023" for a recommendation's one milestone (labelled "due"), else
        // "Embedded, due 31 March 2024".
        f.options.emplace_back(m.label, m.label == "due" ? "Due " + m.due.LongString()
                                                         : Capitalised(Spoken(m.label)) + ", due " +
                                                               m.due.LongString());
      }
      break;
    case FieldType::kInspection:
      f.kind = FormField::Kind::kChoice;
      for (const Inspection& i : inspections) {
        f.options.emplace_back(i.id,
                               i.id + ": " + (i.short_title.empty() ? i.title : i.short_title));
      }
      break;
    case FieldType::kBody:
      f.kind = FormField::Kind::kChoice;
      for (const Body& b : bodies) f.options.emplace_back(b.id, b.name);
      break;
    case FieldType::kRecommendation:
      f.kind = spec.list ? FormField::Kind::kTextArea : FormField::Kind::kText;
      f.hint += std::string(f.hint.empty() ? "" : ". ") +
                (spec.list ? "Recommendation ids, one per line" : "A recommendation id");
      break;
  }
  if (spec.list && f.kind == FormField::Kind::kChoice) {
    // A list of choices is typed as values, one per line.
    f.kind = FormField::Kind::kTextArea;
    f.options.clear();
  }
  return f;
}

}  // namespace

std::vector<Form> BuildForms(const Workflow& workflow, const std::vector<std::string>& offered,
                             const RecommendationHead& item,
                             const std::vector<Inspection>& inspections,
                             const std::vector<Body>& bodies, std::optional<Date> judged) {
  std::vector<Form> forms;
  for (const std::string& name : offered) {
    const Transition* t = workflow.FindTransition(name);
    if (!t || t->creates) continue;
    // A milestone to name, and none to name: the form could only be refused.
    const bool no_milestones = item.milestones.empty();
    const bool needs_milestone =
        std::any_of(t->required.begin(), t->required.end(), [&](const std::string& field) {
          const FieldSpec* spec = workflow.FindField(field);
          return spec && spec->type == FieldType::kMilestone;
        });
    if (needs_milestone && no_milestones) continue;
    Form form;
    form.transition = name;
    form.label = Label(name);
    form.button = Label(name);
    form.takes_files = t->Takes("evidence");
    form.ends_life = workflow.EndsLife(*t);
    if (form.ends_life) {
      form.conditions.push_back("You cannot undo this: once " + Spoken(*t->cases.front().to) +
                                ", nothing more can be recorded on it.");
    }
    if (t->guard.actions_closed) {
      form.conditions.push_back(
          "Every action must be closed first" +
          (t->guard.unless.empty()
               ? std::string(".")
               : ", unless " + FieldLabel(workflow.FindField(t->guard.unless), t->guard.unless) +
                     " says why it closes anyway."));
    }
    if (t->guard.not_before_judgement && judged) {
      form.conditions.push_back("A body may not date it before " + judged->LongString() +
                                ", the inspectorate's latest judgement of this item.");
    }
    for (const auto* names : {&t->required, &t->optional}) {
      for (const std::string& field : *names) {
        const FieldSpec* spec = workflow.FindField(field);
        if (!Offered(spec, item)) continue;
        form.fields.push_back(FieldFor(*spec, names == &t->required, item, inspections, bodies));
      }
    }
    FormField effective;
    effective.name = "effective";
    effective.label = "Effective date";
    effective.hint = "When it happened, for example 31 3 2025. Leave empty for today";
    effective.kind = FormField::Kind::kDate;
    form.fields.push_back(effective);
    FormField note;
    note.name = "note";
    note.label = "Note";
    note.kind = FormField::Kind::kTextArea;
    form.fields.push_back(note);
    forms.push_back(std::move(form));
  }
  return forms;
}

namespace {

// A GOV.UK date input's three fields, <name>-day, -month and -year: nullopt when all are empty,
// else the date or an error naming the field by `label`.
std::optional<Date> ReadDate(const std::map<std::string, std::string>& posted,
                             const std::string& name, const std::string& label,
                             std::vector<FieldError>* errors) {
  auto part = [&](const char* suffix) {
    auto it = posted.find(name + suffix);
    std::string text = it == posted.end() ? "" : it->second;
    while (!text.empty() && text.front() == ' ') text.erase(0, 1);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
  };
  const std::string day = part("-day"), month = part("-month"), year = part("-year");
  if (day.empty() && month.empty() && year.empty()) return std::nullopt;
  auto digits = [](const std::string& t, size_t min, size_t max) {
    return t.size() >= min && t.size() <= max &&
           t.find_first_not_of("0123456789") == std::string::npos;
  };
  // As GOV.UK's date input says it: which parts are missing, a year of other than 4 numbers,
  // else not a real date.
  std::vector<std::string> missing;
  if (day.empty()) missing.push_back("a day");
  if (month.empty()) missing.push_back("a month");
  if (year.empty()) missing.push_back("a year");
  if (!missing.empty()) {
    std::string said = missing[0];
    if (missing.size() == 2) said += " and " + missing[1];
    errors->push_back({name, label + " must include " + said});
    return std::nullopt;
  }
  if (digits(year, 1, 3)) {
    errors->push_back({name, "Year must include 4 numbers"});
    return std::nullopt;
  }
  if (!digits(day, 1, 2) || !digits(month, 1, 2) || !digits(year, 4, 4)) {
    errors->push_back({name, label + " must be a real date"});
    return std::nullopt;
  }
  auto pad = [](const std::string& t) { return t.size() == 1 ? "0" + t : t; };
  auto date = Date::Parse(year + "-" + pad(month) + "-" + pad(day));
  if (!date) errors->push_back({name, label + " must be a real date"});
  return date;
}

}  // namespace

std::vector<FieldError> ParseEventForm(const Workflow& workflow,
                                       const std::map<std::string, std::string>& posted,
                                       RecordEvent* event) {
  std::vector<FieldError> errors;
  auto value = [&](const std::string& name) {
    auto it = posted.find(name);
    return it == posted.end() ? std::string() : it->second;
  };
  const Transition* t = workflow.FindTransition(value("do"));
  if (!t || t->creates) return {{"do", "choose something to record"}};
  event->transition = t->name;
  event->note = value("note");
  event->effective = ReadDate(posted, "effective", "Effective date", &errors);
  for (const auto* names : {&t->required, &t->optional}) {
    for (const std::string& field : *names) {
      const FieldSpec* spec = workflow.FindField(field);
      std::string text = value(field);
      std::vector<std::string> values;
      if (spec && spec->type == FieldType::kDate && !spec->list) {
        const size_t before = errors.size();
        if (auto date = ReadDate(posted, field, FieldLabel(spec, field), &errors)) {
          values.push_back(date->ToString());
        } else if (errors.size() > before) {
          continue;  // said why already
        }
      } else if (spec && spec->list) {
        size_t start = 0;
        while (start <= text.size()) {
          size_t end = text.find('\n', start);
          if (end == std::string::npos) end = text.size();
          std::string line = text.substr(start, end - start);
          while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
          while (!line.empty() && line.front() == ' ') line.erase(0, 1);
          if (!line.empty()) values.push_back(line);
          start = end + 1;
        }
      } else if (!text.empty()) {
        values.push_back(text);
      }
      if (values.empty()) {
        if (names == &t->required) {
          errors.push_back({field, RequiredMessage(spec, field)});
        }
        continue;
      }
      event->fields[field] = std::move(values);
    }
  }
  return errors;
}

std::optional<FieldError> NothingToRecord(const Workflow& workflow, const RecordEvent& event,
                                          const RecommendationHead& item) {
  const Transition* t = workflow.FindTransition(event.transition);
  if (!t || !t->MaySayNothing() || !IsBlank(event.note) || !event.fields.empty() ||
      !event.files.empty()) {
    return std::nullopt;
  }
  // The engine refuses it too (command_builder.cpp); here it is said at the note, in the form's
  // words, naming only the inputs the form offers.
  std::string message = "Enter a note";
  for (const std::string& field : t->optional) {
    const FieldSpec* spec = workflow.FindField(field);
    if (!Offered(spec, item)) continue;
    std::string other = RequiredMessage(spec, field);
    other[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(other[0])));
    message += " or " + other;
  }
  return FieldError{"note", message};
}

}  // namespace rectrack::web
