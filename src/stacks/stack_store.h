// Durable stack state: which profile each logical resource of a stack deployed, and the stack's exports,
// in <data>/stacks.db (component "stacks"). What a profile currently looks like is read live from the
// profile store, so a change made outside the stack (a deleted profile, an edited tag) is seen and undone.
//
// Thread-safety: calls are serialised on the connection's lock.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace tollgate::store::sqlite {
class Database;
}

namespace tollgate::stacks {

struct StackResourceState {
  std::string profile_arn;
  bool retain = false;  // DeletionPolicy: Retain
};

struct StackExport {
  std::string name;
  std::string value;
};

struct StackRecord {
  std::string account_id;
  std::string region;
  std::string name;
  std::string stack_id;                                 // arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID
  std::map<std::string, StackResourceState> resources;  // by logical id
  std::vector<StackExport> exports;
  TimePoint created_at, updated_at;
};

class StackStore {
 public:
  // Opens (creating and migrating if needed) the stacks tables at `path`. Throws StartupError.
  static std::unique_ptr<StackStore> open(const std::string& path);
  ~StackStore();

  Result<std::optional<StackRecord>> find(const std::string& account_id, const std::string& region,
                                          const std::string& name);
  // Creates or replaces the stack's record (its resources and exports), in one transaction.
  Status save(const StackRecord& stack);
  // The stack (other than `except_stack`) that exports `export_name` in the region, if any.
  Result<std::optional<std::string>> export_owner(const std::string& account_id, const std::string& region,
                                                  const std::string& export_name, const std::string& except_stack);

 private:
  explicit StackStore(std::unique_ptr<store::sqlite::Database> db);
  std::unique_ptr<store::sqlite::Database> db_;
};

}  // namespace tollgate::stacks
