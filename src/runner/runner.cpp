#include "runner/runner.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>

#include "client/kernel_manager.hpp"
#include "client/kernel_specs.hpp"
#include "exec/pipe.hpp"
#include "notebook/json_writer.hpp"
#include "notebook/markdown.hpp"
#include "notebook/runbook_file.hpp"
#include "runner/output_recorder.hpp"
#include "runner/progress.hpp"
#include "runner/report.hpp"
#include "runner/run_record.hpp"

namespace tejun::runner {
namespace {

using notebook::Json;
using notebook::JsonNumber;
using notebook::JsonObject;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kDefaultKernel = "tejun";
constexpr auto kTick = milliseconds(100);             // progress redraw, exit polling without a pidfd
constexpr auto kShutdownGrace = milliseconds(5000);   // for the kernel to stop by itself at the end
constexpr auto kIdleAfterReply = milliseconds(5000);  // nbclient waits 4 s for iopub after a reply

// ---- signals: a self-pipe, so the wait over the kernel's sockets sees them ----

int g_signal_fd = -1;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables): the handler's only state

extern "C" void on_signal(int signal) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signal);
  (void)!::write(g_signal_fd, &byte, 1);
  errno = saved;
}

class SignalCatcher {
 public:
  SignalCatcher() {
    auto pipe = exec::make_pipe();
    if (!pipe) {
      return;
    }
    pipe_ = std::move(*pipe);
    exec::set_nonblocking(pipe_.read.get());
    exec::set_nonblocking(pipe_.write.get());
    g_signal_fd = pipe_.write.get();
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      ::sigaction(kSignals[i], &action, &previous_[i]);
    }
  }
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;
  SignalCatcher(SignalCatcher&&) = delete;
  SignalCatcher& operator=(SignalCatcher&&) = delete;
  ~SignalCatcher() { reset(); }
  // Gives the signals back to their earlier handlers.
  void reset() {
    if (g_signal_fd >= 0 && g_signal_fd == pipe_.write.get()) {
      for (std::size_t i = 0; i < kSignals.size(); ++i) {
        ::sigaction(kSignals[i], &previous_[i], nullptr);
      }
      g_signal_fd = -1;
    }
  }
  [[nodiscard]] int fd() const noexcept { return pipe_.read.get(); }
  // The next signal caught, or 0.
  int take() {
    unsigned char byte = 0;
    return pipe_.read && ::read(pipe_.read.get(), &byte, 1) == 1 ? byte : 0;
  }

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  exec::Pipe pipe_;
  std::array<struct sigaction, 3> previous_{};
};

// ---- small helpers ----

std::string lowercase(std::string_view text) {
  std::string lower(text);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

const JsonObject* object_member(const JsonObject& object, std::string_view key) {
  const auto* value = notebook::find_member(object, key);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

std::string string_member(const JsonObject* object, std::string_view key) {
  const auto* value = object == nullptr ? nullptr : notebook::find_member(*object, key);
  return value != nullptr && value->is_string() ? value->as_string() : std::string();
}

std::string content_string(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::string header_date(const protocol::Message& message) {
  return content_string(message.header, "date");
}

// A step's own name: its Markdown attribute name=, else a "name" in its metadata.
std::string own_name(const notebook::Cell& cell) {
  const auto* tejun = object_member(cell.metadata, notebook::kTejunMetadataKey);
  if (auto name = string_member(tejun == nullptr ? nullptr : object_member(*tejun, "attributes"), "name");
      !name.empty()) {
    return name;
  }
  return string_member(&cell.metadata, "name");
}

std::string step_language(const notebook::Cell& cell) {
  const auto* tejun = object_member(cell.metadata, notebook::kTejunMetadataKey);
  return lowercase(string_member(tejun, "language"));
}

bool is_shell_language(std::string_view language) {
  return language.empty() || language == "sh" || language == "bash" || language == "shell" || language == "console";
}

bool is_python_language(std::string_view language) {
  return language == "python" || language == "py" || language == "python3";
}

// What the kernel is sent for a step: a fence in another language than the kernel's becomes
// a cell magic of that name (%%sql for the tejun kernel, %%bash for ```sh in a Python
// runbook); a fence in the kernel's own language, or none, is sent as it is.
std::string step_code(const notebook::Cell& cell, std::string_view kernel_language) {
  const std::string language = step_language(cell);
  const std::string kernel = lowercase(kernel_language);
  const bool same = language.empty() || language == kernel ||
                    (is_shell_language(language) && is_shell_language(kernel)) ||
                    (is_python_language(language) && is_python_language(kernel));
  if (same) {
    return cell.source;
  }
  if (is_shell_language(language) && is_python_language(kernel)) {
    return "%%bash\n" + cell.source;
  }
  return "%%" + language + "\n" + cell.source;
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

bool is_confirmation(std::string_view prompt) {
  const std::string lower = lowercase(prompt);
  return std::ranges::any_of(std::array<std::string_view, 4>{"[yes/no]", "(yes/no)", "[y/n]", "(y/n)"},
                             [&](std::string_view marker) { return lower.find(marker) != std::string::npos; });
}

Json seconds_json(double seconds) {
  return Json(JsonNumber{fmt::format("{:.6f}", seconds)});
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
  [[nodiscard]] base::Result<void> resolve_selection();
  [[nodiscard]] std::optional<std::size_t> find_step(const std::string& wanted) const;
  [[nodiscard]] std::string send_step(const StepRecord& step);
  [[nodiscard]] bool pipelines() const;
  StepResult run_step(StepRecord& step, const std::string& request);
  void add_error(std::size_t cell, std::string ename, std::string evalue);
  void answer_input(const protocol::Message& request, StepResult& result, bool& gave_up);
  [[nodiscard]] bool write_outputs(notebook::Durability durability);
  void finish_metadata();
  void print_json() const;
  int fail_early(const base::Error& error, int code);

  const RunOptions& options_;
  Progress progress_;
  SignalCatcher signals_;  // reset() gives the signals back to their defaults
  notebook::Notebook notebook_;
  RunRecord record_;
  ParameterLanguage language_ = ParameterLanguage::shell;
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

std::optional<std::size_t> Run::find_step(const std::string& wanted) const {
  for (std::size_t i = 0; i < record_.steps.size(); ++i) {
    const auto& cell = notebook_.cells[record_.steps[i].cell];
    if (!has_tag(cell, kInjectedParametersTag) && (own_name(cell) == wanted || cell.id == wanted)) {
      return i;
    }
  }
  // A number counts the runbook's own steps (not the injected parameters), from 1.
  std::size_t number = 0;
  const auto [end, ec] = std::from_chars(wanted.data(), wanted.data() + wanted.size(), number);
  if (ec == std::errc() && end == wanted.data() + wanted.size() && number > 0) {
    for (std::size_t i = 0; i < record_.steps.size(); ++i) {
      if (record_.steps[i].number == number) {
        return i;
      }
    }
  }
  return std::nullopt;
}

base::Result<void> Run::resolve_selection() {
  std::size_t first = 0;
  std::size_t last = record_.steps.empty() ? 0 : record_.steps.size() - 1;
  const auto unknown = [&](const std::string& option, const std::string& wanted) {
    std::string names;
    for (const auto& step : record_.steps) {
      if (step.number != 0) {
        names += fmt::format("{}{} {}", names.empty() ? "" : ", ", step.number, step.name);
      }
    }
    auto error = base::make_error(base::ErrorCode::invalid_argument,
                                  fmt::format("{} {}: no step has that name, cell id or number (steps: {})", option,
                                              wanted, names.empty() ? "none" : names));
    error.where.path = options_.runbook;
    return error;
  };
  if (!options_.step.empty()) {
    auto found = find_step(options_.step);
    if (!found) {
      return unknown("--step", options_.step);
    }
    first = last = *found;
  }
  if (!options_.from.empty()) {
    auto found = find_step(options_.from);
    if (!found) {
      return unknown("--from", options_.from);
    }
    first = *found;
  }
  if (!options_.to.empty()) {
    auto found = find_step(options_.to);
    if (!found) {
      return unknown("--to", options_.to);
    }
    last = *found;
  }
  if (first > last && !record_.steps.empty()) {
    return base::make_error(base::ErrorCode::invalid_argument,
                            fmt::format("--from {} comes after --to {} in the runbook", options_.from, options_.to));
  }
  for (std::size_t i = 0; i < record_.steps.size(); ++i) {
    auto& step = record_.steps[i];
    const bool injected = has_tag(notebook_.cells[step.cell], kInjectedParametersTag);
    if (injected || (i >= first && i <= last)) {
      to_run_.push_back(i);
      step.ordinal = to_run_.size();
    } else {
      step.status = StepStatus::skipped;
    }
  }
  record_.total = to_run_.size();
  return {};
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
    std::string text;
    if (*options_.input_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(*options_.input_file, std::ios::binary);
      if (!in) {
        return fail_early(base::make_error(base::ErrorCode::not_found,
                                           fmt::format("--input {}: cannot read the file", *options_.input_file)),
                          kExitBadInput);
      }
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      std::string line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      answers_.push_back(std::move(line));
      start = end + 1;
    }
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
  language_ = language ? *language : ParameterLanguage::python;
  if (!language && !options_.parameters.empty()) {
    return fail_early(language.error(), kExitBadInput);
  }
  if (language) {
    auto injection = inject_parameters(notebook_, options_.parameters, language_);
    if (!injection) {
      return fail_early(injection.error(), kExitBadInput);
    }
    for (const auto& warning : injection->warnings) {
      progress_.note(warning);
    }
    record_.parameters = std::move(injection->effective);
  }

  // Every output starts empty, as papermill does; the steps are the non-blank code cells.
  std::size_t runbook_steps = 0;
  for (std::size_t i = 0; i < notebook_.cells.size(); ++i) {
    auto& cell = notebook_.cells[i];
    if (cell.type != notebook::CellType::code) {
      continue;
    }
    cell.outputs.clear();
    cell.execution_count = Json(nullptr);
    notebook::erase_member(cell.metadata, "execution");
    notebook::erase_member(cell.metadata, "papermill");
    if (is_blank(cell.source)) {
      continue;
    }
    StepRecord step;
    step.cell = i;
    const bool injected = has_tag(cell, kInjectedParametersTag);
    step.number = injected ? 0 : ++runbook_steps;
    step.name = injected ? "parameters" : own_name(cell);
    if (step.name.empty()) {
      step.name = fmt::format("step {}", step.number);  // ids of Markdown cells change every read
    }
    record_.steps.push_back(std::move(step));
  }
  if (auto selected = resolve_selection(); !selected) {
    return fail_early(selected.error(), kExitBadInput);
  }
  working_directory_ = options_.working_directory;
  if (working_directory_.empty()) {
    working_directory_ = std::filesystem::absolute(options_.runbook).parent_path().string();
  }
  if (!std::filesystem::is_directory(working_directory_, error)) {
    return fail_early(
        base::make_error(base::ErrorCode::not_found, fmt::format("--cwd {}: not a directory", working_directory_)),
        kExitBadInput);
  }
  finish_metadata();
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
      if (type == "stream") {
        progress_.output(content_string(message.content, "text"));
      } else if (type == "error") {
        std::string text;
        if (const auto* traceback = message.content.if_contains("traceback");
            traceback != nullptr && traceback->is_array()) {
          for (const auto& line : traceback->get_array()) {
            text += line.is_string() ? std::string(line.get_string()) + "\n" : "";
          }
        }
        progress_.output(text.empty() ? fmt::format("{}: {}\n", content_string(message.content, "ename"),
                                                    content_string(message.content, "evalue"))
                                      : text);
      } else if (type == "display_data" || type == "execute_result") {
        const auto* data = message.content.if_contains("data");
        const auto* plain =
            data != nullptr && data->is_object() ? data->get_object().if_contains("text/plain") : nullptr;
        if (plain != nullptr && plain->is_string()) {
          progress_.output(std::string(plain->get_string()) + "\n");
        }
      }
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
  const auto text_of = [&](std::string_view key) {
    const auto* value = notebook::find_member(execution, key);
    return value != nullptr && value->is_string() ? value->as_string() : std::string();
  };
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

void Run::finish_metadata() {
  JsonObject parameters;
  for (const auto& [name, value] : record_.parameters) {
    parameters.emplace_back(name, value);
  }
  const std::string output_path = options_.outputs.empty() ? std::string() : options_.outputs.front();
  JsonObject papermill{{"parameters", Json(std::move(parameters))},
                       {"environment_variables", Json(JsonObject{})},
                       {"input_path", Json(options_.runbook)},
                       {"output_path", Json(output_path)},
                       {"start_time", Json(record_.start_time)},
                       {"end_time", record_.end_time.empty() ? Json(nullptr) : Json(record_.end_time)},
                       {"duration", record_.end_time.empty() ? Json(nullptr) : seconds_json(record_.seconds)},
                       {"exception", record_.end_time.empty() ? Json(nullptr) : Json(record_.exit_code != 0)}};
  notebook::set_member(notebook_.metadata, "papermill", Json(std::move(papermill)));
  for (const auto& step : record_.steps) {
    auto& cell = notebook_.cells[step.cell];
    const bool done =
        step.status != StepStatus::pending && step.status != StepStatus::running && step.status != StepStatus::skipped;
    JsonObject papermill_cell{
        {"exception", Json(done && step.status != StepStatus::ok)},
        {"start_time", step.start_time.empty() ? Json(nullptr) : Json(step.start_time)},
        {"end_time", step.end_time.empty() ? Json(nullptr) : Json(step.end_time)},
        {"duration", done ? seconds_json(step.seconds) : Json(nullptr)},
        {"status", Json(step.status == StepStatus::ok                                              ? "completed"
                        : step.status == StepStatus::running                                       ? "running"
                        : step.status == StepStatus::pending || step.status == StepStatus::skipped ? "pending"
                                                                                                   : "failed")}};
    notebook::set_member(cell.metadata, "papermill", Json(std::move(papermill_cell)));
  }
}

void Run::print_json() const {
  JsonObject parameters;
  for (const auto& [name, value] : record_.parameters) {
    parameters.emplace_back(name, value);
  }
  notebook::JsonArray steps;
  for (const auto& step : record_.steps) {
    const auto& cell = notebook_.cells[step.cell];
    JsonObject entry{
        {"name", Json(step.name)},
        {"number", step.number == 0 ? Json(nullptr) : Json::integer(static_cast<std::int64_t>(step.number))},
        {"cell_id", cell.id.empty() ? Json(nullptr) : Json(cell.id)},
        {"status", Json(to_string(step.status))},
        {"duration_seconds", seconds_json(step.seconds)},
        {"execution_count", cell.execution_count}};
    if (!step.ename.empty()) {
      entry.emplace_back("ename", Json(step.ename));
      entry.emplace_back("evalue", Json(step.evalue));
    }
    steps.emplace_back(std::move(entry));
  }
  notebook::JsonArray outputs;
  for (const auto& output : record_.outputs) {
    outputs.emplace_back(output);
  }
  const Json summary(JsonObject{{"runbook", Json(record_.runbook)},
                                {"kernel", Json(record_.kernel)},
                                {"outputs", Json(std::move(outputs))},
                                {"status", Json(record_.outcome)},
                                {"exit_code", Json::integer(record_.exit_code)},
                                {"reason", Json(record_.reason)},
                                {"start_time", Json(record_.start_time)},
                                {"end_time", Json(record_.end_time)},
                                {"duration_seconds", seconds_json(record_.seconds)},
                                {"parameters", Json(std::move(parameters))},
                                {"steps", Json(std::move(steps))}});
  fmt::print("{}\n", notebook::JsonWriter::compact(summary));
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
    finish_metadata();
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
  finish_metadata();
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
