// The programs bstest starts (the command of `bstest run`, re-runs of failed tests): what they inherit from
// the process that starts them, and how they end with it. For the `bstest` program and the re-run loop (and
// an owner of re-runs of its own, see <bstest/rerun.hpp>).
//
// Signals: a signal that was ignored when this process started stays ignored for the programs it starts,
// as POSIX shells do (`nohup bstest run -- ctest` gives ctest an ignored SIGHUP, and a script's background
// job keeps its ignored SIGINT). A signal this process ignores only for its own sake (bstest ignores
// SIGPIPE, so that a closed connection cannot kill it) goes back to the disposition it was started with.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace bstest {

// Ignores `sig` in this process only: the programs it starts get the disposition it had before. Call it
// early, before anything else changes that signal's disposition.
void ignore_for_this_process_only(int sig) noexcept;

// The signals that programs started from here must get back with their default action (those ignored
// only by this process), for POSIX_SPAWN_SETSIGDEF or a child before exec.
sigset_t signals_to_restore_in_children() noexcept;

// In a process about to exec (the `bstest run` inside another one): gives back what this process ignored
// only for itself.
void restore_signals_for_exec() noexcept;

// Installs `handler` for `sig` (no SA_RESTART: a waitpid returns EINTR) unless `sig` is ignored now: an
// ignored signal stays ignored, here and in every program started from here. `old` (may be null) gets
// the disposition it had. True when the handler was installed.
bool handle_unless_ignored(int sig, void (*handler)(int), struct sigaction* old) noexcept;

// Async-signal-safe: sends `sig` to `root` and to every process that descends from it (read from
// /proc/<pid>/task/<tid>/children), all of them collected first and then signalled, so that a parent
// that dies first cannot hide its children. At most a few thousand processes.
void signal_process_tree(pid_t root, int sig) noexcept;

// A program started so that it cannot outlive the thread that started it (the owner of the re-runs):
// PR_SET_PDEATHSIG makes the kernel send it SIGKILL when that thread ends, even by SIGKILL.
struct OwnedChild {
  std::string exe;                // absolute path, no PATH search
  std::vector<std::string> argv;  // argv[0] first
  std::vector<std::string> env;   // "NAME=value"
  std::string cwd;                // "" keeps ours
  bool own_group = true;          // its own process group (a time-out then ends all it started)
};

// Starts `child` (fork, then exec). Returns its pid, or -1 with `error` ("No such file or directory",
// from the chdir or the exec) when it could not be started.
pid_t start_owned_child(const OwnedChild& child, std::string& error) noexcept;

}  // namespace bstest
