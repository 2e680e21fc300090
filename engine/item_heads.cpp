// The item heads' upkeep and use (storage/item_heads.h): working them out for the items a batch
// of events concerns, checking them against the log, and answering a list from them.
#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <set>

#include "engine/annex.h"
#include "engine/engine.h"
#include "engine/event_codec.h"
#include "engine/ledger.h"
#include "storage/database.h"
#include "storage/event_store.h"
#include "storage/item_heads.h"
#include "storage/item_index.h"

namespace rectrack {
namespace json = boost::json;
namespace {

// A turn (annex.h): a timeline entry less who recorded it, when, and its note and attachments.
json::object EncodeTurn(const TimelineEntry& e) {
  json::object fields;
  for (const auto& [name, values] : e.fields) fields[name] = JsonStrings(values);
  return json::object{{"seq", e.seq},
                      {"effective", e.effective.ToString()},
                      {"transition", e.transition},
                      {"voice", e.voice},
                      {"body", e.body},
                      {"unit", e.unit},
                      {"from", e.from_state},
                      {"to", e.to_state},
                      {"fields", std::move(fields)}};
}

// A view less what depends on the as-at date (as_of, open, overdue), and of its timeline only
// its turns: what Annex A needs (annex.h).
std::string EncodeHead(const RecommendationView& v, const Workflow* workflow) {
  json::object def{{"inspection", v.def.inspection},
                   {"owners", JsonStrings(v.def.owners)},
                   {"text", v.def.text}};
  json::array defined;
  for (const MilestoneDef& m : v.def.milestones) {
    defined.push_back(json::object{{"label", m.label}, {"due", m.due.ToString()}});
  }
  def["milestones"] = std::move(defined);
  json::array milestones;
  for (const MilestoneView& m : v.milestones) {
    milestones.push_back(json::object{{"label", m.label},
                                      {"due", m.due.ToString()},
                                      {"original_due", m.original_due.ToString()},
                                      {"met", m.met},
                                      {"met_on", m.met_on ? m.met_on->ToString() : ""}});
  }
  json::object head{{"id", v.id},
                    {"kind", static_cast<int>(v.kind)},
                    {"def", std::move(def)},
                    {"issued", v.issued.ToString()},
                    {"state", v.state},
                    {"milestones", std::move(milestones)},
                    {"superseded_by", JsonStrings(v.superseded_by)},
                    {"supersedes", JsonStrings(v.supersedes)},
                    {"version", v.version}};
  json::array turns;
  for (const TimelineEntry& e : v.timeline) {
    if (workflow && KeptInHead(e, *workflow)) turns.push_back(EncodeTurn(e));
  }
  head["turns"] = std::move(turns);
  if (v.action) {
    head["action"] = json::object{{"recommendation", v.action->recommendation},
                                  {"unit", v.action->unit},
                                  {"milestone", v.action->milestone}};
  }
  return json::serialize(head);
}

// Reads EncodeHead's text back; throws on anything else (DecodeHead turns it into Corruption).
struct HeadReader {
  static const json::object& Object(const json::value& v, const char* key) {
    return v.as_object().at(key).as_object();
  }
  static std::string Text(const json::object& o, const char* key) {
    return std::string(o.at(key).as_string());
  }
  static Date Day(const json::object& o, const char* key) {
    auto day = Date::Parse(o.at(key).as_string());
    if (!day) throw std::invalid_argument(std::string("bad date in '") + key + "'");
    return *day;
  }
  static std::vector<std::string> Texts(const json::object& o, const char* key) {
    std::vector<std::string> out;
    for (const auto& v : o.at(key).as_array()) out.emplace_back(v.as_string());
    return out;
  }
  static TimelineEntry Turn(const json::object& o) {
    TimelineEntry e;
    e.seq = o.at("seq").to_number<int64_t>();
    e.effective = Day(o, "effective");
    e.transition = Text(o, "transition");
    e.voice = Text(o, "voice");
    e.body = Text(o, "body");
    e.unit = Text(o, "unit");
    e.from_state = Text(o, "from");
    e.to_state = Text(o, "to");
    const json::object& fields = o.at("fields").as_object();
    for (const auto& field : fields) e.fields[field.key()] = Texts(fields, field.key().data());
    return e;
  }
  static RecommendationView Read(const json::object& o, bool with_turns) {
    RecommendationView v;
    v.id = Text(o, "id");
    v.kind = static_cast<SubjectKind>(o.at("kind").to_number<int>());
    const json::object& def = o.at("def").as_object();
    v.def.inspection = Text(def, "inspection");
    v.def.owners = Texts(def, "owners");
    v.def.text = Text(def, "text");
    for (const auto& m : def.at("milestones").as_array()) {
      v.def.milestones.push_back({Text(m.as_object(), "label"), Day(m.as_object(), "due")});
    }
    v.issued = Day(o, "issued");
    v.state = Text(o, "state");
    for (const auto& value : o.at("milestones").as_array()) {
      const json::object& m = value.as_object();
      MilestoneView milestone;
      milestone.label = Text(m, "label");
      milestone.due = Day(m, "due");
      milestone.original_due = Day(m, "original_due");
      milestone.met = m.at("met").as_bool();
      if (!m.at("met_on").as_string().empty()) milestone.met_on = Day(m, "met_on");
      v.milestones.push_back(std::move(milestone));
    }
    v.superseded_by = Texts(o, "superseded_by");
    v.supersedes = Texts(o, "supersedes");
    v.version = o.at("version").to_number<int64_t>();
    if (with_turns) {
      for (const auto& turn : o.at("turns").as_array())
        v.timeline.push_back(Turn(turn.as_object()));
    }
    if (const json::value* action = o.if_contains("action")) {
      const json::object& a = action->as_object();
      v.action = ActionInfo{Text(a, "recommendation"), Text(a, "unit"), Text(a, "milestone")};
    }
    return v;
  }
};

// With `with_turns`, the view's timeline holds its turns (annex.h); otherwise it is empty.
Result<RecommendationView> DecodeHead(const storage::HeadRow& row, bool with_turns) {
  std::string problem;
  try {
    // As an event's payload (event_codec.cpp): parsed into a buffer on the stack, its values
    // cost no allocation of their own; a head is a few hundred bytes.
    unsigned char buffer[4096];
    json::monotonic_resource parsing(buffer, sizeof buffer);
    RecommendationView view =
        HeadReader::Read(json::parse(row.head, &parsing).as_object(), with_turns);
    if (static_cast<int>(view.kind) == row.kind && view.id == row.item) return view;
    problem = "it is the head of another item";
  } catch (const std::exception& e) {
    problem = e.what();
  }
  return Status::Corruption("the item heads' row for '" + row.item + "' does not decode: " +
                            problem + "; `rectrack rebuild` rebuilds them from the log");
}

// `item`'s view as at `settled` for its row. An item whose history was let go (serve keeps
// them out of memory) is worked out from its stored row, which holds every event let go, and
// the events held since: a batch of heads then costs the events since the last, not the
// histories of the items they concern. Otherwise, and when there is no such row, a replay.
Result<RecommendationView> HeadViewOf(const Ledger& ledger, const Item& item, Date settled,
                                      const storage::HeadRow& key, storage::ItemHeads* stored) {
  if (!item.whole && stored) {
    auto text = stored->Head(key);
    if (text.ok()) {
      storage::HeadRow row = key;
      row.head = std::move(*text);
      auto through = DecodeHead(row, /*with_turns=*/true);
      if (through.ok()) {
        auto view = ledger.ProjectFrom(item, std::move(*through), settled);
        if (view.ok() || view.status().code() != Code::kFailedPrecondition) return view;
      }
    }
  }
  return ledger.Project(item, settled, Detail::kFull);
}

// `item`'s row, from a ledger holding everything its view depends on (`stored`: the heads as
// written so far, or null).
Result<storage::HeadRow> HeadRowOf(const Ledger& ledger, const Item& item,
                                   storage::ItemHeads* stored = nullptr) {
  const Date settled = ledger.LastChange(item);
  storage::HeadRow row;
  row.kind = static_cast<int>(item.kind);
  row.item = item.id;
  row.issued = item.issued().ToString();
  row.settled = settled.ToString();
  for (const std::string& owner : item.owners()) row.owners += owner + " ";
  ASSIGN_OR_RETURN(const RecommendationView view, HeadViewOf(ledger, item, settled, row, stored));
  row.state = view.state;
  if (const std::optional<Date> overdue_from = NextDueNotMet(view)) {
    row.overdue_from = overdue_from->ToString();
  }
  row.head = EncodeHead(view, ledger.WorkflowOf(item.kind));
  return row;
}

// The first column in which `stored` differs from `expected`, described.
std::string Difference(const storage::HeadRow& stored, const storage::HeadRow& expected) {
  const std::pair<const char*, const std::string storage::HeadRow::*> columns[] = {
      {"issued", &storage::HeadRow::issued},
      {"settled", &storage::HeadRow::settled},
      {"owners", &storage::HeadRow::owners},
      {"state", &storage::HeadRow::state},
      {"overdue_from", &storage::HeadRow::overdue_from},
      {"head", &storage::HeadRow::head}};
  for (const auto& [name, column] : columns) {
    if (stored.*column != expected.*column) {
      return std::string(name) + " '" + stored.*column + "' where the log gives '" +
             expected.*column + "'";
    }
  }
  return "nothing";
}

}  // namespace

std::string Engine::HeadsBasis() const {
  const Workflow* actions = action_workflow();
  // The heads' format is part of it: heads written by an earlier version are worked out again.
  return "heads-3 " + workflow_.digest() + " " + (actions ? actions->digest() : "");
}

int64_t Engine::LongestHeadsTail() const {
  return std::max<int64_t>({10 * index_batch_, 2 * heads_batch_, 20000});
}

Status Engine::CatchUpHeads(int64_t to_seq, const Appended* appended) {
  storage::ItemHeads heads(db_.get());
  ASSIGN_OR_RETURN(const storage::HeadsMark mark, heads.Mark());
  const std::string basis = HeadsBasis();
  const bool current = mark.basis == basis && mark.through <= to_seq;
  if (current && to_seq - mark.through < heads_batch_) return Status();
  const bool whole = HoldsWholeLog();
  // Written a part at a time, each with the final mark (all in the caller's transaction): the
  // heads of an import's 300,000 items need not be held at once.
  constexpr size_t kRowsPerPut = 4096;
  std::vector<storage::HeadRow> out;
  auto put_if_full = [&]() -> Status {
    if (out.size() < kRowsPerPut) return Status();
    RETURN_IF_ERROR(heads.Put(out, {to_seq, basis}));
    out.clear();
    return Status();
  };
  if (!current) {
    // Worked out under other workflows, or never, or for events the log does not have: all of
    // them again, which only a whole ledger has. Until then they are not read.
    if (!whole) return Status();
    RETURN_IF_ERROR(heads.Clear());
    for (const auto& [id, item] : ledger_->items()) {
      ASSIGN_OR_RETURN(storage::HeadRow row, HeadRowOf(*ledger_, item));
      out.push_back(std::move(row));
      RETURN_IF_ERROR(put_if_full());
    }
    return heads.Put(out, {to_seq, basis});
  }
  // The items the events since concern: their own, and those they name (a superseded
  // recommendation's head lists what supersedes it). From the log, as the index has them.
  std::set<std::string> changed;
  RETURN_IF_ERROR(
      RowsSince(mark.through, to_seq, appended, [&](const std::vector<storage::IndexRow>& rows) {
        for (const storage::IndexRow& row : rows) {
          if (IsItemKind(static_cast<SubjectKind>(row.kind))) {
            changed.insert(row.item);
          }
        }
        return Status();
      }));
  const Ledger* ledger = ledger_.get();
  std::unique_ptr<Ledger> read;
  if (!whole) {
    // A scoped engine holds some items only: read the changed ones, as a scoped engine would.
    read = std::make_unique<Ledger>(&workflow_, action_workflow());
    RETURN_IF_ERROR(ReadItems({changed.begin(), changed.end()}, {}, to_seq, to_seq, *read));
    ledger = read.get();
  }
  for (const std::string& id : changed) {
    const Item* item = ledger->FindItem(id);
    if (!item) {
      return Status::Corruption("the item index names '" + id +
                                "', which the log does not have; `rectrack rebuild` rebuilds it");
    }
    ASSIGN_OR_RETURN(storage::HeadRow row, HeadRowOf(*ledger, *item, &heads));
    out.push_back(std::move(row));
    RETURN_IF_ERROR(put_if_full());
  }
  return heads.Put(out, {to_seq, basis});
}

Result<std::optional<int64_t>> Engine::CheckHeads() {
  storage::ItemHeads heads(db_.get());
  ASSIGN_OR_RETURN(const storage::HeadsMark mark, heads.Mark());
  ASSIGN_OR_RETURN(const int64_t through, storage::ItemIndex(db_.get()).Through());
  if (mark.basis != HeadsBasis() || mark.through > through) return std::optional<int64_t>();
  // Items changed after the heads' last event are read whole by a list, whatever their row
  // says; every other row must be the log's.
  ASSIGN_OR_RETURN(const auto tail, TailRows(mark.through, last_seq_, nullptr));
  std::set<std::string> later;
  for (const auto& row : tail) {
    if (IsItemKind(static_cast<SubjectKind>(row.kind))) later.insert(row.item);
  }
  std::map<std::pair<int, std::string>, const Item*> expected;  // in the rows' order
  for (const auto& [id, item] : ledger_->items()) {
    if (!later.count(id)) expected.emplace(std::pair{static_cast<int>(item.kind), id}, &item);
  }
  const std::string repair = "; `rectrack rebuild` rebuilds them from the log";
  auto next = expected.begin();
  int64_t checked = 0;
  RETURN_IF_ERROR(heads.All([&](const storage::HeadRow& stored) -> Status {
    if (later.count(stored.item)) return Status();
    const std::pair<int, std::string> key{stored.kind, stored.item};
    if (next != expected.end() && next->first < key) {
      return Status::Corruption("the item heads lack the row for " +
                                SubjectKindName(next->first.first) + " '" + next->first.second +
                                "', which the log has" + repair);
    }
    if (next == expected.end() || key < next->first) {
      return Status::Corruption("the item heads have a row for " + SubjectKindName(stored.kind) +
                                " '" + stored.item + "', which the log does not have" + repair);
    }
    ASSIGN_OR_RETURN(const storage::HeadRow want, HeadRowOf(*ledger_, *next->second));
    if (!(stored == want)) {
      return Status::Corruption("the item heads' row for " + SubjectKindName(stored.kind) + " '" +
                                stored.item + "' has " + Difference(stored, want) + repair);
    }
    ++next;
    ++checked;
    return Status();
  }));
  if (next != expected.end()) {
    return Status::Corruption("the item heads lack the row for " +
                              SubjectKindName(next->first.first) + " '" + next->first.second +
                              "', which the log has" + repair);
  }
  return std::optional<int64_t>(checked);
}

Result<std::optional<Engine::HeadsPlace>> Engine::CurrentHeads() const {
  ASSIGN_OR_RETURN(const storage::HeadsMark mark, storage::ItemHeads(db_.get()).Mark());
  ASSIGN_OR_RETURN(const int64_t through, storage::ItemIndex(db_.get()).Through());
  const int64_t last = store_->LastSeq();
  if (last < 0) return Status::IOError("cannot read the event log of " + db_->path());
  // Not current: worked out under other workflows, or not since the upgrade, or far behind.
  if (mark.basis != HeadsBasis() || mark.through > through || through > last ||
      last - mark.through > LongestHeadsTail()) {
    return std::optional<HeadsPlace>();
  }
  return std::optional(HeadsPlace{mark.through, through, last});
}

Result<bool> Engine::HeadsAreCurrent() const {
  ASSIGN_OR_RETURN(const std::optional<HeadsPlace> place, CurrentHeads());
  return place.has_value();
}

Status Engine::ReadWholeLog() {
  {
    ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
    auto ledger = std::make_unique<Ledger>(&workflow_, action_workflow());
    std::swap(ledger, ledger_);
    const int64_t last_seq = std::exchange(last_seq_, 0);
    if (Status read = CatchUp(); !read.ok()) {
      ledger_ = std::move(ledger);
      last_seq_ = last_seq;
      return read;
    }
    heads_only_ = false;
    RETURN_IF_ERROR(tx.Commit());
  }
  // A database this process cannot write to (read-only, or busy past the timeout) still
  // gets its answer.
  if (index_if_behind_) {
    Status worked_out = IndexIfBehind();
    (void)worked_out;
  }
  return Status();
}

Result<std::optional<Engine::FromHeads>> Engine::ViewsFromHeads(const HeadsQuery& q) const {
  if (q.visit && !q.take_back) {
    return Status::FailedPrecondition(
        "HeadsQuery::visit without take_back: rows could be read again");
  }
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kRead));
  ASSIGN_OR_RETURN(const std::optional<HeadsPlace> place, CurrentHeads());
  if (!place) return std::optional<FromHeads>();
  const int64_t through = place->index_through, last = place->last;
  // Recommendations changed since the heads were written: read whole, whatever their rows say.
  ASSIGN_OR_RETURN(const auto tail, TailRows(place->heads_through, last, nullptr));
  std::set<std::string> read_whole;
  for (const auto& row : tail) {
    if (row.kind == static_cast<int>(SubjectKind::kRecommendation)) read_whole.insert(row.item);
  }
  const std::string as_of = q.as_of.ToString();
  FromHeads found;
  std::set<std::string> also_read;
  size_t from_rows = 0;
  // Reading histories one by one through the index is random access, a few pages each: past
  // one for every 20 events in the log (a query as at a date long ago, when most
  // recommendations changed since), reading the log in order costs less.
  const size_t most_read_whole = std::max<size_t>(10000, static_cast<size_t>(last / 20));
  bool too_many = read_whole.size() > most_read_whole;
  if (too_many) return std::optional<FromHeads>();
  // With q.visit, the views are held (in found.views) until they name more inspections than
  // ReadItems looks up one by one, or are many: then every inspection is read, in one pass,
  // and the views are handed out, those held and each one after as it is made.
  bool streaming = false;
  auto hand_over = [&](RecommendationView view) -> Status {
    if (!q.visit) {
      found.views.push_back(std::move(view));
      return Status();
    }
    if (streaming) return q.visit(*found.read, view);
    found.views.push_back(std::move(view));
    if (also_read.size() <= kInspectionsLookedUp && found.views.size() < kViewsHeld) {
      return Status();
    }
    streaming = true;
    found.read = std::make_unique<Ledger>(&workflow_, action_workflow());
    RETURN_IF_ERROR(ReadItems({read_whole.begin(), read_whole.end()}, {}, through, last,
                              *found.read, /*every_inspection=*/true));
    for (RecommendationView& held : found.views) RETURN_IF_ERROR(q.visit(*found.read, held));
    found.views = {};
    return Status();
  };
  storage::ItemHeads heads(db_.get());
  RETURN_IF_ERROR(heads.Scan(
      static_cast<int>(SubjectKind::kRecommendation), as_of, q.body,
      [&](const storage::HeadRow& row) -> Result<bool> {
        if (q.most_rows && ++found.rows_read > q.most_rows) {
          return Status::Unavailable("this list reads more than " + std::to_string(q.most_rows) +
                                     " rows of the item heads");
        }
        // Before the page: not wanted, nor read whole.
        if (q.after &&
            std::pair(std::string_view(row.issued), std::string_view(row.item)) <=
                std::pair(std::string_view(q.after->first), std::string_view(q.after->second))) {
          return true;
        }
        if (read_whole.count(row.item)) return true;
        const bool changed_since = row.settled > as_of;
        if (changed_since && !q.take_back) {
          // Changed after the as-at date: its view then needs its history.
          read_whole.insert(row.item);
          too_many = read_whole.size() > most_read_whole;
          return !too_many;
        }
        // Filtered on the row's columns before the head is decoded: most rows are not wanted.
        // (A row changed since has the columns of a later date: the caller filters its view.)
        if (!changed_since && !q.row_wanted(row, workflow_.IsOpen(row.state))) return true;
        // One body's rows come with their heads; every body's are read one at a time.
        std::optional<storage::HeadRow> with_head;
        if (row.head.empty()) {
          with_head = row;
          ASSIGN_OR_RETURN(with_head->head, heads.Head(row));
        }
        ASSIGN_OR_RETURN(RecommendationView view,
                         DecodeHead(with_head ? *with_head : row, q.turns));
        if (changed_since) {
          q.take_back(view);
        } else {
          ledger_->Finish(q.as_of, view);
        }
        if (q.also_read) q.also_read(view, also_read);
        RETURN_IF_ERROR(hand_over(std::move(view)));
        return q.limit == 0 || ++from_rows < q.limit;
      },
      q.after));
  if (too_many || read_whole.size() > most_read_whole) return std::optional<FromHeads>();
  if (!streaming && (q.visit || !read_whole.empty() || !also_read.empty())) {
    found.read = std::make_unique<Ledger>(&workflow_, action_workflow());
    RETURN_IF_ERROR(
        ReadItems({read_whole.begin(), read_whole.end()}, also_read, through, last, *found.read));
  }
  if (q.visit && !streaming) {
    streaming = true;
    for (RecommendationView& held : found.views) RETURN_IF_ERROR(q.visit(*found.read, held));
    found.views = {};
  }
  for (const std::string& id : read_whole) {
    const Item* item = found.read->FindItem(id);
    if (!item || item->kind != SubjectKind::kRecommendation || item->issued() > q.as_of) continue;
    if (q.after && std::pair(item->issued().ToString(), id) <= *q.after) continue;
    const auto owners = item->owners();
    if (!q.body.empty() && std::find(owners.begin(), owners.end(), q.body) == owners.end()) {
      continue;
    }
    ASSIGN_OR_RETURN(RecommendationView view,
                     found.read->Project(*item, q.as_of, q.turns ? Detail::kFull : Detail::kHead));
    RETURN_IF_ERROR(hand_over(std::move(view)));
  }
  RETURN_IF_ERROR(tx.Commit());
  return std::optional<FromHeads>(std::move(found));
}

Result<std::optional<std::vector<RecommendationView>>> Engine::ListedFromHeads(
    const ListQuery& q, size_t most_rows, size_t* rows_read) const {
  using Listed = std::optional<std::vector<RecommendationView>>;
  // Rows match a body by its id among the owners' ids, each followed by a space.
  if (!q.body.empty() && !IsValidId(q.body)) return Listed(std::vector<RecommendationView>());
  HeadsQuery heads;
  heads.as_of = q.as_of.value_or(clock_->Today());
  heads.body = q.body;
  if (q.after) heads.after = std::pair(q.after->first.ToString(), q.after->second);
  heads.row_wanted = [&](const storage::HeadRow& row, bool open) {
    const bool overdue =
        open && !row.overdue_from.empty() && row.overdue_from < heads.as_of.ToString();
    return (q.state.empty() || row.state == q.state) && (!q.open || open == *q.open) &&
           (!q.overdue_only || overdue);
  };
  heads.limit = q.limit;
  heads.most_rows = most_rows;
  ASSIGN_OR_RETURN(std::optional<FromHeads> found, ViewsFromHeads(heads));
  if (!found) return Listed();
  if (rows_read) *rows_read = found->rows_read;
  std::vector<RecommendationView> out;
  for (RecommendationView& view : found->views) {
    // Those from rows are wanted; those read whole are checked now.
    if ((q.state.empty() || view.state == q.state) && (!q.open || view.open == *q.open) &&
        (!q.overdue_only || view.overdue)) {
      out.push_back(std::move(view));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.issued != b.issued ? a.issued < b.issued : a.id < b.id;
  });
  if (q.limit && out.size() > q.limit) out.resize(q.limit);
  return Listed(std::move(out));
}

Result<std::vector<RecommendationView>> Engine::ListFromHeads(const ListQuery& q) {
  if (!heads_only_) return List(q);
  ASSIGN_OR_RETURN(auto listed, ListedFromHeads(q));
  if (listed) return std::move(*listed);
  RETURN_IF_ERROR(ReadWholeLog());
  return List(q);
}

Status Engine::VisitHeads(const ListQuery& q,
                          const std::function<bool(const RecommendationView&)>& visit) const {
  // Pages in list order, each going on from where the one before ended (the heads are read
  // from there), twice as long as it: a first page of a list costs that page. Each page reads
  // the heads and the log's tail afresh, so a long visit may see a commit between two pages.
  ListQuery page = q;
  page.limit = 64;
  size_t visited = 0, rows_left = most_rows_visited_;
  const Status too_long = Status::Unavailable(
      "this list reads more than " + std::to_string(most_rows_visited_) +
      " rows of the item heads (its filters pass few of them): it is answered once the log is "
      "read");
  for (;;) {
    if (q.limit) page.limit = std::min(page.limit, q.limit - visited);
    size_t rows_read = 0;
    Result<std::optional<std::vector<RecommendationView>>> listed =
        ListedFromHeads(page, rows_left, &rows_read);
    if (!listed.ok()) {
      return listed.status().code() == Code::kUnavailable ? too_long : listed.status();
    }
    if (!*listed) {
      return Status::Unavailable(
          "the item heads cannot answer this list (not current, or too many recommendations "
          "changed since they were written): it is answered once the log is read");
    }
    for (const RecommendationView& view : **listed) {
      if (!visit(view) || (q.limit && ++visited == q.limit)) return Status();
    }
    if ((*listed)->size() < page.limit) return Status();
    rows_left -= std::min(rows_left, rows_read);
    if (rows_left == 0) return too_long;
    page.after = std::pair((*listed)->back().issued, (*listed)->back().id);
    page.limit = std::min<size_t>(page.limit * 2, 8192);
  }
}

Result<std::optional<AnnexReport>> Engine::AnnexFromHeadRows(const std::string& body,
                                                             Date as_of) const {
  ASSIGN_OR_RETURN(AnnexBuilder annex, AnnexBuilder::For(*ledger_, workflow_, body, as_of));
  storage::ItemHeads heads(db_.get());
  const Result<storage::HeadsMark> mark = heads.Mark();
  if (!mark.ok() || mark->basis != HeadsBasis()) return std::optional<AnnexReport>();
  std::set<std::string> annexed;  // from their rows
  auto take_row = [&](const storage::HeadRow& row) -> Result<bool> {
    const Item* item = ledger_->FindItem(row.item);
    if (!item || item->kind != SubjectKind::kRecommendation || !item->tail) return true;
    // A row written before the item's newest event (the heads' next batch has yet to write
    // it), or that does not decode, is not its head: its history answers, below.
    Result<RecommendationView> view = DecodeHead(row, /*with_turns=*/true);
    if (!view.ok() || view->version != item->tail->version) return true;
    // Taken back to the date from its turns, whenever it last changed: what Annex A reads of
    // a view (open, superseded by, the turns) is the same as a replay's either way, and when
    // it last changed would ask the histories of what supersedes it.
    TakeBack(*view, as_of, workflow_);
    annex.Add(*view);
    annexed.insert(row.item);
    return true;
  };
  // Two statements, not a transaction (a write group's COMMIT may be under way on this
  // connection, and BEGIN would fail): heads rewritten meanwhile under another basis (another
  // process's workflows) are noticed by the mark read again after.
  Status scanned =
      heads.Scan(static_cast<int>(SubjectKind::kRecommendation), as_of.ToString(), body, take_row);
  const Result<storage::HeadsMark> after = heads.Mark();
  if (!scanned.ok() || !after.ok() || after->basis != mark->basis) {
    return std::optional<AnnexReport>();
  }
  for (const Item* item : ledger_->recommendations_in_list_order()) {
    if (item->issued() > as_of) break;
    if (annexed.count(item->id)) continue;
    const auto& owners = item->def().owners;
    if (std::find(owners.begin(), owners.end(), body) == owners.end()) continue;
    ASSIGN_OR_RETURN(const RecommendationView view, ledger_->Project(*item, as_of));
    annex.Add(view);
  }
  return std::optional(std::move(annex).Finish());
}

Result<AnnexReport> Engine::AnnexFromHeads(const std::string& body, std::optional<Date> as_of) {
  if (!heads_only_) return Annex(body, as_of);
  HeadsQuery heads;
  heads.as_of = as_of.value_or(clock_->Today());
  // Checked before the heads are read, as Annex would.
  RETURN_IF_ERROR(AnnexBuilder::For(*ledger_, workflow_, body, heads.as_of).status());
  heads.body = body;
  const std::string year_start = heads.as_of.FinancialYearStart().ToString();
  // Open at the date, or closed and changed in its financial year (a closure in the year is a
  // change in it): the others are in neither table.
  heads.row_wanted = [&](const storage::HeadRow& row, bool open) {
    return open || row.settled >= year_start;
  };
  heads.turns = true;
  // A recommendation changed after the date is taken back to it from what its head keeps, not
  // read whole.
  heads.take_back = [&](RecommendationView& view) { TakeBack(view, heads.as_of, workflow_); };
  // The rows' inspections, and those their turns name (the follow-up that reopened them).
  heads.also_read = [](const RecommendationView& view, std::set<std::string>& ids) {
    for (std::string& id : InspectionsNamed(view)) ids.insert(std::move(id));
  };
  // Each row into the annex as it is handed out: a large annex (one that names many
  // inspections, which are then all read first) holds one view at a time, not 100,000.
  std::optional<AnnexBuilder> annex;
  heads.visit = [&](const Ledger& lookups, RecommendationView& view) -> Status {
    if (!annex) {
      ASSIGN_OR_RETURN(AnnexBuilder started,
                       AnnexBuilder::For(lookups, workflow_, body, heads.as_of));
      annex.emplace(std::move(started));
    }
    annex->Add(view);
    return Status();
  };
  ASSIGN_OR_RETURN(std::optional<FromHeads> found, ViewsFromHeads(heads));
  if (!found) {
    RETURN_IF_ERROR(ReadWholeLog());
    return Annex(body, as_of);
  }
  if (!annex) {  // no row: the tables are empty (found->read holds the bodies)
    ASSIGN_OR_RETURN(AnnexBuilder empty,
                     AnnexBuilder::For(*found->read, workflow_, body, heads.as_of));
    annex.emplace(std::move(empty));
  }
  return std::move(*annex).Finish();
}

}  // namespace rectrack
