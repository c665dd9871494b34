#include "exec/shell_session.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <thread>
#include <vector>

#include "exec/pipe.hpp"
#include "exec/process_tree.hpp"
#include "exec/step_run.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX's name

namespace tejun::exec {
namespace {

using base::ErrorCode;
using base::make_error;

// bash reads steps on its stdin (-s); each step's own stdin is this descriptor, the pipe
// that carries the front end's answers, and bash reports each step's status on kStatusFd.
constexpr int kInputFd = 252;
constexpr int kStatusFd = 254;
constexpr int kPipeSize = 1 << 20;
constexpr auto kReadyLimit = std::chrono::seconds(5);

// Steps run in a function, __tejun_run, defined on line 1 of a file named "bash": bash then
// counts each step's lines from 1 and names them as it does for `bash -c` ("bash: line 2:
// foo: command not found"), whatever came before in the session. In the function,
// `declare` and `typeset` are aliased to their global forms, so a step declares variables,
// arrays and functions for the whole session, as in a terminal.
constexpr std::string_view kRunnerFile = "__tejun_run() { eval \"$__tejun_code\"; }\n";

// Read by bash before the first step (@RUNNER_DIR@: the folder holding kRunnerFile). A SIGINT (the
// interrupt) installs a DEBUG trap that, with extdebug, breaks out of the step's loops and
// returns from functions past every further command of the step, so the step stops where
// it was and the session keeps its state. "ready" on the status pipe says the runner file
// has been read and may go.
constexpr std::string_view kPrelude = R"BASH(shopt -s extdebug expand_aliases
shopt -u sourcepath
__tejun_cwd=$PWD
builtin cd -- @RUNNER_DIR@ && source bash
builtin cd -- "$__tejun_cwd"
shopt -s sourcepath
unset __tejun_cwd
declare -F __tejun_run >/dev/null || __tejun_run() { eval "$__tejun_code"; }
alias declare='declare -g' typeset='typeset -g'
__tejun_skip() { return 2; }
__tejun_interrupt() { trap '[[ $BASH_COMMAND == __tejun_finish* || ${FUNCNAME[0]-} == __tejun_finish ]] || { break 1000 2>/dev/null; __tejun_skip; }' DEBUG; }
__tejun_finish() { local s=$1; trap - DEBUG; unset __tejun_code; printf '%d\n' "$s" >&254; }
trap __tejun_interrupt INT
printf 'ready\n' >&254
)BASH";

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_bash(const char* path, char* const* argv, const std::array<int, 5>& fds) {
  ::setpgid(0, 0);  // its own group: a SIGINT sent to the kernel's group does not reach it
  // A session without its kernel is of no use to anyone: it goes when the kernel goes.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::dup2(fds[3], 0);
  ::dup2(fds[1], 1);
  ::dup2(fds[2], 2);
  ::dup2(fds[0], kInputFd);
  ::dup2(fds[4], kStatusFd);
  for (const int signal : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGCHLD, SIGHUP}) {
    ::signal(signal, SIG_DFL);  // the kernel ignores or catches these; programs expect defaults
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(path, argv, environ);
  ::_exit(127);
}

}  // namespace

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      return false;  // EPIPE: bash is gone
    }
    text.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

std::string step_text(std::string_view code) {
  // $'...' quoting: only the backslash and the single quote need escaping.
  // The assignment and the status report are grouped with stderr to /dev/null so that a
  // step's `set -x` traces the step, not tejun's plumbing.
  std::string text = "{ __tejun_code=$'";
  for (const char c : code) {
    if (c == '\\' || c == '\'') {
      text += '\\';
    }
    text += c;
  }
  text += "'; } 2>/dev/null; __tejun_run 0<&252 252<&- 254>&-\n{ __tejun_finish $?; } 2>/dev/null\n";
  return text;
}

base::Result<std::string> write_runner_file() {
  std::error_code ec;
  auto pattern = (std::filesystem::temp_directory_path(ec) / "tejun-XXXXXX").string();
  if (ec || ::mkdtemp(pattern.data()) == nullptr) {
    return make_error(ErrorCode::io_error, std::string("cannot create a temporary folder: ") + std::strerror(errno));
  }
  std::ofstream file(std::filesystem::path(pattern) / "bash", std::ios::binary);
  file << kRunnerFile;
  file.close();
  if (!file) {
    std::filesystem::remove_all(pattern, ec);
    return make_error(ErrorCode::io_error, "cannot write into " + pattern);
  }
  return pattern;
}

void ShellSession::remove_runner_file() noexcept {
  if (!runner_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(runner_dir_, ec);
    runner_dir_.clear();
  }
}

std::string shell_quote(std::string_view text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

ShellSession::ShellSession(ShellOptions options, const Secrets& secrets)
    : options_(std::move(options)), secrets_(&secrets) {}

ShellSession::~ShellSession() {
  stop_process();
}

base::Result<void> ShellSession::start() {
  if (pid_ > 0) {
    return {};
  }
  auto commands = make_pipe();
  auto statuses = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  auto in = make_pipe();
  for (auto* pipe : {&commands, &statuses, &out, &err, &in}) {
    if (!*pipe) {
      return pipe->error();
    }
  }
  ::fcntl(out->read.get(), F_SETPIPE_SZ, kPipeSize);  // fewer wake-ups for large outputs
  ::fcntl(err->read.get(), F_SETPIPE_SZ, kPipeSize);
  std::string path = options_.bash_path;
  std::string noprofile = "--noprofile";
  std::string norc = "--norc";
  std::string dash_s = "-s";
  std::string name = "bash";  // argv[0]: error messages read "bash: line 3: ..."
  std::array<char*, 5> argv{name.data(), noprofile.data(), norc.data(), dash_s.data(), nullptr};
  const std::array<int, 5> child_fds{in->read.get(), out->write.get(), err->write.get(), commands->read.get(),
                                     statuses->write.get()};
  const pid_t pid = ::fork();
  if (pid < 0) {
    return make_error(ErrorCode::io_error, std::string("cannot start bash: ") + std::strerror(errno));
  }
  if (pid == 0) {
    exec_bash(path.c_str(), argv.data(), child_fds);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before we might signal it
  pid_ = pid;
  commands_ = std::move(commands->write);
  statuses_ = std::move(statuses->read);
  stdout_ = std::move(out->read);
  stderr_ = std::move(err->read);
  stdin_ = std::move(in->write);
  stdin_reader_ = UniqueFd(::fcntl(in->read.get(), F_DUPFD_CLOEXEC, 3));  // to discard stale answers
  set_nonblocking(stdin_.get());  // an answer longer than the pipe must not block the kernel
  for (const int fd : {statuses_.get(), stdout_.get(), stderr_.get()}) {
    set_nonblocking(fd);
  }
  stdin_link_ = descriptor_link(stdin_.get());
  status_line_.clear();
  auto runner_dir = write_runner_file();
  if (!runner_dir) {
    stop_process();
    return runner_dir.error();
  }
  runner_dir_ = *runner_dir;
  std::string prelude(kPrelude);
  prelude.replace(prelude.find("@RUNNER_DIR@"), std::string_view("@RUNNER_DIR@").size(), shell_quote(runner_dir_));
  if (!write_all(commands_.get(), prelude) || !await_ready()) {
    stop_process();
    return make_error(ErrorCode::io_error,
                      options_.bash_path + " did not start as bash (tejun runs steps with bash 4 or later)");
  }
  return {};
}

bool ShellSession::await_ready() noexcept {
  // bash reads the prelude in a few milliseconds; the runner file goes as soon as it has, so
  // that no kill of the kernel can leave it behind. Should bash be slow, the first step's
  // status read removes it instead.
  const auto deadline = Clock::now() + kReadyLimit;
  while (!runner_dir_.empty()) {  // take_status() removes it at "ready"
    pollfd fd{statuses_.get(), POLLIN, 0};
    const auto left = time_left(deadline);
    if (left.count() == 0 || ::poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
      return true;  // slow, not gone: the first step's status read finishes this
    }
    if (!read_statuses()) {
      return false;  // it exited: not a bash that understood the prelude
    }
    [[maybe_unused]] const auto none = take_status();  // no step has run yet
  }
  return true;
}

bool ShellSession::read_statuses() {
  std::array<char, 64> buffer{};
  const auto length = ::read(statuses_.get(), buffer.data(), buffer.size());
  if (length > 0) {
    status_line_.append(buffer.data(), static_cast<std::size_t>(length));
  }
  return length != 0;  // EOF: bash has gone; EAGAIN: nothing yet
}

std::optional<int> ShellSession::take_status() {
  for (auto newline = status_line_.find('\n'); newline != std::string::npos; newline = status_line_.find('\n')) {
    const std::string line = status_line_.substr(0, newline);
    status_line_.erase(0, newline + 1);
    if (line == "ready") {
      remove_runner_file();  // bash has read it
      continue;
    }
    int status = 0;
    std::from_chars(line.data(), line.data() + line.size(), status);
    return status;
  }
  return std::nullopt;
}

ShellResult ShellSession::run(std::string_view code, StepHost& host, const StepLimits& limits) {
  if (code.find('\0') != std::string_view::npos) {
    return {ShellEnd::exited, 2, "the step contains a NUL character, which bash cannot run", {}};
  }
  if (pid_ == 0) {
    if (auto started = start(); !started) {
      return {ShellEnd::session_ended, 127, started.error().message, {}};
    }
  }
  StepRun step(*this, host, limits);
  return step.run(code);
}

namespace {

// Collects stdout for capture(); no front end, so no input and no interrupts.
class CaptureHost final : public StepHost {
 public:
  std::string out;
  std::string err;
  void write_stream(StreamName name, std::string_view text) override {
    (name == StreamName::out ? out : err).append(text);
  }
  void display(const MimeBundle& /*bundle*/, bool /*is_result*/) override {}
  void clear_output() override {}
  base::Result<std::string> ask(std::string_view /*prompt*/, bool /*password*/, int /*gives_up*/,
                                Clock::time_point /*until*/) override {
    return make_error(ErrorCode::invalid_argument, "no input here");
  }
  WaitStatus wait(std::span<pollfd> fds, Clock::time_point until) override {
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(time_left(until).count()));
    return ready > 0 ? WaitStatus::ready : WaitStatus::timed_out;
  }
};

constexpr auto kCaptureTimeout = std::chrono::seconds(5);

}  // namespace

base::Result<std::string> ShellSession::capture(std::string_view code) {
  // What is captured is a value the kernel needs as it is (a password for a connection);
  // callers mask what they show of it.
  static const Secrets kNoSecrets;
  const Secrets* secrets = std::exchange(secrets_, &kNoSecrets);
  CaptureHost host;
  const auto result = run(code, host, {Clock::now() + kCaptureTimeout, false, {}});
  secrets_ = secrets;
  if (result.end != ShellEnd::exited || result.status != 0) {
    return make_error(ErrorCode::io_error, "the shell could not answer: " + host.err);
  }
  return std::move(host.out);
}

void ShellSession::reap() noexcept {
  if (pid_ <= 0) {
    return;
  }
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  pid_ = 0;
  close_pipes();
  remove_runner_file();
}

void ShellSession::close_pipes() noexcept {
  for (auto* fd : {&commands_, &statuses_, &stdout_, &stderr_, &stdin_, &stdin_reader_}) {
    fd->reset();
  }
}

void ShellSession::stop_process() noexcept {
  remove_runner_file();
  if (pid_ <= 0) {
    return;
  }
  // As a terminal that closes: SIGHUP to everything the session started, then SIGKILL.
  auto tree = descendants_of(pid_);
  tree.push_back(pid_);
  commands_.reset();
  signal_all(tree, SIGHUP);
  ::kill(-pid_, SIGHUP);
  for (int waited = 0; waited < 20; ++waited) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = 0;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  signal_all(tree, SIGKILL);
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    reap();
  }
  close_pipes();
}

}  // namespace tejun::exec
