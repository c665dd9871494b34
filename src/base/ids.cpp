#include "base/ids.hpp"

#include <random>

namespace tejun::base {

std::string random_hex_id(std::size_t length) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_int_distribution<unsigned> digit(0, 15);
  std::string id(length, '0');
  for (char& c : id) {
    c = kHex[digit(generator)];
  }
  return id;
}

}  // namespace tejun::base
