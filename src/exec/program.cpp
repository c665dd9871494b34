#include "exec/program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "exec/step_host.hpp"
#include "exec/unique_fd.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX's name

namespace tejun::exec {
namespace {

using base::ErrorCode;
using base::make_error;
// A posix_spawn object initialised on construction and destroyed with its scope.
template <class T, int (*Init)(T*), int (*Destroy)(T*)>
struct Scoped {
  T value{};
  Scoped() { Init(&value); }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;
  Scoped(Scoped&&) = delete;
  Scoped& operator=(Scoped&&) = delete;
  ~Scoped() { Destroy(&value); }
};
using SpawnActions =
    Scoped<posix_spawn_file_actions_t, posix_spawn_file_actions_init, posix_spawn_file_actions_destroy>;
using SpawnAttributes = Scoped<posix_spawnattr_t, posix_spawnattr_init, posix_spawnattr_destroy>;

// This process's environment with `overrides` ("NAME=value") in place of the same names.
std::vector<std::string> environment_with(const std::vector<std::string>& overrides) {
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view variable(*entry);
    const auto replaced = std::any_of(overrides.begin(), overrides.end(), [&](const std::string& override) {
      return variable.starts_with(std::string_view(override).substr(0, override.find('=') + 1));
    });
    if (!replaced) {
      environment.emplace_back(variable);
    }
  }
  environment.insert(environment.end(), overrides.begin(), overrides.end());
  return environment;
}

// argv/envp for exec: pointers into `strings`, then a null pointer.
std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& text : strings) {
    pointers.push_back(text.data());
  }
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

base::Result<ProgramResult> run_program(const std::vector<std::string>& argv, std::string_view input,
                                        std::chrono::milliseconds limit,
                                        const std::vector<std::string>& environment_overrides) {
  std::array<std::array<int, 2>, 3> pipes{};
  std::array<UniqueFd, 6> owned;
  for (std::size_t i = 0; i < pipes.size(); ++i) {
    if (::pipe2(pipes[i].data(), O_CLOEXEC) != 0) {
      return make_error(ErrorCode::io_error, std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    owned[2 * i] = UniqueFd(pipes[i][0]);
    owned[2 * i + 1] = UniqueFd(pipes[i][1]);
  }
  SpawnActions actions;
  posix_spawn_file_actions_adddup2(&actions.value, pipes[0][0], 0);
  posix_spawn_file_actions_adddup2(&actions.value, pipes[1][1], 1);
  posix_spawn_file_actions_adddup2(&actions.value, pipes[2][1], 2);
  SpawnAttributes attributes;
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attributes.value, &defaults);
  posix_spawnattr_setflags(&attributes.value, POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> arguments(argv);
  auto environment = environment_with(environment_overrides);
  const auto args = pointers_to(arguments);
  const auto envp = pointers_to(environment);
  pid_t pid = 0;
  if (const int error = ::posix_spawn(&pid, args[0], &actions.value, &attributes.value, args.data(), envp.data());
      error != 0) {
    return make_error(ErrorCode::io_error, "cannot run " + argv[0] + ": " + std::strerror(error));
  }
  owned[0].reset();  // the child's ends
  owned[3].reset();
  owned[5].reset();
  for (const int fd : {pipes[0][1], pipes[1][0], pipes[2][0]}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ProgramResult result;
  const auto deadline = Clock::now() + limit;
  std::array<char, 16384> buffer{};
  bool timed_out = false;
  while (owned[2] || owned[4]) {
    std::array<pollfd, 3> fds{{{owned[1].get(), POLLOUT, 0}, {owned[2].get(), POLLIN, 0}, {owned[4].get(), POLLIN, 0}}};
    if (input.empty()) {
      owned[1].reset();
      fds[0].fd = -1;
    }
    const auto left = time_left(deadline);
    if (left.count() == 0 || ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) == 0) {
      timed_out = true;
      break;
    }
    if (fds[0].revents != 0) {
      const auto written = ::write(fds[0].fd, input.data(), input.size());
      input.remove_prefix(written > 0 ? static_cast<std::size_t>(written) : input.size());
    }
    for (const std::size_t index : {std::size_t{1}, std::size_t{2}}) {
      if (fds[index].revents == 0) {
        continue;
      }
      const auto length = ::read(fds[index].fd, buffer.data(), buffer.size());
      if (length > 0) {
        (index == 1 ? result.out : result.err).append(buffer.data(), static_cast<std::size_t>(length));
      } else if (length == 0 || errno != EAGAIN) {
        owned[index == 1 ? 2 : 4].reset();
      }
    }
  }
  if (timed_out) {
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out) {
    return make_error(ErrorCode::io_error, argv[0] + " did not finish in time");
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace tejun::exec
