// Queries and reports: what callers ask the engine to read (lists of recommendations and actions
// as at a date) and the reports it builds from the log (Annex A, progress, the feed of events,
// the hash chain's verification). Plain data; Engine (engine.h) answers them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/date.h"
#include "engine/model.h"

namespace rectrack {

struct ListQuery {
  std::optional<Date> as_of;  // default: today
  std::string body;           // owner body; "" for all
  std::string state;          // "" for all
  std::optional<bool> open;   // nullopt for both
  bool overdue_only = false;
  size_t limit = 0;  // at most this many, the first in list order; 0 for all
  // Only those after this place in list order (issue date, then id): where a page ends, so the
  // next page follows even when the recommendation it ended with has left the list.
  std::optional<std::pair<Date, std::string>> after;
};

// A place in the order actions are listed in: by recommendation, then due date (undated after
// every dated one), then id.
struct ActionPlace {
  std::string recommendation;
  bool undated = false;
  Date due;
  std::string id;
  auto operator<=>(const ActionPlace&) const = default;
};
// The place of an action's view (its due date as at the view's date). REQUIRES: an action's.
ActionPlace PlaceOf(const RecommendationView& action);

struct ActionQuery {
  std::optional<Date> as_of;   // default: today
  std::string body;            // owning body; "" for all
  std::string unit;            // owning unit; "" for all
  std::string recommendation;  // "" for all
  std::optional<bool> open;    // nullopt for both
  bool overdue_only = false;
  Detail detail = Detail::kFull;
  // Only those after this place: where a page ended, so that the next page follows even when
  // the action it ended with has since moved or left the list.
  std::optional<ActionPlace> after = std::nullopt;
};

// How far a unit (or the body as a whole, unit "") has got with its actions.
struct UnitProgress {
  std::string unit;  // "" for actions owned by the body as a whole
  std::string name;  // the unit's name, or the body's
  int closed = 0;    // in a closed state of the action workflow (done or dropped)
  int open = 0;
  int overdue = 0;  // open and past their due date; counted in open too
  int total() const { return closed + open; }
};

struct RecommendationProgress {
  std::string id;
  std::string text;
  std::string state;
  bool open = true;
  UnitProgress all;                 // every action of the recommendation
  std::vector<UnitProgress> units;  // furthest behind first
};

// `rectrack report progress`: per recommendation of a body, its actions by owning unit.
struct ProgressReport {
  std::string body;
  std::string body_name;
  Date as_of;
  std::vector<RecommendationProgress> recommendations;  // in issue order
  std::vector<UnitProgress> units;                      // the body's totals, furthest behind first
};

// Orders units furthest behind first: most overdue, then most open, then the smallest share
// closed, then by name.
bool FurtherBehind(const UnitProgress& a, const UnitProgress& b);

struct AnnexRow {
  std::string id;
  std::string inspection;  // title
  std::string published;   // "Mar-23"
  std::string text;
  std::string quarter;  // closed table only: "Q2 24/25"
  std::string note;
  std::optional<Date> published_on = std::nullopt;  // the inspection's publication, as a date
};

struct AnnexReport {
  std::string body;
  std::string body_name;
  Date as_of;
  std::string financial_year;  // "2024-25"
  std::vector<AnnexRow> open;
  std::vector<AnnexRow> closed;
};

// One recommendation or action event for feeds and streams: the timeline entry with what it is
// about. For an action's event, `action` is its id and the rest describe the action: its
// recommendation, owning body, title.
struct FeedEntry {
  std::string recommendation;  // id
  std::string inspection;      // inspection id
  std::string inspection_title;
  std::vector<std::string> owners;
  std::string text;
  TimelineEntry event;      // includes seq, effective, recorded, voice, from/to states
  std::string action = "";  // "" for a recommendation's event
  std::string unit = "";    // the action's owning unit; "" for none
};

struct VerifyResult {
  int64_t events = 0;
  std::string head_hash;
  int64_t evidence_files = 0;  // distinct files checked against their hashes
  int64_t index_rows = 0;      // rows of the item index, each checked against the log
  int64_t index_through = 0;   // the last event the item index covers (`events` when whole)
  // Item heads (storage/item_heads.h) checked against the log; 0 with heads_current false when
  // they were worked out under other workflows or to another event than the index (then they
  // are not read, and the next write or `rectrack rebuild` works them out again).
  int64_t head_rows = 0;
  bool heads_current = false;
};

// An event that names an evidence file (Engine::EvidenceUses).
struct EvidenceUse {
  std::string item;  // the recommendation's or action's id
  SubjectKind kind = SubjectKind::kRecommendation;
  int64_t seq = 0;
  std::string transition;
  Attachment file;
};

}  // namespace rectrack
