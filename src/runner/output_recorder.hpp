// Turns a kernel's iopub messages into a cell's outputs, as nbclient records them: streams
// of the same name that follow each other joined, clear_output (also with wait=true) and
// update_display_data applied, execution timings kept.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "notebook/json.hpp"
#include "notebook/notebook.hpp"
#include "protocol/message.hpp"

namespace tejun::runner {

// A Boost.JSON value as the notebook model's JSON (numbers keep their text).
[[nodiscard]] notebook::Json to_notebook_json(const boost::json::value& value);

// What --log-output shows of an iopub message: a stream's text, an error's traceback (else
// "ename: evalue"), a display's text/plain; empty for anything else.
[[nodiscard]] std::string log_text(const protocol::Message& message);

class OutputRecorder {
 public:
  // Applies one iopub message that belongs to `notebook.cells[cell]`'s execution. Returns
  // the output it added or changed (for --log-output), or null.
  const notebook::Output* apply(notebook::Notebook& notebook, std::size_t cell, const protocol::Message& message);

 private:
  void remember_display(const protocol::Message& message, std::size_t cell, std::size_t output);
  void clear(std::size_t cell, std::vector<notebook::Output>& outputs);

  bool clear_before_next_ = false;
  // display_id → every output that shows it, in any cell
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> displays_;
};

}  // namespace tejun::runner
