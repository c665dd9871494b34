// Run parameters as papermill takes them: typed values from the command line or YAML, written
// into the runbook as an "injected-parameters" cell in the kernel's language.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "notebook/json.hpp"
#include "notebook/notebook.hpp"

namespace tejun::runner {

struct Parameter {
  std::string name;
  notebook::Json value;
};
// In the order first given; setting a name again replaces its value in place.
using Parameters = std::vector<Parameter>;

inline constexpr std::string_view kParametersTag = "parameters";
inline constexpr std::string_view kInjectedParametersTag = "injected-parameters";

// Whether `cell`'s metadata.tags holds `tag`.
[[nodiscard]] bool has_tag(const notebook::Cell& cell, std::string_view tag);

// A command-line value typed as papermill types `-p` values: True/False → booleans, None →
// null, then an integer, then a float (Python's int() and float() syntax), else the string.
[[nodiscard]] notebook::Json typed_value(std::string_view text);

void set_parameter(Parameters& parameters, std::string name, notebook::Json value);

// The parameters of a YAML mapping (`-f params.yaml`, `-y TEXT`); `source` names it in errors.
[[nodiscard]] base::Result<Parameters> parameters_from_yaml(std::string_view yaml, const std::string& source);

enum class ParameterLanguage : std::uint8_t { python, shell };

// The language to write parameters in for a kernel of `language` (its kernelspec's);
// an error names the languages tejun can write.
[[nodiscard]] base::Result<ParameterLanguage> parameter_language(std::string_view language);

// "# Parameters" and one assignment per parameter: `name = literal` (Python) or
// `export NAME='value'` (shell). An error for a name the language cannot assign to.
[[nodiscard]] base::Result<std::string> parameters_source(const Parameters& parameters, ParameterLanguage language);

struct Injection {
  std::optional<std::size_t> cell;    // the injected cell's index, when one was written
  Parameters effective;               // the defaults of a Markdown runbook, overridden by `given`
  std::vector<std::string> warnings;  // e.g. a parameter the runbook does not declare
};

// Removes any earlier injected-parameters cell, then puts a new one after the cell tagged
// "parameters" (else before the first code cell). A Markdown runbook's front-matter
// parameters (metadata.tejun.parameters) are its defaults. Nothing is injected when there
// are no parameters at all.
[[nodiscard]] base::Result<Injection> inject_parameters(notebook::Notebook& notebook, const Parameters& given,
                                                        ParameterLanguage language);

}  // namespace tejun::runner
