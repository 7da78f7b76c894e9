// The embedded ProfileStore: SQLite in WAL mode.
#pragma once

#include <memory>
#include <string>

#include "store/profile_store.h"

namespace tollgate::store::sqlite {

// Opens `path` (":memory:" for tests) and brings its schema up to date.
// Throws StartupError when the database cannot be opened or migrated.
std::unique_ptr<ProfileStore> open_profile_store(const std::string& path);

}  // namespace tollgate::store::sqlite
