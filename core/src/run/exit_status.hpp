// What a test program's main returned, for `bstest run` to compare with the exit status it observes.
//
// Only the parent of a process sees how it really ended. A program's status can differ from what its main
// returned when something fails after the tests: LeakSanitizer's exit code (its check runs at exit, after
// ours), a crash in a static destructor, an exit handler that calls _exit(). So each program that runs under
// `bstest run` notes what it gave exit() in a small file of the run's folder (its journal is closed by
// then), then, from the destructor of its first static object (the last to run), that its exit went
// through; `bstest run` forgives a failing exit code only where the status it saw is what main returned and
// the exit went through (docs: README, "bstest run").
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

struct ExitStatus {
  int returned = -1;       // what it gave exit(), 0..255; -1 when it did not say (a signal, _exit(), not noted)
  bool completed = false;  // and the exit went through to its end: no exit handler or static destructor ended
                           // the process after that (the last static object's destructor ran)
};

// What the file at `path` says.
ExitStatus read_exit_status(const std::string& path);

}  // namespace bstest::detail
