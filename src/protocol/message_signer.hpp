// HMAC-SHA256 signatures of Jupyter messages (the "signature" frame of the wire format).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/sha256.hpp"

namespace tejun::protocol {

class MessageSigner {
 public:
  // An empty key turns signing off, as the protocol allows: signatures are empty and any
  // signature is accepted.
  explicit MessageSigner(std::string_view key);

  // Lowercase hex HMAC-SHA256 of the parts in order (header, parent header, metadata, content).
  [[nodiscard]] std::string sign(std::span<const std::string_view> parts) const;

  // Compares in constant time.
  [[nodiscard]] bool verify(std::string_view signature, std::span<const std::string_view> parts) const;

  [[nodiscard]] bool enabled() const noexcept { return keyed_.has_value(); }

 private:
  std::optional<base::HmacSha256> keyed_;  // keyed once, copied per message
};

}  // namespace tejun::protocol
