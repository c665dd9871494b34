#include "server/channels_wire.hpp"

#include <array>
#include <boost/json.hpp>
#include <optional>
#include <vector>

namespace tejun::server {
namespace {

namespace json = boost::json;

json::object object_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? value->as_object() : json::object();
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code error;
  auto value = json::parse(text, error);
  if (error || !value.is_object()) {
    return std::nullopt;
  }
  return std::move(value.as_object());
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int byte = 0; byte < 8; ++byte) {
    out.push_back(static_cast<char>((value >> (8 * byte)) & 0xffU));
  }
}

std::uint64_t get_u64(std::string_view data, std::size_t at) {
  std::uint64_t value = 0;
  for (int byte = 7; byte >= 0; --byte) {
    value = (value << 8) | static_cast<unsigned char>(data[at + static_cast<std::size_t>(byte)]);
  }
  return value;
}

}  // namespace

std::string encode_json(std::string_view channel, const protocol::Message& message) {
  json::object packet{{"header", message.header},     {"parent_header", message.parent_header},
                      {"metadata", message.metadata}, {"content", message.content},
                      {"buffers", json::array()},     {"channel", channel}};
  packet["msg_id"] = message.header.contains("msg_id") ? message.header.at("msg_id") : json::value("");
  packet["msg_type"] = message.header.contains("msg_type") ? message.header.at("msg_type") : json::value("");
  return json::serialize(packet);
}

std::string encode_v1(std::string_view channel, const protocol::Message& message) {
  const std::array<std::string, 4> parts = {json::serialize(message.header), json::serialize(message.parent_header),
                                            json::serialize(message.metadata), json::serialize(message.content)};
  const std::size_t count = 6 + message.buffers.size();
  std::vector<std::uint64_t> offsets;
  offsets.reserve(count);
  std::uint64_t at = 8 * (1 + count);
  offsets.push_back(at);
  at += channel.size();
  offsets.push_back(at);
  for (const auto& part : parts) {
    at += part.size();
    offsets.push_back(at);
  }
  for (const auto& buffer : message.buffers) {
    at += buffer.size();
    offsets.push_back(at);
  }
  std::string out;
  out.reserve(at);
  put_u64(out, count);
  for (const auto offset : offsets) {
    put_u64(out, offset);
  }
  out += channel;
  for (const auto& part : parts) {
    out += part;
  }
  for (const auto& buffer : message.buffers) {
    out += buffer;
  }
  return out;
}

bool decode_client_message(std::string_view data, bool binary, std::string& channel, protocol::Message& message) {
  channel.clear();
  if (!binary) {
    auto packet = parse_object(data);
    if (!packet) {
      return false;
    }
    const auto* name = packet->if_contains("channel");
    if (name == nullptr || !name->is_string()) {
      return false;
    }
    channel = name->as_string();
    message.header = object_member(*packet, "header");
    message.parent_header = object_member(*packet, "parent_header");
    message.metadata = object_member(*packet, "metadata");
    message.content = object_member(*packet, "content");
    return true;
  }
  if (data.size() < 8) {
    return false;
  }
  const auto count = get_u64(data, 0);
  if (count < 6 || count > 1024 || data.size() < 8 * (1 + count)) {
    return false;
  }
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < count; ++i) {
    const auto offset = get_u64(data, 8 * (1 + i));
    if (offset > data.size() || (!offsets.empty() && offset < offsets.back()) || offset < 8 * (1 + count)) {
      return false;
    }
    offsets.push_back(static_cast<std::size_t>(offset));
  }
  const auto part = [&](std::size_t i) { return data.substr(offsets[i], offsets[i + 1] - offsets[i]); };
  std::array<json::object*, 4> objects = {&message.header, &message.parent_header, &message.metadata, &message.content};
  for (std::size_t i = 0; i < objects.size(); ++i) {
    auto parsed = parse_object(part(i + 1));
    if (!parsed) {
      return false;
    }
    *objects[i] = std::move(*parsed);
  }
  message.buffers.clear();
  for (std::size_t i = 5; i + 1 < count; ++i) {
    message.buffers.emplace_back(part(i));
  }
  channel = part(0);
  return true;
}

std::string encode(WireProtocol protocol, std::string_view channel, const protocol::Message& message) {
  return protocol == WireProtocol::v1 ? encode_v1(channel, message) : encode_json(channel, message);
}

}  // namespace tejun::server
