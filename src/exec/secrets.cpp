#include "exec/secrets.hpp"

#include <algorithm>

namespace tejun::exec {

void Secrets::add(std::string value) {
  if (value.empty() || std::find(values_.begin(), values_.end(), value) != values_.end()) {
    return;
  }
  values_.push_back(std::move(value));
  std::stable_sort(values_.begin(), values_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Secrets::mask(std::string_view text) const {
  std::string result(text);
  mask_in_place(result);
  return result;
}

void Secrets::mask_in_place(std::string& text) const {
  for (const auto& secret : values_) {
    std::size_t position = text.find(secret);
    while (position != std::string::npos) {
      text.replace(position, secret.size(), kMaskedText);
      position = text.find(secret, position + kMaskedText.size());
    }
  }
}

std::size_t Secrets::partial_match_length(std::string_view text) const {
  std::size_t longest = 0;
  for (const auto& secret : values_) {
    const auto limit = std::min(secret.size() - 1, text.size());
    for (std::size_t length = limit; length > longest; --length) {
      if (text.substr(text.size() - length) == std::string_view(secret).substr(0, length)) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

}  // namespace tejun::exec
