// Versioned schema migrations, private to storage/: Database::Open applies them before returning.
#pragma once

#include "common/status.h"
#include "storage/database.h"

namespace rectrack::storage {

// Brings `db` to the newest schema version, each migration in its own write transaction with
// its PRAGMA user_version bump, and sets *version to the version reached. Corruption when the
// database was written by a newer rectrack whose schema this binary does not know.
Status Migrate(Database& db, int* version);
// For a database opened read only, which cannot be migrated: sets *version when `db` is at the
// newest schema version; FailedPrecondition saying how to upgrade it when older (none, for
// a file that is no rectrack database), Corruption when newer, as Migrate.
Status CheckCurrent(Database& db, int* version);

}  // namespace rectrack::storage
