#include "exec/step_run.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>

#include "exec/process_tree.hpp"

namespace tejun::exec {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kReadSize = std::size_t{256} * 1024;
// Output is sent when this much is pending, or when the oldest pending byte is this old:
// small enough to see progress as it happens, large enough for 50 MB to go in few messages.
constexpr std::size_t kFlushBytes = std::size_t{64} * 1024;
constexpr auto kFlushDelay = milliseconds(20);
// A step that has been quiet this long is checked for a process reading stdin.
constexpr auto kStdinProbeDelay = milliseconds(150);
// Interrupt: SIGINT, then SIGTERM, then SIGKILL to the step's processes; the whole stop
// stays under one second. After that bash itself is killed and a new session starts.
constexpr auto kTermAfter = milliseconds(300);
constexpr auto kKillAfter = milliseconds(600);
constexpr auto kAbandonAfter = milliseconds(900);
constexpr std::size_t kStderrTailBytes = 4096;
constexpr std::size_t kStderrTailLines = 5;

// The last `count` lines of `text`, without the final newline.
std::string last_lines(std::string_view text, std::size_t count) {
  while (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  std::size_t start = text.size();
  for (std::size_t lines = 0; lines < count; ++lines) {
    const auto newline = start == 0 ? std::string_view::npos : text.rfind('\n', start - 1);
    if (newline == std::string_view::npos) {
      start = 0;
      break;
    }
    start = newline;
  }
  auto tail = text.substr(start);
  if (tail.starts_with('\n')) {
    tail.remove_prefix(1);
  }
  return std::string(tail);
}

}  // namespace

StepRun::StepRun(ShellSession& session, StepHost& host, const StepLimits& limits)
    : session_(session),
      host_(host),
      limits_(limits),
      streams_{Stream{StreamName::out, OutputFilter(*session.secrets_), {}},
               Stream{StreamName::err, OutputFilter(*session.secrets_), {}}},
      probe_at_(Clock::now() + kStdinProbeDelay),
      started_(process_epoch_now()) {}

std::vector<pid_t> StepRun::step_processes() const {
  // Background jobs of earlier steps (a port-forward, say) are not this step's to stop.
  return descendants_of(session_.pid_, started_);
}

ShellResult StepRun::run(std::string_view code) {
  discard_unread_input();
  pending_input_ = limits_.input;
  write_pending_input();
  if (!write_all(session_.commands_.get(), step_text(code))) {
    session_ended_ = true;
  }
  // A stopped step is done when bash has reported and the processes it started are gone.
  while (!session_ended_ && (!status_ || (stopping_ && escalation_ < 3 && !step_processes().empty()))) {
    std::array<pollfd, 4> fds{{{session_.stdout_.get(), POLLIN, 0},
                               {session_.stderr_.get(), POLLIN, 0},
                               {session_.statuses_.get(), POLLIN, 0},
                               {pending_input_.empty() ? -1 : session_.stdin_.get(), POLLOUT, 0}}};
    const auto waited = host_.wait(fds, next_wake());
    if (waited == WaitStatus::interrupted && !stopping_) {
      begin_stop(ShellEnd::interrupted);
    }
    if (waited == WaitStatus::ready) {
      if (fds[0].revents != 0) {
        read_output(fds[0].fd, streams_[0]);
      }
      if (fds[1].revents != 0) {
        read_output(fds[1].fd, streams_[1]);
      }
      if (fds[2].revents != 0) {
        read_status();
      }
      if (fds[3].revents != 0) {
        write_pending_input();
      }
    }
    const auto now = Clock::now();
    if (!stopping_ && now >= limits_.deadline) {
      begin_stop(ShellEnd::timed_out);
    }
    if (stopping_) {
      escalate(now);
    } else if (now >= probe_at_) {
      probe_stdin(now);
    }
    if (flush_due(now)) {
      flush_all();
    }
  }
  drain_and_finish();
  ShellResult result;
  result.end = stopping_.value_or(ShellEnd::exited);
  result.status = status_.value_or(0);
  result.stderr_tail = last_lines(stderr_tail_, kStderrTailLines);
  if (session_ended_) {
    session_.reap();
    result.status = session_.exit_status_;
    if (result.end == ShellEnd::exited) {
      result.end = ShellEnd::session_ended;
    } else {
      result.note = "the shell did not stop in time and was restarted";
    }
  }
  return result;
}

Clock::time_point StepRun::next_wake() const {
  auto wake = pending_since_ == Clock::time_point::max() ? Clock::time_point::max() : pending_since_ + kFlushDelay;
  if (stopping_) {
    const auto next = escalation_ == 0 ? kTermAfter : escalation_ == 1 ? kKillAfter : kAbandonAfter;
    return std::min(wake, stop_started_ + next);
  }
  wake = std::min(wake, limits_.deadline);
  return std::min(wake, probe_at_);
}

bool StepRun::read_output(int fd, Stream& stream) {
  auto& buffer = read_buffer();
  const auto length = ::read(fd, buffer.data(), buffer.size());
  if (length <= 0) {
    return false;  // EAGAIN, or EOF when bash has gone (the status pipe reports that)
  }
  Stream& other = &stream == streams_.data() ? streams_[1] : streams_[0];
  if (!other.pending.empty()) {
    flush(other);  // keep the order between stdout and stderr as far as we saw it
  }
  stream.filter.feed(std::string_view(buffer.data(), static_cast<std::size_t>(length)), stream.pending);
  if (pending_since_ == Clock::time_point::max()) {
    pending_since_ = Clock::now();
  }
  if (stream.pending.size() >= kFlushBytes) {
    flush(stream);
  }
  probe_at_ = Clock::now() + kStdinProbeDelay;
  return true;
}

std::size_t StepRun::unread_input() const {
  int unread = 0;
  return ::ioctl(session_.stdin_.get(), FIONREAD, &unread) == 0 && unread > 0 ? static_cast<std::size_t>(unread) : 0;
}

void StepRun::discard_unread_input() {
  // An answer the previous step never read is not this step's input.
  for (auto unread = unread_input(); unread > 0; unread = unread_input()) {
    std::string sink(unread, '\0');
    if (::read(session_.stdin_reader_.get(), sink.data(), sink.size()) <= 0) {
      break;
    }
  }
}

void StepRun::write_pending_input() {
  const auto written = ::write(session_.stdin_.get(), pending_input_.data(), pending_input_.size());
  if (written > 0) {
    pending_input_.erase(0, static_cast<std::size_t>(written));
  }
}

std::string& StepRun::read_buffer() {
  if (read_buffer_.empty()) {
    read_buffer_.resize(kReadSize);  // once per step, not once per read
  }
  return read_buffer_;
}

void StepRun::read_status() {
  if (!session_.read_statuses()) {
    session_ended_ = true;
    return;
  }
  if (auto status = session_.take_status()) {
    status_ = status;
  }
}

void StepRun::flush(Stream& stream) {
  if (stream.pending.empty()) {
    return;
  }
  host_.write_stream(stream.name, stream.pending);
  const auto newline = stream.pending.rfind('\n');
  if (newline == std::string::npos) {
    last_line_ += stream.pending;
  } else {
    last_line_.assign(stream.pending, newline + 1);
  }
  if (stream.name == StreamName::err) {
    stderr_tail_ += stream.pending;
    if (stderr_tail_.size() > kStderrTailBytes) {
      auto cut = stderr_tail_.size() - kStderrTailBytes;
      while (cut < stderr_tail_.size() && (static_cast<unsigned char>(stderr_tail_[cut]) & 0xC0U) == 0x80U) {
        ++cut;  // not inside a UTF-8 sequence
      }
      stderr_tail_.erase(0, cut);
    }
  }
  stream.pending.clear();
}

void StepRun::flush_all() {
  flush(streams_[0]);
  flush(streams_[1]);
  pending_since_ = Clock::time_point::max();
}

bool StepRun::flush_due(Clock::time_point now) const {
  return pending_since_ != Clock::time_point::max() && now >= pending_since_ + kFlushDelay;
}

void StepRun::drain_and_finish() {
  // The step has ended: what its processes wrote is in the pipes already.
  const std::array<int, 2> fds{session_.stdout_.get(), session_.stderr_.get()};
  for (std::size_t index = 0; index < streams_.size(); ++index) {
    while (read_output(fds[index], streams_[index])) {
    }
    streams_[index].filter.finish(streams_[index].pending);
  }
  flush_all();
}

void StepRun::probe_stdin(Clock::time_point now) {
  probe_at_ = now + kStdinProbeDelay;
  if (!pending_input_.empty()) {
    return;  // the last answer is still going in
  }
  auto processes = descendants_of(session_.pid_);
  processes.insert(processes.begin(), session_.pid_);
  if (find_stdin_reader(processes, session_.stdin_link_) == 0) {
    return;
  }
  if (unread_input() > 0) {
    return;  // it has input already and has not read it yet
  }
  flush_all();
  if (!limits_.allow_stdin) {
    begin_stop(ShellEnd::input_refused);
    return;
  }
  auto answer = host_.ask(last_line_, false, session_.statuses_.get(), limits_.deadline);
  if (!answer) {
    pollfd status{session_.statuses_.get(), POLLIN, 0};
    if (::poll(&status, 1, 0) == 0 && Clock::now() < limits_.deadline) {
      begin_stop(ShellEnd::interrupted);  // else the loop reads the status or sees the deadline
    }
    return;
  }
  pending_input_ += *answer;
  pending_input_ += '\n';
  write_pending_input();
  last_line_.clear();
  probe_at_ = Clock::now() + kStdinProbeDelay;
}

void StepRun::begin_stop(ShellEnd why) {
  stopping_ = why;
  stop_started_ = Clock::now();
  escalation_ = 0;
  auto tree = step_processes();
  ::kill(session_.pid_, SIGINT);  // bash's trap: skip the rest of the step
  signal_all(tree, SIGINT);
}

void StepRun::escalate(Clock::time_point now) {
  const auto elapsed = now - stop_started_;
  if (escalation_ == 0 && elapsed >= kTermAfter) {
    escalation_ = 1;
    signal_all(step_processes(), SIGTERM);
  }
  if (escalation_ == 1 && elapsed >= kKillAfter) {
    escalation_ = 2;
    signal_all(step_processes(), SIGKILL);
  }
  if (escalation_ == 2 && elapsed >= kAbandonAfter) {
    escalation_ = 3;
    if (!status_) {
      // bash itself does not finish the step (a builtin loop that ignores the trap): end it.
      ::kill(-session_.pid_, SIGKILL);
      ::kill(session_.pid_, SIGKILL);
      session_ended_ = true;
    }
  }
}

}  // namespace tejun::exec
