// %%http steps: requests in the .http format, {VAR} filled from the session, sent with the
// one HTTP client, and shown as status line, headers and a readable body.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "base/text.hpp"
#include "exec/host_waiter.hpp"
#include "exec/http_request.hpp"
#include "exec/interpreter.hpp"
#include "exec/output_filter.hpp"
#include "exec/sql_text.hpp"
#include "notebook/file_io.hpp"
#include "notebook/json_parser.hpp"
#include "notebook/json_writer.hpp"

namespace tejun::exec {
namespace {

namespace http = integrations::http;

constexpr std::string_view kUsage = "%%http [--timeout SECONDS] [--fail] [--out FILE] [--limit BYTES]";

struct HttpOptions {
  std::chrono::milliseconds timeout{30'000};
  bool fail = false;
  std::optional<std::string> out;
  std::size_t limit = std::size_t{100} * 1024;
};

base::Result<HttpOptions> parse_http_options(std::string_view args) {
  HttpOptions options;
  const auto words = split_magic_words(args);
  const auto invalid = [](std::string message) {
    return base::make_error(base::ErrorCode::invalid_argument, std::move(message));
  };
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto& word = words[i];
    const auto equals = word.find('=');
    const std::string name = word.substr(0, equals);
    if (name == "--fail") {
      options.fail = equals == std::string::npos || word.substr(equals + 1) != "false";
      continue;
    }
    if (!name.starts_with("--")) {
      return invalid(fmt::format("%%http: unexpected '{}' on the magic line; the request goes on the next line ({})",
                                 word, kUsage));
    }
    std::string value;
    if (equals != std::string::npos) {
      value = word.substr(equals + 1);
    } else if (i + 1 < words.size()) {
      value = words[++i];
    } else {
      return invalid(fmt::format("%%http {} needs a value ({})", name, kUsage));
    }
    if (name == "--timeout") {
      double seconds = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec != std::errc() || end != value.data() + value.size() || !(seconds > 0 && seconds <= 86400)) {
        return invalid(
            fmt::format("%%http --timeout: expected a number of seconds (at most 86400), found '{}'", value));
      }
      options.timeout = std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds * 1000)));
    } else if (name == "--limit") {
      std::size_t limit = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return invalid(fmt::format("%%http --limit: expected a number of bytes, found '{}'", value));
      }
      options.limit = limit;
    } else if (name == "--out") {
      if (value.empty()) {
        return invalid("%%http --out needs a file name");
      }
      options.out = value;
    } else {
      return invalid(fmt::format("%%http: unknown option {} ({})", name, kUsage));
    }
  }
  return options;
}

bool is_json_type(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  const auto type = base::ascii_lowercase(content_type.substr(0, semicolon));
  return type == "application/json" || (type.starts_with("application/") && type.ends_with("+json"));
}

std::string error_name(http::Failure failure) {
  switch (failure) {
    case http::Failure::timed_out:
      return "TimeoutError";
    case http::Failure::interrupted:
      return "KeyboardInterrupt";
    case http::Failure::connection:
      return "ConnectionError";
    default:
      return "HTTPError";
  }
}

// Writes a response body to a file, masking secrets, also one split between two chunks.
class MaskedFile {
 public:
  MaskedFile(notebook::AtomicFile file, const Secrets& secrets) : file_(std::move(file)), secrets_(secrets) {}

  bool write(std::string_view bytes) {
    held_.append(bytes);
    const auto keep = secrets_.partial_match_length(held_);
    const auto ready = std::string_view(held_).substr(0, held_.size() - keep);
    file_.out().append(secrets_.empty() ? std::string(ready) : secrets_.mask(ready));
    held_.erase(0, held_.size() - keep);
    return true;
  }

  base::Result<void> commit() {
    file_.out().append(secrets_.mask(held_));
    held_.clear();
    return file_.commit();
  }

 private:
  notebook::AtomicFile file_;
  const Secrets& secrets_;
  std::string held_;
};

// GitLab's variables API (and any API shaped like it) marks secret values: {"masked": true,
// "value": "…"}. Those become secrets before the body is shown.
void add_masked_values(const notebook::Json& json, Secrets& secrets) {
  if (json.kind() == notebook::Json::Kind::array) {
    for (const auto& element : json.as_array()) {
      add_masked_values(element, secrets);
    }
  } else if (json.is_object()) {
    const auto& object = json.as_object();
    const auto* masked = notebook::find_member(object, "masked");
    const auto* value = notebook::find_member(object, "value");
    if (masked != nullptr && masked->is_bool() && masked->as_bool() && value != nullptr && value->is_string()) {
      secrets.add(value->as_string());
    }
    for (const auto& [key, member] : object) {
      add_masked_values(member, secrets);
    }
  }
}

// What the step shows of a response: status line, headers, blank line, the body (readable
// JSON when it is JSON), cut at `limit` bytes with a notice.
MimeBundle response_bundle(const http::Response& response, std::size_t limit, bool saved, Secrets& secrets) {
  std::string text = response.status_line.empty() ? fmt::format("HTTP {}", response.status) : response.status_line;
  for (const auto& [name, value] : response.headers) {
    text += fmt::format("\n{}: {}", name, value);
  }
  MimeBundle bundle;
  const bool whole = response.body_bytes == response.body.size() && response.body.size() <= limit;
  std::optional<std::string> json;
  if (whole && is_json_type(response.header("Content-Type"))) {
    if (auto parsed = notebook::parse_json(response.body)) {
      add_masked_values(*parsed, secrets);
      json = notebook::JsonWriter::readable(*parsed);
    }
  }
  if (response.body_bytes > 0) {
    text += "\n\n";
    if (json) {
      text += *json;
    } else {
      append_repaired_utf8(std::string_view(response.body).substr(0, std::min(limit, response.body.size())), text);
    }
    if (!whole) {
      text += fmt::format("\n… {} bytes in all; showing the first {}{}", response.body_bytes,
                          std::min(limit, response.body.size()), saved ? "" : " (--out FILE saves all of it)");
    }
  }
  bundle.emplace_back("text/plain", std::move(text));
  if (json) {
    bundle.emplace_back("application/json", std::move(*json));
  }
  return bundle;
}

}  // namespace

std::optional<StepError> Interpreter::run_http(std::string_view args, std::string_view body, Context& context) {
  auto options = parse_http_options(args);
  if (!options) {
    return StepError{"MagicError", options.error().message};
  }
  auto requests = parse_http_requests(body);
  if (!requests) {
    return StepError{"MagicError", "%%http: " + requests.error().message};
  }
  // Every {VAR} of every request, read in one trip; all are filled before anything is sent.
  std::vector<std::string> names;
  for (const auto& request : *requests) {
    const auto add = [&names](std::string_view text) {
      for (auto& name : url_placeholders(text)) {
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          names.push_back(std::move(name));
        }
      }
    };
    add(request.url);
    for (const auto& [name, value] : request.headers) {
      add(value);
    }
    add(request.body);
  }
  auto values = session_variables(names);
  if (!values) {
    return StepError{"MagicError", "%%http: " + values.error().message};
  }
  // A value from a variable named like a secret is one, wherever it is used.
  for (const auto& [name, value] : *values) {
    if (value && is_secret_name(name)) {
      secrets_.add(*value);
    }
  }
  const VariableLookup lookup = [&values](std::string_view name) -> std::optional<std::string> {
    const auto found = values->find(name);
    return found == values->end() ? std::nullopt : found->second;
  };
  std::vector<http::Request> filled;
  for (const auto& request : *requests) {
    http::Request next;
    next.method = request.method;
    const auto where = fmt::format("the request of line {}", request.line);
    auto url = fill_placeholders(request.url, lookup, where);
    auto content = fill_placeholders(request.body, lookup, where);
    if (!url || !content) {
      return StepError{"MagicError", "%%http: " + (url ? content.error() : url.error()).message};
    }
    next.url = std::move(*url);
    next.body = std::move(*content);
    for (const auto& [name, value] : request.headers) {
      auto header = fill_placeholders(value, lookup, where);
      if (!header) {
        return StepError{"MagicError", "%%http: " + header.error().message};
      }
      if (is_secret_header(name)) {
        // The credential of "Authorization: Bearer …": the value after the scheme, and all of it.
        const auto space = header->find(' ');
        if (space != std::string::npos && header->find_first_not_of(' ', space) != std::string::npos) {
          secrets_.add(header->substr(header->find_first_not_of(' ', space)));
        }
        secrets_.add(*header);
      }
      next.headers.emplace_back(name, std::move(*header));
    }
    next.timeout = timeout_ ? std::min(options->timeout, *timeout_) : options->timeout;
    next.keep_bytes = options->limit + 1;
    filled.push_back(std::move(next));
  }

  HostWaiter waiter(context.host);
  for (std::size_t index = 0; index < filled.size(); ++index) {
    auto& request = filled[index];
    std::string echo = fmt::format("{} {}\n", request.method, request.url);
    for (const auto& [name, value] : request.headers) {
      echo += fmt::format("{}: {}\n", name, value);
    }
    if (!request.body.empty()) {
      echo += fmt::format("({} bytes of body)\n", request.body.size());
    }
    context.host.write_stream(StreamName::out, secrets_.mask(echo) + "\n");

    // --out takes the body of the last request.
    std::optional<MaskedFile> file;
    std::string shown_path;
    if (options->out && index + 1 == filled.size()) {
      std::filesystem::path path(*options->out);
      if (path.is_relative()) {
        path = std::filesystem::path(session_directory()) / path;
      }
      auto created = notebook::AtomicFile::create(path.string());
      if (!created) {
        return StepError{"HTTPError", fmt::format("%%http --out {}: {}", *options->out, created.error().message)};
      }
      file.emplace(std::move(*created), secrets_);
      request.on_body = [&file](std::string_view bytes) { return file->write(bytes); };
    }
    auto response = http::perform(request, waiter);
    if (!response) {
      return StepError{error_name(response.error().failure),
                       fmt::format("{} {}: {}", request.method, request.url, response.error().message)};
    }
    // With --fail, an error response is not saved (as curl --fail does not).
    const bool failed = options->fail && response->status >= 400;
    if (file && failed) {
      file.reset();
    }
    if (file) {
      if (auto committed = file->commit(); !committed) {
        return StepError{"HTTPError", fmt::format("%%http --out {}: {}", *options->out, committed.error().message)};
      }
    }
    auto bundle = response_bundle(*response, options->limit, file.has_value(), secrets_);
    for (auto& [mime, text] : bundle) {
      secrets_.mask_in_place(text);
    }
    context.host.display(bundle, false);
    if (file) {
      context.host.write_stream(
          StreamName::out, fmt::format("saved {} bytes to {}\n", response->body_bytes, secrets_.mask(*options->out)));
    }
    if (failed) {
      std::string start;
      append_repaired_utf8(std::string_view(response->body).substr(0, 500), start);
      return StepError{"HTTPError", fmt::format("{} {}: {} {}{}{}", request.method, request.url, response->status,
                                                response->reason(), start.empty() ? "" : "\n", start)};
    }
  }
  return std::nullopt;
}

}  // namespace tejun::exec
