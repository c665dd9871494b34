// libFuzzer target: any bytes through the JSON parser (checked against Boost.JSON) and the
// .ipynb reader; what it accepts must write and read back to the same file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "json_oracle.hpp"
#include "notebook/ipynb.hpp"

// Built into the fuzz_regressions test under another name, so both targets fit one binary.
#ifdef TEJUN_FUZZ_REGRESSIONS
#define TEJUN_FUZZ_ENTRY ipynb_fuzz_one_input
#else
#define TEJUN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int TEJUN_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  tejun::fuzz::check_against_reference(text);
  auto notebook = tejun::notebook::read_ipynb(text);
  if (!notebook) {
    (void)notebook.error().to_string();
    return 0;
  }
  const std::string written = tejun::notebook::to_ipynb(*notebook);
  auto again = tejun::notebook::read_ipynb(written);
  if (!again || tejun::notebook::to_ipynb(*again) != written) {
    std::abort();  // what tejun writes, it must read back unchanged
  }
  return 0;
}
