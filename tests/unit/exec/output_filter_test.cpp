#include "exec/output_filter.hpp"

#include <gtest/gtest.h>

#include "exec/env_file.hpp"
#include "exec/shell_syntax.hpp"

namespace tejun::exec {
namespace {

std::string through(const Secrets& secrets, const std::vector<std::string>& chunks) {
  OutputFilter filter(secrets);
  std::string out;
  for (const auto& chunk : chunks) {
    filter.feed(chunk, out);
  }
  filter.finish(out);
  return out;
}

TEST(OutputFilter, MasksASecretSplitAcrossChunks) {
  Secrets secrets;
  secrets.add("hunter2");
  EXPECT_EQ(through(secrets, {"pass=hun", "ter", "2 ok\n"}), "pass=[MASKED] ok\n");
  EXPECT_EQ(through(secrets, {"hunter2hunter2"}), "[MASKED][MASKED]");
  EXPECT_EQ(through(secrets, {"hunt", "ing season"}), "hunting season");
}

TEST(OutputFilter, HoldsBackOnlyWhatCouldStartASecret) {
  Secrets secrets;
  secrets.add("hunter2");
  OutputFilter filter(secrets);
  std::string out;
  filter.feed("line one\nhun", out);
  EXPECT_EQ(out, "line one\n");
  filter.feed("gry\n", out);
  EXPECT_EQ(out, "line one\nhungry\n");
}

TEST(OutputFilter, MasksTheLongerOfOverlappingSecrets) {
  Secrets secrets;
  secrets.add("abc");
  secrets.add("abcdef");
  EXPECT_EQ(secrets.mask("xabcdefx abc"), "x[MASKED]x [MASKED]");
}

TEST(OutputFilter, RepairsInvalidUtf8AndKeepsSplitSequences) {
  const Secrets none;
  EXPECT_EQ(through(none, {"a\xff"
                           "b"}),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(through(none, {"euro \xe2\x82", "\xac!"}), "euro \xe2\x82\xac!");
  EXPECT_EQ(through(none, {"cut \xe2\x82"}), "cut \xEF\xBF\xBD");
}

TEST(EnvFile, ParsesTheDotEnvForms) {
  auto entries = parse_env_file("# c\nexport A=1\nB=\"x \\\"y\\\"\"\nC='$HOME'\nD=v # note\n\n");
  ASSERT_TRUE(entries) << entries.error().message;
  const EnvEntries expected{{"A", "1"}, {"B", "x \"y\""}, {"C", "$HOME"}, {"D", "v"}};
  EXPECT_EQ(*entries, expected);
}

TEST(EnvFile, SaysWhereALineIsWrong) {
  auto missing = parse_env_file("A=1\n  oops\n");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().where.line, 2U);
  EXPECT_EQ(missing.error().where.column, 3U);
  auto unclosed = parse_env_file("A=\"open\n");
  ASSERT_FALSE(unclosed);
  EXPECT_NE(unclosed.error().message.find("closing"), std::string::npos);
  EXPECT_FALSE(parse_env_file("1A=x\n"));
}

TEST(ShellSyntax, UsesBashToTellCompleteFromIncomplete) {
  const std::string bash = "/bin/bash";
  EXPECT_EQ(shell_completeness("echo hi", bash), Completeness::complete);
  for (const char* code : {"if true; then", "for i in 1 2; do", "while true; do", "case x in", "f() {", "echo 'open",
                           "echo \"open", "echo a \\", "cat <<EOF\nbody"}) {
    EXPECT_EQ(shell_completeness(code, bash), Completeness::incomplete) << code;
  }
  for (const char* code : {"fi", "done", "echo )"}) {
    EXPECT_EQ(shell_completeness(code, bash), Completeness::invalid) << code;
  }
}

}  // namespace
}  // namespace tejun::exec
