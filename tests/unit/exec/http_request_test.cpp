#include "exec/http_request.hpp"

#include <gtest/gtest.h>

namespace tejun::exec {
namespace {

TEST(ParseHttpRequests, MethodUrlHeadersAndBody) {
  const auto requests = parse_http_requests(
      "# make a variable\n"
      "POST {GITLAB_URL}/api/v4/projects/42/variables HTTP/1.1\n"
      "PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}\n"
      "Content-Type:application/json\n"
      "\n"
      "{\"key\": \"X\",\n \"value\": \"y\"}\n"
      "\n");
  ASSERT_TRUE(requests) << requests.error().message;
  ASSERT_EQ(requests->size(), 1U);
  const auto& request = requests->front();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "{GITLAB_URL}/api/v4/projects/42/variables");
  EXPECT_EQ(request.line, 2U);
  ASSERT_EQ(request.headers.size(), 2U);
  EXPECT_EQ(request.headers[0], (std::pair<std::string, std::string>{"PRIVATE-TOKEN", "{GITLAB_ACCESS_TOKEN}"}));
  EXPECT_EQ(request.headers[1], (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  EXPECT_EQ(request.body, "{\"key\": \"X\",\n \"value\": \"y\"}");
}

TEST(ParseHttpRequests, AUrlAloneIsAGetAndSeparatorsSplitRequests) {
  const auto requests = parse_http_requests(
      "https://example.com/a\n"
      "### second\n"
      "// comment\n"
      "delete https://example.com/b\r\n"
      "Accept: */*\r\n");
  ASSERT_TRUE(requests) << requests.error().message;
  ASSERT_EQ(requests->size(), 2U);
  EXPECT_EQ((*requests)[0].method, "GET");
  EXPECT_EQ((*requests)[0].url, "https://example.com/a");
  EXPECT_EQ((*requests)[1].method, "DELETE");
  EXPECT_EQ((*requests)[1].line, 4U);
  EXPECT_EQ((*requests)[1].headers.size(), 1U);
}

TEST(ParseHttpRequests, ErrorsNameTheLine) {
  auto requests = parse_http_requests("GET https://example.com/\nnot a header\n");
  ASSERT_FALSE(requests);
  EXPECT_EQ(requests.error().where.line, 2U);
  EXPECT_NE(requests.error().message.find("line 2"), std::string::npos);
  requests = parse_http_requests("GET\n");
  ASSERT_FALSE(requests);
  EXPECT_NE(requests.error().message.find("needs a URL"), std::string::npos);
  requests = parse_http_requests("ftp://example.com/file\n");
  ASSERT_FALSE(requests);
  requests = parse_http_requests("GET https://example.com/a b\n");
  ASSERT_FALSE(requests);
  EXPECT_NE(requests.error().message.find("%20"), std::string::npos);
  requests = parse_http_requests("# only a comment\n\n");
  ASSERT_FALSE(requests);
  EXPECT_NE(requests.error().message.find("no request"), std::string::npos);
}

}  // namespace
}  // namespace tejun::exec
