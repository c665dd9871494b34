#include "exec/sql_sinks.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/ids.hpp"

namespace tejun::exec {

// DisplaySink

base::Result<void> DisplaySink::begin_rows(std::vector<SqlColumn> columns) {
  for (auto& column : columns) {
    column.name = shown_text(column.name, secrets_);
  }
  table_ = SqlTable{std::move(columns), {}, 0, SqlTable::State::counting};
  display_id_.clear();
  return {};
}

base::Result<void> DisplaySink::row(std::span<const SqlValue> values) {
  ++table_.total;
  if (table_.rows.size() < limit_) {
    auto& row = table_.rows.emplace_back();
    row.reserve(values.size());
    for (const auto& value : values) {
      row.push_back(shown_value(value, secrets_));
    }
    if (table_.rows.size() == limit_) {
      // The first screen, now; the total follows when the statement ends.
      display_id_ = base::random_hex_id(16);
      host_.display_with_id(render_sql_table(table_), display_id_);
    }
  }
  return {};
}

base::Result<void> DisplaySink::end_rows(bool complete) {
  table_.state = complete ? SqlTable::State::complete : SqlTable::State::stopped;
  const auto bundle = render_sql_table(table_);
  if (display_id_.empty()) {
    host_.display(bundle, false);
  } else {
    host_.update_display(bundle, display_id_);
  }
  table_ = {};
  return {};
}

void DisplaySink::command(std::string_view tag) {
  host_.write_stream(StreamName::out, std::string(tag) + "\n");
}

void DisplaySink::message(StreamName stream, std::string_view text) {
  host_.write_stream(stream, shown_text(text, secrets_));
}

// CsvSink

CsvSink::CsvSink(StepHost& host, const Secrets& secrets, std::string path, std::string shown_path)
    : host_(host), secrets_(secrets), path_(std::move(path)), shown_path_(std::move(shown_path)) {
  // Quoting changes only '"', and lines end in CR LF: a secret without those stands in a
  // block of lines as it stands in its value, so a block can be masked at once.
  const bool whole_in_lines = std::ranges::none_of(
      secrets.values(), [](const std::string& secret) { return secret.find_first_of("\"\r\n") != std::string::npos; });
  mask_values_ = !secrets.empty() && !whole_in_lines;
  mask_blocks_ = !secrets.empty() && whole_in_lines;
}

base::Result<void> CsvSink::begin_rows(std::vector<SqlColumn> columns) {
  if (used_) {
    return base::make_error(base::ErrorCode::invalid_argument,
                            fmt::format("--out {} takes the rows of one statement, and a second statement of this "
                                        "step returns rows too (its file is written; put the other in its own step)",
                                        shown_path_));
  }
  used_ = true;
  auto file = notebook::AtomicFile::create(path_);
  if (!file) {
    return base::make_error(file.error().code, fmt::format("--out {}: {}", shown_path_, file.error().message));
  }
  file_.emplace(std::move(*file));
  block_.clear();
  for (std::size_t c = 0; c < columns.size(); ++c) {
    block_ += c == 0 ? "" : ",";
    const std::string name = secrets_.empty() ? columns[c].name : secrets_.mask(columns[c].name);
    append_csv_field(block_, SqlValue(name));
  }
  block_ += "\r\n";
  return {};
}

base::Result<void> CsvSink::row(std::span<const SqlValue> values) {
  for (std::size_t c = 0; c < values.size(); ++c) {
    if (c != 0) {
      block_ += ',';
    }
    if (mask_values_ && values[c]) {
      append_csv_field(block_, SqlValue(secrets_.mask(*values[c])));
    } else {
      append_csv_field(block_, values[c]);
    }
  }
  block_ += "\r\n";
  ++rows_;
  return block_.size() >= kBlockSize ? write_block() : base::Result<void>();
}

base::Result<void> CsvSink::write_block() {
  if (mask_blocks_) {
    secrets_.mask_in_place(block_);  // may take a separator along with a secret, never leave one
  }
  file_->out().append(block_);
  block_.clear();
  if (const auto& written = file_->out().status(); !written) {
    // A full disk: stop the statement now rather than read the rest for nothing.
    return base::make_error(written.error().code, fmt::format("--out {}: {}", shown_path_, written.error().message));
  }
  return {};
}

base::Result<void> CsvSink::end_rows(bool complete) {
  if (!complete) {
    file_.reset();  // the temporary file goes; no half-written result
    return {};
  }
  if (auto written = write_block(); !written) {
    file_.reset();
    return written;
  }
  if (auto committed = file_->commit(notebook::Durability::synced); !committed) {
    file_.reset();
    return base::make_error(committed.error().code,
                            fmt::format("--out {}: {}", shown_path_, committed.error().message));
  }
  file_.reset();
  host_.write_stream(StreamName::out,
                     fmt::format("wrote {} row{} to {}\n", rows_, rows_ == 1 ? "" : "s", secrets_.mask(shown_path_)));
  return {};
}

void CsvSink::command(std::string_view tag) {
  host_.write_stream(StreamName::out, std::string(tag) + "\n");
}

void CsvSink::message(StreamName stream, std::string_view text) {
  host_.write_stream(stream, shown_text(text, secrets_));
}

}  // namespace tejun::exec
