// Small text helpers shared by modules.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace tejun::base {

// `text` with ASCII letters in lower case (names of kernels, languages, prompts).
[[nodiscard]] inline std::string ascii_lowercase(std::string_view text) {
  std::string lower(text);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

[[nodiscard]] inline std::string ascii_uppercase(std::string_view text) {
  std::string upper(text);
  std::ranges::transform(upper, upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper;
}

}  // namespace tejun::base
