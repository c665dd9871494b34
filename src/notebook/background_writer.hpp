// Writes buffers to a file descriptor on a thread of its own, so that formatting a large
// document on one core and copying it into the kernel on the other overlap.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.hpp"

namespace tejun::notebook {

class BackgroundWriter {
 public:
  // `path` names the file in errors. Write-back to disk is started every `write_back_step`
  // bytes, so a final fsync has little left to wait for.
  BackgroundWriter(int fd, std::string path, std::size_t write_back_step);
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;
  BackgroundWriter(BackgroundWriter&&) = delete;
  BackgroundWriter& operator=(BackgroundWriter&&) = delete;

  // Takes the contents of `buffer` (leaving it an empty, reusable string); waits while too
  // much is queued. Returns the first write error, once one has happened.
  base::Result<void> push(std::string& buffer);
  // Waits until everything pushed is written; returns the first write error.
  base::Result<void> finish();

 private:
  void run();

  static constexpr std::size_t kMaxQueued = 4;

  int fd_;
  std::string path_;
  std::size_t write_back_step_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::vector<std::string> spare_;  // written buffers, handed back to push() for reuse
  bool closing_ = false;
  base::Result<void> status_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace tejun::notebook
