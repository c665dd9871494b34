#include "base/sha256.hpp"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace tejun::base {
namespace {

constexpr std::array<std::uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t rotate_right(std::uint32_t value, int bits) noexcept {
  return (value >> bits) | (value << (32 - bits));
}

std::uint32_t load_big_endian(const unsigned char* bytes) noexcept {
  return (std::uint32_t{bytes[0]} << 24U) | (std::uint32_t{bytes[1]} << 16U) | (std::uint32_t{bytes[2]} << 8U) |
         std::uint32_t{bytes[3]};
}

void compress_portable(std::array<std::uint32_t, 8>& state, const unsigned char* blocks, std::size_t count) noexcept {
  for (; count > 0; --count, blocks += 64) {
    std::array<std::uint32_t, 64> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      w[i] = load_big_endian(blocks + 4 * i);
    }
    for (std::size_t i = 16; i < 64; ++i) {
      const auto s0 = rotate_right(w[i - 15], 7) ^ rotate_right(w[i - 15], 18) ^ (w[i - 15] >> 3U);
      const auto s1 = rotate_right(w[i - 2], 17) ^ rotate_right(w[i - 2], 19) ^ (w[i - 2] >> 10U);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, h] = state;
    for (std::size_t i = 0; i < 64; ++i) {
      const auto s1 = rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25);
      const auto choice = (e & f) ^ (~e & g);
      const auto t1 = h + s1 + choice + kRound[i] + w[i];
      const auto s0 = rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22);
      const auto majority = (a & b) ^ (a & c) ^ (b & c);
      const auto t2 = s0 + majority;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    const std::array<std::uint32_t, 8> add = {a, b, c, d, e, f, g, h};
    for (std::size_t i = 0; i < 8; ++i) {
      state[i] += add[i];
    }
  }
}

#if defined(__x86_64__)
// The SHA extensions (Intel SHA-NI, AMD Zen): four rounds per two sha256rnds2, the message
// schedule with sha256msg1/msg2. The state lives as ABEF and CDGH.
__attribute__((target("sha,sse4.1,ssse3"))) void compress_sha_ni(std::array<std::uint32_t, 8>& state,
                                                                 const unsigned char* blocks,
                                                                 std::size_t count) noexcept {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state.data()));       // A B C D
  __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state.data() + 4));  // E F G H
  low = _mm_shuffle_epi32(low, 0xB1);
  high = _mm_shuffle_epi32(high, 0x1B);
  __m128i abef = _mm_alignr_epi8(low, high, 8);
  __m128i cdgh = _mm_blend_epi16(high, low, 0xF0);
  for (; count > 0; --count, blocks += 64) {
    const __m128i abef_before = abef;
    const __m128i cdgh_before = cdgh;
    __m128i w[4];  // NOLINT(*-c-arrays): the last four groups of schedule words (std::array drops __m128i's alignment
                   // attribute)
    for (std::size_t group = 0; group < 16; ++group) {
      __m128i words;
      if (group < 4) {
        words = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks + 16 * group)), byte_swap);
      } else {
        __m128i mixed = _mm_sha256msg1_epu32(w[group % 4], w[(group + 1) % 4]);
        mixed = _mm_add_epi32(mixed, _mm_alignr_epi8(w[(group + 3) % 4], w[(group + 2) % 4], 4));
        words = _mm_sha256msg2_epu32(mixed, w[(group + 3) % 4]);
      }
      w[group % 4] = words;
      __m128i message =
          _mm_add_epi32(words, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kRound.data() + 4 * group)));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
      message = _mm_shuffle_epi32(message, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, message);
    }
    abef = _mm_add_epi32(abef, abef_before);
    cdgh = _mm_add_epi32(cdgh, cdgh_before);
  }
  const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state.data()), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state.data() + 4), _mm_alignr_epi8(dchg, feba, 8));
}

bool has_sha_extensions() noexcept {
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) {
    return false;
  }
  const bool ssse3 = (ecx & (1U << 9U)) != 0;
  const bool sse41 = (ecx & (1U << 19U)) != 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) {
    return false;
  }
  return ssse3 && sse41 && (ebx & (1U << 29U)) != 0;
}
#endif

using Compress = void (*)(std::array<std::uint32_t, 8>&, const unsigned char*, std::size_t) noexcept;

Compress chosen_compress() noexcept {
#if defined(__x86_64__)
  static const Compress kChosen = has_sha_extensions() ? &compress_sha_ni : &compress_portable;
  return kChosen;
#else
  return &compress_portable;
#endif
}

}  // namespace

void Sha256::compress(const unsigned char* blocks, std::size_t count) noexcept {
  (portable_ ? &compress_portable : chosen_compress())(state_, blocks, count);
}

void Sha256::update(std::string_view bytes) noexcept {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t size = bytes.size();
  length_ += size;
  if (pending_size_ > 0) {
    const auto taken = std::min(size, pending_.size() - pending_size_);
    std::memcpy(pending_.data() + pending_size_, data, taken);
    pending_size_ += taken;
    data += taken;
    size -= taken;
    if (pending_size_ < pending_.size()) {
      return;
    }
    compress(pending_.data(), 1);
    pending_size_ = 0;
  }
  if (size >= 64) {
    compress(data, size / 64);
    data += size - size % 64;
    size %= 64;
  }
  std::memcpy(pending_.data(), data, size);
  pending_size_ = size;
}

Sha256::Digest Sha256::finish() noexcept {
  const std::uint64_t bits = length_ * 8;
  pending_[pending_size_++] = 0x80;
  if (pending_size_ > 56) {
    std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(pending_size_), pending_.end(), 0);
    compress(pending_.data(), 1);
    pending_size_ = 0;
  }
  std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(pending_size_), pending_.begin() + 56, 0);
  for (std::size_t i = 0; i < 8; ++i) {
    pending_[56 + i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
  }
  compress(pending_.data(), 1);
  Digest digest{};
  for (std::size_t i = 0; i < 8; ++i) {
    for (std::size_t byte = 0; byte < 4; ++byte) {
      digest[4 * i + byte] = static_cast<unsigned char>(state_[i] >> (24 - 8 * byte));
    }
  }
  return digest;
}

HmacSha256::HmacSha256(std::string_view key) noexcept {
  std::array<unsigned char, 64> block{};
  if (key.size() > block.size()) {
    const auto hashed = Sha256::of(key);
    std::copy(hashed.begin(), hashed.end(), block.begin());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<char, 64> pad{};
  for (std::size_t i = 0; i < block.size(); ++i) {
    pad[i] = static_cast<char>(block[i] ^ 0x36U);
  }
  inner_.update(std::string_view(pad.data(), pad.size()));
  for (std::size_t i = 0; i < block.size(); ++i) {
    pad[i] = static_cast<char>(block[i] ^ 0x5cU);
  }
  outer_.update(std::string_view(pad.data(), pad.size()));
}

Sha256::Digest HmacSha256::Message::finish() noexcept {
  const auto inner = inner_.finish();
  outer_.update(std::string_view(reinterpret_cast<const char*>(inner.data()), inner.size()));
  return outer_.finish();
}

bool constant_time_equal(std::string_view left, std::string_view right) noexcept {
  if (left.size() != right.size()) {
    return false;
  }
  unsigned char difference = 0;
  for (std::size_t i = 0; i < left.size(); ++i) {
    difference |= static_cast<unsigned char>(left[i] ^ right[i]);
  }
  return difference == 0;
}

}  // namespace tejun::base
