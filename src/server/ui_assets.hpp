// The runbook web UI's files, compiled into the binary (ui/build.mjs generates ui_assets.cpp).
#pragma once

#include <span>
#include <string_view>

namespace tejun::server {

struct UiAsset {
  std::string_view path;          // "index.html", "assets/index-3f2a.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view bytes;
  std::string_view gzipped;
};

[[nodiscard]] std::span<const UiAsset> ui_assets();

}  // namespace tejun::server
