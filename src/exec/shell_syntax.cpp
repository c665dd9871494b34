#include "exec/shell_syntax.hpp"

#include "exec/program.hpp"

namespace tejun::exec {
namespace {

constexpr auto kParseLimit = std::chrono::milliseconds(2000);

// A line continued by a backslash that is not itself escaped.
bool ends_with_continuation(std::string_view code) {
  while (code.ends_with('\n')) {
    code.remove_suffix(1);
  }
  std::size_t backslashes = 0;
  while (backslashes < code.size() && code[code.size() - 1 - backslashes] == '\\') {
    ++backslashes;
  }
  return backslashes % 2 == 1;
}

}  // namespace

const char* to_string(Completeness completeness) noexcept {
  switch (completeness) {
    case Completeness::complete:
      return "complete";
    case Completeness::incomplete:
      return "incomplete";
    case Completeness::invalid:
      return "invalid";
    case Completeness::unknown:
      break;
  }
  return "unknown";
}

Completeness shell_completeness(std::string_view code, const std::string& bash_path) {
  if (ends_with_continuation(code)) {
    return Completeness::incomplete;
  }
  std::string input(code);
  input.push_back('\n');
  // LC_ALL=C: the messages below are bash's English ones.
  const auto parsed = run_program({bash_path, "--noprofile", "--norc", "-n"}, input, kParseLimit, {"LC_ALL=C"});
  if (!parsed) {
    return Completeness::unknown;
  }
  const auto& err = parsed->err;
  if (err.find("unexpected end of file") != std::string::npos || err.find("unexpected EOF") != std::string::npos ||
      (err.find("here-document") != std::string::npos && err.find("end-of-file") != std::string::npos)) {
    return Completeness::incomplete;
  }
  if (parsed->status != 0) {
    return Completeness::invalid;
  }
  return Completeness::complete;
}

}  // namespace tejun::exec
