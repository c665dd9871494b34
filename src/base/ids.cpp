#include "base/ids.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <stdexcept>

namespace tejun::base {

std::string random_hex_id(std::size_t length) {
  // The kernel's (getrandom): ids double as secrets (tokens, connection keys), so they must
  // not be predictable from ids seen before. Bytes are taken a block at a time per thread.
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::array<unsigned char, 256> pool{};
  thread_local std::size_t left = 0;
  std::string id(length, '0');
  for (std::size_t i = 0; i < length; i += 2) {
    if (left == 0) {
      std::size_t filled = 0;
      while (filled < pool.size()) {
        const auto got = ::getrandom(pool.data() + filled, pool.size() - filled, 0);
        if (got < 0 && errno == EINTR) {
          continue;
        }
        if (got <= 0) {
          throw std::runtime_error("getrandom failed: no randomness for an id");
        }
        filled += static_cast<std::size_t>(got);
      }
      left = pool.size();
    }
    const unsigned char byte = pool[pool.size() - left];
    --left;
    id[i] = kHex[byte >> 4U];
    if (i + 1 < length) {
      id[i + 1] = kHex[byte & 0x0FU];
    }
  }
  return id;
}

}  // namespace tejun::base
