// The CLI's one mapping from errors to exit codes (house rule 5).
#pragma once

#include <string_view>

#include "base/error.hpp"

namespace tejun::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the work could not be done (I/O)
inline constexpr int kExitUsage = 2;    // bad options or bad input files

[[nodiscard]] int exit_code_for(const base::Error& error) noexcept;

// Prints "tejun: <error>" as one line on stderr and returns its exit code.
int report(const base::Error& error);

}  // namespace tejun::cli
