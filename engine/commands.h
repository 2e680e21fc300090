// Commands: what callers ask the engine to do, and what a write reports back. Every change
// (CLI, import, HTTP, web) is a list of these, applied by Engine::Apply or through EngineHost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/date.h"
#include "engine/model.h"

namespace rectrack {

// How much text one command may store, in bytes of UTF-8. The defaults are enough for any real
// recommendation (the longest in HMCPSI's reports is under 2,000 characters) and note, and small
// enough that no client can make one event, or a page that shows it, huge. More is refused,
// naming the field and the limit. `serve` reads them from its config (max_note_bytes, ...), every
// command from RECTRACK_MAX_NOTE_BYTES and the like (cli/config.h).
inline constexpr size_t kMaxNameBytes = 500;  // ids, names, labels, roles: fixed, ids are keys
// Evidence files attached to one event: how large, how many, of which media types (as their
// content shows; engine/evidence.h). `serve` reads them from max_evidence_file_bytes,
// max_evidence_bytes and evidence_types.
struct EvidenceLimits {
  // Within the server's max_body_bytes (8 MiB by default), which bounds a request as a whole.
  size_t file = 5 << 20;   // one file
  size_t event = 7 << 20;  // every file of one event together
  size_t files = 20;       // files on one event
  // Every file one account or token attaches in a day (UTC), so that no client can make the
  // server store without bound.
  size_t per_actor_per_day = 512 << 20;
  std::vector<std::string> media_types = {
      "application/pdf",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.oasis.opendocument.text",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "text/csv",
      "image/png",
      "image/jpeg",
      "text/plain"};
};

struct TextLimits {
  size_t text = 32 * 1024;        // a recommendation's text, an action's title
  size_t note = 8 * 1024;         // a note
  size_t field_value = 4 * 1024;  // each value of a workflow field (evidence, reason, ...)
  EvidenceLimits evidence = {};   // and the files attached to it
};
inline constexpr size_t kMaxFieldValues = 100;  // values of one field
inline constexpr size_t kMaxFields = 50;        // fields of one event

// Each command's `where` ("file:line:col", "" for none) is put
// in front of any error the command causes.
struct DefineBody {
  Body body;
  std::string where;
};
// Declares a unit of a body (a CPS Area, a directorate), which may then own actions.
struct DefineUnit {
  Unit unit;
  std::string where;
};
struct DefineInspection {
  Inspection inspection;
  std::string where;
};
// Creates a recommendation by firing the workflow's creating transition ("issue"). Milestones are
// read from the text unless milestones_given. `issued` defaults to the inspection's date.
struct DefineRecommendation {
  std::string id;
  RecommendationDef def;
  bool milestones_given = false;  // true: def.milestones is the whole list, even when empty
  std::optional<Date> issued;
  std::string note;
  std::string where;
};
// Creates an action under a recommendation by firing the action workflow's creating transition
// ("plan"). The body defaults to the recommendation's owner when it has only one.
struct DefineAction {
  std::string id;
  ActionDef def;
  std::optional<Date> planned;  // effective date of the plan; default today
  std::string role;  // default: the creating transition's first role not acting for a body
  std::string body;  // the body the actor acts for ("" for none)
  std::string unit;  // the unit of that body the actor acts for ("" for the whole body)
  std::string note;
  std::string where;
};
// A file attached to a RecordEvent as evidence: its name (directories are dropped), its bytes
// and their SHA-256, computed once when it is made (evidence.cpp): by the adapter that read the
// upload, outside the engine's lock, where hashing 7 MiB would hold up every writer.
struct EvidenceFile {
  EvidenceFile(std::string name, std::string content);
  std::string name;
  std::string content;  // REQUIRES: not changed once made (sha256 is of these bytes)
  std::string sha256;
};

// Fires a workflow transition on an existing recommendation or action.
struct RecordEvent {
  std::string subject_id;
  std::string transition;
  std::optional<Date> effective;  // default: today by the engine's clock
  std::string role;               // a workflow role
  std::string body;               // the body the actor acts for ("" for none)
  std::string note;
  Fields fields;
  // Imports set this: an event identical to one already recorded (same transition, effective
  // date, role, body, note, fields) is skipped, so importing a file twice changes nothing.
  bool skip_if_recorded = false;
  // When set, the recommendation must still be at this version (the seq of its newest event),
  // else FailedPrecondition: how an HTTP If-Match prevents lost updates.
  std::optional<int64_t> expected_version;
  std::string where;
  std::string unit = "";  // the unit of `body` the actor acts for ("" for all of it)
  std::optional<SubjectKind> kind = std::nullopt;  // nullopt: whichever the id names
  // Evidence files, for a transition that takes evidence (its workflow names the `evidence`
  // field among its fields). Each is checked against TextLimits::evidence and kept, with the
  // event, in the same transaction.
  std::vector<EvidenceFile> files = {};
};
using Command = std::variant<DefineBody, DefineUnit, DefineInspection, DefineRecommendation,
                             DefineAction, RecordEvent>;

// One caller's commands, applied all or nothing, as one of several in ApplyAll.
struct WriteBatch {
  std::vector<Command> commands;
  std::string actor;
};

struct ApplyReport {
  int appended = 0;           // events written
  int unchanged = 0;          // commands that asked for nothing new (already defined / recorded)
  std::vector<int64_t> seqs;  // seqs of the appended events
};

}  // namespace rectrack
