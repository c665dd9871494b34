// /api/kernels and /api/sessions: kernels started from kernelspecs by the kernel client
// (client::KernelManager), each with an id, and sessions that tie a path to a kernel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "net/http.hpp"
#include "protocol/connection_info.hpp"

namespace tejun::server {

// What a WebSocket bridge needs to know of its kernel.
struct KernelLink {
  std::uint64_t generation = 0;  // restarts so far: the ports change with each
  protocol::ConnectionInfo connection;
  bool auto_restarted = false;  // the last restart was the server's, after the kernel died
  bool dead = false;            // it died and could not be started again
};

// Idle kernels are shut down when `idle_timeout` is set (jupyter_server's culling options).
struct CullOptions {
  std::chrono::seconds idle_timeout{0};  // 0: never
  std::chrono::seconds interval{300};    // how often to look
  bool connected = false;                // also kernels with a WebSocket client
  bool busy = false;                     // also kernels running a step
};

class Kernels {
 public:
  // `log` takes one event line (a kernel died, was restarted, was culled).
  Kernels(std::filesystem::path root, std::function<void(const std::string&)> log = {});
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
  [[nodiscard]] std::size_t connections() const;  // WebSocket clients, all kernels
  // Where kernel `id` listens now, and its restarts; nullopt when there is no such kernel.
  [[nodiscard]] std::optional<KernelLink> link(const std::string& id) const;
  // A message passed to or from kernel `id`: its last_activity is now. `state` is the
  // execution_state of a status message seen on its iopub ("" for any other message).
  void touch(const std::string& id, std::string_view state = {});
  // A WebSocket client of kernel `id` came (+1) or went (-1).
  void count_connection(const std::string& id, int delta);
  // Starts the thread that restarts kernels that died (up to kAutoRestarts times in a row)
  // and culls idle ones as `cull` says. Stopped by shutdown_all.
  void start_monitor(CullOptions cull);
  // Shuts every kernel down (at server exit).
  void shutdown_all();
  [[nodiscard]] bool contains(const std::string& id) const { return find(id) != nullptr; }

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
  void monitor(CullOptions cull);
  void watch(const std::shared_ptr<Kernel>& kernel);                                 // restarts it if it died
  [[nodiscard]] bool cullable(const Kernel& kernel, const CullOptions& cull) const;  // under mutex_

  std::filesystem::path root_;
  std::function<void(const std::string&)> log_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Kernel>> kernels_;
  std::map<std::string, Session> sessions_;
  std::condition_variable wake_monitor_;
  bool stopping_ = false;  // under mutex_
  std::thread monitor_;
};

}  // namespace tejun::server
