// Reading files in pieces and replacing them atomically: a crash leaves the old file or the
// new one, never half of one.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notebook/text_output.hpp"

namespace tejun::notebook {

// Calls `consume` with successive pieces of the file; stops at the first error either gives.
[[nodiscard]] base::Result<void> read_file_in_chunks(
    const std::string& path, const std::function<base::Result<void>(std::string_view)>& consume);

[[nodiscard]] base::Result<std::string> read_file(const std::string& path);

// Writes what `produce` emits to a temporary file beside `path`, syncs it, renames it over
// `path` and syncs the directory. On any failure `path` is untouched and the temporary file
// is removed. An existing file keeps its permission bits.
[[nodiscard]] base::Result<void> write_file_atomically(const std::string& path,
                                                       const std::function<void(TextOutput&)>& produce);

}  // namespace tejun::notebook
