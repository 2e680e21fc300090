// Versioned schema migrations, private to storage/: Database::Open applies them before returning.
#pragma once

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

// Brings `db` to the newest schema version, each migration in its own write transaction with
// its PRAGMA user_version bump, and sets *version to the version reached. Corruption when the
// database was written by a newer rectrack whose schema this binary does not know.
Status Migrate(Database& db, int* version);

}  // namespace rectrack::storage
