#include "run_command.hpp"

#include "commands.hpp"

#include "run/child_process.hpp"
#include "run/rerun.hpp"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace bstest::cli {

namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP};

// The command (0: none, or forgotten), whether it has a process group of its own (on a terminal), and the
// last signal bstest run received. Lock-free atomics: the handler may run on any thread that has not blocked
// the signal (ours block it; a sanitizer's or a library's might not).
std::atomic<int> g_command{0};
std::atomic<int> g_own_group{0};
std::atomic<int> g_received{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

void pass_on(int sig) {
  pid_t command = static_cast<pid_t>(g_command.load());
  if (command <= 0) return;
  if (g_own_group.load() != 0) {
    ::kill(-command, sig);
  } else {
    signal_process_tree(command, sig);
  }
}

void forward(int sig) {
  int saved = errno;
  g_received = sig;
  pass_on(sig);
  forward_signal_to_rerun(sig);
  errno = saved;
}

// On a terminal the command runs in the foreground, as a shell would run it: it can read the terminal, and
// Ctrl-C and Ctrl-Z go to it. We take the terminal back when it ends.
bool owns_terminal() { return ::isatty(0) == 1 && ::tcgetpgrp(0) == ::getpgrp(); }

void give_terminal(pid_t group) {
  // From a background group, tcsetpgrp raises SIGTTOU unless it is blocked.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  ::tcsetpgrp(0, group);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

int exec_failure_code(int err) { return err == ENOENT ? 127 : 126; }

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& e : v) out.push_back(const_cast<char*>(e.c_str()));
  out.push_back(nullptr);
  return out;
}

// Waits for the command. On a terminal, Ctrl-Z stops it: we stop with it (the shell's job control sees us
// stop) and go on together; a read of the terminal before it had the terminal gets it now.
int wait_for(pid_t pid, bool terminal) {
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, terminal ? WUNTRACED : 0) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (!WIFSTOPPED(status)) break;
    if (WSTOPSIG(status) != SIGTTIN && WSTOPSIG(status) != SIGTTOU) {
      give_terminal(::getpgrp());
      ::raise(SIGSTOP);
    }
    give_terminal(pid);
    ::kill(-pid, SIGCONT);
  }
  return status;
}

}  // namespace

CommandEnd run_command(const std::vector<std::string>& command, const std::vector<std::string>& env) {
  for (int sig : kForwarded) handle_unless_ignored(sig, forward, nullptr);

  bool terminal = owns_terminal();
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGDEF;
  if (terminal) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  sigset_t defaults = signals_to_restore_in_children();  // SIGPIPE, unless our caller ignored it
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  bool terminal_given = false;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
  if (terminal) terminal_given = posix_spawn_file_actions_addtcsetpgrp_np(&fa, 0) == 0;
#endif
  std::vector<char*> argv = c_strings(command);
  std::vector<char*> envp = c_strings(env);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  CommandEnd end;
  if (rc != 0) {
    error("run", "cannot start '" + command[0] + "': " + std::strerror(rc));
    end.exit_code = exec_failure_code(rc);
    return end;
  }
  end.pid = pid;
  g_own_group = terminal ? 1 : 0;
  g_command = pid;
  // A signal that came while it was starting was not passed on yet.
  if (int sig = g_received; sig != 0) pass_on(sig);
  if (terminal && !terminal_given) give_terminal(pid);
  int status = wait_for(pid, terminal);
  if (terminal) give_terminal(::getpgrp());
  // Off a terminal it is reaped: its pid may be reused from now on. (On a terminal its group lives on
  // while programs it left run in it; forget_command() ends that.)
  if (!terminal) g_command = 0;
  end.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  end.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  // Ctrl-C on a terminal goes to the command's group, not to us: a command it ended was interrupted,
  // whether it died of SIGINT or caught it and exited 130 as shells and meson test do.
  end.interrupted = end.signal == SIGINT || (terminal && end.exit_code == 128 + SIGINT);
  return end;
}

void forget_command() noexcept { g_command = 0; }

void die_of_received_signal() noexcept {
  int sig = g_received;
  if (sig == 0) return;
  std::fflush(nullptr);
  ::signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
}

}  // namespace bstest::cli
