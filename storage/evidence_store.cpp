#include "storage/evidence_store.h"

#include "storage/crypto.h"

namespace rectrack::storage {

Status EvidenceStore::Put(const std::string& sha256, std::string_view content) {
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT OR IGNORE INTO evidence (sha256, size, content) "
                                "VALUES (?1, ?2, ?3)"));
  insert.Bind(1, sha256).Bind(2, static_cast<int64_t>(content.size())).BindBlob(3, content);
  return insert.Run();
}

Result<std::string> EvidenceStore::Get(const std::string& sha256) {
  ASSIGN_OR_RETURN(Statement select,
                   db_->Prepare("SELECT content FROM evidence WHERE sha256 = ?1"));
  select.Bind(1, sha256);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return Status::NotFound("no evidence file " + sha256);
  return select.ColumnBlob(0);
}

Status EvidenceStore::Check(const std::string& sha256, int64_t size) {
  ASSIGN_OR_RETURN(std::string content, Get(sha256));
  if (static_cast<int64_t>(content.size()) != size) {
    return Status::Corruption("is " + std::to_string(content.size()) + " bytes, not " +
                              std::to_string(size));
  }
  if (const std::string actual = Sha256Hex(content); actual != sha256) {
    return Status::Corruption("its bytes hash to " + actual);
  }
  return Status();
}

}  // namespace rectrack::storage
