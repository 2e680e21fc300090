// Access: what a principal (a token or a signed-in person, principal.h) may see and what it acts
// as. The JSON API and the web workspace both decide through these functions, so a body lead's
// scope is one rule in one place, not a copy per adapter.
//
// The rules:
// - an unscoped principal (inspectorate, an unscoped reader) sees every body's work;
// - a body-scoped one sees the recommendations its body owns and that body's actions;
// - a unit-scoped one (a CPS Area's lead) sees its body's recommendations and only its own
//   unit's actions, and acts only on those;
// - a role that acts for an owner (body_lead) records events for its body (and unit); other
//   roles act for no body;
// - an alert is seen by whoever sees the item it is about; where it was sent, by the
//   inspectorate's unscoped tokens only.
//
// Thread-safety: free functions over a const Engine; call them under the host's lock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/commands.h"
#include "engine/model.h"
#include "engine/principal.h"
#include "engine/reports.h"

namespace rectrack {

class Engine;
class Workflow;
namespace storage {
struct AlertFilter;
struct AlertRecord;
}  // namespace storage

// Whether `who` may see `item` (a recommendation or an action, as a view or list shows it).
bool MaySeeItem(const Engine& engine, const Principal& who, const RecommendationHead& item);

// Whether `who` may see `alert` (in a list, a feed, a stream, the web): as it may see the item
// the alert is about (MaySeeItem: a unit's lead sees its own unit's actions' alerts only), or,
// for a body-scoped principal, when the alert is addressed to its body though the body owns no
// part of the item (a rule's `to`). An alert about an item no longer known is seen by whoever
// may see its owners.
bool MaySeeAlert(const Engine& engine, const Principal& who, const storage::AlertRecord& alert);

// Whether `who` may count every body's work (/metrics): an unscoped token (a reader token made
// for monitoring, or the inspectorate's), not a body's, not a person signed in, not an anonymous
// reader under public_read.
bool HasOperatorsView(const Principal& who);

// Whether `who` may see where each alert was sent and why a delivery failed (a webhook's URL may
// hold its secret; an error may name a host inside the network): an unscoped token of the role
// that runs the service (the one that defines inspections, Engine::MayDefine), not a reader's.
bool MaySeeWhereAlertsGo(const Engine& engine, const Principal& who);

// The newest `limit` alerts `filter` matches that `who` may see (MaySeeAlert), newest first
// (filter.newest_first, limit and before_seq are this function's): read a page at a time, as
// which may be seen is judged after the store's filter, so that a unit's lead's page is not
// cut short by alerts it may not see.
Result<std::vector<storage::AlertRecord>> NewestVisibleAlerts(const Engine& engine,
                                                              const Principal& who,
                                                              storage::AlertFilter filter,
                                                              size_t limit);

// The progress report of `body` as at `as_of` as `who` may see it: whole, or for a unit's lead
// its own unit's rows only (each recommendation's counts are then its unit's), as it sees
// only its unit's actions. The API, the web page and every download give this one.
Result<ProgressReport> ProgressVisible(const Engine& engine, const Principal& who,
                                       const std::string& body, std::optional<Date> as_of);

// The body a question from `who` is about: `asked` ("" for every body) when `who` may ask it,
// its own body when it asks none. PermissionDenied naming its body when it asks about another.
Result<std::string> ScopeBody(const Principal& who, const std::string& asked);

// Recommendation (or, for kAction, action) `id` as at `as_of`, when `who` may see it. NotFound
// ("no recommendation 'x'") both when there is none and when `who` may not see it, so the answer
// says nothing about other bodies' work. Whether it may be seen is decided as today.
Result<RecommendationView> ShowVisible(const Engine& engine, const Principal& who,
                                       const std::string& id, SubjectKind kind,
                                       std::optional<Date> as_of, Detail detail = Detail::kFull);

// An evidence file to hand to a reader: as an event names it, and its bytes.
struct EvidenceDownload {
  Attachment file;
  std::string content;
};
// The evidence file `sha256` (64 lowercase hex digits), when `who` may see an item with an event
// that names it: the same rule as for the item itself. NotFound both when there is no such file
// and when `who` may not see it; InvalidArgument for a malformed hash.
Result<EvidenceDownload> EvidenceVisible(const Engine& engine, const Principal& who,
                                         const std::string& sha256);

// The actions of `recommendation` as at `as_of` that `who` may see.
Result<std::vector<RecommendationView>> VisibleActions(const Engine& engine, const Principal& who,
                                                       const std::string& recommendation,
                                                       Date as_of);
// ListActions(query), without what `who` may not see.
Result<std::vector<RecommendationView>> VisibleActions(const Engine& engine, const Principal& who,
                                                       const ActionQuery& query);

// Sets the role, body and unit `who` acts as on an item of `workflow` (null: none loaded).
void ActAs(const Principal& who, const Workflow* workflow, RecordEvent* event);
void ActAs(const Principal& who, const Workflow* workflow, DefineAction* action);

// How the log names `who` as the actor of what it writes: "token:<id>", "account:<email>", or
// "public" for an anonymous reader (who cannot write).
std::string ActorOf(const Principal& who);

// The transitions of `workflow` that `who` may fire on `item` now: those its role may fire from
// the item's state, and, for a role that acts for an owner, only on its own body's (and unit's)
// items. What the web offers as forms; the engine still checks each event when it is recorded.
std::vector<std::string> OfferedTransitions(const Workflow& workflow, const Principal& who,
                                            const RecommendationHead& item);

}  // namespace rectrack
