// Where a SQL statement's rows go as they arrive: the front end (DisplaySink: the first
// screen at once, then the total) or a CSV file that appears only when complete (CsvSink,
// --out). Every name and value is masked before it is shown or written.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "exec/secrets.hpp"
#include "exec/sql_database.hpp"
#include "exec/sql_table.hpp"
#include "exec/step_host.hpp"
#include "notebook/file_io.hpp"

namespace tejun::exec {

// Shows each statement's results in the front end as they arrive: the first screen once
// `limit` rows are in, then the total when the statement ends (update_display_data).
class DisplaySink final : public SqlSink {
 public:
  DisplaySink(StepHost& host, const Secrets& secrets, std::size_t limit)
      : host_(host), secrets_(secrets), limit_(limit) {}

  base::Result<void> begin_rows(std::vector<SqlColumn> columns) override;
  base::Result<void> row(std::span<const SqlValue> values) override;
  base::Result<void> end_rows(bool complete) override;
  void command(std::string_view tag) override;
  void message(StreamName stream, std::string_view text) override;

 private:
  StepHost& host_;
  const Secrets& secrets_;
  std::size_t limit_;
  SqlTable table_;
  std::string display_id_;  // set once the first screen is shown
};

// Writes the rows of one statement to a CSV file that appears only when they are all there.
class CsvSink final : public SqlSink {
 public:
  CsvSink(StepHost& host, const Secrets& secrets, std::string path, std::string shown_path);

  base::Result<void> begin_rows(std::vector<SqlColumn> columns) override;
  base::Result<void> row(std::span<const SqlValue> values) override;
  base::Result<void> end_rows(bool complete) override;
  void command(std::string_view tag) override;
  void message(StreamName stream, std::string_view text) override;

 private:
  StepHost& host_;
  const Secrets& secrets_;
  std::string path_;
  std::string shown_path_;  // as the step wrote it
  // Masks and writes the rows gathered so far.
  base::Result<void> write_block();

  static constexpr std::size_t kBlockSize = std::size_t{64} * 1024;
  std::optional<notebook::AtomicFile> file_;
  std::string block_;  // whole lines not yet written
  std::size_t rows_ = 0;
  bool used_ = false;
  // Secrets are masked in each block of lines when none holds a '"' (quoting doubles it) or a
  // line break, else value by value.
  bool mask_blocks_ = false;
  bool mask_values_ = false;
};

}  // namespace tejun::exec
