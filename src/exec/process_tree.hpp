// The processes a step started, found through /proc (Linux): a step's commands may change
// their process group or start a new session, so the tree of parent ids is what ties them to
// the shell that ran them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tejun::exec {

// Every live descendant of `root` (children first, then their children), not `root` itself,
// that started at or after `since_ticks` (clock ticks since boot, as /proc/PID/stat counts).
[[nodiscard]] std::vector<pid_t> descendants_of(pid_t root, unsigned long long since_ticks = 0);

// Now, in the clock ticks since boot that /proc/PID/stat uses for a process's start time.
[[nodiscard]] unsigned long long ticks_since_boot();

// Sends `signal` to each process; those that are gone already are skipped.
void signal_all(const std::vector<pid_t>& processes, int signal);

// The first of `processes` blocked reading its standard input from the pipe or file whose
// /proc link text is `stdin_link` ("pipe:[1234]"), or 0 when none is.
[[nodiscard]] pid_t find_stdin_reader(const std::vector<pid_t>& processes, const std::string& stdin_link);

// The /proc link text of a descriptor of this process ("pipe:[1234]").
[[nodiscard]] std::string descriptor_link(int fd);

}  // namespace tejun::exec
