#include "notebook/file_io.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "notebook/background_writer.hpp"
#include "notebook/ipynb.hpp"
#include "notebook/runbook_file.hpp"

namespace tejun::notebook {
namespace {

namespace fs = std::filesystem;

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("tejun-file-io-" + std::to_string(::getpid()));
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }

  [[nodiscard]] std::size_t file_count() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(directory_), fs::directory_iterator()));
  }

  fs::path directory_;
};

TEST_F(FileIo, ReplacesAFileAndKeepsItsPermissions) {
  const fs::path path = directory_ / "a.md";
  ASSERT_TRUE(write_file_atomically(path.string(), [](TextOutput& out) { out.append("old\n"); }));
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  ASSERT_TRUE(write_file_atomically(path.string(), [](TextOutput& out) { out.append("new\n"); }));
  EXPECT_EQ(*read_file(path.string()), "new\n");
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(file_count(), 1U);  // no temporary file left behind
}

TEST_F(FileIo, AFailedWriteLeavesNothingBehind) {
  const fs::path path = directory_ / "missing-folder" / "a.ipynb";
  auto written = write_file_atomically(path.string(), [](TextOutput& out) { out.append("x"); });
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().where.path, path.string());
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(FileIo, AFailingSinkKeepsTheOldFile) {
  // A sink that fails (a full disk): its error must surface from flush().
  TextOutput out(
      [](std::string_view) -> base::Result<void> { return base::make_error(base::ErrorCode::io_error, "disk full"); });
  out.append("x");
  auto flushed = out.flush();
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error().message, "disk full");
}

TEST_F(FileIo, ConvertWithABadInputWritesNoOutput) {
  const fs::path input = directory_ / "bad.ipynb";
  const fs::path output = directory_ / "out.md";
  ASSERT_TRUE(write_file_atomically(input.string(), [](TextOutput& out) { out.append("{\"cells\": "); }));
  auto converted = convert_runbook(input.string(), output.string());
  ASSERT_FALSE(converted);
  EXPECT_EQ(converted.error().where.path, input.string());
  EXPECT_FALSE(fs::exists(output));
}

TEST_F(FileIo, ReportsMissingFilesAndUnknownExtensions) {
  auto missing = read_runbook((directory_ / "none.ipynb").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, base::ErrorCode::not_found);
  auto unknown = read_runbook((directory_ / "runbook.txt").string());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "unknown runbook format '.txt': expected .ipynb, .md or .markdown");
}

TEST_F(FileIo, BackgroundWriterReportsAWriteError) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);  // every write fails: no space left
  ASSERT_GE(fd, 0);
  {
    BackgroundWriter writer(fd, "/dev/full", std::size_t{1} << 20);
    std::string buffer(4096, 'x');
    base::Result<void> pushed;
    for (int i = 0; i < 16 && pushed; ++i) {  // stops pushing once the failure is known
      buffer.assign(4096, 'x');
      pushed = writer.push(buffer);
    }
    auto finished = writer.finish();
    ASSERT_FALSE(finished);
    EXPECT_EQ(finished.error().code, base::ErrorCode::io_error);
    EXPECT_EQ(finished.error().where.path, "/dev/full");
  }
  ::close(fd);
}

TEST_F(FileIo, BackgroundWriterKeepsTheOrderOfBuffers) {
  const fs::path path = directory_ / "ordered.txt";
  std::string expected;
  ASSERT_TRUE(write_file_atomically(path.string(), [&](TextOutput& out) {
    for (int i = 0; i < 200000; ++i) {
      const std::string line = std::to_string(i) + "\n";
      expected += line;
      out.append(line);
    }
  }));
  EXPECT_EQ(*read_file(path.string()), expected);
}

TEST_F(FileIo, MappedFileGivesBackPagesAndStillReads) {
  const fs::path path = directory_ / "big.ipynb";
  std::string text = R"({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [)";
  for (int i = 0; i < 20000; ++i) {
    text += std::string(i == 0 ? "" : ",") + R"({"cell_type": "raw", "id": "c)" + std::to_string(i) +
            R"(", "metadata": {}, "source": ["some text that fills pages\n", "and more"]})";
  }
  text += "]}\n";
  ASSERT_TRUE(write_file_atomically(path.string(), [&](TextOutput& out) { out.append(text); }));
  auto notebook = read_ipynb_file(path.string());
  ASSERT_TRUE(notebook) << notebook.error().to_string();
  EXPECT_EQ(notebook->cells.size(), 20000U);
  EXPECT_EQ(notebook->cells.back().source, "some text that fills pages\nand more");
}

TEST_F(FileIo, AnEmptyNotebookFileIsAClearError) {
  const fs::path path = directory_ / "empty.ipynb";
  ASSERT_TRUE(write_file_atomically(path.string(), [](TextOutput&) {}));
  auto notebook = read_ipynb_file(path.string());
  ASSERT_FALSE(notebook);
  EXPECT_EQ(notebook.error().to_string(),
            path.string() + ":1:1: invalid JSON: expected a value, found the end of the text");
}

}  // namespace
}  // namespace tejun::notebook
