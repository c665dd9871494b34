// Process-wide memory settings for commands that load a whole document.
#pragma once

#include <cstddef>

namespace tejun::cli {

// Prepares the heap for about `expected_bytes` of small allocations: reserved at once and
// backed by transparent huge pages, so building a large notebook's model takes hundreds
// of page faults instead of tens of thousands (a third of the time of a 100 MB read).
void prepare_heap_for(std::size_t expected_bytes);

}  // namespace tejun::cli
