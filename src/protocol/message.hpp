// A Jupyter message and its ZMQ wire form (messaging protocol 5.3):
//   identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "protocol/message_signer.hpp"

namespace tejun::protocol {

inline constexpr std::string_view kProtocolVersion = "5.3";
inline constexpr std::string_view kDelimiter = "<IDS|MSG>";

struct Message {
  std::vector<std::string> identities;  // ZMQ routing ids of the sender (ROUTER sockets)
  boost::json::object header;
  boost::json::object parent_header;
  boost::json::object metadata;
  boost::json::object content;
  std::vector<std::string> buffers;

  [[nodiscard]] std::string_view msg_type() const;
  [[nodiscard]] std::string_view msg_id() const;
};

// A header for a new message of `msg_type` in `session`: a fresh msg_id, the time now (UTC,
// microseconds), protocol version 5.3.
[[nodiscard]] boost::json::object make_header(std::string_view msg_type, std::string_view session,
                                              std::string_view username);

// A reply or broadcast caused by `parent`: same identities (for replies), parent header set.
[[nodiscard]] Message make_child(const Message& parent, std::string_view msg_type, std::string_view session,
                                 boost::json::object content);

// The frames to send; the signature covers the four JSON frames.
[[nodiscard]] std::vector<std::string> encode_message(const Message& message, const MessageSigner& signer);

// Checks the signature before anything else is parsed; a message that fails is an error,
// never a value to act on.
[[nodiscard]] base::Result<Message> decode_message(std::vector<std::string> frames, const MessageSigner& signer);

}  // namespace tejun::protocol
