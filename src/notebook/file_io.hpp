// Reading files in pieces and replacing them atomically: a crash leaves the old file or the
// new one, never half of one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notebook/text_output.hpp"

namespace tejun::notebook {

// The whole file.
[[nodiscard]] base::Result<std::string> read_file(const std::string& path);

// A file mapped read-only into memory. Parts already used can be released, so reading a
// large file costs the memory of what is made from it, not of the file too.
class MappedFile {
 public:
  [[nodiscard]] static base::Result<MappedFile> open(const std::string& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  [[nodiscard]] std::string_view text() const noexcept { return {data_, size_}; }
  // Gives back the memory of the pages before `offset`; reading them again still works.
  void release_before(std::size_t offset) noexcept;

 private:
  MappedFile(char* data, std::size_t size) : data_(data), size_(size) {}
  char* data_;
  std::size_t size_;
};

// How far an atomic replacement is pushed before it returns.
enum class Durability : std::uint8_t {
  synced,       // on the device: survives a power loss (fsync of the file and of its folder)
  process_safe  // in the page cache: survives the death of this process, not a power loss
};

// Writes what `produce` emits to a temporary file beside `path`, syncs it, renames it over
// `path` and syncs the directory (`durability` synced). On any failure `path` is untouched and
// the temporary file is removed. An existing file keeps its permission bits.
[[nodiscard]] base::Result<void> write_file_atomically(const std::string& path,
                                                       const std::function<void(TextOutput&)>& produce,
                                                       Durability durability = Durability::synced);

// A file written in pieces that appears at its path only when commit() succeeds: until then
// the text goes to a temporary file beside it, removed if the writer is dropped (a query that
// fails half way leaves no half-written file, and an older file stays as it was).
class AtomicFile {
 public:
  [[nodiscard]] static base::Result<AtomicFile> create(const std::string& path);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  [[nodiscard]] TextOutput& out() noexcept;
  // Flushes, syncs (`durability` synced) and renames the file into place.
  [[nodiscard]] base::Result<void> commit(Durability durability = Durability::synced);

 private:
  struct State;
  explicit AtomicFile(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tejun::notebook
