#include "protocol/message.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <chrono>

#include "base/ids.hpp"

namespace tejun::protocol {
namespace {

using base::ErrorCode;
using base::make_error;

std::string_view string_member(const boost::json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return {};
  }
  return value->as_string();
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z", std::chrono::floor<std::chrono::seconds>(now), micros);
}

// A UUID-shaped id (8-4-4-4-12 hex), the form Jupyter clients use.
std::string new_msg_id() {
  auto hex = base::random_hex_id(32);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4), hex.substr(16, 4),
                     hex.substr(20));
}

base::Result<boost::json::object> parse_object(const std::string& text, const char* part) {
  boost::system::error_code ec;
  // jupyter_client sends lone surrogates from Python strings as raw bytes (surrogateescape),
  // so invalid UTF-8 is accepted here and repaired where the text is used; front ends nest
  // metadata deeper than Boost's default of 32.
  boost::json::parse_options options;
  options.max_depth = 1000;
  options.allow_invalid_utf8 = true;
  auto value = boost::json::parse(text, ec, {}, options);
  if (ec || !value.is_object()) {
    return make_error(ErrorCode::parse_error,
                      fmt::format("message {} is not a JSON object{}", part, ec ? ": " + ec.message() : ""));
  }
  return std::move(value.as_object());
}

}  // namespace

std::string_view Message::msg_type() const {
  return string_member(header, "msg_type");
}
std::string_view Message::msg_id() const {
  return string_member(header, "msg_id");
}

boost::json::object make_header(std::string_view msg_type, std::string_view session, std::string_view username) {
  return boost::json::object{{"msg_id", new_msg_id()}, {"msg_type", msg_type}, {"session", session},
                             {"username", username},   {"date", utc_now()},    {"version", kProtocolVersion}};
}

Message make_child(const Message& parent, std::string_view msg_type, std::string_view session,
                   boost::json::object content) {
  Message child;
  child.identities = parent.identities;
  auto username = string_member(parent.header, "username");
  child.header = make_header(msg_type, session, username.empty() ? "tejun" : username);
  child.parent_header = parent.header;
  child.content = std::move(content);
  return child;
}

std::vector<std::string> encode_message(const Message& message, const MessageSigner& signer) {
  std::vector<std::string> frames;
  frames.reserve(message.identities.size() + 6 + message.buffers.size());
  frames.insert(frames.end(), message.identities.begin(), message.identities.end());
  frames.emplace_back(kDelimiter);
  frames.emplace_back();  // the signature, once the parts exist
  const auto signature_index = frames.size() - 1;
  frames.push_back(boost::json::serialize(message.header));
  frames.push_back(boost::json::serialize(message.parent_header));
  frames.push_back(boost::json::serialize(message.metadata));
  frames.push_back(boost::json::serialize(message.content));
  const std::array<std::string_view, 4> parts{frames[signature_index + 1], frames[signature_index + 2],
                                              frames[signature_index + 3], frames[signature_index + 4]};
  frames[signature_index] = signer.sign(parts);
  frames.insert(frames.end(), message.buffers.begin(), message.buffers.end());
  return frames;
}

base::Result<Message> decode_message(std::vector<std::string> frames, const MessageSigner& signer) {
  std::size_t delimiter = 0;
  while (delimiter < frames.size() && frames[delimiter] != kDelimiter) {
    ++delimiter;
  }
  if (delimiter == frames.size()) {
    return make_error(ErrorCode::parse_error, "message has no <IDS|MSG> delimiter");
  }
  if (frames.size() - delimiter < 6) {
    return make_error(ErrorCode::parse_error, fmt::format("message has {} frames after the delimiter; 5 are needed",
                                                          frames.size() - delimiter - 1));
  }
  const std::array<std::string_view, 4> parts{frames[delimiter + 2], frames[delimiter + 3], frames[delimiter + 4],
                                              frames[delimiter + 5]};
  if (!signer.verify(frames[delimiter + 1], parts)) {
    return make_error(ErrorCode::invalid_argument, "message signature does not match (wrong key?)");
  }
  Message message;
  message.identities.assign(std::make_move_iterator(frames.begin()),
                            std::make_move_iterator(frames.begin() + static_cast<std::ptrdiff_t>(delimiter)));
  const std::pair<boost::json::object*, const char*> targets[] = {{&message.header, "header"},
                                                                  {&message.parent_header, "parent_header"},
                                                                  {&message.metadata, "metadata"},
                                                                  {&message.content, "content"}};
  std::size_t index = delimiter + 2;
  for (const auto& [target, name] : targets) {
    auto object = parse_object(frames[index++], name);
    if (!object) {
      return object.error();
    }
    *target = std::move(*object);
  }
  if (message.msg_type().empty()) {
    return make_error(ErrorCode::schema_error, "message header has no msg_type");
  }
  message.buffers.assign(std::make_move_iterator(frames.begin() + static_cast<std::ptrdiff_t>(index)),
                         std::make_move_iterator(frames.end()));
  return message;
}

}  // namespace tejun::protocol
