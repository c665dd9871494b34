// The StepHost's wait as the HTTP client's Waiter: a request in a step can be interrupted
// from the front end, and the kernel keeps serving its control channel meanwhile.
#pragma once

#include "exec/step_host.hpp"
#include "integrations/http/http_client.hpp"

namespace tejun::exec {

class HostWaiter final : public integrations::http::Waiter {
 public:
  explicit HostWaiter(StepHost& host) : host_(host) {}

  integrations::http::WaitStatus wait(std::span<pollfd> fds, Clock::time_point until) override {
    switch (host_.wait(fds, until)) {
      case WaitStatus::ready:
        return integrations::http::WaitStatus::ready;
      case WaitStatus::timed_out:
        return integrations::http::WaitStatus::timed_out;
      case WaitStatus::interrupted:
        break;
    }
    return integrations::http::WaitStatus::interrupted;
  }

 private:
  StepHost& host_;
};

}  // namespace tejun::exec
