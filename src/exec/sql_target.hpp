// What a SQL step's connection resolves to (sql_connections.cpp makes it, sql_step.cpp
// uses it): shared by the two halves of the Interpreter's SQL code, private to exec.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exec/interpreter.hpp"
#include "exec/sql_database.hpp"

namespace tejun::exec {

struct Interpreter::SqlTarget {
  enum class Kind : std::uint8_t { postgres, sqlite } kind = Kind::sqlite;
  std::string key;    // in databases_; may hold the password, never shown
  std::string shown;  // for messages: no password
  PgParameters parameters;
  std::string path;       // SQLite: a file or :memory:
  bool embedded = false;  // the in-memory default: nothing was configured
  std::vector<std::string> passwords;
  std::map<std::string, std::optional<std::string>, std::less<>> variables;  // the kernel's, as asked for
};

}  // namespace tejun::exec
