#include "integrations/gitlab/gitlab_variables.hpp"

#include <algorithm>
#include <map>

namespace tejun::integrations::gitlab {
namespace {

bool name_character(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9');
}

// A boolean member; absent or null is false, another type is an error.
bool boolean_member(const notebook::JsonObject& object, std::string_view key, bool& ok) {
  const auto* member = notebook::find_member(object, key);
  if (member == nullptr || member->is_null()) {
    return false;
  }
  if (!member->is_bool()) {
    ok = false;
    return false;
  }
  return member->as_bool();
}

}  // namespace

std::optional<Variable> variable_from_json(const notebook::Json& entity) {
  if (!entity.is_object()) {
    return std::nullopt;
  }
  const auto& object = entity.as_object();
  const auto* key = notebook::find_member(object, "key");
  const auto* value = notebook::find_member(object, "value");
  if (key == nullptr || !key->is_string() || key->as_string().empty()) {
    return std::nullopt;
  }
  Variable variable;
  variable.key = key->as_string();
  if (value != nullptr && value->is_string()) {
    variable.value = value->as_string();
  } else if (value != nullptr && !value->is_null()) {
    return std::nullopt;  // null is a hidden value: it reads as empty, as in a job it cannot
  }
  bool ok = true;
  variable.is_protected = boolean_member(object, "protected", ok);
  variable.masked = boolean_member(object, "masked", ok);
  variable.raw = boolean_member(object, "raw", ok);
  variable.file = notebook::string_member(&object, "variable_type") == "file";
  if (auto scope = notebook::string_member(&object, "environment_scope"); !scope.empty()) {
    variable.environment_scope = std::move(scope);  // instance variables have none: "*"
  }
  return ok ? std::optional<Variable>(std::move(variable)) : std::nullopt;
}

bool wildcard_match(std::string_view pattern, std::string_view text) {
  // Greedy matching with backtracking to the last '*': linear enough for scope names.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

std::optional<int> scope_rank(std::string_view scope, const std::optional<std::string>& environment) {
  if (scope == "*") {
    return 0;
  }
  if (!environment) {
    return std::nullopt;
  }
  if (scope == *environment) {
    return 2;
  }
  if (scope.find('*') != std::string_view::npos && wildcard_match(scope, *environment)) {
    return 1;
  }
  return std::nullopt;
}

std::vector<JobVariable> job_variables(const std::vector<VariableLevel>& levels,
                                       const std::optional<std::string>& environment, bool protected_ref) {
  struct Chosen {
    JobVariable job;
    std::size_t level = 0;
    int rank = 0;
  };
  std::map<std::string, Chosen, std::less<>> chosen;
  for (std::size_t index = 0; index < levels.size(); ++index) {
    for (const auto& variable : levels[index].variables) {
      if (variable.is_protected && !protected_ref) {
        continue;
      }
      const auto rank = scope_rank(variable.environment_scope, environment);
      if (!rank) {
        continue;
      }
      auto found = chosen.find(variable.key);
      // A later level wins whatever its scope; within one level a better scope wins, and of
      // two wildcard scopes the longer (more specific) one.
      const bool better = found == chosen.end() || index > found->second.level ||
                          (index == found->second.level &&
                           (*rank > found->second.rank ||
                            (*rank == found->second.rank &&
                             variable.environment_scope.size() > found->second.job.variable.environment_scope.size())));
      if (better) {
        chosen.insert_or_assign(variable.key, Chosen{{variable, levels[index].name}, index, *rank});
      }
    }
  }
  std::vector<JobVariable> result;
  result.reserve(chosen.size());
  for (auto& [key, entry] : chosen) {
    result.push_back(std::move(entry.job));
  }
  return result;
}

std::string expand(std::string_view value, const std::function<const std::string*(std::string_view)>& lookup,
                   std::vector<std::string>& unknown) {
  std::string expanded;
  expanded.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '$' || i + 1 == value.size()) {
      expanded += value[i];
      continue;
    }
    if (value[i + 1] == '$') {
      expanded += '$';
      ++i;
      continue;
    }
    std::size_t start = i + 1;
    std::size_t end = start;
    const bool braced = value[start] == '{';
    if (braced) {
      ++start;
      end = value.find('}', start);
      if (end == std::string_view::npos || end == start) {
        expanded += value[i];
        continue;
      }
    } else {
      while (end < value.size() && name_character(value[end], end == start)) {
        ++end;
      }
      if (end == start) {
        expanded += value[i];
        continue;
      }
    }
    const auto name = value.substr(start, end - start);
    if (const std::string* found = lookup(name)) {
      expanded += *found;
    } else {
      expanded += value.substr(i, end + (braced ? 1 : 0) - i);
      if (std::find(unknown.begin(), unknown.end(), name) == unknown.end()) {
        unknown.emplace_back(name);
      }
    }
    i = end + (braced ? 1 : 0) - 1;
  }
  return expanded;
}

}  // namespace tejun::integrations::gitlab
