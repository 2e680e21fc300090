// The item index's upkeep and use (storage/item_index.h): its rows for new events, bringing it
// up to the log, checking it against the log, and loading only what a scoped Engine needs.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "engine/engine.h"
#include "engine/event_codec.h"
#include "engine/ledger.h"
#include "storage/database.h"
#include "storage/event_store.h"
#include "storage/item_heads.h"
#include "storage/item_index.h"

namespace rectrack {
namespace {

const std::vector<int> kItemKinds = {static_cast<int>(SubjectKind::kRecommendation),
                                     static_cast<int>(SubjectKind::kAction)};
// Read whole by a scoped engine: there are few of them, however long the log.
const std::vector<int> kBodyAndUnitKinds = {static_cast<int>(SubjectKind::kBody),
                                            static_cast<int>(SubjectKind::kUnit)};
const std::vector<int> kInspectionKind = {static_cast<int>(SubjectKind::kInspection)};

// Every id `event` may name: its action's recommendation and each field value. Whether a value
// is a reference is the workflow's to say, and a workflow can change; a value that names an item
// created before the event is indexed whatever field holds it, so the index never depends on it.
std::vector<std::string> NamedIds(const Event& event) {
  std::vector<std::string> ids;
  if (event.action_def) ids.push_back(event.action_def->recommendation);
  for (const auto& [field, values] : event.fields) {
    for (const auto& value : values) {
      if (IsValidId(value)) ids.push_back(value);
    }
  }
  return ids;
}

std::string DescribeRow(const storage::IndexRow& row) {
  return SubjectKindName(row.kind) + " '" + row.item + "' and event " + std::to_string(row.seq);
}

}  // namespace

std::vector<storage::IndexRow> Engine::IndexRowsOf(const Event& event) const {
  std::vector<storage::IndexRow> rows = {
      {static_cast<int>(event.kind), event.subject_id, event.seq}};
  if (!IsItemKind(event.kind)) return rows;
  for (const std::string& id : NamedIds(event)) {
    const Item* named = ledger_->FindItem(id);
    if (!named || id == event.subject_id || named->creation_seq() >= event.seq) continue;
    rows.push_back({static_cast<int>(named->kind), id, event.seq});
  }
  return rows;
}

Result<std::vector<storage::IndexRow>> Engine::TailRows(int64_t through, int64_t to_seq,
                                                        std::map<int64_t, Event>* decoded) const {
  // Read from the log and the index alone, not the ledger, so that an engine holding only some
  // items can index too. An item named by an event was created before it when the index has a
  // row for it (all at or before `through`) or its creation came earlier in this tail: the
  // same answer a whole ledger gives (IndexRowsOf), which verify checks.
  storage::ItemIndex index(db_.get());
  std::map<std::string, int> created;  // items created in the tail so far, with their kind
  std::vector<storage::IndexRow> rows;
  RETURN_IF_ERROR(store_->Scan(through, [&](const storage::EventRowView& row) -> Status {
    if (row.seq > to_seq) return Status();
    ASSIGN_OR_RETURN(Event event, DecodeEvent(row));
    rows.push_back({static_cast<int>(event.kind), event.subject_id, event.seq});
    if (IsItemKind(event.kind)) {
      for (const std::string& id : NamedIds(event)) {
        if (id == event.subject_id) continue;
        auto made = created.find(id);
        std::optional<int> kind;
        if (made != created.end()) {
          kind = made->second;
        } else {
          ASSIGN_OR_RETURN(kind, index.KindOf(id, kItemKinds));
        }
        if (kind) rows.push_back({*kind, id, event.seq});
      }
      if (event.recommendation_def || event.action_def) {
        created.emplace(event.subject_id, static_cast<int>(event.kind));
      }
    }
    if (decoded) decoded->emplace(event.seq, std::move(event));
    return Status();
  }));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

Status Engine::RowsSince(int64_t through, int64_t to_seq, const Appended* appended,
                         const RowsPart& part) {
  const bool whole = HoldsWholeLog();
  if (!appended || appended->empty() || !whole || appended->back()->seq != to_seq) {
    ASSIGN_OR_RETURN(const auto rows, TailRows(through, to_seq, nullptr));
    return part(rows);
  }
  // An import of 300,000 events would otherwise read and decode them all again, twice (the
  // index, then the heads).
  const int64_t first = appended->front()->seq;
  if (through < first - 1) {
    ASSIGN_OR_RETURN(const auto rows, TailRows(through, first - 1, nullptr));
    RETURN_IF_ERROR(part(rows));
  }
  constexpr size_t kEventsPerPart = 4096;
  std::vector<storage::IndexRow> rows;
  for (size_t from = 0; from < appended->size(); from += kEventsPerPart) {
    rows.clear();
    for (size_t i = from; i < std::min(appended->size(), from + kEventsPerPart); ++i) {
      const Event& event = *(*appended)[i];
      if (event.seq <= through) continue;
      for (auto& row : IndexRowsOf(event)) rows.push_back(std::move(row));
    }
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    RETURN_IF_ERROR(part(rows));
  }
  return Status();
}

Status Engine::CatchUpIndex(int64_t to_seq, const Appended* appended) {
  storage::ItemIndex index(db_.get());
  ASSIGN_OR_RETURN(int64_t through, index.Through());
  if (through > to_seq) {
    // It covers events the log does not have (a log restored from an older copy): start again.
    RETURN_IF_ERROR(index.Clear());
    RETURN_IF_ERROR(storage::ItemHeads(db_.get()).Clear());
    through = 0;
  }
  if (through < to_seq) {
    // Each part with the final mark, all in the caller's transaction.
    RETURN_IF_ERROR(RowsSince(
        through, to_seq, appended,
        [&](const std::vector<storage::IndexRow>& rows) { return index.Add(rows, to_seq); }));
  }
  return CatchUpHeads(to_seq, appended);
}

Status Engine::IndexAppended(const Appended& events) {
  storage::ItemIndex index(db_.get());
  ASSIGN_OR_RETURN(int64_t through, index.Through());
  if (through >= events.front()->seq) {
    // It covers events the log did not have until now (a log restored from an older copy):
    // its rows for those seqs are of other events. Start again.
    RETURN_IF_ERROR(index.Clear());
    RETURN_IF_ERROR(storage::ItemHeads(db_.get()).Clear());
    through = 0;
  }
  // Indexed a batch at a time: rows for many events at once share the index's pages, where
  // rows written with every commit would add a page per item to each commit. Readers read the
  // events after `through` from the log.
  if (events.back()->seq - through < index_batch_) return Status();
  return CatchUpIndex(events.back()->seq, &events);
}

Status Engine::IndexIfBehind() {
  ASSIGN_OR_RETURN(const int64_t through, storage::ItemIndex(db_.get()).Through());
  ASSIGN_OR_RETURN(const storage::HeadsMark heads, storage::ItemHeads(db_.get()).Mark());
  const bool heads_current = heads.basis == HeadsBasis() && heads.through <= through &&
                             last_seq_ - heads.through < heads_batch_;
  if (through <= last_seq_ && last_seq_ - through < index_batch_ && heads_current) {
    return Status();
  }
  // The first open after an upgrade: index the log once (or work out the heads, which a
  // workflow changed since they were, or a scoped engine could not). Or the index covers events
  // the log does not have (a log restored from an older copy, or another process wrote since this
  // engine read the log: then CatchUp finds those events and the index is found whole).
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kWrite));
  RETURN_IF_ERROR(CatchUp());
  RETURN_IF_ERROR(CatchUpIndex(last_seq_));
  return tx.Commit();
}

Result<int64_t> Engine::Rebuild() {
  if (!HoldsWholeLog()) {
    return Status::FailedPrecondition("an engine that read only some of the log cannot rebuild");
  }
  ASSIGN_OR_RETURN(auto tx, storage::Transaction::Begin(*db_, storage::Transaction::Mode::kWrite));
  RETURN_IF_ERROR(CatchUp());
  storage::ItemIndex index(db_.get());
  RETURN_IF_ERROR(index.Clear());
  RETURN_IF_ERROR(storage::ItemHeads(db_.get()).Clear());
  RETURN_IF_ERROR(CatchUpIndex(last_seq_));
  ASSIGN_OR_RETURN(const int64_t rows, index.Count());
  RETURN_IF_ERROR(tx.Commit());
  return rows;
}

Result<int64_t> Engine::CheckIndex() {
  storage::ItemIndex index(db_.get());
  ASSIGN_OR_RETURN(const int64_t through, index.Through());
  const std::string repair = "; `rectrack rebuild` rebuilds it from the log";
  if (through > last_seq_) {
    return Status::Corruption("the item index covers events to " + std::to_string(through) +
                              " but the log ends at event " + std::to_string(last_seq_) + repair);
  }
  // Only what it claims to cover: an index behind the log is brought up to it by the next write.
  std::vector<storage::IndexRow> expected;
  RETURN_IF_ERROR(store_->Scan(0, [&](const storage::EventRowView& row) -> Status {
    if (row.seq > through) return Status();
    ASSIGN_OR_RETURN(Event event, DecodeEvent(row));
    for (auto& r : IndexRowsOf(event)) expected.push_back(std::move(r));
    return Status();
  }));
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  ASSIGN_OR_RETURN(const auto stored, index.All());
  auto [e, s] = std::mismatch(expected.begin(), expected.end(), stored.begin(), stored.end());
  if (e == expected.end() && s == stored.end()) return static_cast<int64_t>(stored.size());
  // The first row, in index order, that one side has and the other lacks.
  if (s == stored.end() || (e != expected.end() && *e < *s)) {
    return Status::Corruption("the item index lacks the row for " + DescribeRow(*e) +
                              ", which the log has" + repair);
  }
  return Status::Corruption("the item index has a row for " + DescribeRow(*s) +
                            ", which the log does not have" + repair);
}

Result<bool> Engine::LoadScope(const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(const int64_t through, storage::ItemIndex(db_.get()).Through());
  const int64_t last = store_->LastSeq();
  if (last < 0) return Status::IOError("cannot read the event log of " + db_->path());
  // An index far behind the log (a database not yet opened by this version), or ahead of it (a
  // log restored from an older copy): read the whole log instead.
  const int64_t longest_tail = std::max<int64_t>(10 * index_batch_, 10000);
  if (through > last || last - through > longest_tail) {
    RETURN_IF_ERROR(CatchUp());
    return false;
  }
  RETURN_IF_ERROR(ReadItems(ids, {}, through, last, *ledger_));
  last_seq_ = last;
  scope_ = std::set<std::string>(ids.begin(), ids.end());
  return true;
}

Status Engine::ReadItems(const std::vector<std::string>& ids,
                         const std::set<std::string>& also_inspections, int64_t through,
                         int64_t last, Ledger& ledger, bool every_inspection) const {
  storage::ItemIndex index(db_.get());
  // The events after `through`, decoded, and the index rows they will have: read with the
  // index as if they were in it.
  std::map<int64_t, Event> tail;
  ASSIGN_OR_RETURN(const auto tail_rows, TailRows(through, last, &tail));
  // The events of item `id` of one of `kinds`; for a null `id`, those of every item of `kinds`
  // (or of those `among` names, filtered here).
  auto seqs_of = [&](const std::string* id, const std::vector<int>& kinds,
                     const std::set<std::string>* among = nullptr) -> Result<std::vector<int64_t>> {
    auto wanted = [&](const std::string& item) {
      return id ? item == *id : !among || among->count(item) > 0;
    };
    std::vector<int64_t> seqs;
    if (id) {
      ASSIGN_OR_RETURN(seqs, index.EventsOf(*id, kinds));
    } else if (!among) {
      ASSIGN_OR_RETURN(seqs, index.EventsOfKinds(kinds));
    } else {
      ASSIGN_OR_RETURN(const auto rows, index.RowsOfKinds(kinds));
      for (const auto& row : rows) {
        if (wanted(row.item)) seqs.push_back(row.seq);
      }
    }
    for (const auto& row : tail_rows) {
      if (wanted(row.item) && std::count(kinds.begin(), kinds.end(), row.kind)) {
        seqs.push_back(row.seq);
      }
    }
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    return seqs;
  };
  // An item's events, looked up in the index once however often it is named.
  std::map<std::string, std::vector<int64_t>> item_seqs;
  auto item_seqs_of = [&](const std::string& id) -> Result<const std::vector<int64_t>*> {
    auto found = item_seqs.find(id);
    if (found == item_seqs.end()) {
      ASSIGN_OR_RETURN(auto seqs, seqs_of(&id, kItemKinds));
      found = item_seqs.emplace(id, std::move(seqs)).first;
    }
    return &found->second;
  };
  std::map<int64_t, Event> events;  // what is read, by seq
  auto read = [&](const std::vector<int64_t>& seqs) -> Status {
    std::vector<int64_t> missing;
    for (int64_t seq : seqs) {
      if (events.count(seq)) continue;
      if (auto in_tail = tail.find(seq); in_tail != tail.end()) {
        events.emplace(seq, in_tail->second);
      } else {
        missing.push_back(seq);
      }
    }
    ASSIGN_OR_RETURN(auto rows, store_->LoadSeqs(missing));
    for (const auto& row : rows) {
      ASSIGN_OR_RETURN(Event event, DecodeEvent(row));
      events.emplace(row.seq, std::move(event));
    }
    return Status();
  };
  ASSIGN_OR_RETURN(auto definitions, seqs_of(nullptr, kBodyAndUnitKinds));
  RETURN_IF_ERROR(read(definitions));
  // Read whole: the items asked for, and the items whose events name them (their actions, the
  // recommendations they supersede), whose histories their views depend on.
  std::set<std::string> whole(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(const std::vector<int64_t>* seqs, item_seqs_of(id));
    RETURN_IF_ERROR(read(*seqs));
    for (int64_t seq : *seqs) whole.insert(events.at(seq).subject_id);
  }
  for (const std::string& id : whole) {
    ASSIGN_OR_RETURN(const std::vector<int64_t>* seqs, item_seqs_of(id));
    RETURN_IF_ERROR(read(*seqs));
  }
  // Read only their creating events: the items those histories name, which replay checks exist
  // (and an action's recommendation, which its creation names in turn).
  std::map<std::string, int64_t> created;  // id -> seq of its creating event
  std::vector<std::string> named;
  for (const auto& [seq, event] : events) {
    if (IsItemKind(event.kind) && whole.count(event.subject_id)) {
      for (auto& id : NamedIds(event)) named.push_back(std::move(id));
    }
  }
  while (!named.empty()) {
    const std::string id = std::move(named.back());
    named.pop_back();
    if (whole.count(id) || created.count(id)) continue;
    ASSIGN_OR_RETURN(const std::vector<int64_t>* seqs, item_seqs_of(id));
    if (seqs->empty()) continue;  // not an item: a body, an inspection, or plain text
    RETURN_IF_ERROR(read({seqs->front()}));
    const Event& creation = events.at(seqs->front());
    if (creation.subject_id != id) {
      return Status::Corruption("the item index has event " + std::to_string(creation.seq) +
                                " first for '" + id + "', but it is an event of '" +
                                creation.subject_id + "'; `rectrack rebuild` rebuilds it");
    }
    created.emplace(id, creation.seq);
    if (creation.action_def) named.push_back(creation.action_def->recommendation);
  }
  // The inspections those events name: a recommendation's own, and any a field names (the
  // follow-up that judged it); and any the scope names, for the events to be recorded.
  // Inspections grow with the log; only these are read (unless every one is asked for).
  std::set<std::string> inspections(ids.begin(), ids.end());
  inspections.insert(also_inspections.begin(), also_inspections.end());
  for (const auto& [seq, event] : events) {
    if (!IsItemKind(event.kind)) continue;
    if (event.recommendation_def) inspections.insert(event.recommendation_def->inspection);
    for (auto& id : NamedIds(event)) inspections.insert(std::move(id));
  }
  // Each looked up in the index, or, past a few hundred (a body's Annex A names every
  // inspection of the body), all in one pass over the index's inspections: a lookup costs as
  // much as passing dozens of rows, and inspections are few beside items.
  if (every_inspection) {
    ASSIGN_OR_RETURN(auto seqs, seqs_of(nullptr, kInspectionKind));
    RETURN_IF_ERROR(read(seqs));
  } else if (inspections.size() <= kInspectionsLookedUp) {
    for (const std::string& id : inspections) {
      ASSIGN_OR_RETURN(auto seqs, seqs_of(&id, kInspectionKind));
      RETURN_IF_ERROR(read(seqs));
    }
  } else {
    ASSIGN_OR_RETURN(auto seqs, seqs_of(nullptr, kInspectionKind, &inspections));
    RETURN_IF_ERROR(read(seqs));
  }
  // Replayed in log order, as a whole replay would, but only the events of those items.
  for (auto& [seq, event] : events) {
    if (IsItemKind(event.kind)) {
      auto made = created.find(event.subject_id);
      const bool wanted =
          whole.count(event.subject_id) || (made != created.end() && made->second == seq);
      if (!wanted) continue;
    }
    if (Status s = ledger.Add(std::move(event), Ledger::Undo::kSkip); !s.ok()) {
      return Status::Corruption("event " + std::to_string(seq) +
                                " does not replay through workflow " + workflow_.source() + ": " +
                                s.message() +
                                " (read through the item index: `rectrack verify` checks the "
                                "item index against the log)");
    }
  }
  return Status();
}

Status Engine::ScopeTakes(const std::vector<WriteBatch>& batches) const {
  if (heads_only_) return Status::FailedPrecondition("an engine opened for lists writes nothing");
  if (scope_.empty()) return Status();
  for (const WriteBatch& batch : batches) {
    for (const Command& command : batch.commands) {
      const auto* record = std::get_if<RecordEvent>(&command);
      if (!record) {
        return Status::FailedPrecondition("an engine opened for some items only defines nothing");
      }
      if (!record->files.empty()) {
        return Status::FailedPrecondition(
            "an engine opened for some items only takes no evidence files");
      }
      RETURN_IF_ERROR(ScopeCovers(record->subject_id));
    }
  }
  return Status();
}

Status Engine::ReloadScopeIfChanged() {
  const int64_t last = store_->LastSeq();
  if (last < 0) return Status::IOError("cannot read the event log of " + db_->path());
  if (last == last_seq_) return Status();
  // Read afresh; what was read stays, whole, if that fails.
  std::vector<std::string> ids(scope_.begin(), scope_.end());
  auto ledger = std::make_unique<Ledger>(&workflow_, action_workflow());
  std::swap(ledger, ledger_);
  const int64_t last_seq = std::exchange(last_seq_, 0);
  std::set<std::string> scope = std::exchange(scope_, {});
  known_tokens_.clear();
  Result<bool> loaded = LoadScope(ids);
  if (!loaded.ok()) {
    ledger_ = std::move(ledger);
    last_seq_ = last_seq;
    scope_ = std::move(scope);
  }
  return loaded.status();
}

Status Engine::ScopeCovers(const std::string& id) const {
  if (scope_.empty() || scope_.count(id)) return Status();
  return Status::FailedPrecondition("this engine read only the log of " + *scope_.begin() +
                                    ", not of '" + id + "'");
}

}  // namespace rectrack
