// Random identifiers.
#pragma once

#include <cstddef>
#include <string>

namespace tejun::base {

// `length` lowercase hex digits from the kernel's random source (getrandom), so that ids may
// also serve as secrets: tokens, connection keys. (Jupyter's cell ids are 8 digits.)
[[nodiscard]] std::string random_hex_id(std::size_t length);

}  // namespace tejun::base
