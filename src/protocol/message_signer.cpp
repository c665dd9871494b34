#include "protocol/message_signer.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <stdexcept>

namespace tejun::protocol {
namespace {

constexpr std::size_t kDigestSize = 32;

struct FreeMac {
  void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};

}  // namespace

void MessageSigner::FreeContext::operator()(EVP_MAC_CTX* context) const noexcept {
  EVP_MAC_CTX_free(context);
}

MessageSigner::MessageSigner(std::string_view key) {
  if (key.empty()) {
    return;
  }
  const std::unique_ptr<EVP_MAC, FreeMac> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) {
    throw std::runtime_error("OpenSSL has no HMAC");
  }
  context_.reset(EVP_MAC_CTX_new(mac.get()));
  std::array<char, 7> digest{"SHA256"};
  const std::array<OSSL_PARAM, 2> params{OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
                                         OSSL_PARAM_construct_end()};
  if (!context_ || EVP_MAC_init(context_.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                                params.data()) != 1) {
    throw std::runtime_error("cannot set up HMAC-SHA256");
  }
}

std::string MessageSigner::sign(std::span<const std::string_view> parts) const {
  if (!context_) {
    return {};
  }
  const std::unique_ptr<EVP_MAC_CTX, FreeContext> context(EVP_MAC_CTX_dup(context_.get()));
  std::array<unsigned char, kDigestSize> digest{};
  std::size_t length = 0;
  bool ok = context != nullptr;
  for (const auto part : parts) {
    ok = ok && EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(part.data()), part.size()) == 1;
  }
  ok = ok && EVP_MAC_final(context.get(), digest.data(), &length, digest.size()) == 1;
  if (!ok || length != kDigestSize) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex(2 * kDigestSize, '0');
  for (std::size_t i = 0; i < kDigestSize; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4U];
    hex[2 * i + 1] = kHex[digest[i] & 0xFU];
  }
  return hex;
}

bool MessageSigner::verify(std::string_view signature, std::span<const std::string_view> parts) const {
  if (!context_) {
    return true;
  }
  const auto expected = sign(parts);
  return signature.size() == expected.size() && CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) == 0;
}

}  // namespace tejun::protocol
