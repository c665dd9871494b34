// UTF-8 validation.
#pragma once

#include <cstddef>
#include <string_view>

namespace tejun::base {

// Offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and code points past U+10FFFF are invalid), or npos when `text` is valid.
[[nodiscard]] std::size_t find_invalid_utf8(std::string_view text) noexcept;

}  // namespace tejun::base
