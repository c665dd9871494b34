#include "protocol/message.hpp"

#include <gtest/gtest.h>

#include "protocol/connection_info.hpp"

namespace tejun::protocol {
namespace {

Message sample() {
  Message message;
  message.identities = {"client-id"};
  message.header = make_header("execute_request", "session-1", "alice");
  message.content = {{"code", "echo hi"}, {"silent", false}};
  return message;
}

TEST(MessageSigner, MatchesAKnownHmacSha256) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  const MessageSigner signer("Jefe");
  const std::string_view parts[] = {"what do ya want ", "for nothing?"};
  EXPECT_EQ(signer.sign(parts), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Message, RoundTripsThroughTheWire) {
  const MessageSigner signer("secret-key");
  auto decoded = decode_message(encode_message(sample(), signer), signer);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->identities, std::vector<std::string>{"client-id"});
  EXPECT_EQ(decoded->msg_type(), "execute_request");
  EXPECT_EQ(decoded->content.at("code").as_string(), "echo hi");
  EXPECT_EQ(decoded->header.at("version").as_string(), "5.3");
}

TEST(Message, RejectsABadSignatureBeforeParsing) {
  auto frames = encode_message(sample(), MessageSigner("secret-key"));
  auto decoded = decode_message(frames, MessageSigner("other-key"));
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("signature"), std::string::npos);
  frames.back() = R"({"code":"rm -rf /"})";  // tampered content, old signature
  EXPECT_FALSE(decode_message(frames, MessageSigner("secret-key")));
}

TEST(Message, ReportsMissingFrames) {
  auto decoded = decode_message({"id", "<IDS|MSG>", "sig", "{}"}, MessageSigner(""));
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("frames"), std::string::npos);
  EXPECT_FALSE(decode_message({"no delimiter"}, MessageSigner("")));
}

TEST(ConnectionInfo, ReadsJupyterConnectionFiles) {
  auto info = parse_connection_info(
      R"({"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
          "ip": "127.0.0.1", "key": "k", "transport": "tcp", "signature_scheme": "hmac-sha256"})");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->endpoint(info->control_port), "tcp://127.0.0.1:4");
}

TEST(ConnectionInfo, NamesTheWrongField) {
  auto info = parse_connection_info(R"({"shell_port": "x"})");
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("shell_port"), std::string::npos);
  auto scheme = parse_connection_info(
      R"({"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
          "key": "k", "signature_scheme": "hmac-md5"})");
  ASSERT_FALSE(scheme);
  EXPECT_NE(scheme.error().message.find("hmac-md5"), std::string::npos);
}

}  // namespace
}  // namespace tejun::protocol
