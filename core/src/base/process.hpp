// Facts about this process, read from the system once per question: its program, arguments, working
// directory, host name, and its environment as a re-run needs it; and how it says a line on stderr.
#pragma once

#include <string>
#include <vector>

namespace bstest::detail {

// The running program's absolute path (/proc/self/exe); empty when it cannot be read.
std::string self_exe();
// Its original arguments (/proc/self/cmdline), argv[0] first: what the framework has not consumed yet too.
std::vector<std::string> self_argv();
// The working directory now; empty when it cannot be read.
std::string current_directory();
// `path` made absolute against `base` (unchanged when it is absolute already or empty).
std::string absolute_path(const std::string& path, const std::string& base);
// This machine's host name.
std::string host_name();
// Writes `line` and a newline to stderr in one write(), unbuffered: a line of bstest's never mixes with the
// test program's own output, nor with another process's line.
void say(const std::string& line);

// This process's environment, as a re-run of it needs it: `env` holds NAME=value of every variable but
// those named like a secret (see Redactor::name_looks_secret with `extra_patterns`), which are listed by
// name only in `inherited` (a re-run takes their values from the process that re-runs, never from a file).
struct EnvironmentForRerun {
  std::vector<std::string> env;
  std::vector<std::string> inherited;
};
EnvironmentForRerun environment_for_rerun(const std::vector<std::string>& extra_patterns);

}  // namespace bstest::detail
