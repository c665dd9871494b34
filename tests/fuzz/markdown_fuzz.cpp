// libFuzzer target: any bytes through the Markdown reader; what it accepts must write, and
// the written form must be a fixed point of read + write.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "notebook/ipynb.hpp"
#include "notebook/markdown.hpp"

// Built into the fuzz_regressions test under another name, so both targets fit one binary.
#ifdef TEJUN_FUZZ_REGRESSIONS
#define TEJUN_FUZZ_ENTRY markdown_fuzz_one_input
#else
#define TEJUN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int TEJUN_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto notebook = tejun::notebook::read_markdown(text);
  if (!notebook) {
    (void)notebook.error().to_string();
    return 0;
  }
  (void)tejun::notebook::to_ipynb(*notebook);
  const std::string written = tejun::notebook::to_markdown(*notebook);
  auto again = tejun::notebook::read_markdown(written);
  if (!again) {
    std::abort();  // what tejun writes, it must read
  }
  if (tejun::notebook::to_markdown(*again) != written) {
    std::abort();  // Markdown → model → Markdown is stable
  }
  return 0;
}
