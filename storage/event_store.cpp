#include "storage/event_store.h"

#include "storage/crypto.h"

#include <string_view>
#include <utility>

namespace rectrack::storage {
namespace {

const std::string kZeroHash(64, '0');

// The columns of an EventRowView, then every column of an EventRow, in ReadRow's order.
constexpr char kViewColumns[] =
    "seq, kind, subject_id, transition, effective, recorded, actor, role, body, note, payload";
constexpr char kColumns[] =
    "seq, kind, subject_id, transition, effective, recorded, actor, role, body, note, payload, "
    "prev_hash, hash";
static_assert(std::string_view(kColumns).starts_with(kViewColumns));

// The kViewColumns of the statement's current row into `row` (an EventRow or an EventRowView),
// each text read by `text(column)`: a copy or a view.
template <typename Row, typename Text>
void ReadViewColumns(const Statement& stmt, const Text& text, Row& row) {
  row.seq = stmt.ColumnInt(0);
  row.kind = static_cast<int>(stmt.ColumnInt(1));
  row.subject_id = text(2);
  row.transition = text(3);
  row.effective = text(4);
  row.recorded = text(5);
  row.actor = text(6);
  row.role = text(7);
  row.body = text(8);
  row.note = text(9);
  row.payload = text(10);
}

EventRow ReadRow(const Statement& stmt) {
  EventRow row;
  ReadViewColumns(
      stmt, [&](int column) { return stmt.ColumnText(column); }, row);
  row.prev_hash = stmt.ColumnText(11);
  row.hash = stmt.ColumnText(12);
  return row;
}

void AppendField(std::string* out, std::string_view field) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field);
  out->push_back('\n');
}

// "recommendation da23-r2 'close', effective 2024-08-15": enough for a person to find the row.
std::string Describe(const EventRow& row, const KindNamer& name_kind) {
  const std::string kind = name_kind ? name_kind(row.kind) : "kind " + std::to_string(row.kind);
  return kind + " " + row.subject_id + " '" + row.transition + "', effective " + row.effective;
}

std::string Missing(int64_t first, int64_t last) {
  if (first == last) return "event " + std::to_string(first) + " is missing";
  return "events " + std::to_string(first) + " to " + std::to_string(last) + " are missing";
}

// The first problem with `row` given the row before it (null for the first row), or OK.
Status CheckRow(const EventRow& row, const EventRow* prev, const KindNamer& name_kind) {
  const std::string name = "event " + std::to_string(row.seq);
  const int64_t expected_seq = prev == nullptr ? 1 : prev->seq + 1;
  if (row.seq != expected_seq) {
    if (row.seq < expected_seq) {
      return Status::Corruption(name + " is out of sequence: expected event " +
                                std::to_string(expected_seq));
    }
    if (prev == nullptr) {
      return Status::Corruption(name + " is the first event: " + Missing(1, row.seq - 1));
    }
    return Status::Corruption(name + " follows event " + std::to_string(prev->seq) + ": " +
                              Missing(expected_seq, row.seq - 1));
  }
  if (prev == nullptr && row.prev_hash != kZeroHash) {
    return Status::Corruption(name + " does not start the chain: its prev_hash is not 64 zeros");
  }
  if (prev != nullptr && row.prev_hash != prev->hash) {
    return Status::Corruption(name + " does not link to event " + std::to_string(prev->seq));
  }
  if (ChainHash(row) != row.hash) {
    return Status::Corruption(name + " (" + Describe(row, name_kind) +
                              "): its content does not match its hash; it was changed after it "
                              "was written");
  }
  return Status();
}

}  // namespace

std::string ChainHash(const EventRow& row) {
  const std::string seq = std::to_string(row.seq);
  const std::string kind = std::to_string(row.kind);
  std::string input;
  for (const std::string* field :
       {&row.prev_hash, &seq, &kind, &row.subject_id, &row.transition, &row.effective,
        &row.recorded, &row.actor, &row.role, &row.body, &row.note, &row.payload}) {
    AppendField(&input, *field);
  }
  // Sha256Hex returns "" only when OpenSSL cannot allocate; "" then matches no stored hash and
  // Append refuses it.
  return Sha256Hex(input);
}

Result<std::vector<EventRow>> EventStore::LoadSince(int64_t after_seq) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kColumns +
                                                " FROM events WHERE seq > ? ORDER BY seq"));
  stmt.Bind(1, after_seq);
  std::vector<EventRow> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return rows;
    rows.push_back(ReadRow(stmt));
  }
}

Status EventStore::Scan(int64_t after_seq,
                        const std::function<Status(const EventRowView&)>& visit) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(std::string("SELECT ") + kViewColumns +
                                                " FROM events WHERE seq > ? ORDER BY seq"));
  stmt.Bind(1, after_seq);
  EventRowView row;
  while (true) {
    {
      // Each row's step and column reads hold the connection once, not once a call; it is let
      // go before the visit, which may wait on other threads (ReadAhead hands rows over).
      const Database::Hold hold(*db_);
      ASSIGN_OR_RETURN(bool has_row, stmt.Step());
      if (!has_row) return Status();
      ReadViewColumns(
          stmt, [&](int column) { return stmt.ColumnView(column); }, row);
    }
    RETURN_IF_ERROR(visit(row));
  }
}

Result<std::vector<EventRow>> EventStore::LoadSeqs(const std::vector<int64_t>& seqs) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(std::string("SELECT ") + kColumns + " FROM events WHERE seq = ?"));
  std::vector<EventRow> rows;
  rows.reserve(seqs.size());
  for (int64_t seq : seqs) {
    stmt.Reset();
    stmt.Bind(1, seq);
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      return Status::Corruption("the item index names event " + std::to_string(seq) +
                                ", which the log does not have");
    }
    rows.push_back(ReadRow(stmt));
  }
  return rows;
}

int64_t EventStore::LastSeq() {
  auto stmt = db_->Prepare("SELECT COALESCE(MAX(seq), 0) FROM events");
  if (!stmt.ok()) return -1;
  Result<bool> has_row = stmt->Step();
  if (!has_row.ok() || !*has_row) return -1;
  return stmt->ColumnInt(0);
}

Status EventStore::Append(std::vector<EventRow>& rows) {
  if (rows.empty()) return Status();
  int64_t last_seq = 0;
  std::string last_hash = kZeroHash;
  {
    ASSIGN_OR_RETURN(Statement last,
                     db_->Prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool has_row, last.Step());
    if (has_row) {
      last_seq = last.ColumnInt(0);
      last_hash = last.ColumnText(1);
    }
  }
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare(std::string("INSERT INTO events (") + kColumns +
                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  for (EventRow& row : rows) {
    row.seq = last_seq + 1;
    row.prev_hash = last_hash;
    row.hash = ChainHash(row);
    // Built only on failure: this is the write path of every event.
    auto where = [&] {
      return "cannot append event " + std::to_string(row.seq) + " (" + Describe(row, name_kind_) +
             ")";
    };
    if (row.hash.empty()) return Status::IOError(where() + ": SHA-256 failed");
    insert.Reset();
    insert.Bind(1, row.seq)
        .Bind(2, static_cast<int64_t>(row.kind))
        .Bind(3, row.subject_id)
        .Bind(4, row.transition)
        .Bind(5, row.effective)
        .Bind(6, row.recorded)
        .Bind(7, row.actor)
        .Bind(8, row.role)
        .Bind(9, row.body)
        .Bind(10, row.note)
        .Bind(11, row.payload)
        .Bind(12, row.prev_hash)
        .Bind(13, row.hash);
    if (Status s = insert.Run(); !s.ok()) return s.WithContext(where());
    last_seq = row.seq;
    last_hash = row.hash;
  }
  return Status();
}

Result<VerifyReport> EventStore::Verify() {
  // One statement reads one snapshot, so rows appended meanwhile cannot tear the walk.
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(std::string("SELECT ") + kColumns + " FROM events ORDER BY seq"));
  VerifyReport report;
  report.head_hash = kZeroHash;
  EventRow prev;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) break;
    EventRow row = ReadRow(stmt);
    RETURN_IF_ERROR(CheckRow(row, report.events == 0 ? nullptr : &prev, name_kind_));
    ++report.events;
    report.head_hash = row.hash;
    prev = std::move(row);
  }
  return report;
}

}  // namespace rectrack::storage
