// WebSocket connections as the server's handlers see them: a sender that any thread may use
// (with backpressure: it waits while too much is queued, never drops), and callbacks for the
// connection's life. No Beast types here.
#pragma once

#include <memory>
#include <string>

#include "net/http.hpp"

namespace tejun::net {

class WebSocketSender {
 public:
  WebSocketSender() = default;
  WebSocketSender(const WebSocketSender&) = delete;
  WebSocketSender& operator=(const WebSocketSender&) = delete;
  WebSocketSender(WebSocketSender&&) = delete;
  WebSocketSender& operator=(WebSocketSender&&) = delete;
  virtual ~WebSocketSender() = default;

  // Queues a message (a text one, or a binary one when `binary`). Blocks while more than the
  // queue's limit waits to be written, so call it from a thread of your own, not from a
  // handler callback. False once the connection is closed: the message was not sent.
  virtual bool send(std::string data, bool binary) = 0;
  // Starts a normal close; messages not yet written are dropped, and send_text returns false
  // from then on.
  virtual void close() = 0;
};

class WebSocketHandler {
 public:
  WebSocketHandler() = default;
  WebSocketHandler(const WebSocketHandler&) = delete;
  WebSocketHandler& operator=(const WebSocketHandler&) = delete;
  WebSocketHandler(WebSocketHandler&&) = delete;
  WebSocketHandler& operator=(WebSocketHandler&&) = delete;
  virtual ~WebSocketHandler() = default;

  virtual void on_open(std::shared_ptr<WebSocketSender> sender) = 0;
  // A text (or binary) message from the client; called on a server thread: do not block.
  virtual void on_message(std::string data, bool binary) = 0;
  virtual void on_close() = 0;
};

// What an upgrade request gets: a refusal (status other than 0), or a handler.
struct Upgrade {
  Response refusal;
  std::shared_ptr<WebSocketHandler> handler;
  std::string subprotocol;  // the one chosen from the client's Sec-WebSocket-Protocol, if any
};

}  // namespace tejun::net
