// Runs a short helper program to completion with a bounded wait (bash -n for is_complete).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tejun::exec {

struct ProgramResult {
  int status = 0;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

// `argv[0]` is a path. `input` is written to its stdin. Killed when `limit` passes. It gets
// this process's environment with `environment_overrides` ("NAME=value") applied.
[[nodiscard]] base::Result<ProgramResult> run_program(const std::vector<std::string>& argv, std::string_view input,
                                                      std::chrono::milliseconds limit,
                                                      const std::vector<std::string>& environment_overrides = {});

}  // namespace tejun::exec
