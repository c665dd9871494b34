// Values that must never leave the kernel: every output, display and error passes through
// mask() or an OutputFilter, which replace them with [MASKED].
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tejun::exec {

inline constexpr std::string_view kMaskedText = "[MASKED]";

// A variable name that says it holds a secret: one containing TOKEN, PASSWORD, PASSWD,
// SECRET or PRIVATE_KEY, or ending in _KEY (GITLAB_ACCESS_TOKEN, DB_PASSWORD, AWS_SECRET_ACCESS_KEY).
[[nodiscard]] bool is_secret_name(std::string_view name) noexcept;
// A request header whose value is a credential: Authorization, Proxy-Authorization, Cookie,
// PRIVATE-TOKEN, JOB-TOKEN, and any name containing "token", "secret" or "api-key".
[[nodiscard]] bool is_secret_header(std::string_view name) noexcept;

class Secrets {
 public:
  // Empty values are ignored (they would match everywhere).
  void add(std::string value);
  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }
  [[nodiscard]] const std::vector<std::string>& values() const noexcept { return values_; }

  // `text` with every secret replaced, longest first so that a secret containing another is
  // masked whole.
  [[nodiscard]] std::string mask(std::string_view text) const;
  void mask_in_place(std::string& text) const;

  // Length of the longest suffix of `text` that is a proper prefix of some secret: the part
  // of a stream to hold back until the next chunk shows whether a secret is being written.
  [[nodiscard]] std::size_t partial_match_length(std::string_view text) const;

 private:
  std::vector<std::string> values_;  // longest first
};

}  // namespace tejun::exec
