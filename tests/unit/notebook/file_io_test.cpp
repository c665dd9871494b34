#include "notebook/file_io.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

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

}  // namespace
}  // namespace tejun::notebook
