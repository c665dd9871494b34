#include "runner/signal_catcher.hpp"

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace tejun::runner {
namespace {

int g_signal_fd = -1;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables): the handler's only state

extern "C" void on_signal(int signal) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signal);
  (void)!::write(g_signal_fd, &byte, 1);
  errno = saved;
}

}  // namespace

SignalCatcher::SignalCatcher() {
  auto pipe = exec::make_pipe();
  if (!pipe) {
    return;
  }
  pipe_ = std::move(*pipe);
  exec::set_nonblocking(pipe_.read.get());
  exec::set_nonblocking(pipe_.write.get());
  g_signal_fd = pipe_.write.get();
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    ::sigaction(kSignals[i], &action, &previous_[i]);
  }
}

void SignalCatcher::reset() {
  if (g_signal_fd >= 0 && g_signal_fd == pipe_.write.get()) {
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      ::sigaction(kSignals[i], &previous_[i], nullptr);
    }
    g_signal_fd = -1;
  }
}

int SignalCatcher::take() {
  unsigned char byte = 0;
  return pipe_.read && ::read(pipe_.read.get(), &byte, 1) == 1 ? byte : 0;
}

}  // namespace tejun::runner
