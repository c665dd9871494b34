#include "net/router.hpp"

#include <gtest/gtest.h>

namespace tejun::net {
namespace {

Request request(std::string method, std::string path) {
  Request result;
  result.method = std::move(method);
  result.path = std::move(path);
  return result;
}

Router test_router() {
  Router router;
  router.add("GET", "/api", [](const Request&, const Params&) { return Response::json(200, "\"api\""); });
  router.add("GET", "/api/kernels/{id}",
             [](const Request&, const Params& p) { return Response::json(200, json_quote(p.at("id"))); });
  router.add("DELETE", "/api/kernels/{id}", [](const Request&, const Params&) { return Response::empty(204); });
  router.add("GET", "/api/contents/{path*}",
             [](const Request&, const Params& p) { return Response::json(200, json_quote(p.at("path"))); });
  return router;
}

TEST(Router, MatchesLiteralsParametersAndTheRest) {
  const auto router = test_router();
  EXPECT_EQ(router.dispatch(request("GET", "/api")).body, "\"api\"");
  EXPECT_EQ(router.dispatch(request("GET", "/api/")).body, "\"api\"");
  EXPECT_EQ(router.dispatch(request("GET", "/api/kernels/abc")).body, "\"abc\"");
  EXPECT_EQ(router.dispatch(request("GET", "/api/contents/a/b c.ipynb")).body, "\"a/b c.ipynb\"");
  EXPECT_EQ(router.dispatch(request("GET", "/api/contents")).body, "\"\"");
  EXPECT_EQ(router.dispatch(request("GET", "/api/contents/")).body, "\"\"");
  EXPECT_EQ(router.dispatch(request("DELETE", "/api/kernels/abc")).status, 204);
}

TEST(Router, UnknownPathsAre404AndOtherMethods405) {
  const auto router = test_router();
  EXPECT_EQ(router.dispatch(request("GET", "/api/kernels")).status, 404);
  EXPECT_EQ(router.dispatch(request("GET", "/api/kernels/abc/extra")).status, 404);
  EXPECT_EQ(router.dispatch(request("GET", "/other")).status, 404);
  const auto response = router.dispatch(request("PUT", "/api/kernels/abc"));
  EXPECT_EQ(response.status, 405);
  ASSERT_FALSE(response.headers.empty());
  EXPECT_NE(response.body.find("GET, DELETE"), std::string::npos);
}

TEST(Http, PercentDecodingAndQueries) {
  EXPECT_EQ(percent_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(percent_decode("%2E%2E%2Fetc", false), "../etc");
  EXPECT_FALSE(percent_decode("bad%2", false));
  EXPECT_FALSE(percent_decode("bad%zz", false));
  const auto query = parse_query("content=0&type=notebook&token=a%2Bb&flag");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->find("content")->second, "0");
  EXPECT_EQ(query->find("token")->second, "a+b");
  EXPECT_EQ(query->find("flag")->second, "");
  EXPECT_FALSE(parse_query("a=%G0"));
}

TEST(Http, ErrorsAreJupyterShaped) {
  const auto response = Response::error(404, "No such file: \"x\"\n");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, R"({"message": "No such file: \"x\"\n", "reason": "Not Found"})");
}

}  // namespace
}  // namespace tejun::net
