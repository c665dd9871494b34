// The hot loop of JSON reading and writing: how many bytes from `at` need no attention
// (not '"', '\\', a control character or a non-ASCII byte), 16 at a time where SSE2 is there.
#pragma once

#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tejun::notebook {

[[nodiscard]] inline std::size_t plain_json_run(const char* at, const char* end) noexcept {
  const char* start = at;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  // As signed bytes, both controls (< 0x20) and non-ASCII bytes (negative) are below 0x20.
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - at >= 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));  // NOLINT
    const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)),
                                         _mm_cmplt_epi8(chunk, space));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (mask != 0) {
      return static_cast<std::size_t>(at - start) + static_cast<std::size_t>(__builtin_ctz(mask));
    }
    at += 16;
  }
#endif
  while (at < end) {
    const auto c = static_cast<unsigned char>(*at);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) {
      break;
    }
    ++at;
  }
  return static_cast<std::size_t>(at - start);
}

}  // namespace tejun::notebook
