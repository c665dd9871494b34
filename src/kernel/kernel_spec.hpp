// The kernelspec that lets Jupyter front ends find the tejun kernel: a folder NAME holding
// kernel.json, under a kernels/ folder of a Jupyter data directory.
#pragma once

#include <string>

#include "base/result.hpp"

namespace tejun::kernel {

inline constexpr const char* kDefaultKernelName = "tejun";
inline constexpr const char* kKernelDisplayName = "Runbook (tejun)";

// The kernel.json text for a kernel started as `executable kernel -f {connection_file}`.
[[nodiscard]] std::string kernel_spec_json(const std::string& executable);

// Writes DATA_DIR/kernels/NAME/kernel.json (atomically) and returns the folder.
[[nodiscard]] base::Result<std::string> install_kernel_spec(const std::string& data_dir, const std::string& name,
                                                            const std::string& executable);

}  // namespace tejun::kernel
