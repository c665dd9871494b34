#include "notebook/background_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <utility>

namespace tejun::notebook {
namespace {

base::Result<void> write_all(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      base::Error error =
          base::make_error(base::ErrorCode::io_error, fmt::format("cannot write: {}", std::strerror(errno)));
      error.where.path = path;
      return error;
    }
    text.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

}  // namespace

BackgroundWriter::BackgroundWriter(int fd, std::string path, std::size_t write_back_step)
    : fd_(fd), path_(std::move(path)), write_back_step_(write_back_step), thread_([this] { run(); }) {}

BackgroundWriter::~BackgroundWriter() {
  (void)finish();
}

base::Result<void> BackgroundWriter::push(std::string& buffer) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return queue_.size() < kMaxQueued || !status_; });
  if (!status_) {
    buffer.clear();
    return status_;
  }
  queue_.push_back(std::move(buffer));
  buffer = std::string();
  if (!spare_.empty()) {
    buffer = std::move(spare_.back());
    spare_.pop_back();
  }
  changed_.notify_all();
  return {};
}

base::Result<void> BackgroundWriter::finish() {
  {
    std::unique_lock lock(mutex_);
    closing_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  std::unique_lock lock(mutex_);
  return status_;
}

void BackgroundWriter::run() {
  std::size_t written = 0;
  std::size_t handed_to_disk = 0;
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return !queue_.empty() || closing_; });
    if (queue_.empty()) {
      return;  // closing, and everything is written
    }
    std::string buffer = std::move(queue_.front());
    queue_.pop_front();
    const bool failed = !status_;
    lock.unlock();
    base::Result<void> result;
    if (!failed) {  // after a failure the rest is dropped: finish() reports the failure
      result = write_all(fd_, buffer, path_);
      written += buffer.size();
      if (result && written - handed_to_disk >= write_back_step_) {
        (void)::sync_file_range(fd_, static_cast<off_t>(handed_to_disk), static_cast<off_t>(written - handed_to_disk),
                                SYNC_FILE_RANGE_WRITE);
        handed_to_disk = written;
      }
    }
    buffer.clear();
    lock.lock();
    if (!result && status_) {
      status_ = result;
    }
    spare_.push_back(std::move(buffer));
    changed_.notify_all();
  }
}

}  // namespace tejun::notebook
