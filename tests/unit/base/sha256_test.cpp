#include "base/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tejun::base {
namespace {

std::string hex(const Sha256::Digest& digest) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string text;
  for (const auto byte : digest) {
    text += kHex[byte >> 4U];
    text += kHex[byte & 0xFU];
  }
  return text;
}

std::string hmac(std::string_view key, std::string_view data) {
  auto message = HmacSha256(key).start();
  message.update(data);
  return hex(message.finish());
}

// FIPS 180-4's examples (NIST's SHA256.pdf) and the empty message.
TEST(Sha256, KnownDigests) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1'000'000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"}};
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(hex(Sha256::of(input)), expected) << input.size() << " bytes";
    EXPECT_EQ(hex(Sha256::portable_of(input)), expected) << input.size() << " bytes, portable";
  }
}

// Whatever the pieces, the digest of their concatenation; both compressions agree.
TEST(Sha256, PiecesAndBothCompressionsAgree) {
  std::string data;
  for (int i = 0; i < 1000; ++i) {
    data += static_cast<char>((i * 131) % 256);
  }
  for (std::size_t length = 0; length <= data.size(); length += 7) {
    const std::string_view input(data.data(), length);
    const auto whole = Sha256::of(input);
    EXPECT_EQ(whole, Sha256::portable_of(input)) << length;
    for (const std::size_t step : {1U, 3U, 63U, 64U, 65U}) {
      Sha256 pieces;
      for (std::size_t at = 0; at < length; at += step) {
        pieces.update(input.substr(at, step));
      }
      EXPECT_EQ(pieces.finish(), whole) << length << " in pieces of " << step;
    }
  }
}

// RFC 4231's test cases 1, 2, 3, 4, 6 and 7 (6 and 7 have keys longer than a block).
TEST(HmacSha256, Rfc4231) {
  EXPECT_EQ(hmac(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  std::string key4;
  for (int i = 1; i <= 25; ++i) {
    key4 += static_cast<char>(i);
  }
  EXPECT_EQ(hmac(key4, std::string(50, '\xcd')), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  EXPECT_EQ(hmac(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(hmac(std::string(131, '\xaa'),
                 "This is a test using a larger than block-size key and a larger than block-size data. The key "
                 "needs to be hashed before being used by the HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256, OneKeyManyMessages) {
  const HmacSha256 keyed("key");
  auto first = keyed.start();
  first.update("The quick brown fox ");
  first.update("jumps over the lazy dog");
  EXPECT_EQ(hex(first.finish()), "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  auto second = keyed.start();
  second.update("The quick brown fox jumps over the lazy dog");
  EXPECT_EQ(hex(second.finish()), "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST(ConstantTimeEqual, ComparesContentsAndLengths) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace tejun::base
