// The processes a step started, found through /proc (Linux): a step's commands may change
// their process group or start a new session, so the tree of parent ids is what ties them to
// the shell that ran them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tejun::exec {

struct ProcessStat {
  char state = '?';  // R, S, D, Z...; '?' when the process is gone
  pid_t parent = 0;
  unsigned long long start_ticks = 0;  // clock ticks since boot
  unsigned long long user_ticks = 0;   // CPU time, with that of its waited-for children
  unsigned long long system_ticks = 0;
};

// /proc/PID/stat, read once; zeros when the process is gone.
[[nodiscard]] ProcessStat process_stat(pid_t pid);

// The clock ticks of ProcessStat in a second (USER_HZ).
[[nodiscard]] double ticks_per_second();

// A moment, as precisely as /proc can tell which processes started after it: the clock tick
// since boot (what /proc/PID/stat counts start times in; 10 ms) and the last process id the
// system handed out (/proc/loadavg), for processes that started within that same tick.
struct ProcessEpoch {
  unsigned long long ticks = 0;
  pid_t last_pid = 0;
};

[[nodiscard]] ProcessEpoch process_epoch_now();

// Every live descendant of `root` (children first, then their children), not `root` itself,
// that started after `since`.
[[nodiscard]] std::vector<pid_t> descendants_of(pid_t root, ProcessEpoch since = {});

// Sends `signal` to each process; those that are gone already are skipped.
void signal_all(const std::vector<pid_t>& processes, int signal);

// The first of `processes` blocked reading its standard input from the pipe or file whose
// /proc link text is `stdin_link` ("pipe:[1234]"), or 0 when none is.
[[nodiscard]] pid_t find_stdin_reader(const std::vector<pid_t>& processes, const std::string& stdin_link);

// The /proc link text of a descriptor of this process ("pipe:[1234]").
[[nodiscard]] std::string descriptor_link(int fd);

}  // namespace tejun::exec
