#include "server/contents.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace tejun::server {
namespace {

namespace fs = std::filesystem;

TEST(SafeApiPath, RefusesEscapes) {
  EXPECT_TRUE(is_safe_api_path(""));
  EXPECT_TRUE(is_safe_api_path("a/b.ipynb"));
  EXPECT_TRUE(is_safe_api_path("a..b/c"));
  EXPECT_FALSE(is_safe_api_path("../etc/passwd"));
  EXPECT_FALSE(is_safe_api_path("a/../../b"));
  EXPECT_FALSE(is_safe_api_path("a/./b"));
  EXPECT_FALSE(is_safe_api_path("/etc/passwd"));
  EXPECT_FALSE(is_safe_api_path(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_safe_api_path("a\\..\\b"));
}

class ContentsRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tejun-contents-test-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "inside");
    std::ofstream(root_ / "inside" / "a.txt") << "a";
    fs::create_symlink("/", root_ / "out");
    fs::create_symlink(root_ / "inside", root_ / "in");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(ContentsRoot, SymbolicLinksMayNotLeadOut) {
  const Contents contents(root_);
  int status = 0;
  EXPECT_TRUE(contents.resolve("inside/a.txt", status));
  EXPECT_TRUE(contents.resolve("in/a.txt", status));
  EXPECT_TRUE(contents.resolve("inside/new-file.ipynb", status));
  EXPECT_FALSE(contents.resolve("out/etc/passwd", status));
  EXPECT_EQ(status, 403);
  EXPECT_FALSE(contents.resolve("out", status));
  EXPECT_FALSE(contents.resolve("../x", status));
  EXPECT_EQ(status, 400);
}

}  // namespace
}  // namespace tejun::server
