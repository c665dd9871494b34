// Turns the raw bytes of one output stream into text that may be sent: invalid UTF-8 becomes
// U+FFFD, secrets become [MASKED], also when a secret or a UTF-8 sequence is split between
// two reads (the end that might continue is held back until the next read or the end).
#pragma once

#include <string>
#include <string_view>

#include "exec/secrets.hpp"

namespace tejun::exec {

class OutputFilter {
 public:
  explicit OutputFilter(const Secrets& secrets) : secrets_(&secrets) {}

  // Appends what may be sent of `bytes` (plus anything held back before) to `out`.
  void feed(std::string_view bytes, std::string& out);
  // Appends everything still held back to `out`: the stream has ended.
  void finish(std::string& out);

 private:
  void emit(std::string_view text, bool final, std::string& out);

  const Secrets* secrets_;
  std::string held_;  // bytes not yet sent: an unfinished UTF-8 sequence or secret prefix
};

// Appends `bytes` to `out` with each invalid UTF-8 sequence replaced by U+FFFD.
void append_repaired_utf8(std::string_view bytes, std::string& out);

}  // namespace tejun::exec
