#include "exec/program.hpp"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "exec/pipe.hpp"
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
  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  for (auto* pipe : {&in, &out, &err}) {
    if (!*pipe) {
      return pipe->error();
    }
  }
  SpawnActions actions;
  posix_spawn_file_actions_adddup2(&actions.value, in->read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions.value, out->write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions.value, err->write.get(), 2);
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
  in->read.reset();  // the child's ends
  out->write.reset();
  err->write.reset();
  for (const int fd : {in->write.get(), out->read.get(), err->read.get()}) {
    set_nonblocking(fd);
  }
  ProgramResult result;
  const std::array<std::pair<UniqueFd*, std::string*>, 2> outputs{
      {{&out->read, &result.out}, {&err->read, &result.err}}};
  const auto deadline = Clock::now() + limit;
  std::array<char, 16384> buffer{};
  bool timed_out = false;
  while (out->read || err->read) {
    if (input.empty()) {
      in->write.reset();
    }
    std::array<pollfd, 3> fds{
        {{in->write.get(), POLLOUT, 0}, {out->read.get(), POLLIN, 0}, {err->read.get(), POLLIN, 0}}};
    const auto left = time_left(deadline);
    if (left.count() == 0 || ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) == 0) {
      timed_out = true;
      break;
    }
    if (fds[0].revents != 0) {
      const auto written = ::write(fds[0].fd, input.data(), input.size());
      input.remove_prefix(written > 0 ? static_cast<std::size_t>(written) : input.size());
    }
    for (std::size_t index = 0; index < outputs.size(); ++index) {
      if (fds[index + 1].revents == 0) {
        continue;
      }
      const auto length = ::read(fds[index + 1].fd, buffer.data(), buffer.size());
      if (length > 0) {
        outputs[index].second->append(buffer.data(), static_cast<std::size_t>(length));
      } else if (length == 0 || errno != EAGAIN) {
        outputs[index].first->reset();
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
