#include "protocol/connection_info.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <limits>
#include <sstream>

namespace tejun::protocol {
namespace {

using base::ErrorCode;
using base::make_error;

base::Result<std::uint16_t> port_field(const boost::json::object& object, const char* name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) {
    return make_error(ErrorCode::schema_error, fmt::format("connection file has no \"{}\"", name));
  }
  if (!value->is_int64() || value->as_int64() < 0 || value->as_int64() > std::numeric_limits<std::uint16_t>::max()) {
    return make_error(ErrorCode::schema_error,
                      fmt::format("connection file: \"{}\" must be a port number (0-65535)", name));
  }
  return static_cast<std::uint16_t>(value->as_int64());
}

base::Result<std::string> string_field(const boost::json::object& object, const char* name, std::string fallback) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) {
    return fallback;
  }
  if (!value->is_string()) {
    return make_error(ErrorCode::schema_error, fmt::format("connection file: \"{}\" must be a string", name));
  }
  return std::string(value->as_string());
}

}  // namespace

std::string ConnectionInfo::endpoint(std::uint16_t port) const {
  if (transport == "ipc") {
    return fmt::format("ipc://{}-{}", ip, port);
  }
  return fmt::format("{}://{}:{}", transport, ip, port);
}

base::Result<ConnectionInfo> parse_connection_info(std::string_view text) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(text, ec);
  if (ec) {
    return make_error(ErrorCode::parse_error, "connection file is not valid JSON: " + ec.message());
  }
  if (!parsed.is_object()) {
    return make_error(ErrorCode::schema_error, "connection file must hold a JSON object");
  }
  const auto& object = parsed.as_object();
  ConnectionInfo info;
  const std::pair<const char*, std::uint16_t*> ports[] = {{"shell_port", &info.shell_port},
                                                          {"iopub_port", &info.iopub_port},
                                                          {"stdin_port", &info.stdin_port},
                                                          {"control_port", &info.control_port},
                                                          {"hb_port", &info.hb_port}};
  for (const auto& [name, port] : ports) {
    auto value = port_field(object, name);
    if (!value) {
      return value.error();
    }
    *port = *value;
  }
  const std::pair<const char*, std::string*> strings[] = {{"transport", &info.transport},
                                                          {"ip", &info.ip},
                                                          {"key", &info.key},
                                                          {"signature_scheme", &info.signature_scheme},
                                                          {"kernel_name", &info.kernel_name}};
  for (const auto& [name, field] : strings) {
    auto value = string_field(object, name, *field);
    if (!value) {
      return value.error();
    }
    *field = std::move(*value);
  }
  if (info.transport != "tcp" && info.transport != "ipc") {
    return make_error(ErrorCode::unsupported,
                      fmt::format("connection file: transport \"{}\" is not tcp or ipc", info.transport));
  }
  if (!info.key.empty() && info.signature_scheme != "hmac-sha256") {
    return make_error(ErrorCode::unsupported, fmt::format("connection file: signature scheme \"{}\" is not supported "
                                                          "(tejun signs with hmac-sha256)",
                                                          info.signature_scheme));
  }
  return info;
}

base::Result<ConnectionInfo> read_connection_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return make_error(ErrorCode::io_error, "cannot open the connection file").in_file(path);
  }
  std::ostringstream text;
  text << file.rdbuf();
  auto info = parse_connection_info(text.str());
  if (!info) {
    return info.error().in_file(path);
  }
  return info;
}

}  // namespace tejun::protocol
