// The formats of /api/contents models: ISO 8601 times, base64 bodies, MIME types, and
// notebook JSON with multi-line fields joined, as Jupyter Server writes them.
#pragma once

#include <time.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tejun::server {

// Where checkpoints live, beside the files they keep.
inline constexpr std::string_view kCheckpointFolder = ".ipynb_checkpoints";

// An API path without leading and trailing slashes.
[[nodiscard]] std::string trim_slashes(std::string_view path);
// The whole file; nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string> read_bytes(const std::filesystem::path& path);

// "2026-11-27T13:00:00.123456Z" (UTC, microseconds).
[[nodiscard]] std::string iso_time(const struct timespec& time);
// The current time as iso_time writes it.
[[nodiscard]] std::string iso_now();
// Microseconds since the epoch of an ISO 8601 time (any precision, Z or an offset); nullopt
// when it is not one.
[[nodiscard]] std::optional<std::int64_t> parse_iso_time(std::string_view text);
[[nodiscard]] std::int64_t micros_of(const struct timespec& time);

[[nodiscard]] bool is_markdown(std::string_view name);
[[nodiscard]] std::string mimetype_of(std::string_view name, bool text);

[[nodiscard]] std::string base64(std::string_view bytes);
// Standard or URL-safe alphabet, padding and line breaks allowed; nullopt on other bytes.
[[nodiscard]] std::optional<std::string> unbase64(std::string_view text);

// nbformat's "rejoin": a notebook's source, text and non-JSON data given as arrays of lines
// become strings.
void rejoin_notebook(boost::json::value& notebook);

}  // namespace tejun::server
