#include "storage/item_index.h"

#include <algorithm>

namespace rectrack::storage {
namespace {

// "?, ?, ?" for `n` parameters: the kinds are the engine's own numbers, never user data, but
// they are bound all the same.
std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

Result<std::vector<int64_t>> Seqs(Statement& stmt) {
  std::vector<int64_t> seqs;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    seqs.push_back(stmt.ColumnInt(0));
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  return seqs;
}

// The (kind, item, seq) rows `stmt` gives.
Result<std::vector<IndexRow>> Rows(Statement& stmt) {
  std::vector<IndexRow> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return rows;
    rows.push_back({static_cast<int>(stmt.ColumnInt(0)), stmt.ColumnText(1), stmt.ColumnInt(2)});
  }
}

}  // namespace

Result<int64_t> ItemIndex::Through() {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT through FROM derived WHERE name = 'item_events'"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  return has_row ? stmt.ColumnInt(0) : 0;
}

Status ItemIndex::Add(const std::vector<IndexRow>& rows, int64_t through) {
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT OR IGNORE INTO item_events (kind, item, seq) "
                                "VALUES (?, ?, ?)"));
  for (const IndexRow& row : rows) {
    insert.Reset();
    insert.Bind(1, static_cast<int64_t>(row.kind)).Bind(2, row.item).Bind(3, row.seq);
    RETURN_IF_ERROR(insert.Run().WithContext("cannot index event " + std::to_string(row.seq)));
  }
  ASSIGN_OR_RETURN(Statement mark,
                   db_->Prepare("INSERT INTO derived (name, through) VALUES ('item_events', ?) "
                                "ON CONFLICT (name) DO UPDATE SET through = excluded.through"));
  mark.Bind(1, through);
  return mark.Run();
}

Status ItemIndex::Clear() {
  RETURN_IF_ERROR(db_->Exec("DELETE FROM item_events"));
  return Add({}, 0);
}

Result<std::vector<int64_t>> ItemIndex::EventsOf(std::string_view item,
                                                 const std::vector<int>& kinds) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT seq FROM item_events WHERE kind IN (" +
                                                Placeholders(kinds.size()) + ") AND item = ?"));
  int i = 1;
  for (int kind : kinds) stmt.Bind(i++, static_cast<int64_t>(kind));
  stmt.Bind(i, item);
  return Seqs(stmt);
}

Result<std::vector<int64_t>> ItemIndex::EventsOfKinds(const std::vector<int>& kinds) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT seq FROM item_events WHERE kind IN (" +
                                                Placeholders(kinds.size()) + ")"));
  int i = 1;
  for (int kind : kinds) stmt.Bind(i++, static_cast<int64_t>(kind));
  return Seqs(stmt);
}

Result<std::optional<int>> ItemIndex::KindOf(std::string_view item, const std::vector<int>& kinds) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT kind FROM item_events WHERE kind IN (" +
                                Placeholders(kinds.size()) + ") AND item = ? LIMIT 1"));
  int i = 1;
  for (int kind : kinds) stmt.Bind(i++, static_cast<int64_t>(kind));
  stmt.Bind(i, item);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return std::optional<int>();
  return std::optional<int>(static_cast<int>(stmt.ColumnInt(0)));
}

Result<int64_t> ItemIndex::Count() {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT count(*) FROM item_events"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  return has_row ? stmt.ColumnInt(0) : 0;
}

Result<std::vector<IndexRow>> ItemIndex::RowsOfKinds(const std::vector<int>& kinds) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT kind, item, seq FROM item_events "
                                "WHERE kind IN (" +
                                Placeholders(kinds.size()) + ") ORDER BY kind, item, seq"));
  int i = 1;
  for (int kind : kinds) stmt.Bind(i++, static_cast<int64_t>(kind));
  return Rows(stmt);
}

Result<std::vector<IndexRow>> ItemIndex::All() {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("SELECT kind, item, seq FROM item_events ORDER BY kind, item, seq"));
  return Rows(stmt);
}

}  // namespace rectrack::storage
