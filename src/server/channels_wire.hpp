// The kernel channels' two wire forms on the WebSocket: Jupyter's JSON protocol
// ({"channel": "shell", "header": …}, as text) and the binary subprotocol
// v1.kernel.websocket.jupyter.org.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/message.hpp"

namespace tejun::server {

enum class WireProtocol : std::uint8_t { json, v1 };
inline constexpr std::string_view kV1Protocol = "v1.kernel.websocket.jupyter.org";

// A kernel message in the JSON form (buffers are not carried).
[[nodiscard]] std::string encode_json(std::string_view channel, const protocol::Message& message);
// In v1: the number N of offsets (u64, little-endian), N offsets, then the channel name,
// header, parent_header, metadata and content (JSON) and the buffers, each from its offset to
// the next; the last offset is the end.
[[nodiscard]] std::string encode_v1(std::string_view channel, const protocol::Message& message);
// In the form `protocol` says.
[[nodiscard]] std::string encode(WireProtocol protocol, std::string_view channel, const protocol::Message& message);
// A client's message in either form (binary frames are v1); false (and `channel` empty) when
// it is not one.
[[nodiscard]] bool decode_client_message(std::string_view data, bool binary, std::string& channel,
                                         protocol::Message& message);

}  // namespace tejun::server
