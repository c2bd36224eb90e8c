// What a test program's main returned, for `bstest run` to compare with the exit status it observes.
//
// Only the parent of a process sees how it really ended. A program's status can differ from what its main
// returned when something fails after the tests: LeakSanitizer's exit code (its check runs at exit, after
// ours), a crash in a static destructor, an exit handler that calls _exit(). So each program that runs under
// `bstest run` notes what it gave exit() in a small file of the run's folder (its journal is closed by
// then), and `bstest run` forgives a failing exit code only where the two agree (docs: README, "bstest run").
#pragma once

#include <string>

namespace bstest::detail {

// <bstest_dir>/results/<journal base>.exit: the file of the program whose journal is `journal_path`.
std::string exit_status_path(const std::string& bstest_dir, const std::string& journal_path);

// From now on, the status this process gives exit() (returning from main included) is written to
// exit_status_path(bstest_dir, journal_path) (created 0600, never through a link) when it exits; forked
// children write nothing. Once per process. glibc only (on_exit); elsewhere nothing is written, and
// `bstest run` cannot forgive that program.
void note_exit_status(const std::string& bstest_dir, const std::string& journal_path);

// The status written at `path`: 0..255, or -1 when there is none (the program ended without exit(): a
// signal, _exit(), or it was not noted).
int read_exit_status(const std::string& path);

}  // namespace bstest::detail
