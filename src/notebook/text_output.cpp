#include "notebook/text_output.hpp"

#include <utility>

namespace tejun::notebook {

TextOutput::TextOutput(Sink sink, std::size_t buffer_size) : sink_(std::move(sink)), buffer_size_(buffer_size) {
  buffer_.reserve(buffer_size_ + 1024);
}

TextOutput::TextOutput(std::string& target)
    : TextOutput([&target](std::string& buffer) -> base::Result<void> {
        target.append(buffer);
        return {};
      }) {}

void TextOutput::drain() {
  // After the first failure the rest is dropped: flush() reports that failure.
  if (status_) {
    status_ = sink_(buffer_);
  }
  buffer_.clear();
  if (buffer_.capacity() < buffer_size_) {
    buffer_.reserve(buffer_size_ + 1024);
  }
}

base::Result<void> TextOutput::flush() {
  if (!buffer_.empty()) {
    drain();
  }
  return status_;
}

}  // namespace tejun::notebook
