#include "runner/runner.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "client/kernel_manager.hpp"
#include "client/kernel_specs.hpp"
#include "notebook/runbook_file.hpp"
#include "runner/output_recorder.hpp"
#include "runner/progress.hpp"
#include "runner/report.hpp"
#include "runner/run_record.hpp"
#include "runner/signal_catcher.hpp"
#include "runner/steps.hpp"

namespace tejun::runner {
namespace {

using notebook::Json;
using notebook::JsonObject;
using notebook::object_member;
using notebook::string_member;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kDefaultKernel = "tejun";
constexpr auto kTick = milliseconds(100);             // progress redraw, exit polling without a pidfd
constexpr auto kShutdownGrace = milliseconds(5000);   // for the kernel to stop by itself at the end
constexpr auto kIdleAfterReply = milliseconds(5000);  // nbclient waits 4 s for iopub after a reply

// ---- small helpers ----

std::string content_string(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::string header_date(const protocol::Message& message) {
  return content_string(message.header, "date");
}

std::string describe(milliseconds limit) {
  return format_seconds(static_cast<double>(limit.count()) / 1000.0);
}

// ---- the run ----

struct StepResult {
  StepStatus status = StepStatus::ok;
  std::string ename;
  std::string evalue;
  std::optional<std::pair<std::string, std::string>> kernel_times;  // busy and idle, as the kernel stamped them
  double kernel_seconds = 0;
};

class Run {
 public:
  explicit Run(const RunOptions& options) : options_(options), progress_(options.progress, options.log_output) {}

  int execute();

 private:
  int prepare();
  [[nodiscard]] std::string send_step(const StepRecord& step);
  [[nodiscard]] bool pipelines() const;
  StepResult run_step(StepRecord& step, const std::string& request);
  void add_error(std::size_t cell, std::string ename, std::string evalue);
  void answer_input(const protocol::Message& request, StepResult& result, bool& gave_up);
  [[nodiscard]] bool write_outputs(notebook::Durability durability);
  void print_json() const;
  int fail_early(const base::Error& error, int code);

  const RunOptions& options_;
  Progress progress_;
  SignalCatcher signals_;  // reset() gives the signals back to their defaults
  notebook::Notebook notebook_;
  RunRecord record_;
  std::optional<client::KernelSpec> spec_;
  std::unique_ptr<client::KernelManager> kernel_;
  OutputRecorder recorder_;
  std::deque<std::string> answers_;
  std::set<std::string> requests_;      // execute requests sent and not finished
  std::deque<client::Received> early_;  // messages about a later step, kept until it runs
  std::vector<std::size_t> to_run_;     // indexes into record_.steps
  Clock::time_point run_started_;
  std::optional<Clock::time_point> run_deadline_;
  std::string working_directory_;
  int caught_signal_ = 0;
};

int Run::fail_early(const base::Error& error, int code) {
  fmt::print(stderr, "tejun run: {}\n", error.to_string());
  record_.exit_code = code;
  record_.outcome = code == kExitBadInput ? "bad input" : "kernel died";
  record_.reason = error.to_string();
  if (options_.json) {
    print_json();
  }
  return code;
}

int Run::prepare() {
  record_.runbook = options_.runbook;
  record_.outputs = options_.outputs;
  record_.start_time = utc_now();
  auto notebook = notebook::read_runbook(options_.runbook);
  if (!notebook) {
    return fail_early(
        notebook.error().where.path.empty() ? notebook.error().in_file(options_.runbook) : notebook.error(),
        kExitBadInput);
  }
  notebook_ = std::move(*notebook);
  std::error_code error;
  const auto runbook_path = std::filesystem::weakly_canonical(options_.runbook, error);
  for (const auto& output : options_.outputs) {
    auto format = notebook::format_of(output);
    if (!format) {
      return fail_early(base::make_error(base::ErrorCode::invalid_argument,
                                         fmt::format("output {}: the name must end in .ipynb (the executed runbook) or "
                                                     ".md (a Markdown report)",
                                                     output)),
                        kExitBadInput);
    }
    if (*format == notebook::RunbookFormat::markdown &&
        std::filesystem::weakly_canonical(output, error) == runbook_path) {
      return fail_early(base::make_error(base::ErrorCode::invalid_argument,
                                         fmt::format("output {}: the report would replace the runbook itself", output)),
                        kExitBadInput);
    }
  }
  if (options_.input_file) {
    auto answers = read_answers(*options_.input_file);
    if (!answers) {
      return fail_early(answers.error(), kExitBadInput);
    }
    answers_ = std::move(*answers);
  }

  // The kernel: asked for, else the runbook's, else tejun's own.
  std::string kernel_name = options_.kernel;
  if (kernel_name.empty()) {
    kernel_name = string_member(object_member(notebook_.metadata, "kernelspec"), "name");
  }
  if (kernel_name.empty()) {
    kernel_name = kDefaultKernel;
  }
  auto spec = client::find_kernel_spec(kernel_name);
  if (!spec) {
    return fail_early(spec.error(), kExitBadInput);
  }
  spec_ = std::move(*spec);
  record_.kernel = spec_->name;
  // The output notebook opens on the kernel it ran on.
  notebook::set_member(
      notebook_.metadata, "kernelspec",
      Json(JsonObject{{"display_name", Json(spec_->display_name.empty() ? spec_->name : spec_->display_name)},
                      {"language", Json(spec_->language)},
                      {"name", Json(spec_->name)}}));
  auto language = parameter_language(spec_->language);

  if (!language && !options_.parameters.empty()) {
    return fail_early(language.error(), kExitBadInput);
  }
  if (language) {
    auto injection = inject_parameters(notebook_, options_.parameters, *language);
    if (!injection) {
      return fail_early(injection.error(), kExitBadInput);
    }
    for (const auto& warning : injection->warnings) {
      progress_.note(warning);
    }
    record_.parameters = std::move(injection->effective);
  }

  record_.steps = list_steps(notebook_);
  auto selected = select_steps(notebook_, record_.steps, {options_.step, options_.from, options_.to});
  if (!selected) {
    return fail_early(selected.error().in_file(options_.runbook), kExitBadInput);
  }
  to_run_ = std::move(*selected);
  record_.total = to_run_.size();
  working_directory_ = options_.working_directory;
  if (working_directory_.empty()) {
    working_directory_ = std::filesystem::absolute(options_.runbook).parent_path().string();
  }
  if (!std::filesystem::is_directory(working_directory_, error)) {
    return fail_early(
        base::make_error(base::ErrorCode::not_found, fmt::format("--cwd {}: not a directory", working_directory_)),
        kExitBadInput);
  }
  record_in_notebook(record_, notebook_);
  if (!write_outputs(notebook::Durability::process_safe)) {
    record_.exit_code = kExitBadInput;
    record_.outcome = "bad input";
    record_.reason = "cannot write the output";
    if (options_.json) {
      print_json();
    }
    return kExitBadInput;
  }
  return kExitSuccess;
}

void Run::add_error(std::size_t cell, std::string ename, std::string evalue) {
  notebook::Output output;
  output.type = notebook::OutputType::error;
  output.ename = std::move(ename);
  output.evalue = std::move(evalue);
  output.traceback.push_back(output.ename + ": " + output.evalue);
  progress_.output(output.traceback.back() + "\n");
  notebook_.cells[cell].outputs.push_back(std::move(output));
}

void Run::answer_input(const protocol::Message& request, StepResult& result, bool& gave_up) {
  const std::string prompt = content_string(request.content, "prompt");
  const auto* password = request.content.if_contains("password");
  const bool secret = password != nullptr && password->is_bool() && password->get_bool();
  std::optional<std::string> answer;
  std::string source;
  if (options_.yes && is_confirmation(prompt)) {
    answer = "yes";
    source = "--yes";
  } else if (!answers_.empty()) {
    answer = std::move(answers_.front());
    answers_.pop_front();
    source = "--input";
  }
  if (answer) {
    progress_.note(fmt::format("answered '{}' from {}{}", prompt, source,
                               secret || source == "--input" ? "" : fmt::format(": {}", *answer)));
    kernel_->client().send(client::Channel::stdin_channel, "input_reply", {{"value", *answer}}, request.header);
    return;
  }
  // Nothing answers it: stop the step rather than wait for ever.
  result.status = StepStatus::failed;
  result.ename = "InputRequired";
  result.evalue = fmt::format(
      "the step asked for input ({}) and nothing answers it in a headless run: give answers with --input FILE "
      "(one per line){}",
      prompt.empty() ? "a program read its stdin" : "'" + prompt + "'",
      is_confirmation(prompt) ? " or confirm with --yes" : "");
  gave_up = true;
  kernel_->interrupt();
}

std::string Run::send_step(const StepRecord& step) {
  auto request = kernel_->client().send(client::Channel::shell, "execute_request",
                                        {{"code", step_code(notebook_.cells[step.cell], spec_->language)},
                                         {"silent", false},
                                         {"store_history", true},
                                         {"user_expressions", boost::json::object()},
                                         {"allow_stdin", true},
                                         {"stop_on_error", !options_.allow_errors}});
  requests_.insert(request);
  return request;
}

// Whether every step may be sent at once, as JupyterLab's "Run All" does: only when the run
// stops at the first failure and the kernel is one known to answer what was queued behind a
// failure with "aborted" instead of running it (tejun's, ipykernel). The kernel then goes
// from step to step without waiting for this process.
bool Run::pipelines() const {
  if (options_.allow_errors) {
    return false;
  }
  const auto* implementation = kernel_->kernel_info().if_contains("implementation");
  const std::string name = implementation != nullptr && implementation->is_string()
                               ? std::string(implementation->get_string())
                               : std::string();
  return name == "tejun" || name == "ipython";
}

StepResult Run::run_step(StepRecord& step, const std::string& request) {
  auto& cell = notebook_.cells[step.cell];
  StepResult result;
  auto& client = kernel_->client();
  const auto started = Clock::now();
  std::optional<Clock::time_point> deadline = run_deadline_;
  bool total_deadline = deadline.has_value();
  if (options_.cell_timeout && (!deadline || started + *options_.cell_timeout < *deadline)) {
    deadline = started + *options_.cell_timeout;
    total_deadline = false;
  }
  std::optional<Clock::time_point> give_up_at;  // after an interrupt: kill the kernel then
  bool replied = false;
  bool idle = false;
  Clock::time_point reply_at;
  bool input_refused = false;
  JsonObject timing;
  std::string reply_status;

  std::vector<int> fds{signals_.fd()};
  const int exit_fd = kernel_->process().exit_fd();
  if (exit_fd >= 0) {
    fds.push_back(exit_fd);
  }
  const auto interrupt_for = [&](StepStatus status) {
    result.status = status;
    kernel_->interrupt();
    give_up_at = Clock::now() + options_.interrupt_grace;
  };

  while (!(replied && idle)) {
    auto now = Clock::now();
    if (give_up_at && now >= *give_up_at) {
      kernel_->process().kill();
      add_error(step.cell, "KernelKilled",
                fmt::format("the kernel did not stop within {} of the interrupt and was killed",
                            describe(options_.interrupt_grace)));
      if (result.status == StepStatus::ok) {
        result.status = StepStatus::interrupted;
      }
      break;
    }
    // A deadline counts only once what the kernel already said has been read: a step that
    // finished in time is not timed out because this process was slow to look.
    const bool overdue =
        (!give_up_at && deadline && now >= *deadline) || (replied && !idle && now >= reply_at + kIdleAfterReply);
    client::Event event = client::TimedOut{};
    const auto early = std::ranges::find_if(early_, [&](const client::Received& received) {
      const auto* parent = received.message.parent_header.if_contains("msg_id");
      return parent != nullptr && parent->is_string() && parent->get_string() == request;
    });
    const bool from_early = early != early_.end();
    if (from_early) {
      event = std::move(*early);
      early_.erase(early);
    } else if (overdue) {
      event = client.wait(milliseconds(0), fds);
    }
    if (overdue && std::holds_alternative<client::TimedOut>(event) && replied && !idle) {
      // The reply came but its idle status did not (a kernel may drop iopub messages when
      // they pile up): the step is over all the same, as nbclient decides.
      progress_.note(
          fmt::format("step '{}': no idle status {} after the reply; going on", step.name, describe(kIdleAfterReply)));
      break;
    }
    if (overdue && std::holds_alternative<client::TimedOut>(event)) {
      interrupt_for(StepStatus::timed_out);
      result.evalue = total_deadline ? fmt::format(
                                           "the run reached its --total-timeout of {} during this step, "
                                           "which was interrupted",
                                           describe(*options_.total_timeout))
                                     : fmt::format("the step ran longer than its --timeout of {} and was interrupted",
                                                   describe(*options_.cell_timeout));
      continue;
    }
    if (!overdue && !from_early) {
      auto wake = now + (progress_.live() || exit_fd < 0 ? kTick : milliseconds(60'000));
      if (give_up_at) {
        wake = std::min(wake, *give_up_at);
      } else if (deadline) {
        wake = std::min(wake, *deadline);
      }
      if (replied && !idle) {
        wake = std::min(wake, reply_at + kIdleAfterReply);
      }
      event = client.wait(std::max(std::chrono::duration_cast<milliseconds>(wake - now), milliseconds(0)), fds);
    }
    if (std::holds_alternative<client::TimedOut>(event)) {
      progress_.tick();
      if (exit_fd < 0 && kernel_->process().has_exited()) {
        result.status = StepStatus::kernel_died;
        break;
      }
      continue;
    }
    if (const auto* ready = std::get_if<client::FdReady>(&event)) {
      if (fds[ready->index] == signals_.fd()) {
        const int signal = signals_.take();
        if (signal == 0) {
          continue;
        }
        if (caught_signal_ != 0) {
          // A second Ctrl-C: stop waiting for the kernel.
          give_up_at = Clock::now();
          continue;
        }
        caught_signal_ = signal;
        progress_.note(fmt::format(
            "{}: interrupting step '{}' (again to stop at once)",
            sigabbrev_np(signal) == nullptr ? "signal" : fmt::format("SIG{}", sigabbrev_np(signal)), step.name));
        interrupt_for(StepStatus::interrupted);
        continue;
      }
      kernel_->process().wait_exit(milliseconds(1000));
      result.status = StepStatus::kernel_died;
      break;
    }
    auto& received = std::get<client::Received>(event);
    const auto& message = received.message;
    const auto* parent = message.parent_header.if_contains("msg_id");
    if (parent == nullptr || !parent->is_string() || parent->get_string() != request) {
      if (parent != nullptr && parent->is_string() && requests_.contains(std::string(parent->get_string()))) {
        early_.push_back(std::move(received));  // a later step's: the kernel has moved on
      }
      continue;  // else not about any step (late replies to the start-up probes)
    }
    const auto type = message.msg_type();
    if (received.channel == client::Channel::shell) {
      if (type == "execute_reply") {
        replied = true;
        reply_at = Clock::now();
        timing.emplace_back("shell.execute_reply", Json(header_date(message)));
        reply_status = content_string(message.content, "status");
        if (const auto* count = message.content.if_contains("execution_count"); count != nullptr) {
          cell.execution_count = to_notebook_json(*count);
        }
        if (reply_status != "ok" && result.status == StepStatus::ok) {
          result.status = StepStatus::failed;
          result.ename = reply_status == "aborted" ? "Aborted" : content_string(message.content, "ename");
          result.evalue =
              reply_status == "aborted" ? "the kernel aborted the request" : content_string(message.content, "evalue");
        }
      }
      continue;
    }
    if (received.channel == client::Channel::stdin_channel) {
      if (type == "input_request" && !input_refused) {
        answer_input(message, result, input_refused);
        if (input_refused) {
          give_up_at = Clock::now() + options_.interrupt_grace;
        }
      }
      continue;
    }
    if (received.channel != client::Channel::iopub) {
      continue;
    }
    if (type == "status") {
      const auto state = content_string(message.content, "execution_state");
      if (state == "busy") {
        timing.emplace_back("iopub.status.busy", Json(header_date(message)));
      } else if (state == "idle") {
        timing.emplace_back("iopub.status.idle", Json(header_date(message)));
        idle = true;
      }
      continue;
    }
    if (type == "execute_input") {
      timing.emplace_back("iopub.execute_input", Json(header_date(message)));
      continue;
    }
    if (options_.log_output) {
      progress_.output(log_text(message));
    }
    recorder_.apply(notebook_, step.cell, message);
  }

  if (result.status == StepStatus::kernel_died) {
    add_error(step.cell, "DeadKernelError", kernel_->death_report());
    result.ename = "DeadKernelError";
    result.evalue = kernel_->death_report();
  } else if (input_refused) {
    result.status = StepStatus::failed;
    add_error(step.cell, "InputRequired", result.evalue);
    result.ename = "InputRequired";
  } else if (result.status == StepStatus::timed_out) {
    result.ename = "CellTimeoutError";
    add_error(step.cell, result.ename, result.evalue);
  } else if (result.status == StepStatus::interrupted) {
    result.ename = "Interrupted";
    result.evalue = fmt::format("tejun run was interrupted (SIG{})",
                                sigabbrev_np(caught_signal_) == nullptr ? "?" : sigabbrev_np(caught_signal_));
  }
  // nbclient's record of when the kernel took, ran and finished the request.
  JsonObject execution;
  for (const auto* key : {"iopub.status.busy", "iopub.execute_input", "shell.execute_reply", "iopub.status.idle"}) {
    if (const auto* value = notebook::find_member(timing, key)) {
      execution.emplace_back(key, *value);
    }
  }
  // With every step sent at once, this process may turn to a step after the kernel has run
  // it: the kernel's own times say when it ran.
  const auto text_of = [&](std::string_view key) { return string_member(&execution, key); };
  const auto busy = parse_utc(text_of("iopub.status.busy"));
  const auto done = parse_utc(text_of("iopub.status.idle"));
  if (busy && done && *done >= *busy) {
    result.kernel_times = std::make_pair(text_of("iopub.status.busy"), text_of("iopub.status.idle"));
    result.kernel_seconds = *done - *busy;
  }
  notebook::set_member(cell.metadata, "execution", Json(std::move(execution)));
  return result;
}

bool Run::write_outputs(notebook::Durability durability) {
  for (const auto& output : options_.outputs) {
    auto format = notebook::format_of(output);
    base::Result<void> written;
    if (format && *format == notebook::RunbookFormat::ipynb) {
      written = notebook::write_runbook(notebook_, output, durability);
    } else {
      written = notebook::write_file_atomically(
          output, [&](notebook::TextOutput& out) { write_report(notebook_, record_, out); }, durability);
    }
    if (!written) {
      fmt::print(stderr, "tejun run: {}\n", written.error().to_string());
      return false;
    }
  }
  return true;
}

void Run::print_json() const {
  fmt::print("{}\n", summary_json(record_, notebook_));
  std::fflush(stdout);
}

int Run::execute() {
  run_started_ = Clock::now();
  if (const int prepared = prepare(); prepared != kExitSuccess) {
    return prepared;
  }
  if (options_.total_timeout) {
    run_deadline_ = run_started_ + *options_.total_timeout;
  }
  int exit_code = kExitSuccess;
  std::string outcome = "succeeded";
  std::string reason;

  if (!options_.prepare_only) {
    client::StartOptions start;
    start.working_directory = working_directory_;
    start.startup_timeout = options_.startup_timeout;
    start.cancel_fd = signals_.fd();
    auto kernel = client::KernelManager::start(*spec_, start);
    if (!kernel) {
      const int signal = signals_.take();
      if (signal != 0) {
        record_.exit_code = 128 + signal;
        exit_code = 128 + signal;
        outcome = "interrupted";
        reason = "interrupted while the kernel was starting";
      } else {
        exit_code = kExitKernelDied;
        outcome = "kernel died";
        reason = fmt::format("cannot start the kernel '{}': {}", spec_->name, kernel.error().message);
      }
    } else {
      kernel_ = std::move(*kernel);
      // As nbclient: the output says which language it ran in.
      if (const auto* info = kernel_->kernel_info().if_contains("language_info");
          info != nullptr && info->is_object()) {
        notebook::set_member(notebook_.metadata, "language_info", to_notebook_json(*info));
      }
    }
  }

  std::map<std::size_t, std::string> sent;  // step index → its request
  if (kernel_ && pipelines()) {
    for (const std::size_t index : to_run_) {
      sent.emplace(index, send_step(record_.steps[index]));
    }
  }
  for (const std::size_t index : kernel_ ? to_run_ : std::vector<std::size_t>()) {
    auto& step = record_.steps[index];
    if (const int signal = signals_.take(); signal != 0) {
      // Ctrl-C between two steps: the next one is not started (or, sent already, is interrupted).
      caught_signal_ = signal;
      kernel_->interrupt();
      exit_code = 128 + signal;
      outcome = "interrupted";
      reason = fmt::format("interrupted before step {} of {} ({})", step.ordinal, record_.total, step.name);
      break;
    }
    if (!sent.contains(index)) {
      sent.emplace(index, send_step(step));
    }
    step.status = StepStatus::running;
    step.start_time = utc_now();
    progress_.step_started(step, record_.total);
    const auto started = Clock::now();
    auto result = run_step(step, sent[index]);
    requests_.erase(sent[index]);
    step.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    step.end_time = utc_now();
    if (result.kernel_times) {
      step.start_time = result.kernel_times->first;
      step.end_time = result.kernel_times->second;
      step.seconds = result.kernel_seconds;
    }
    step.status = result.status;
    step.ename = std::move(result.ename);
    step.evalue = std::move(result.evalue);
    progress_.step_finished(step, record_.total);

    const auto where = fmt::format("step {} of {} ({})", step.ordinal, record_.total, step.name);
    switch (step.status) {
      case StepStatus::ok:
        break;
      case StepStatus::failed:
        if (exit_code == kExitSuccess) {
          exit_code = kExitStepFailed;
          outcome = "failed";
          reason =
              fmt::format("{} failed: {}{}", where, step.ename,
                          step.evalue.empty() ? "" : ": " + strip_ansi(step.evalue.substr(0, step.evalue.find('\n'))));
        }
        break;
      case StepStatus::timed_out:
        exit_code = kExitTimeout;
        outcome = "timed out";
        reason = fmt::format("{} timed out: {}", where, step.evalue);
        break;
      case StepStatus::kernel_died:
        exit_code = kExitKernelDied;
        outcome = "kernel died";
        reason = fmt::format("{}: {}", where, step.evalue.substr(0, step.evalue.find('\n')));
        break;
      case StepStatus::interrupted:
        exit_code = 128 + (caught_signal_ == 0 ? SIGINT : caught_signal_);
        outcome = "interrupted";
        reason = fmt::format("interrupted during {}", where);
        break;
      default:
        break;
    }
    // Not after a kernel this run had to kill (an unanswered prompt, an interrupt it ignored).
    const bool stop =
        (step.status != StepStatus::ok && (step.status != StepStatus::failed || !options_.allow_errors)) ||
        !kernel_->is_alive();
    record_in_notebook(record_, notebook_);
    if (!write_outputs(notebook::Durability::process_safe)) {
      exit_code = kExitStepFailed;
      outcome = "failed";
      reason = "cannot write the output; the run stopped so that no step runs without its output saved";
      kernel_->interrupt();  // steps already sent would run on
      break;
    }
    if (stop) {
      break;
    }
  }

  if (kernel_) {
    // Every finished step is on disk already; a signal now ends this process at once (the
    // kernel goes with it) instead of waiting for the kernel's own shutdown.
    signals_.reset();
    kernel_->shutdown(kShutdownGrace);
  }
  record_.end_time = utc_now();
  record_.seconds = std::chrono::duration<double>(Clock::now() - run_started_).count();
  record_.exit_code = exit_code;
  record_.outcome = outcome;
  record_.reason = reason;
  record_in_notebook(record_, notebook_);
  if (!write_outputs(notebook::Durability::synced) && exit_code == kExitSuccess) {
    record_.exit_code = exit_code = kExitStepFailed;
    record_.outcome = "failed";
    record_.reason = "the steps succeeded, but the output could not be written";
  }
  progress_.finished(record_);
  if (options_.json) {
    print_json();
  }
  return exit_code;
}

}  // namespace

int run(const RunOptions& options) {
  Run run(options);
  return run.execute();
}

}  // namespace tejun::runner
