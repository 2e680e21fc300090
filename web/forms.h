// Forms: the web workspace's "record something" forms, generated from the workflow YAML. Each
// transition a person may fire becomes a form with the transition's required and optional
// fields (text, a list of texts, a date, a choice of values, a milestone, an inspection, a
// body), then its effective date and a note: a transition added to workflows/*.yaml appears in
// the web without a change to the C++. ParseEventForm reads a posted form back into the event
// the JSON API would record from the same values; the engine checks it the same way.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/commands.h"
#include "engine/model.h"

namespace rectrack {
class Workflow;
}

namespace rectrack::web {

struct FormField {
  std::string name;  // the posted name: a workflow field, "effective" or "note"
  std::string label;
  std::string hint;
  enum class Kind { kText, kTextArea, kDate, kChoice } kind = Kind::kText;
  bool required = false;
  bool list = false;  // a list field: one value per line of a text area
  std::vector<std::pair<std::string, std::string>> options;  // kChoice: (value, label)
};

struct Form {
  std::string transition;
  std::string label;   // "Close", "Assess" ...
  std::string button;  // the submit button's text
  // What the workflow's guards hold this transition to, in words ("" for none): said before a
  // person fills the form, not only when it is refused.
  std::vector<std::string> conditions;
  std::vector<FormField> fields;
  // The workflow says this transition takes evidence: the form also takes files (sent as
  // multipart/form-data, read by Call::Files("evidence_files")).
  bool takes_files = false;
  // It ends the item's life (Workflow::EndsLife): a warning button, and a question before it
  // is recorded.
  bool ends_life = false;
};

// A posted value that could not be read, named by its field.
struct FieldError {
  std::string field;
  std::string message;
};

// A workflow field's label as the forms show it: its `label`, else its name as people write it
// ("superseded_by" is "Superseded by").
std::string FieldLabel(const FieldSpec* spec, const std::string& name);
// A field's values as the pages show them, joined by ", ": an enum's as people write them
// ("not achieved"), a date's as GOV.UK writes it ("31 March 2026"), others as they are.
std::string FieldValueText(const FieldSpec* spec, const std::vector<std::string>& values);

// A write the engine refused, said for the page that posted it. The engine names the event it
// refused ("sw22-i2: 'close' effective 2025-12-01: ...") and writes states, roles, transitions
// and fields by their names in the workflows, dates in ISO, as an import file's author reads
// them; the page's reader knows which event it was, and reads "(in progress)", "a body lead",
// "Override", "6 March 2025". `workflows` are the ones whose names the message may use.
std::string RefusalText(const Status& why, const std::string& id, const std::string& transition,
                        const std::vector<const Workflow*>& workflows);

// The forms of `offered` (transition names of `workflow`, in that order) for `item`.
// `inspections` and `bodies` are the choices of inspection and body fields. `judged`, the
// effective date of the inspectorate's latest judgement of the item (none: never judged),
// is said on the forms that may not be dated before it.
std::vector<Form> BuildForms(const Workflow& workflow, const std::vector<std::string>& offered,
                             const RecommendationHead& item,
                             const std::vector<Inspection>& inspections,
                             const std::vector<Body>& bodies,
                             std::optional<Date> judged = std::nullopt);

// Reads the posted form (`posted`: name -> value) of transition posted["do"] into `event`
// (transition, effective date, note, fields; not who acts). Returns the fields that could not
// be read; empty when every input could be read (NothingToRecord then says whether the event
// says anything).
std::vector<FieldError> ParseEventForm(const Workflow& workflow,
                                       const std::map<std::string, std::string>& posted,
                                       RecordEvent* event);

// A transition that keeps the state records nothing without a note, a field or a file
// (`event->files`, the files posted with it): then the error at the note, naming the inputs
// `item`'s form offers ("Enter a note or select the milestone met"); else nullopt.
std::optional<FieldError> NothingToRecord(const Workflow& workflow, const RecordEvent& event,
                                          const RecommendationHead& item);

}  // namespace rectrack::web
