#include "exec/program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "exec/unique_fd.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX's name

namespace tejun::exec {
namespace {

using base::ErrorCode;
using base::make_error;
using Clock = std::chrono::steady_clock;

struct SpawnActions {
  posix_spawn_file_actions_t actions{};
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  SpawnActions(SpawnActions&&) = delete;
  SpawnActions& operator=(SpawnActions&&) = delete;
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

struct SpawnAttributes {
  posix_spawnattr_t attributes{};
  SpawnAttributes() { posix_spawnattr_init(&attributes); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  SpawnAttributes(SpawnAttributes&&) = delete;
  SpawnAttributes& operator=(SpawnAttributes&&) = delete;
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes); }
};

}  // namespace

base::Result<ProgramResult> run_program(const std::vector<std::string>& argv, std::string_view input,
                                        std::chrono::milliseconds limit) {
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
  posix_spawn_file_actions_adddup2(&actions.actions, pipes[0][0], 0);
  posix_spawn_file_actions_adddup2(&actions.actions, pipes[1][1], 1);
  posix_spawn_file_actions_adddup2(&actions.actions, pipes[2][1], 2);
  SpawnAttributes attributes;
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attributes.attributes, &defaults);
  posix_spawnattr_setflags(&attributes.attributes, POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  std::vector<std::string> copies(argv);
  for (auto& arg : copies) {
    args.push_back(arg.data());
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  if (const int error = ::posix_spawn(&pid, args[0], &actions.actions, &attributes.attributes, args.data(), environ);
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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) == 0) {
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
