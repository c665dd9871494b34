#include "exec/process_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <ctime>

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

// Fields 3, 4, 14-17 and 22 of /proc/PID/stat, counted after the last ')' (the command
// name, field 2, may itself contain spaces and parentheses).
ProcessStat parse_stat(std::string_view stat) {
  ProcessStat parsed;
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat.size()) {
    return parsed;
  }
  auto rest = stat.substr(close + 2);  // field 3 onwards
  for (int field = 3; field <= 22 && !rest.empty(); ++field) {
    const auto space = rest.find(' ');
    const auto value = rest.substr(0, space);
    const auto number = [&](auto& target) { std::from_chars(value.data(), value.data() + value.size(), target); };
    unsigned long long ticks = 0;
    if (field == 3 && !value.empty()) {
      parsed.state = value.front();
    } else if (field == 4) {
      number(parsed.parent);
    } else if (field == 14 || field == 16) {  // utime, cutime
      number(ticks);
      parsed.user_ticks += ticks;
    } else if (field == 15 || field == 17) {  // stime, cstime
      number(ticks);
      parsed.system_ticks += ticks;
    } else if (field == 22) {
      number(parsed.start_ticks);
    }
    rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
  }
  return parsed;
}

}  // namespace

ProcessStat process_stat(pid_t pid) {
  return parse_stat(read_small_file("/proc/" + std::to_string(pid) + "/stat"));
}

double ticks_per_second() {
  return static_cast<double>(::sysconf(_SC_CLK_TCK));
}

ProcessEpoch process_epoch_now() {
  ProcessEpoch epoch;
  // "0.10 0.20 0.30 1/123 4567": the last field is the most recent process id.
  const auto loadavg = read_small_file("/proc/loadavg");
  if (const auto space = loadavg.rfind(' '); space != std::string::npos) {
    std::from_chars(loadavg.data() + space + 1, loadavg.data() + loadavg.size(), epoch.last_pid);
  }
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  const auto per_second = static_cast<unsigned long long>(::sysconf(_SC_CLK_TCK));
  epoch.ticks = static_cast<unsigned long long>(now.tv_sec) * per_second +
                static_cast<unsigned long long>(now.tv_nsec) * per_second / 1000000000ULL;
  return epoch;
}

std::vector<pid_t> descendants_of(pid_t root, ProcessEpoch since) {
  std::unordered_multimap<pid_t, pid_t> children;
  std::unordered_map<pid_t, unsigned long long> start_ticks;
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
    const auto stat = process_stat(pid);
    if (stat.parent > 0) {
      children.emplace(stat.parent, pid);
      // A zombie has ended already; only its parent's wait is missing.
      start_ticks.emplace(pid, stat.state == 'Z' ? ~0ULL : stat.start_ticks);
    }
  }
  std::vector<pid_t> found;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    const auto parent = frontier.back();
    frontier.pop_back();
    const auto [first, last] = children.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      const auto ticks = start_ticks[it->second];
      const bool newer = ticks > since.ticks || (ticks == since.ticks && it->second > since.last_pid);
      if (ticks != ~0ULL && newer) {
        found.push_back(it->second);
      }
      frontier.push_back(it->second);  // an older process may have started newer ones
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
