// HMAC-SHA256 signatures of Jupyter messages (the "signature" frame of the wire format).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

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

  [[nodiscard]] bool enabled() const noexcept { return context_ != nullptr; }

 private:
  struct FreeContext {
    void operator()(EVP_MAC_CTX* context) const noexcept;
  };
  std::unique_ptr<EVP_MAC_CTX, FreeContext> context_;  // keyed once, duplicated per message
};

}  // namespace tejun::protocol
