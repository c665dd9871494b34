#include "notebook/file_io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "base/ids.hpp"
#include "notebook/background_writer.hpp"

namespace tejun::notebook {
namespace {

using base::ErrorCode;
using base::Result;

constexpr std::size_t kReadChunkSize = std::size_t{1} << 20;
constexpr std::size_t kWriteBackStep = std::size_t{8} << 20;

base::Error io_error(const std::string& path, std::string_view action, int error_number) {
  base::Error error = base::make_error(error_number == ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                                       fmt::format("cannot {}: {}", action, std::strerror(error_number)));
  error.where.path = path;
  return error;
}

// Owns a file descriptor; closes it unless released.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&&) = delete;
  FileDescriptor& operator=(FileDescriptor&&) = delete;

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  // Closes now and reports whether close succeeded (it can report a failed write-back).
  bool close() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

Result<void> sync_directory_of(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) {
    directory = ".";
  }
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error(directory, "open directory", errno);
  }
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return io_error(directory, "sync directory", errno);
  }
  return {};
}

Result<void> write_whole(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno != EINTR) {
      return io_error(path, "write", errno);
    }
    text.remove_prefix(written > 0 ? static_cast<std::size_t>(written) : 0);
  }
  return {};
}

Result<void> write_temporary(const std::string& temporary, const std::string& path,
                             const std::function<void(TextOutput&)>& produce, Durability durability) {
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) {
    return io_error(path, "create a temporary file beside it", errno);
  }
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) {
    (void)::fchmod(fd.get(), existing.st_mode & 07777);
  }
  // A document that fits in one buffer is written here; a larger one on a second thread,
  // started with its second buffer, so formatting and copying into the kernel overlap.
  std::optional<BackgroundWriter> writer;
  std::string first;
  bool have_first = false;
  TextOutput out([&](std::string& buffer) -> Result<void> {
    if (!writer) {
      if (!have_first) {
        first.swap(buffer);
        have_first = true;
        return {};
      }
      writer.emplace(fd.get(), path, kWriteBackStep);
      if (auto pushed = writer->push(first); !pushed) {
        return pushed;
      }
    }
    return writer->push(buffer);
  });
  produce(out);
  auto flushed = out.flush();
  auto finished = writer ? writer->finish() : write_whole(fd.get(), first, path);
  if (!flushed) {
    return flushed;
  }
  if (!finished) {
    return finished;
  }
  if (durability == Durability::synced && ::fsync(fd.get()) != 0) {
    return io_error(path, "sync", errno);
  }
  if (!fd.close()) {
    return io_error(path, "close", errno);
  }
  return {};
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error(path, "open", errno);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return io_error(path, "read", EISDIR);
  }
  std::string text;
  std::vector<char> buffer(kReadChunkSize);
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error(path, "read", errno);
    }
    if (got == 0) {
      return text;
    }
    text.append(buffer.data(), static_cast<std::size_t>(got));
  }
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error(path, "open", errno);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return io_error(path, "read", errno);
  }
  if (S_ISDIR(info.st_mode)) {
    return io_error(path, "read", EISDIR);
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  if (!S_ISREG(info.st_mode) || size == 0) {
    return io_error(path, "map a file that is empty or not a regular file", EINVAL);
  }
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (data == MAP_FAILED) {  // NOLINT(cppcoreguidelines-pro-type-cstyle-cast): the C API's constant
    return io_error(path, "map", errno);
  }
  (void)::madvise(data, size, MADV_SEQUENTIAL);
  return MappedFile(static_cast<char*>(data), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(other.size_) {}

MappedFile::~MappedFile() {
  if (data_ != nullptr) {
    ::munmap(data_, size_);
  }
}

void MappedFile::release_before(std::size_t offset) noexcept {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t length = std::min(offset, size_) / page * page;
  if (length > 0) {
    (void)::madvise(data_, length, MADV_DONTNEED);
  }
}

namespace {

// The temporary file an atomic replacement of `path` is written to, beside it.
std::string temporary_path_for(const std::string& path) {
  const std::filesystem::path target(path);
  return (target.parent_path() / fmt::format(".{}.tejun-{}", target.filename().string(), base::random_hex_id(8)))
      .string();
}

}  // namespace

Result<void> write_file_atomically(const std::string& path, const std::function<void(TextOutput&)>& produce,
                                   Durability durability) {
  const std::string temporary = temporary_path_for(path);
  auto written = write_temporary(temporary, path, produce, durability);
  if (written && ::rename(temporary.c_str(), path.c_str()) != 0) {
    written = io_error(path, "replace", errno);
  }
  if (!written) {
    ::unlink(temporary.c_str());
    return written;
  }
  return durability == Durability::synced ? sync_directory_of(path) : Result<void>();
}

struct AtomicFile::State {
  std::string path;
  std::string temporary;
  FileDescriptor fd;
  TextOutput out;
  bool done = false;

  State(std::string target, std::string temporary_path, int descriptor)
      : path(std::move(target)),
        temporary(std::move(temporary_path)),
        fd(descriptor),
        out([this](std::string& buffer) { return write_whole(fd.get(), buffer, path); }) {}
};

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  auto temporary = temporary_path_for(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    return io_error(path, "create a temporary file beside it", errno);
  }
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) {
    (void)::fchmod(fd, existing.st_mode & 07777);
  }
  return AtomicFile(std::make_unique<State>(path, std::move(temporary), fd));
}

AtomicFile::AtomicFile(std::unique_ptr<State> state) : state_(std::move(state)) {}
AtomicFile::AtomicFile(AtomicFile&& other) noexcept = default;

AtomicFile::~AtomicFile() {
  if (state_ != nullptr && !state_->done) {
    ::unlink(state_->temporary.c_str());
  }
}

TextOutput& AtomicFile::out() noexcept {
  return state_->out;
}

Result<void> AtomicFile::commit(Durability durability) {
  auto flushed = state_->out.flush();
  if (!flushed) {
    return flushed;
  }
  if (durability == Durability::synced && ::fsync(state_->fd.get()) != 0) {
    return io_error(state_->path, "sync", errno);
  }
  if (!state_->fd.close()) {
    return io_error(state_->path, "close", errno);
  }
  if (::rename(state_->temporary.c_str(), state_->path.c_str()) != 0) {
    return io_error(state_->path, "replace", errno);
  }
  state_->done = true;
  return durability == Durability::synced ? sync_directory_of(state_->path) : Result<void>();
}

}  // namespace tejun::notebook
