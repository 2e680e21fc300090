// libFuzzer target: the report reader (draft/) on any text, as a converter could print it. The
// paragraphs, the draft and its import file must come out without a crash, a hang or an
// out-of-bounds read; and the import file, once reviewed, must hold exactly the texts the draft
// shows: no report text can smuggle YAML of its own into the file a person imports.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "common/text.h"
#include "draft/draft.h"
#include "engine/importer.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rectrack::Workflow& workflow = rectrack::fuzz::BundledWorkflow();
  // Valid UTF-8, as ReadReport hands every converter's output on.
  const std::string text =
      rectrack::SanitizeUtf8(std::string_view(reinterpret_cast<const char*>(data), size));
  const bool paged = text.find('\f') != std::string::npos;
  const rectrack::ReportText report = rectrack::ParagraphsOf(
      text, paged ? rectrack::ReportFormat::kPdf : rectrack::ReportFormat::kText);
  rectrack::DraftRequest request;
  request.bodies = {{"CPS", "Crown Prosecution Service", ""}, {"SFO", "Serious Fraud Office", ""}};
  request.inspection_id = "f25";
  request.published = rectrack::Date::Parse("2025-03-06");
  request.follow_up_of = "p23";
  request.parent = {{"p23-r1", "By March 2024, the CPS to introduce a system."},
                    {"p23-r2", "By July 2023, the CPS to mark communications."}};
  request.source = "fuzz.txt";
  rectrack::Draft draft = rectrack::DraftFromReport(report, request);
  draft.reviewed = true;
  const std::string yaml = rectrack::DraftAsYaml(draft, report, request);
  auto commands = rectrack::ParseImport(yaml, "draft.yaml", workflow);
  if (!commands.ok()) return 0;  // e.g. a recommendation without an owner: the reviewer's to fix
  size_t at = 0;
  for (const rectrack::Command& command : *commands) {
    const auto* rec = std::get_if<rectrack::DefineRecommendation>(&command);
    if (!rec) continue;
    while (at < draft.recommendations.size() && draft.recommendations[at].left_out) ++at;
    if (at >= draft.recommendations.size() || rec->def.text != draft.recommendations[at].text ||
        rec->id != draft.recommendations[at].id) {
      std::abort();  // the file says something the draft did not
    }
    ++at;
  }
  return 0;
}
