// GitLab CI/CD variables as a job sees them: the levels (instance, groups from the top down,
// the project) merged with GitLab's precedence, environment scopes matched as GitLab matches
// them, and $NAME references expanded the way the runner expands them. Pure logic, no IO.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "notebook/json.hpp"

namespace tejun::integrations::gitlab {

struct Variable {
  std::string key;
  std::string value;
  bool file = false;  // variable_type "file": the job gets a path to a file holding the value
  bool is_protected = false;
  bool masked = false;
  bool raw = false;  // never expanded
  std::string environment_scope = "*";
};

// One owner's variables: "instance", "group platform/sre", "project platform/sre/oncall".
struct VariableLevel {
  std::string name;
  std::vector<Variable> variables;
};

// A variable the job gets, and the level it came from.
struct JobVariable {
  Variable variable;
  std::string level;
};

// A variable of GitLab's API entity; nullopt when a field has the wrong type or the key is missing.
[[nodiscard]] std::optional<Variable> variable_from_json(const notebook::Json& entity);

// How well `scope` matches `environment`: 2 the same name, 1 a wildcard pattern that matches
// it (`review/*`), 0 `*`; nullopt no match. A job without an environment gets `*` only.
[[nodiscard]] std::optional<int> scope_rank(std::string_view scope, const std::optional<std::string>& environment);

// `text` matches `pattern`, where `*` stands for any run of characters.
[[nodiscard]] bool wildcard_match(std::string_view pattern, std::string_view text);

// The variables a job on `environment` sees: a later level wins over an earlier one; within
// a level the best-matching scope wins. `protected_ref` false leaves out protected
// variables, as for a job on an unprotected branch. Sorted by key.
[[nodiscard]] std::vector<JobVariable> job_variables(const std::vector<VariableLevel>& levels,
                                                     const std::optional<std::string>& environment, bool protected_ref);

// `value` with $NAME and ${NAME} replaced by lookup(NAME) and $$ by $, in one pass. A name
// lookup does not know is left as written and added to `unknown`.
[[nodiscard]] std::string expand(std::string_view value,
                                 const std::function<const std::string*(std::string_view)>& lookup,
                                 std::vector<std::string>& unknown);

}  // namespace tejun::integrations::gitlab
