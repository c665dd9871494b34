// UTF-8: validation as Python's decoder does it, and encoding of code points.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tejun::base {

// Length (1 to 4) of the valid UTF-8 sequence that starts `text`, or 0 when there is none:
// overlong forms, surrogates and code points past U+10FFFF are invalid.
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view text) noexcept;

// Offset of the first byte that does not start a valid UTF-8 sequence, or npos when `text`
// is valid.
[[nodiscard]] std::size_t find_invalid_utf8(std::string_view text) noexcept;

// The UTF-8 bytes of `code_point` (not a surrogate, at most U+10FFFF) in `out`; returns how
// many there are.
std::size_t encode_utf8(std::uint32_t code_point, std::array<char, 4>& out) noexcept;

}  // namespace tejun::base
