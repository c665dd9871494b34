#include "client/kernel_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include "exec/pipe.hpp"

namespace tejun::client {
namespace {

using base::ErrorCode;
using base::make_error;

// What is kept of the kernel's own output: enough for a report, bounded whatever it writes.
constexpr std::size_t kTailBytes = std::size_t{64} * 1024;
constexpr auto kReapStep = std::chrono::milliseconds(10);

exec::UniqueFd open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  if (fd >= 0) {
    (void)::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return exec::UniqueFd(static_cast<int>(fd));
  }
#endif
  return exec::UniqueFd();
}

// argv[0] as exec would find it: itself when it has a slash, else the first executable of
// that name in the PATH of the child's environment (or the default path).
std::string find_program(const std::string& name, const std::vector<std::string>& environment) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& entry : environment) {
    if (entry.starts_with("PATH=")) {
      path = entry.substr(5);
    }
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string dir = end > start ? path.substr(start, end - start) : std::string(".");
    // Absolute: the kernel is started in another working directory.
    std::string candidate = std::filesystem::absolute(fmt::format("{}/{}", dir, name)).string();
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

struct ChildSetup {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* directory;
  int output_fd;
  int failure_fd;
  pid_t watched_parent;  // 0: outlive the parent
};

[[noreturn]] void run_child(const ChildSetup& setup) {
  const auto fail = [&](int error) {
    (void)::write(setup.failure_fd, &error, sizeof error);
    ::_exit(127);
  };
  // Its own session (and so its own process group): an interrupt or a kill reaches the kernel
  // and what it started and nothing else, and nothing it runs can stop on the terminal it
  // would otherwise share with us (a read from /dev/tty fails at once instead).
  (void)::setsid();
  if (setup.watched_parent != 0) {
    (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != setup.watched_parent) {
      ::_exit(127);  // the parent is already gone
    }
  }
  for (int signal = 1; signal < NSIG; ++signal) {
    (void)::signal(signal, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(setup.output_fd, STDOUT_FILENO) < 0 ||
      ::dup2(setup.output_fd, STDERR_FILENO) < 0) {
    fail(errno);
  }
  if (setup.directory != nullptr && ::chdir(setup.directory) != 0) {
    fail(errno);
  }
  ::execve(setup.program, setup.argv, setup.envp);
  fail(errno);
  ::_exit(127);
}

}  // namespace

// The kernel's stdout and stderr, read on a thread of their own so the kernel never blocks
// on a full pipe; only the last kTailBytes are kept.
struct KernelProcess::OutputTail {
  explicit OutputTail(exec::UniqueFd fd) : read_end(std::move(fd)) {
    // The reader takes no signals: they are the main thread's to handle.
    sigset_t all;
    sigfillset(&all);
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    reader = std::thread([this] { read_all(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  OutputTail(const OutputTail&) = delete;
  OutputTail& operator=(const OutputTail&) = delete;
  OutputTail(OutputTail&&) = delete;
  OutputTail& operator=(OutputTail&&) = delete;
  ~OutputTail() {
    stop = true;
    if (reader.joinable()) {
      reader.join();
    }
  }

  // Until end of file, or until stopped: a process that left the kernel's group (a daemon it
  // started) may hold the pipe open long after the kernel is gone.
  void read_all() {
    read_until_end();
    const std::scoped_lock lock(mutex);
    ended = true;
    ended_changed.notify_all();
  }

  // Waits up to `limit` for end of file: after the kernel exits, what it wrote last may still
  // be in the pipe.
  void wait_end(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    ended_changed.wait_for(lock, limit, [this] { return ended; });
  }

  void read_until_end() {
    std::array<char, 8192> buffer{};
    constexpr int kStopCheckMs = 50;
    while (!stop) {
      pollfd item{read_end.get(), POLLIN, 0};
      if (::poll(&item, 1, kStopCheckMs) <= 0) {
        continue;  // nothing yet, or a signal: look at `stop` again
      }
      const ssize_t got = ::read(read_end.get(), buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        break;
      }
      const std::scoped_lock lock(mutex);
      text.append(buffer.data(), static_cast<std::size_t>(got));
      if (text.size() > 2 * kTailBytes) {
        text.erase(0, text.size() - kTailBytes);
      }
    }
  }

  [[nodiscard]] std::string snapshot() const {
    const std::scoped_lock lock(mutex);
    return text;
  }

  exec::UniqueFd read_end;
  std::atomic<bool> stop = false;
  mutable std::mutex mutex;
  std::condition_variable ended_changed;
  bool ended = false;
  std::string text;
  std::thread reader;
};

KernelProcess::KernelProcess(pid_t pid, exec::UniqueFd exit_fd, std::unique_ptr<OutputTail> tail)
    : pid_(pid), exit_fd_(std::move(exit_fd)), tail_(std::move(tail)) {}

base::Result<std::unique_ptr<KernelProcess>> KernelProcess::launch(const LaunchOptions& options) {
  if (options.argv.empty()) {
    return make_error(ErrorCode::invalid_argument, "the kernel's command line is empty");
  }
  const std::string program = find_program(options.argv[0], options.environment);
  if (program.empty()) {
    return make_error(ErrorCode::not_found,
                      fmt::format("cannot start the kernel: '{}' is not found in PATH", options.argv[0]));
  }
  auto output = exec::make_pipe();
  auto failure = exec::make_pipe();  // the child's errno when exec fails; closes on exec
  if (!output || !failure) {
    return output ? failure.error() : output.error();
  }
  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const auto& word : options.argv) {
    argv.push_back(const_cast<char*>(word.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast): C API
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(options.environment.size() + 1);
  for (const auto& entry : options.environment) {
    envp.push_back(const_cast<char*>(entry.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast): C API
  }
  envp.push_back(nullptr);
  const char* directory = options.working_directory.empty() ? nullptr : options.working_directory.c_str();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    return make_error(ErrorCode::io_error, fmt::format("cannot start the kernel: fork: {}",
                                                       std::strerror(errno)));  // NOLINT(concurrency-mt-unsafe)
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    run_child(ChildSetup{program.c_str(), argv.data(), envp.data(), directory, output->write.get(),
                         failure->write.get(), options.die_with_parent ? parent : 0});
  }
  output->write.reset();
  failure->write.reset();
  int child_errno = 0;
  ssize_t got = 0;
  while ((got = ::read(failure->read.get(), &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    (void)::waitpid(pid, &status, 0);
    return make_error(ErrorCode::io_error,
                      fmt::format("cannot start the kernel '{}': {}{}", program,
                                  std::strerror(child_errno),  // NOLINT(concurrency-mt-unsafe)
                                  directory == nullptr ? "" : fmt::format(" (working directory {})", directory)));
  }
  return std::unique_ptr<KernelProcess>(
      new KernelProcess(pid, open_pidfd(pid), std::make_unique<OutputTail>(std::move(output->read))));
}

KernelProcess::~KernelProcess() {
  if (!has_exited()) {
    kill();
  }
  // The kernel's children may still hold the output pipe: the group is gone, so it closes.
  signal_group(SIGKILL);
}

bool KernelProcess::has_exited() {
  if (status_) {
    return true;
  }
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_) {
    status_ = status;
  } else if (reaped < 0 && errno == ECHILD) {
    status_ = 0;
  }
  return status_.has_value();
}

bool KernelProcess::wait_exit(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!has_exited()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    if (exit_fd_) {
      pollfd item{exit_fd_.get(), POLLIN, 0};
      (void)::poll(&item, 1, static_cast<int>(left.count()));
    } else {
      std::this_thread::sleep_for(std::min(left, std::chrono::duration_cast<std::chrono::milliseconds>(kReapStep)));
    }
  }
  return true;
}

void KernelProcess::signal_group(int signal) const {
  (void)::kill(-pid_, signal);
}

void KernelProcess::kill() {
  signal_group(SIGKILL);
  if (!status_) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
  }
}

std::string KernelProcess::exit_description() const {
  if (!status_) {
    return {};
  }
  if (WIFSIGNALED(*status_)) {
    const int signal = WTERMSIG(*status_);
    const char* name = sigabbrev_np(signal);
    return fmt::format("killed by signal {} (SIG{})", signal, name == nullptr ? "?" : name);
  }
  return fmt::format("exit status {}", WEXITSTATUS(*status_));
}

std::string KernelProcess::output_tail(std::size_t lines) const {
  if (lines == 0) {
    return {};
  }
  if (status_) {
    constexpr auto kLastWords = std::chrono::milliseconds(200);
    tail_->wait_end(kLastWords);
  }
  std::string text = tail_->snapshot();
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  // The start of the last `lines` lines: after the lines-th line break from the end.
  std::size_t start = text.size();
  for (std::size_t count = 0; count < lines; ++count) {
    const std::size_t newline = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
    if (newline == std::string::npos) {
      return text;
    }
    start = newline;
  }
  return text.substr(start + 1);
}

}  // namespace tejun::client
