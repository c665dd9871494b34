#include "exec/output_filter.hpp"

#include <cstdint>
#include <cstring>

#include "base/utf8.hpp"

namespace tejun::exec {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of an unfinished but so far valid UTF-8 sequence at the end of `bytes` (0 if none).
std::size_t unfinished_sequence_length(std::string_view bytes) {
  const std::size_t lookback = std::min<std::size_t>(3, bytes.size());
  for (std::size_t back = 1; back <= lookback; ++back) {
    const auto byte = static_cast<std::uint8_t>(bytes[bytes.size() - back]);
    if ((byte & 0xC0U) == 0x80U) {
      continue;  // a continuation byte: look further back for the lead
    }
    std::size_t needed = 0;
    if (byte >= 0xC2 && byte <= 0xDF) {
      needed = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      needed = 3;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      needed = 4;
    }
    return needed > back ? back : 0;
  }
  return 0;
}

}  // namespace

void append_repaired_utf8(std::string_view bytes, std::string& out) {
  while (!bytes.empty()) {
    const auto invalid = base::find_invalid_utf8(bytes);
    if (invalid == std::string_view::npos) {
      out.append(bytes);
      return;
    }
    out.append(bytes.substr(0, invalid));
    out.append(kReplacement);
    // Python's "replace" handler: one U+FFFD per maximal invalid prefix; a lone byte is enough.
    std::size_t skip = 1;
    while (invalid + skip < bytes.size() && skip < 3 &&
           (static_cast<std::uint8_t>(bytes[invalid + skip]) & 0xC0U) == 0x80U &&
           base::utf8_sequence_length(bytes.substr(invalid + skip)) == 0) {
      ++skip;
    }
    bytes.remove_prefix(invalid + skip);
  }
}

void OutputFilter::feed(std::string_view bytes, std::string& out) {
  if (held_.empty()) {
    emit(bytes, false, out);
    return;
  }
  std::string joined = std::move(held_);
  held_.clear();
  joined.append(bytes);
  emit(joined, false, out);
}

void OutputFilter::finish(std::string& out) {
  std::string rest = std::move(held_);
  held_.clear();
  emit(rest, true, out);
}

void OutputFilter::emit(std::string_view text, bool final, std::string& out) {
  if (!final) {
    const auto unfinished = unfinished_sequence_length(text);
    held_.assign(text.substr(text.size() - unfinished));
    text.remove_suffix(unfinished);
  }
  if (secrets_->empty()) {
    append_repaired_utf8(text, out);
    return;
  }
  std::string repaired;
  append_repaired_utf8(text, repaired);
  secrets_->mask_in_place(repaired);
  if (!final) {
    const auto partial = secrets_->partial_match_length(repaired);
    held_.insert(0, repaired, repaired.size() - partial, partial);
    repaired.resize(repaired.size() - partial);
  }
  out.append(repaired);
}

}  // namespace tejun::exec
