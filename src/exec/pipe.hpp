// Pipes between the kernel and the processes it starts.
#pragma once

#include "base/result.hpp"
#include "exec/unique_fd.hpp"

namespace tejun::exec {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// Both ends close on exec; a child gets the end it needs by dup2.
[[nodiscard]] base::Result<Pipe> make_pipe();

void set_nonblocking(int fd);

}  // namespace tejun::exec
