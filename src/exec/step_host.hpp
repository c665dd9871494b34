// What a running step needs from the process that runs it (the kernel, or a test): a place for
// its output, a way to ask the person at the front end, and a wait that can be interrupted.
// exec/ is below kernel/, so the kernel implements this interface rather than exec calling up.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tejun::exec {

using Clock = std::chrono::steady_clock;

// What poll() takes as a timeout: the milliseconds from now until `until`, rounded up, 0 when
// it has passed, -1 (no end) for Clock::time_point::max().
[[nodiscard]] inline std::chrono::milliseconds time_left(Clock::time_point until) {
  if (until == Clock::time_point::max()) {
    return std::chrono::milliseconds(-1);
  }
  const auto now = Clock::now();
  return until <= now ? std::chrono::milliseconds(0) : std::chrono::ceil<std::chrono::milliseconds>(until - now);
}

enum class StreamName : std::uint8_t { out, err };

// MIME type → content, in the order given (text/plain first by convention).
using MimeBundle = std::vector<std::pair<std::string, std::string>>;

enum class WaitStatus : std::uint8_t {
  ready,        // at least one descriptor has revents set
  timed_out,    // `until` passed first
  interrupted,  // the front end asked to interrupt (interrupt_request or SIGINT)
};

class StepHost {
 public:
  StepHost() = default;
  StepHost(const StepHost&) = delete;
  StepHost& operator=(const StepHost&) = delete;
  StepHost(StepHost&&) = delete;
  StepHost& operator=(StepHost&&) = delete;
  virtual ~StepHost() = default;

  // Text that is valid UTF-8 and already masked.
  virtual void write_stream(StreamName name, std::string_view text) = 0;
  // An execute_result (`is_result`) or a display_data; already masked.
  virtual void display(const MimeBundle& bundle, bool is_result) = 0;
  // A display_data that later update_display() calls with the same id replace in place (a
  // table shown at once and completed when its query ends). Hosts without updates show both.
  virtual void display_with_id(const MimeBundle& bundle, std::string_view /*display_id*/) { display(bundle, false); }
  virtual void update_display(const MimeBundle& bundle, std::string_view /*display_id*/) { display(bundle, false); }
  virtual void clear_output() = 0;
  // Asks the front end for a line of input. Fails when the front end cannot answer
  // (allow_stdin false), the wait is interrupted, `until` passes, or `gives_up` (a
  // descriptor, -1 for none: the step's status pipe) becomes readable first.
  virtual base::Result<std::string> ask(std::string_view prompt, bool password, int gives_up = -1,
                                        Clock::time_point until = Clock::time_point::max()) = 0;
  // Waits until one of `fds` is ready, `until` passes or an interrupt arrives, serving the
  // front end's control requests meanwhile.
  virtual WaitStatus wait(std::span<pollfd> fds, Clock::time_point until) = 0;
};

}  // namespace tejun::exec
