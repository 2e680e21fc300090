#include "storage/item_heads.h"

namespace rectrack::storage {
namespace {

constexpr const char* kColumns = "kind, item, issued, settled, owners, state, overdue_from, head";
// Every column but the head: what the index item_heads_by_issue covers.
constexpr const char* kListColumns = "kind, item, issued, settled, owners, state, overdue_from, ''";

HeadRow RowOf(const Statement& stmt) {
  return {static_cast<int>(stmt.ColumnInt(0)),
          stmt.ColumnText(1),
          stmt.ColumnText(2),
          stmt.ColumnText(3),
          stmt.ColumnText(4),
          stmt.ColumnText(5),
          stmt.ColumnText(6),
          stmt.ColumnText(7)};
}

}  // namespace

Result<HeadsMark> ItemHeads::Mark() {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT through, basis FROM item_heads_mark WHERE id = 1"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return HeadsMark{};
  return HeadsMark{stmt.ColumnInt(0), stmt.ColumnText(1)};
}

Status ItemHeads::Put(const std::vector<HeadRow>& rows, const HeadsMark& mark) {
  ASSIGN_OR_RETURN(Statement put, db_->Prepare(std::string("INSERT OR REPLACE INTO item_heads (") +
                                               kColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  for (const HeadRow& row : rows) {
    put.Reset();
    put.Bind(1, static_cast<int64_t>(row.kind))
        .Bind(2, row.item)
        .Bind(3, row.issued)
        .Bind(4, row.settled)
        .Bind(5, row.owners)
        .Bind(6, row.state)
        .Bind(7, row.overdue_from)
        .Bind(8, row.head);
    RETURN_IF_ERROR(put.Run().WithContext("cannot keep the head of '" + row.item + "'"));
  }
  ASSIGN_OR_RETURN(Statement mark_stmt,
                   db_->Prepare("INSERT INTO item_heads_mark (id, through, basis) VALUES (1, ?, ?) "
                                "ON CONFLICT (id) DO UPDATE "
                                "SET through = excluded.through, basis = excluded.basis"));
  mark_stmt.Bind(1, mark.through).Bind(2, mark.basis);
  return mark_stmt.Run();
}

Status ItemHeads::Clear() {
  RETURN_IF_ERROR(db_->Exec("DELETE FROM item_heads"));
  return Put({}, HeadsMark{});
}

Status ItemHeads::Scan(int kind, const std::string& issued_by, const std::string& owner,
                       const std::function<Result<bool>(const HeadRow&)>& visit) {
  // `owners` is ids each followed by a space ("CPS SFO "): an id is owned when " id " is in
  // " " + owners. instr, unlike LIKE, is exact about case and has no wildcards.
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(std::string("SELECT ") + kListColumns +
                                " FROM item_heads WHERE kind = ?1 AND issued <= ?2 AND "
                                "(?3 = '' OR instr(' ' || owners, ' ' || ?3 || ' ') > 0) "
                                "ORDER BY issued, item"));
  stmt.Bind(1, static_cast<int64_t>(kind)).Bind(2, issued_by).Bind(3, owner);
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return Status();
    ASSIGN_OR_RETURN(bool more, visit(RowOf(stmt)));
    if (!more) return Status();
  }
}

Result<std::string> ItemHeads::Head(int kind, const std::string& item) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT head FROM item_heads WHERE kind = ? AND item = ?"));
  stmt.Bind(1, static_cast<int64_t>(kind)).Bind(2, item);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return Status::NotFound("the item heads have no row for '" + item + "'");
  return stmt.ColumnText(0);
}

Status ItemHeads::All(const std::function<Status(const HeadRow&)>& visit) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kColumns +
                                                " FROM item_heads ORDER BY kind, item"));
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return Status();
    RETURN_IF_ERROR(visit(RowOf(stmt)));
  }
}

Result<int64_t> ItemHeads::Count() {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT count(*) FROM item_heads"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  return has_row ? stmt.ColumnInt(0) : 0;
}

}  // namespace rectrack::storage
