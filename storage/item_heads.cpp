#include "storage/item_heads.h"

#include <algorithm>

namespace rectrack::storage {
namespace {

constexpr const char* kColumns = "kind, item, issued, settled, owners, state, overdue_from, head";
// Every column but the head: what the index item_heads_by_issue covers.
constexpr const char* kListColumns = "kind, item, issued, settled, owners, state, overdue_from, ''";

// Reads a row of kColumns (or kListColumns) into `row`, reusing the room its texts have.
void ReadRow(const Statement& stmt, HeadRow& row) {
  row.kind = static_cast<int>(stmt.ColumnInt(0));
  std::string HeadRow::*const texts[] = {&HeadRow::item,   &HeadRow::issued, &HeadRow::settled,
                                         &HeadRow::owners, &HeadRow::state,  &HeadRow::overdue_from,
                                         &HeadRow::head};
  int column = 1;
  for (std::string HeadRow::*text : texts) row.*text = stmt.ColumnView(column++);
}

HeadRow RowOf(const Statement& stmt) {
  HeadRow row;
  ReadRow(stmt, row);
  return row;
}

// The bodies an item's rows are kept under: each owner once, the first first; "" for an item
// without owners. `owners` is ids each followed by a space ("CPS SFO ").
std::vector<std::string> CopiesOf(const std::string& owners) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from < owners.size()) {
    size_t space = owners.find(' ', from);
    if (space == std::string::npos) space = owners.size();
    std::string owner = owners.substr(from, space - from);
    if (!owner.empty() && std::find(out.begin(), out.end(), owner) == out.end()) {
      out.push_back(std::move(owner));
    }
    from = space + 1;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

// One of an item's rows as stored: the row, and the body it is kept under.
struct Copy {
  std::string owner;
  bool lead = false;
  HeadRow row;
};

// Why an item's copies, the lead's first, are not its row once for each of its owners, the
// first owner's the lead; "" when they are.
std::string Disagreement(const std::vector<Copy>& copies) {
  const HeadRow& lead = copies.front().row;
  std::vector<std::string> want = CopiesOf(lead.owners);
  if (!copies.front().lead) return "have no lead row";
  if (copies.size() > 1 && copies[1].lead) return "have more than one lead row";
  if (copies.front().owner != want.front()) {
    return "have their lead row under '" + copies.front().owner + "', not its first owner '" +
           want.front() + "'";
  }
  std::vector<std::string> have;
  for (const Copy& copy : copies) {
    if (!(copy.row == lead)) {
      return "differ between the copies for '" + want.front() + "' and '" + copy.owner + "'";
    }
    have.push_back(copy.owner);
  }
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  if (have != want) {
    std::string listed;
    for (const std::string& owner : have) listed += (listed.empty() ? "'" : ", '") + owner + "'";
    return "are kept under " + listed + " where its owners are '" + lead.owners + "'";
  }
  return "";
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
  // An item's copies are replaced whole: its owners, or its issue date (in the key), may have
  // changed since.
  ASSIGN_OR_RETURN(Statement drop,
                   db_->Prepare("DELETE FROM item_heads WHERE kind = ? AND item = ?"));
  ASSIGN_OR_RETURN(Statement put,
                   db_->Prepare(std::string("INSERT INTO item_heads (owner, lead, ") + kColumns +
                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  for (const HeadRow& row : rows) {
    const std::string context = "cannot keep the head of '" + row.item + "'";
    drop.Reset();
    drop.Bind(1, static_cast<int64_t>(row.kind)).Bind(2, row.item);
    RETURN_IF_ERROR(drop.Run().WithContext(context));
    bool lead = true;
    for (const std::string& owner : CopiesOf(row.owners)) {
      put.Reset();
      put.Bind(1, owner)
          .Bind(2, static_cast<int64_t>(lead))
          .Bind(3, static_cast<int64_t>(row.kind))
          .Bind(4, row.item)
          .Bind(5, row.issued)
          .Bind(6, row.settled)
          .Bind(7, row.owners)
          .Bind(8, row.state)
          .Bind(9, row.overdue_from)
          .Bind(10, row.head);
      RETURN_IF_ERROR(put.Run().WithContext(context));
      lead = false;
    }
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
                       const std::function<Result<bool>(const HeadRow&)>& visit,
                       const std::optional<Place>& after) {
  // One body's: a range of the table's key, heads and all. Every body's: the lead rows, from
  // the index that covers every column but the head.
  const std::string where =
      owner.empty() ? " FROM item_heads WHERE lead = 1 AND kind = ?1 AND issued <= ?2"
                    : " FROM item_heads WHERE owner = ?3 AND kind = ?1 AND issued <= ?2";
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare(std::string("SELECT ") + (owner.empty() ? kListColumns : kColumns) + where +
                   (after ? " AND (issued, item) > (?4, ?5)" : "") + " ORDER BY issued, item"));
  stmt.Bind(1, static_cast<int64_t>(kind)).Bind(2, issued_by);
  if (!owner.empty()) stmt.Bind(3, owner);
  if (after) stmt.Bind(4, after->first).Bind(5, after->second);
  HeadRow row;  // one for every row: a row's texts fill the room the last one's left
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return Status();
    ReadRow(stmt, row);
    ASSIGN_OR_RETURN(bool more, visit(row));
    if (!more) return Status();
  }
}

Result<std::string> ItemHeads::Head(const HeadRow& row) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT head FROM item_heads "
                                "WHERE owner = ? AND kind = ? AND issued = ? AND item = ?"));
  stmt.Bind(1, CopiesOf(row.owners).front())
      .Bind(2, static_cast<int64_t>(row.kind))
      .Bind(3, row.issued)
      .Bind(4, row.item);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return Status::NotFound("the item heads have no row for '" + row.item + "'");
  return stmt.ColumnText(0);
}

Status ItemHeads::All(const std::function<Status(const HeadRow&)>& visit) {
  // In the order of the index by item, whose entries end with the table's key: an item's
  // copies together, by owner.
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kColumns +
                                                ", owner, lead FROM item_heads "
                                                "ORDER BY kind, item, lead DESC, owner"));
  std::vector<Copy> copies;  // of one item, the lead's first
  auto finish_item = [&]() -> Status {
    if (copies.empty()) return Status();
    if (std::string problem = Disagreement(copies); !problem.empty()) {
      return Status::Corruption("the item heads' rows for '" + copies.front().row.item + "' " +
                                problem + "; `rectrack rebuild` rebuilds them from the log");
    }
    RETURN_IF_ERROR(visit(copies.front().row));
    copies.clear();
    return Status();
  };
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return finish_item();
    HeadRow row = RowOf(stmt);
    if (!copies.empty() &&
        (row.kind != copies.front().row.kind || row.item != copies.front().row.item)) {
      RETURN_IF_ERROR(finish_item());
    }
    copies.push_back({stmt.ColumnText(8), stmt.ColumnInt(9) == 1, std::move(row)});
  }
}

Result<int64_t> ItemHeads::Count() {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT count(*) FROM item_heads WHERE lead = 1"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  return has_row ? stmt.ColumnInt(0) : 0;
}

}  // namespace rectrack::storage
