// A buffer between writers and where their text goes (a file, a string): writers append
// small pieces, the sink receives large ones.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tejun::notebook {

class TextOutput {
 public:
  // Receives a full buffer. It may take the buffer's contents (swap in another string): what
  // it leaves behind is cleared and reused.
  using Sink = std::function<base::Result<void>(std::string& buffer)>;

  explicit TextOutput(Sink sink, std::size_t buffer_size = kDefaultBufferSize);
  // Collects everything into `target`.
  explicit TextOutput(std::string& target);

  void append(std::string_view text) {
    buffer_.append(text);
    if (buffer_.size() >= buffer_size_) {
      drain();
    }
  }
  void push_back(char c) {
    buffer_.push_back(c);
    if (buffer_.size() >= buffer_size_) {
      drain();
    }
  }
  // Hands the rest to the sink; returns the first error the sink reported, if any.
  base::Result<void> flush();
  // The first error the sink reported so far (what is appended after it is dropped).
  [[nodiscard]] const base::Result<void>& status() const noexcept { return status_; }

 private:
  static constexpr std::size_t kDefaultBufferSize = std::size_t{1} << 20;
  void drain();

  Sink sink_;
  std::size_t buffer_size_;
  std::string buffer_;
  base::Result<void> status_;
};

}  // namespace tejun::notebook
