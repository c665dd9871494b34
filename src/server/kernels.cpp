#include "server/kernels.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <vector>

#include "base/ids.hpp"
#include "client/kernel_manager.hpp"
#include "client/kernel_specs.hpp"
#include "server/contents_format.hpp"

namespace tejun::server {
namespace {

namespace json = boost::json;
using net::Response;

constexpr auto kShutdownGrace = std::chrono::milliseconds(5000);
// A kernel that dies this soon after the server restarted it counts as a crash loop; after
// kAutoRestarts of those in a row it stays dead.
constexpr auto kCrashLoopWindow = std::chrono::seconds(30);
constexpr int kAutoRestarts = 5;
constexpr auto kMonitorTick = std::chrono::seconds(1);
using Clock = std::chrono::steady_clock;

// A UUID-shaped id, as Jupyter's are.
std::string new_id() {
  const auto hex = base::random_hex_id(32);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4), hex.substr(16, 4),
                     hex.substr(20, 12));
}

std::optional<json::object> body_object(const net::Request& request, Response& error) {
  if (request.body.empty()) {
    return json::object();
  }
  boost::system::error_code parse_error;
  auto body = json::parse(request.body, parse_error);
  if (parse_error || !body.is_object()) {
    error = Response::error(400, "the body must be a JSON object");
    return std::nullopt;
  }
  return std::move(body.as_object());
}

struct timespec to_timespec(std::chrono::system_clock::time_point time) {
  const auto since = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
  return {static_cast<std::time_t>(seconds.count()),
          static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds).count())};
}

Response no_such_kernel(const std::string& id) {
  return Response::error(404, fmt::format("Kernel does not exist: {}", id));
}

std::string string_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

}  // namespace

struct Kernels::Kernel {
  std::string id;
  std::string name;
  // Under Kernels::mutex_:
  std::chrono::system_clock::time_point last_activity = std::chrono::system_clock::now();  // shown
  Clock::time_point active_at = Clock::now();                                              // for culling
  std::string execution_state = "idle";  // from its iopub status messages, and the monitor's
  int connections = 0;
  // Under `mutex`, one lifecycle call at a time:
  std::mutex mutex;
  std::unique_ptr<client::KernelManager> manager;
  std::uint64_t restarts = 0;  // the WebSocket bridges connect again when it changes
  bool auto_restarted = false;
  bool dead = false;     // died and was not started again
  bool removed = false;  // deleted: never to be restarted
  int crash_loop = 0;
  Clock::time_point started_at = Clock::now();
};

Kernels::Kernels(std::filesystem::path root, std::function<void(const std::string&)> log)
    : root_(std::move(root)), log_(std::move(log)) {}

Kernels::~Kernels() {
  shutdown_all();
}

std::string Kernels::model_json(const std::string& id) const {
  const auto& kernel = *kernels_.at(id);
  json::object model{{"id", kernel.id},
                     {"name", kernel.name},
                     {"last_activity", iso_time(to_timespec(kernel.last_activity))},
                     {"execution_state", kernel.execution_state},
                     {"connections", kernel.connections}};
  return json::serialize(model);
}

std::string Kernels::start_kernel(const std::string& name, const std::string& api_path, Response& error) {
  auto spec = client::find_kernel_spec(name.empty() ? "tejun" : name);
  if (!spec) {
    error = Response::error(404, fmt::format("No such kernel: {}", name));
    return {};
  }
  client::StartOptions options;
  auto folder = root_;
  if (!api_path.empty()) {
    const auto parent = (root_ / api_path).parent_path();
    std::error_code ec;
    if (std::filesystem::is_directory(parent, ec) && parent.lexically_relative(root_).string().find("..") != 0) {
      folder = parent;
    }
  }
  options.working_directory = folder.string();
  options.watch_iopub = false;  // the WebSocket bridges have their own subscriptions
  auto manager = client::KernelManager::start(std::move(*spec), std::move(options));
  if (!manager) {
    error = Response::error(500, fmt::format("the kernel '{}' did not start: {}", name, manager.error().message));
    return {};
  }
  auto kernel = std::make_shared<Kernel>();
  kernel->id = new_id();
  kernel->name = (*manager)->spec().name;
  kernel->manager = std::move(*manager);
  const std::lock_guard lock(mutex_);
  kernels_[kernel->id] = kernel;
  return kernel->id;
}

// A JSON array of what `model` gives for each entry of `map`.
template <class Map, class Model>
Response json_list(const Map& map, const Model& model) {
  std::string body = "[";
  for (const auto& [id, entry] : map) {
    body += body.size() > 1 ? ", " : "";
    body += model(id, entry);
  }
  return Response::json(200, body + "]");
}

Response Kernels::list() const {
  const std::lock_guard lock(mutex_);
  return json_list(kernels_, [this](const std::string& id, const auto&) { return model_json(id); });
}

Response Kernels::start(const net::Request& request) {
  Response error;
  auto body = body_object(request, error);
  if (!body) {
    return error;
  }
  const auto id = start_kernel(string_field(*body, "name"), string_field(*body, "path"), error);
  if (id.empty()) {
    return error;
  }
  const std::lock_guard lock(mutex_);
  auto response = Response::json(201, model_json(id));
  response.set_header("Location", "/api/kernels/" + id);
  return response;
}

Response Kernels::get(const std::string& id) const {
  const std::lock_guard lock(mutex_);
  if (!kernels_.contains(id)) {
    return no_such_kernel(id);
  }
  return Response::json(200, model_json(id));
}

Response Kernels::remove(const std::string& id) {
  std::shared_ptr<Kernel> kernel;
  {
    const std::lock_guard lock(mutex_);
    const auto found = kernels_.find(id);
    if (found == kernels_.end()) {
      return no_such_kernel(id);
    }
    kernel = found->second;
    kernels_.erase(found);
    std::erase_if(sessions_, [&id](const auto& entry) { return entry.second.kernel_id == id; });
  }
  const std::lock_guard lock(kernel->mutex);
  kernel->removed = true;
  kernel->manager->shutdown(kShutdownGrace);
  return Response::empty(204);
}

std::shared_ptr<Kernels::Kernel> Kernels::find(const std::string& id) const {
  const std::lock_guard lock(mutex_);
  const auto found = kernels_.find(id);
  return found == kernels_.end() ? nullptr : found->second;
}

Response Kernels::interrupt(const std::string& id) {
  const auto kernel = find(id);
  if (!kernel) {
    return no_such_kernel(id);
  }
  const std::lock_guard lock(kernel->mutex);
  kernel->manager->interrupt();
  return Response::empty(204);
}

Response Kernels::restart(const std::string& id) {
  const auto kernel = find(id);
  if (!kernel) {
    return no_such_kernel(id);
  }
  const auto set_state = [this, &id](std::string_view state) { touch(id, state); };
  {
    const std::lock_guard lock(kernel->mutex);
    set_state("restarting");
    auto restarted = kernel->manager->restart(kShutdownGrace);
    ++kernel->restarts;  // its ports changed even when it did not come up
    kernel->auto_restarted = false;
    kernel->crash_loop = 0;
    kernel->started_at = Clock::now();
    if (!restarted) {
      kernel->dead = true;
      set_state("dead");
      return Response::error(500, fmt::format("the kernel did not restart: {}", restarted.error().message));
    }
    kernel->dead = false;
    set_state("idle");
  }
  return get(id);
}

std::optional<KernelLink> Kernels::link(const std::string& id) const {
  const auto kernel = find(id);
  if (!kernel) {
    return std::nullopt;
  }
  const std::lock_guard lock(kernel->mutex);
  if (kernel->removed) {
    return std::nullopt;
  }
  return KernelLink{kernel->restarts, kernel->manager->connection(), kernel->auto_restarted, kernel->dead};
}

void Kernels::touch(const std::string& id, std::string_view state) {
  const std::lock_guard lock(mutex_);
  const auto found = kernels_.find(id);
  if (found == kernels_.end()) {
    return;
  }
  auto& kernel = *found->second;
  kernel.last_activity = std::chrono::system_clock::now();
  kernel.active_at = Clock::now();
  if (!state.empty()) {
    kernel.execution_state = state;
  }
}

void Kernels::count_connection(const std::string& id, int delta) {
  const std::lock_guard lock(mutex_);
  if (const auto found = kernels_.find(id); found != kernels_.end()) {
    found->second->connections += delta;
  }
}

void Kernels::start_monitor(CullOptions cull) {
  monitor_ = std::thread([this, cull] { monitor(cull); });
}

bool Kernels::cullable(const Kernel& kernel, const CullOptions& cull) const {
  return Clock::now() - kernel.active_at >= cull.idle_timeout && (cull.connected || kernel.connections == 0) &&
         (cull.busy || kernel.execution_state != "busy");
}

void Kernels::monitor(CullOptions cull) {
  auto next_cull = Clock::now() + cull.interval;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_monitor_.wait_for(lock, std::min<Clock::duration>(kMonitorTick, cull.interval), [this] { return stopping_; });
    if (stopping_) {
      break;
    }
    std::vector<std::shared_ptr<Kernel>> all;
    std::vector<std::pair<std::string, std::string>> idle;  // id, why
    for (const auto& [id, kernel] : kernels_) {
      all.push_back(kernel);
    }
    if (cull.idle_timeout.count() > 0 && Clock::now() >= next_cull) {
      next_cull = Clock::now() + cull.interval;
      for (const auto& kernel : all) {
        if (cullable(*kernel, cull)) {
          const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - kernel->active_at);
          idle.emplace_back(kernel->id, fmt::format("{} for {} s, {} connection(s)", kernel->execution_state,
                                                    seconds.count(), kernel->connections));
        }
      }
    }
    lock.unlock();
    for (const auto& kernel : all) {
      watch(kernel);
    }
    for (const auto& [id, why] : idle) {
      if (log_) {
        log_(fmt::format("culled kernel {}: {} (--cull-idle-timeout {} s)", id, why, cull.idle_timeout.count()));
      }
      (void)remove(id);
    }
    lock.lock();
  }
}

void Kernels::watch(const std::shared_ptr<Kernel>& kernel) {
  const std::unique_lock lifecycle(kernel->mutex, std::try_to_lock);
  if (!lifecycle.owns_lock() || kernel->removed || kernel->dead || kernel->manager->is_alive()) {
    return;  // busy with a lifecycle call (which sees for itself), gone, or fine
  }
  const auto set_state = [this, &kernel](std::string_view state) { touch(kernel->id, state); };
  const auto report = kernel->manager->death_report();
  kernel->crash_loop = Clock::now() - kernel->started_at < kCrashLoopWindow ? kernel->crash_loop + 1 : 1;
  if (kernel->crash_loop > kAutoRestarts) {
    kernel->dead = true;
    set_state("dead");
    if (log_) {
      log_(fmt::format("kernel {} died: {}; it died within {} s of starting {} times in a row, so it stays dead",
                       kernel->id, report, kCrashLoopWindow.count(), kernel->crash_loop));
    }
    return;
  }
  if (log_) {
    log_(fmt::format("kernel {} died: {}; restarting it", kernel->id, report));
  }
  set_state("autorestarting");
  auto restarted = kernel->manager->restart(kShutdownGrace);
  ++kernel->restarts;
  kernel->auto_restarted = true;
  kernel->started_at = Clock::now();
  if (!restarted) {
    kernel->dead = true;
    set_state("dead");
    if (log_) {
      log_(fmt::format("kernel {} did not start again: {}", kernel->id, restarted.error().message));
    }
    return;
  }
  set_state("idle");
}

std::size_t Kernels::count() const {
  const std::lock_guard lock(mutex_);
  return kernels_.size();
}

std::size_t Kernels::connections() const {
  const std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [id, kernel] : kernels_) {
    total += static_cast<std::size_t>(std::max(0, kernel->connections));
  }
  return total;
}

void Kernels::shutdown_all() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_monitor_.notify_all();
  if (monitor_.joinable()) {
    monitor_.join();
  }
  std::map<std::string, std::shared_ptr<Kernel>> all;
  {
    const std::lock_guard lock(mutex_);
    all.swap(kernels_);
    sessions_.clear();
  }
  for (auto& [id, kernel] : all) {
    const std::lock_guard lock(kernel->mutex);
    kernel->removed = true;
    kernel->manager->shutdown(kShutdownGrace);
  }
}

std::string Kernels::session_json(const Session& session) const {
  json::object model{{"id", session.id},
                     {"path", session.path},
                     {"name", session.name},
                     {"type", session.type},
                     {"notebook", json::object{{"path", session.path}, {"name", session.name}}}};
  model["kernel"] =
      kernels_.contains(session.kernel_id) ? json::parse(model_json(session.kernel_id)) : json::value(nullptr);
  return json::serialize(model);
}

Response Kernels::list_sessions() const {
  const std::lock_guard lock(mutex_);
  return json_list(sessions_, [this](const std::string&, const Session& session) { return session_json(session); });
}

Response Kernels::create_session(const net::Request& request) {
  Response error;
  auto body = body_object(request, error);
  if (!body) {
    return error;
  }
  Session session;
  session.path = string_field(*body, "path");
  session.name = string_field(*body, "name");
  session.type = string_field(*body, "type");
  if (session.path.empty()) {
    return Response::error(400, "a session needs a path");
  }
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [id, existing] : sessions_) {
      if (existing.path == session.path && kernels_.contains(existing.kernel_id)) {
        return Response::json(201, session_json(existing));
      }
    }
  }
  std::string kernel_name;
  std::string kernel_id;
  if (const auto* kernel = body->if_contains("kernel"); kernel != nullptr && kernel->is_object()) {
    kernel_name = string_field(kernel->as_object(), "name");
    kernel_id = string_field(kernel->as_object(), "id");
  }
  if (!kernel_id.empty()) {
    const std::lock_guard lock(mutex_);
    if (!kernels_.contains(kernel_id)) {
      return no_such_kernel(kernel_id);
    }
  } else {
    kernel_id = start_kernel(kernel_name, session.path, error);
    if (kernel_id.empty()) {
      return error;
    }
  }
  session.kernel_id = kernel_id;
  session.id = new_id();
  const std::lock_guard lock(mutex_);
  sessions_[session.id] = session;
  auto response = Response::json(201, session_json(session));
  response.set_header("Location", "/api/sessions/" + session.id);
  return response;
}

Response Kernels::get_session(const std::string& id) const {
  const std::lock_guard lock(mutex_);
  const auto found = sessions_.find(id);
  if (found == sessions_.end()) {
    return Response::error(404, fmt::format("Session not found: {}", id));
  }
  return Response::json(200, session_json(found->second));
}

Response Kernels::patch_session(const std::string& id, const net::Request& request) {
  Response error;
  auto body = body_object(request, error);
  if (!body) {
    return error;
  }
  std::string kernel_name;
  if (const auto* kernel = body->if_contains("kernel"); kernel != nullptr && kernel->is_object()) {
    kernel_name = string_field(kernel->as_object(), "name");
  }
  std::string path;
  {
    const std::lock_guard lock(mutex_);
    const auto found = sessions_.find(id);
    if (found == sessions_.end()) {
      return Response::error(404, fmt::format("Session not found: {}", id));
    }
    auto& session = found->second;
    for (const std::string_view key : {"path", "name", "type"}) {
      if (auto value = string_field(*body, key); !value.empty()) {
        (key == "path" ? session.path : key == "name" ? session.name : session.type) = std::move(value);
      }
    }
    path = session.path;
  }
  if (!kernel_name.empty()) {
    auto kernel_id = start_kernel(kernel_name, path, error);
    if (kernel_id.empty()) {
      return error;
    }
    std::string old;
    {
      const std::lock_guard lock(mutex_);
      auto found = sessions_.find(id);
      if (found == sessions_.end()) {
        return Response::error(404, fmt::format("Session not found: {}", id));
      }
      old = std::exchange(found->second.kernel_id, kernel_id);
    }
    (void)remove(old);
  }
  return get_session(id);
}

Response Kernels::remove_session(const std::string& id) {
  std::string kernel_id;
  {
    const std::lock_guard lock(mutex_);
    const auto found = sessions_.find(id);
    if (found == sessions_.end()) {
      return Response::error(404, fmt::format("Session not found: {}", id));
    }
    kernel_id = found->second.kernel_id;
    sessions_.erase(found);
  }
  (void)remove(kernel_id);
  return Response::empty(204);
}

}  // namespace tejun::server
