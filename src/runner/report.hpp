// The Markdown report of a run (`-o OUT.md`): a summary, then the runbook's prose and steps,
// each step followed by its outcome and output, ready to paste into an incident issue.
#pragma once

#include "notebook/notebook.hpp"
#include "notebook/text_output.hpp"
#include "runner/run_record.hpp"

namespace tejun::runner {

void write_report(const notebook::Notebook& notebook, const RunRecord& record, notebook::TextOutput& out);

// "4.2 s", "0.31 s", "2 min 5 s".
[[nodiscard]] std::string format_seconds(double seconds);

}  // namespace tejun::runner
