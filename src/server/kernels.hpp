// /api/kernels and /api/sessions: kernels started from kernelspecs by the kernel client
// (client::KernelManager), each with an id, and sessions that tie a path to a kernel.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "net/http.hpp"
#include "protocol/connection_info.hpp"

namespace tejun::server {

class Kernels {
 public:
  explicit Kernels(std::filesystem::path root);
  Kernels(const Kernels&) = delete;
  Kernels& operator=(const Kernels&) = delete;
  Kernels(Kernels&&) = delete;
  Kernels& operator=(Kernels&&) = delete;
  ~Kernels();

  net::Response list() const;
  net::Response start(const net::Request& request);
  net::Response get(const std::string& id) const;
  net::Response remove(const std::string& id);
  net::Response interrupt(const std::string& id);
  net::Response restart(const std::string& id);

  net::Response list_sessions() const;
  net::Response create_session(const net::Request& request);
  net::Response get_session(const std::string& id) const;
  net::Response patch_session(const std::string& id, const net::Request& request);
  net::Response remove_session(const std::string& id);

  [[nodiscard]] std::size_t count() const;
  // Where kernel `id` listens now and how many times it has restarted; nullopt when there
  // is no such kernel.
  [[nodiscard]] std::optional<std::pair<std::uint64_t, protocol::ConnectionInfo>> connection_of(
      const std::string& id) const;
  // A message passed to or from kernel `id`: its last_activity is now.
  void touch(const std::string& id);
  // Shuts every kernel down (at server exit).
  void shutdown_all();

 private:
  struct Kernel;
  struct Session {
    std::string id;
    std::string path;
    std::string name;
    std::string type;
    std::string kernel_id;
  };
  // Starts a kernel of `name` in the folder of `api_path`; its id, or an error response.
  std::string start_kernel(const std::string& name, const std::string& api_path, net::Response& error);
  [[nodiscard]] std::string model_json(const std::string& id) const;        // under mutex_
  [[nodiscard]] std::shared_ptr<Kernel> find(const std::string& id) const;  // null: no such kernel
  [[nodiscard]] std::string session_json(const Session& session) const;

  std::filesystem::path root_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Kernel>> kernels_;
  std::map<std::string, Session> sessions_;
};

}  // namespace tejun::server
