// What the server counts for Prometheus (/metrics): requests by method and status, their
// durations as a histogram, WebSocket connections, and gauges the caller reads at scrape time
// (kernels, WebSocket clients connected now).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace tejun::server {

class Metrics {
 public:
  void record(const std::string& method, int status, std::chrono::nanoseconds duration);

  void record_websocket(int status);

  // The text exposition format (version 0.0.4), with `kernels` and `websocket_clients` as
  // gauges.
  [[nodiscard]] std::string exposition(std::size_t kernels, std::size_t websocket_clients) const;

  // Buckets of the duration histogram, in seconds (upper bounds; +Inf is implied).
  static constexpr std::array<double, 10> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0};

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::array<std::uint64_t, kBuckets.size() + 1> buckets_{};  // the last one is +Inf
  double seconds_ = 0;
  std::uint64_t count_ = 0;
  std::map<int, std::uint64_t> websockets_;  // upgrade requests by status (101: accepted)
};

}  // namespace tejun::server
