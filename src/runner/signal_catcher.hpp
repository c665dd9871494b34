// SIGINT, SIGTERM and SIGHUP turned into bytes on a pipe, so that the one wait over a
// kernel's sockets sees them (a self-pipe). One catcher at a time per process.
#pragma once

#include <signal.h>

#include <array>

#include "exec/pipe.hpp"

namespace tejun::runner {

class SignalCatcher {
 public:
  SignalCatcher();
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;
  SignalCatcher(SignalCatcher&&) = delete;
  SignalCatcher& operator=(SignalCatcher&&) = delete;
  ~SignalCatcher() { reset(); }

  // Gives the signals back to their earlier handlers.
  void reset();
  // Readable when a signal has been caught.
  [[nodiscard]] int fd() const noexcept { return pipe_.read.get(); }
  // The next signal caught, or 0.
  int take();

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  exec::Pipe pipe_;
  std::array<struct sigaction, 3> previous_{};
};

}  // namespace tejun::runner
