#include "cli/memory_tuning.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <memory>

namespace tejun::cli {

void prepare_heap_for(std::size_t expected_bytes) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  constexpr int kLargestHeapAllocation = 32 << 20;  // glibc's own ceiling for the mmap threshold
  if (expected_bytes < kHugePage * 8 || expected_bytes > std::numeric_limits<int>::max() / 2) {
    return;  // small documents gain nothing; huge ones keep glibc's defaults
  }
  // Up to 32 MiB, allocations come from the heap (not one mmap each), the heap grows by the
  // expected size at once and is not trimmed back while the document is built.
  (void)::mallopt(M_MMAP_THRESHOLD, kLargestHeapAllocation);
  (void)::mallopt(M_TRIM_THRESHOLD, static_cast<int>(expected_bytes * 2));
  (void)::mallopt(M_TOP_PAD, static_cast<int>(expected_bytes));
  const auto start =
      reinterpret_cast<std::uintptr_t>(::sbrk(0));  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  // More than the heap has free: malloc grows it, by the pad too, now.
  const auto first = std::make_unique_for_overwrite<char[]>(kHugePage);
  asm volatile("" : : "g"(first.get()) : "memory");              // the compiler may not drop the allocation
  const auto end = reinterpret_cast<std::uintptr_t>(::sbrk(0));  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  const std::uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (end > aligned) {
    // Pages are not touched here: memory is used (and counted) only as the model fills it.
    (void)::madvise(reinterpret_cast<void*>(aligned), end - aligned, MADV_HUGEPAGE);  // NOLINT
  }
}

}  // namespace tejun::cli
