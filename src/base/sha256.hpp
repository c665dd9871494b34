// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104): what signs every Jupyter message. On
// x86-64 processors with the SHA extensions the compression runs on them (chosen at run
// time); elsewhere in portable C++. Here rather than OpenSSL's, whose provider machinery
// costs each process about 2 MiB of memory for this one function.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tejun::base {

class Sha256 {
 public:
  using Digest = std::array<unsigned char, 32>;

  void update(std::string_view bytes) noexcept;
  // The digest of everything given; the object is then spent.
  [[nodiscard]] Digest finish() noexcept;

  [[nodiscard]] static Digest of(std::string_view bytes) noexcept {
    Sha256 hash;
    hash.update(bytes);
    return hash.finish();
  }
  // The same without the processor's SHA extensions (the tests compare the two).
  [[nodiscard]] static Digest portable_of(std::string_view bytes) noexcept {
    Sha256 hash;
    hash.portable_ = true;
    hash.update(bytes);
    return hash.finish();
  }

 private:
  void compress(const unsigned char* blocks, std::size_t count) noexcept;

  std::array<std::uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<unsigned char, 64> pending_{};
  std::size_t pending_size_ = 0;
  std::uint64_t length_ = 0;  // bytes given so far
  bool portable_ = false;
};

// HMAC-SHA256 with a key set once: each message starts from copies of the keyed states.
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key) noexcept;

  class Message {
   public:
    void update(std::string_view bytes) noexcept { inner_.update(bytes); }
    [[nodiscard]] Sha256::Digest finish() noexcept;

   private:
    friend class HmacSha256;
    Message(const Sha256& inner, const Sha256& outer) : inner_(inner), outer_(outer) {}
    Sha256 inner_;
    Sha256 outer_;
  };
  [[nodiscard]] Message start() const noexcept { return {inner_, outer_}; }

 private:
  Sha256 inner_;  // after key XOR ipad
  Sha256 outer_;  // after key XOR opad
};

// Equal contents, in time that depends only on the lengths.
[[nodiscard]] bool constant_time_equal(std::string_view left, std::string_view right) noexcept;

}  // namespace tejun::base
