#include "exec/secrets.hpp"

#include <algorithm>

#include "base/text.hpp"

namespace tejun::exec {

bool is_secret_name(std::string_view name) noexcept {
  const std::string upper = base::ascii_uppercase(name);
  for (const std::string_view word : {"TOKEN", "PASSWORD", "PASSWD", "SECRET", "PRIVATE_KEY"}) {
    if (upper.find(word) != std::string::npos) {
      return true;
    }
  }
  return upper.ends_with("_KEY");
}

bool is_secret_header(std::string_view name) noexcept {
  const std::string lower = base::ascii_lowercase(name);
  if (lower == "authorization" || lower == "proxy-authorization" || lower == "cookie") {
    return true;
  }
  for (const std::string_view word : {"token", "secret", "api-key", "apikey", "password"}) {
    if (lower.find(word) != std::string::npos) {
      return true;
    }
  }
  return false;
}

namespace {

// How bash's `set -x` writes a value back: '...' with ' as '\'' and, when the value holds a
// control character, $'...' with C escapes. A traced command must not show the secret in
// either form.
std::vector<std::string> traced_forms(const std::string& value) {
  std::vector<std::string> forms;
  if (value.find('\'') != std::string::npos) {
    std::string quoted;
    for (const char c : value) {
      quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    forms.push_back(std::move(quoted));
  }
  const bool has_control =
      std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
  if (has_control) {
    std::string escaped;
    for (const char c : value) {
      switch (c) {
        case '\n':
          escaped += "\\n";
          break;
        case '\t':
          escaped += "\\t";
          break;
        case '\r':
          escaped += "\\r";
          break;
        case '\x1B':
          escaped += "\\E";
          break;
        case '\\':
          escaped += "\\\\";
          break;
        case '\'':
          escaped += "\\'";
          break;
        default:
          escaped += c;
      }
    }
    forms.push_back(std::move(escaped));
  }
  return forms;
}

}  // namespace

void Secrets::add(std::string value) {
  if (value.empty() || std::find(values_.begin(), values_.end(), value) != values_.end()) {
    return;
  }
  for (auto& form : traced_forms(value)) {
    if (std::find(values_.begin(), values_.end(), form) == values_.end()) {
      values_.push_back(std::move(form));
    }
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
