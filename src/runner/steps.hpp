// What a run needs to know of a step cell: its name, the code to send for it, and what its
// prompts ask.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "notebook/notebook.hpp"
#include "runner/run_record.hpp"

namespace tejun::runner {

// A step's own name: its Markdown attribute name=, else a "name" in its metadata; empty when
// it has none.
[[nodiscard]] std::string own_name(const notebook::Cell& cell);

// What the kernel is sent for a step: a fence in another language than the kernel's becomes
// a cell magic of that name (%%sql for the tejun kernel, %%bash for ```sh in a Python
// runbook); a fence in the kernel's own language, or none, is sent as it is.
[[nodiscard]] std::string step_code(const notebook::Cell& cell, std::string_view kernel_language);

// The runbook's steps, its non-blank code cells (the injected parameters are "parameters",
// number 0); every code cell's outputs, count and run metadata are cleared, as papermill does.
[[nodiscard]] std::vector<StepRecord> list_steps(notebook::Notebook& notebook);

struct StepSelection {
  std::string step;  // only this one
  std::string from;  // from this one
  std::string to;    // up to this one
};

// The indexes (into `steps`) of the steps to run, in order, the injected parameters always
// among them; numbers them (ordinal) and marks the others skipped. An unknown name is an
// error listing the steps.
[[nodiscard]] base::Result<std::vector<std::size_t>> select_steps(const notebook::Notebook& notebook,
                                                                  std::vector<StepRecord>& steps,
                                                                  const StepSelection& selection);

// Answers to input requests, a line each ("-": stdin).
[[nodiscard]] base::Result<std::deque<std::string>> read_answers(const std::string& path);

// A prompt that asks yes or no ("[yes/no]", "(y/n)", ...): what --yes answers.
[[nodiscard]] bool is_confirmation(std::string_view prompt);

}  // namespace tejun::runner
