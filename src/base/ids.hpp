// Random identifiers.
#pragma once

#include <cstddef>
#include <string>

namespace tejun::base {

// `length` lowercase hex digits from a non-deterministic source (Jupyter's cell ids are 8).
[[nodiscard]] std::string random_hex_id(std::size_t length);

}  // namespace tejun::base
