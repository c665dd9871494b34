// The request handlers of the tejun kernel, one per msg_type (Kernel's protocol half).
#include <fnmatch.h>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <unordered_map>

#include "exec/output_filter.hpp"
#include "kernel/kernel.hpp"

namespace tejun::kernel {
namespace {

bool bool_field(const boost::json::object& content, std::string_view name, bool fallback) {
  const auto* value = content.if_contains(name);
  return value != nullptr && value->is_bool() ? value->as_bool() : fallback;
}

std::int64_t int_field(const boost::json::object& content, std::string_view name, std::int64_t fallback) {
  const auto* value = content.if_contains(name);
  return value != nullptr && value->is_int64() ? value->as_int64() : fallback;
}

std::string string_field(const boost::json::object& content, std::string_view name) {
  const auto* value = content.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// Jupyter counts cursor positions in code points; tejun works in UTF-8 bytes.
std::size_t byte_offset(std::string_view text, std::int64_t code_points) {
  std::size_t offset = 0;
  for (std::int64_t count = 0; offset < text.size() && count < code_points; ++count) {
    ++offset;
    while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0U) == 0x80U) {
      ++offset;
    }
  }
  return offset;
}

std::int64_t code_point_offset(std::string_view text, std::size_t bytes) {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < bytes && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U) {
      ++count;
    }
  }
  return count;
}

// The code of a complete or inspect request and its cursor as a byte offset.
std::pair<std::string, std::size_t> code_and_cursor(const boost::json::object& content) {
  auto code = string_field(content, "code");
  const auto cursor = byte_offset(code, int_field(content, "cursor_pos", static_cast<std::int64_t>(code.size())));
  return {std::move(code), cursor};
}

// What control requests may ask while a step runs: nothing that needs the shell session.
bool serves_while_busy(std::string_view msg_type) {
  return msg_type == "kernel_info_request" || msg_type == "shutdown_request" || msg_type == "interrupt_request" ||
         msg_type == "comm_info_request" || msg_type == "is_complete_request" || msg_type == "inspect_request";
}

// The history kept in memory: the newest half survives when it is full.
constexpr std::size_t kMaxHistoryEntries = 10000;

}  // namespace

boost::json::object kernel_info_content() {
  return {{"status", "ok"},
          {"protocol_version", protocol::kProtocolVersion},
          {"implementation", "tejun"},
          {"implementation_version", TEJUN_VERSION},
          {"language_info",
           {{"name", "bash"},
            {"version", "5"},
            {"mimetype", "text/x-sh"},
            {"file_extension", ".sh"},
            {"pygments_lexer", "bash"},
            {"codemirror_mode", "shell"}}},
          {"banner", "tejun " TEJUN_VERSION ": runbook steps in one bash session, with magics (%lsmagic)"},
          {"debugger", false},
          {"help_links", boost::json::array()}};
}

void Kernel::dispatch(const protocol::Message& request, bool control) {
  static const std::unordered_map<std::string_view, Handler> kHandlers = {
      {"kernel_info_request", &Kernel::kernel_info}, {"execute_request", &Kernel::execute},
      {"complete_request", &Kernel::complete},       {"is_complete_request", &Kernel::is_complete},
      {"inspect_request", &Kernel::inspect},         {"history_request", &Kernel::history},
      {"comm_info_request", &Kernel::comm_info},     {"shutdown_request", &Kernel::shutdown},
      {"interrupt_request", &Kernel::interrupt}};
  const auto found = kHandlers.find(request.msg_type());
  if (control && current_ != nullptr && found != kHandlers.end() && !serves_while_busy(request.msg_type())) {
    // The shell session is running a step: a second one cannot run beside it.
    auto reply_type = std::string(request.msg_type());
    reply_type.replace(reply_type.size() - std::string_view("request").size(), std::string_view("request").size(),
                       "reply");
    reply(sockets_->control, request, reply_type,
          {{"status", "error"},
           {"ename", "KernelBusy"},
           {"evalue", "a step is running; send this on the shell channel"},
           {"traceback", boost::json::array()}});
    return;
  }
  if (found == kHandlers.end()) {
    logger_->debug("ignored a {} message (not handled by this kernel)", request.msg_type());
    return;
  }
  // A control request that arrives while a step runs must not replace the step's socket.
  auto* const saved_socket = current_socket_;
  current_socket_ = control ? &sockets_->control : &sockets_->shell;
  publish_status("busy", &request);
  (this->*(found->second))(request);
  publish_status("idle", &request);
  current_socket_ = saved_socket;
}

void Kernel::kernel_info(const protocol::Message& request) {
  reply(*current_socket_, request, "kernel_info_reply", kernel_info_content());
}

void Kernel::execute(const protocol::Message& request) {
  const auto& content = request.content;
  std::string code;
  exec::append_repaired_utf8(string_field(content, "code"), code);
  const bool silent = bool_field(content, "silent", false);
  const bool store_history = !silent && bool_field(content, "store_history", true);
  if (store_history) {
    ++execution_count_;
    history_.push_back({execution_count_, code});
    if (history_.size() > kMaxHistoryEntries) {
      history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(history_.size() / 2));
    }
  }
  if (!silent) {
    publish("execute_input", {{"code", interpreter_.secrets().mask(code)}, {"execution_count", execution_count_}},
            &request);
  }
  current_ = &request;
  current_silent_ = silent;
  current_allow_stdin_ = bool_field(content, "allow_stdin", true);
  interrupt_pending_ = false;
  const auto error = interpreter_.execute(code, *this, {current_allow_stdin_});
  current_ = nullptr;
  current_silent_ = false;
  if (!error) {
    reply(sockets_->shell, request, "execute_reply",
          {{"status", "ok"},
           {"execution_count", execution_count_},
           {"user_expressions", boost::json::object()},
           {"payload", boost::json::array()}});
    return;
  }
  const auto& evalue = error->evalue;  // masked by the interpreter
  // What the front end queued behind this step is taken before the reply goes out: a
  // request sent in answer to the error reply must run, not be aborted with the rest.
  std::vector<protocol::Message> queued;
  // As ipykernel: a failing silent request (a variable inspector, say) aborts nothing.
  if (!silent && bool_field(content, "stop_on_error", true)) {
    while (auto next = receive(sockets_->shell, "shell")) {
      queued.push_back(std::move(*next));
    }
  }
  boost::json::array traceback{boost::json::string(error->ename + ": " + evalue)};
  if (!silent) {
    publish("error", {{"ename", error->ename}, {"evalue", evalue}, {"traceback", traceback}}, &request);
  }
  reply(sockets_->shell, request, "execute_reply",
        {{"status", "error"},
         {"execution_count", execution_count_},
         {"ename", error->ename},
         {"evalue", evalue},
         {"traceback", traceback}});
  abort_queued_executions(queued);
}

void Kernel::abort_queued_executions(std::vector<protocol::Message>& queued) {
  // What the front end queued behind a failed step is not run: those steps assumed it worked.
  for (auto& message : queued) {
    if (message.msg_type() != "execute_request") {
      dispatch(message, false);
      continue;
    }
    publish_status("busy", &message);
    reply(sockets_->shell, message, "execute_reply", {{"status", "aborted"}, {"execution_count", execution_count_}});
    publish_status("idle", &message);
  }
}

void Kernel::complete(const protocol::Message& request) {
  const auto [code, cursor] = code_and_cursor(request.content);
  const auto completion = interpreter_.complete(code, cursor);
  boost::json::array matches;
  for (const auto& match : completion.matches) {
    matches.emplace_back(match);
  }
  reply(*current_socket_, request, "complete_reply",
        {{"status", "ok"},
         {"matches", std::move(matches)},
         {"cursor_start", code_point_offset(code, completion.cursor_start)},
         {"cursor_end", code_point_offset(code, completion.cursor_end)},
         {"metadata", boost::json::object()}});
}

void Kernel::is_complete(const protocol::Message& request) {
  const auto status = interpreter_.is_complete(string_field(request.content, "code"));
  boost::json::object content{{"status", exec::to_string(status)}};
  if (status == exec::Completeness::incomplete) {
    content["indent"] = "";
  }
  reply(*current_socket_, request, "is_complete_reply", std::move(content));
}

void Kernel::inspect(const protocol::Message& request) {
  const auto [code, cursor] = code_and_cursor(request.content);
  const auto help = interpreter_.inspect(code, cursor);
  boost::json::object data;
  if (help) {
    data["text/plain"] = *help;
  }
  reply(
      *current_socket_, request, "inspect_reply",
      {{"status", "ok"}, {"found", help.has_value()}, {"data", std::move(data)}, {"metadata", boost::json::object()}});
}

void Kernel::history(const protocol::Message& request) {
  const auto& content = request.content;
  const auto type = string_field(content, "hist_access_type");
  const bool output = bool_field(content, "output", false);
  std::vector<const HistoryEntry*> selected;
  if (type == "range") {
    const auto start = int_field(content, "start", 0);
    const auto stop = int_field(content, "stop", execution_count_ + 1);
    const auto session = int_field(content, "session", 0);
    for (const auto& entry : history_) {
      if ((session == 0 || session == 1 || session == -1) && entry.line >= start && entry.line < stop) {
        selected.push_back(&entry);
      }
    }
  } else {
    const auto pattern = type == "search" ? string_field(content, "pattern") : std::string("*");
    const bool unique = bool_field(content, "unique", false);
    std::vector<std::string_view> seen;
    for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
      if (::fnmatch(pattern.c_str(), it->input.c_str(), 0) != 0) {
        continue;
      }
      if (unique && std::find(seen.begin(), seen.end(), it->input) != seen.end()) {
        continue;
      }
      seen.push_back(it->input);
      selected.push_back(&*it);
    }
    const auto n = int_field(content, "n", static_cast<std::int64_t>(selected.size()));
    if (n >= 0 && static_cast<std::size_t>(n) < selected.size()) {
      selected.resize(static_cast<std::size_t>(n));
    }
    std::reverse(selected.begin(), selected.end());
  }
  boost::json::array entries;
  for (const auto* entry : selected) {
    const auto input = interpreter_.secrets().mask(entry->input);
    if (output) {
      entries.push_back(boost::json::array{1, entry->line, boost::json::array{input, nullptr}});
    } else {
      entries.push_back(boost::json::array{1, entry->line, input});
    }
  }
  reply(*current_socket_, request, "history_reply", {{"status", "ok"}, {"history", std::move(entries)}});
}

void Kernel::comm_info(const protocol::Message& request) {
  reply(*current_socket_, request, "comm_info_reply", {{"status", "ok"}, {"comms", boost::json::object()}});
}

void Kernel::shutdown(const protocol::Message& request) {
  const bool restart = bool_field(request.content, "restart", false);
  reply(*current_socket_, request, "shutdown_reply", {{"status", "ok"}, {"restart", restart}});
  logger_->debug("shutdown requested restart={}", restart);
  stopping_ = true;
}

void Kernel::interrupt(const protocol::Message& request) {
  interrupt_pending_ = current_ != nullptr;
  reply(*current_socket_, request, "interrupt_reply", {{"status", "ok"}});
}

}  // namespace tejun::kernel
