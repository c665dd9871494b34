#include "server/metrics.hpp"

#include <fmt/format.h>

namespace tejun::server {

void Metrics::record(const std::string& method, int status, std::chrono::nanoseconds duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  const std::lock_guard lock(mutex_);
  ++requests_[{method, status}];
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) {
    ++bucket;
  }
  ++buckets_[bucket];
  seconds_ += seconds;
  ++count_;
}

void Metrics::record_websocket(int status) {
  const std::lock_guard lock(mutex_);
  ++websockets_[status];
}

std::string Metrics::exposition(std::size_t kernels, std::size_t websocket_clients) const {
  const std::lock_guard lock(mutex_);
  std::string text;
  text += "# HELP tejun_http_requests_total HTTP requests answered, by method and status code.\n";
  text += "# TYPE tejun_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    text += fmt::format("tejun_http_requests_total{{method=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, count);
  }
  text += "# HELP tejun_http_request_duration_seconds Time from a request read to its response made.\n";
  text += "# TYPE tejun_http_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += buckets_[i];
    text += fmt::format("tejun_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[i], cumulative);
  }
  cumulative += buckets_.back();
  text += fmt::format("tejun_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  text += fmt::format("tejun_http_request_duration_seconds_sum {}\n", seconds_);
  text += fmt::format("tejun_http_request_duration_seconds_count {}\n", count_);
  text += "# HELP tejun_kernels Kernels running.\n# TYPE tejun_kernels gauge\n";
  text += fmt::format("tejun_kernels {}\n", kernels);
  text += "# HELP tejun_websocket_clients Kernel WebSocket connections open.\n# TYPE tejun_websocket_clients gauge\n";
  text += fmt::format("tejun_websocket_clients {}\n", websocket_clients);
  text += "# HELP tejun_websocket_upgrades_total WebSocket upgrade requests, by status code (101: accepted).\n";
  text += "# TYPE tejun_websocket_upgrades_total counter\n";
  for (const auto& [status, count] : websockets_) {
    text += fmt::format("tejun_websocket_upgrades_total{{code=\"{}\"}} {}\n", status, count);
  }
  return text;
}

}  // namespace tejun::server
