#include "protocol/message_signer.hpp"

namespace tejun::protocol {

MessageSigner::MessageSigner(std::string_view key) {
  if (!key.empty()) {
    keyed_.emplace(key);
  }
}

std::string MessageSigner::sign(std::span<const std::string_view> parts) const {
  if (!keyed_) {
    return {};
  }
  auto message = keyed_->start();
  for (const auto part : parts) {
    message.update(part);
  }
  const auto digest = message.finish();
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex(2 * digest.size(), '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    hex[2 * i] = kHex[digest[i] >> 4U];
    hex[2 * i + 1] = kHex[digest[i] & 0xFU];
  }
  return hex;
}

bool MessageSigner::verify(std::string_view signature, std::span<const std::string_view> parts) const {
  if (!keyed_) {
    return true;
  }
  return base::constant_time_equal(signature, sign(parts));
}

}  // namespace tejun::protocol
