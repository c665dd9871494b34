#include "exec/process_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace tejun::exec {
namespace {

struct CloseDirectory {
  void operator()(DIR* directory) const noexcept { closedir(directory); }
};

// Reads a small /proc file; empty when it is gone or unreadable.
std::string read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return {};
  }
  std::array<char, 512> buffer{};
  const auto length = ::read(fd, buffer.data(), buffer.size());
  ::close(fd);
  return length > 0 ? std::string(buffer.data(), static_cast<std::size_t>(length)) : std::string();
}

// The parent id from /proc/PID/stat: the field after the state, after the last ')' (the
// command name may itself contain spaces and parentheses).
pid_t parent_of(std::string_view stat) {
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || close + 4 >= stat.size()) {
    return 0;
  }
  const auto fields = stat.substr(close + 4);  // ") S " then the parent id
  pid_t parent = 0;
  std::from_chars(fields.data(), fields.data() + fields.size(), parent);
  return parent;
}

}  // namespace

std::vector<pid_t> descendants_of(pid_t root) {
  std::unordered_multimap<pid_t, pid_t> children;
  const std::unique_ptr<DIR, CloseDirectory> proc(::opendir("/proc"));
  if (!proc) {
    return {};
  }
  while (const dirent* entry = ::readdir(proc.get())) {
    pid_t pid = 0;
    const std::string_view name(entry->d_name);
    if (std::from_chars(name.data(), name.data() + name.size(), pid).ptr != name.data() + name.size()) {
      continue;
    }
    const auto stat = read_small_file("/proc/" + std::string(name) + "/stat");
    if (const auto parent = parent_of(stat); parent > 0) {
      children.emplace(parent, pid);
    }
  }
  std::vector<pid_t> found;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    const auto parent = frontier.back();
    frontier.pop_back();
    const auto [first, last] = children.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      found.push_back(it->second);
      frontier.push_back(it->second);
    }
  }
  return found;
}

void signal_all(const std::vector<pid_t>& processes, int signal) {
  for (const auto pid : processes) {
    ::kill(pid, signal);  // ESRCH: it ended on its own meanwhile, which is what we want
  }
}

std::string descriptor_link(int fd) {
  std::array<char, 128> target{};
  const auto path = "/proc/self/fd/" + std::to_string(fd);
  const auto length = ::readlink(path.c_str(), target.data(), target.size());
  return length > 0 ? std::string(target.data(), static_cast<std::size_t>(length)) : std::string();
}

pid_t find_stdin_reader(const std::vector<pid_t>& processes, const std::string& stdin_link) {
  for (const auto pid : processes) {
    const auto base = "/proc/" + std::to_string(pid);
    // "0 0x0 ..." is read(0, ...) on x86-64 and "63 0x0" on arm64: the syscall number, then fd 0.
    const auto syscall = read_small_file(base + "/syscall");
#if defined(__x86_64__)
    constexpr std::string_view kReadOnStdin = "0 0x0 ";
#elif defined(__aarch64__)
    constexpr std::string_view kReadOnStdin = "63 0x0 ";
#else
    constexpr std::string_view kReadOnStdin = "\x01";  // unknown architecture: never matches
#endif
    if (!std::string_view(syscall).starts_with(kReadOnStdin)) {
      continue;
    }
    std::array<char, 128> target{};
    const auto fd_path = base + "/fd/0";
    const auto length = ::readlink(fd_path.c_str(), target.data(), target.size());
    if (length > 0 && std::string_view(target.data(), static_cast<std::size_t>(length)) == stdin_link) {
      return pid;
    }
  }
  return 0;
}

}  // namespace tejun::exec
