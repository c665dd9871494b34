// The text of an HTTP step, in the request format of .http files: an optional comment,
// METHOD URL [HTTP/1.1] (or just URL, a GET), header lines, a blank line, the body; several
// requests separated by lines that start with ###. No IO here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tejun::exec {

struct HttpRequestText {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::size_t line = 0;  // of the request line in the step, 1-based
};

// The requests of `text`; an error names the line. Lines starting with # or // before a
// request line are comments, and trailing blank lines of a body are dropped.
[[nodiscard]] base::Result<std::vector<HttpRequestText>> parse_http_requests(std::string_view text);

}  // namespace tejun::exec
