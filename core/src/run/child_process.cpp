#include "run/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace bstest {

namespace {

// Signals ignored here only for this process's sake (bit n: signal n).
std::atomic<unsigned long long> g_ignored_here_only{0};

// Appends the pids listed in /proc/<pid>/task/<tid>/children for every thread of `pid` to `out` (at most
// `max`). Async-signal-safe: open, read, getdents64, close only.
void add_children(pid_t pid, pid_t* out, int& n, int max) {
  char path[64];
  int len = 0;
  auto put = [&](const char* s) {
    while (*s != '\0' && len < static_cast<int>(sizeof path) - 1) path[len++] = *s++;
    path[len] = '\0';
  };
  auto put_num = [&](long v) {
    char digits[24];
    int d = 0;
    do {
      digits[d++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0 && d < 23);
    while (d > 0 && len < static_cast<int>(sizeof path) - 1) path[len++] = digits[--d];
    path[len] = '\0';
  };
  put("/proc/");
  put_num(pid);
  put("/task");
  int dir = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  int task_len = len;
  alignas(8) char ents[4096];
  for (;;) {
    ssize_t got = ::getdents64(dir, ents, sizeof ents);
    if (got <= 0) break;
    for (ssize_t at = 0; at < got;) {
      const auto* e = reinterpret_cast<const dirent64*>(ents + at);
      at += e->d_reclen;
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      len = task_len;
      put("/");
      put(e->d_name);
      put("/children");
      int fd = ::open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char buf[4096];
      long value = -1;
      for (;;) {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r <= 0) break;
        for (ssize_t i = 0; i < r; ++i) {
          if (buf[i] >= '0' && buf[i] <= '9') {
            value = (value < 0 ? 0 : value * 10) + (buf[i] - '0');
          } else if (value >= 0) {
            if (n < max) out[n++] = static_cast<pid_t>(value);
            value = -1;
          }
        }
      }
      if (value >= 0 && n < max) out[n++] = static_cast<pid_t>(value);
      ::close(fd);
    }
  }
  ::close(dir);
}

}  // namespace

void ignore_for_this_process_only(int sig) noexcept {
  struct sigaction old {};
  if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_IGN && sig > 0 && sig < 64) {
    g_ignored_here_only.fetch_or(1ull << sig);
  }
  ::signal(sig, SIG_IGN);
}

sigset_t signals_to_restore_in_children() noexcept {
  sigset_t set;
  sigemptyset(&set);
  unsigned long long bits = g_ignored_here_only.load();
  for (int sig = 1; sig < 64; ++sig) {
    if ((bits >> sig) & 1u) sigaddset(&set, sig);
  }
  return set;
}

void restore_signals_for_exec() noexcept {
  sigset_t set = signals_to_restore_in_children();
  for (int sig = 1; sig < 64; ++sig) {
    if (sigismember(&set, sig) == 1) ::signal(sig, SIG_DFL);
  }
}

bool handle_unless_ignored(int sig, void (*handler)(int), struct sigaction* old) noexcept {
  struct sigaction now {};
  if (::sigaction(sig, nullptr, &now) != 0) return false;
  if (old != nullptr) *old = now;
  if (now.sa_handler == SIG_IGN) return false;
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  return ::sigaction(sig, &sa, nullptr) == 0;
}

void signal_process_tree(pid_t root, int sig) noexcept {
  int saved = errno;
  constexpr int kMax = 4096;
  pid_t tree[kMax];
  int n = 0;
  tree[n++] = root;
  for (int next = 0; next < n; ++next) add_children(tree[next], tree, n, kMax);
  for (int i = 0; i < n; ++i) ::kill(tree[i], sig);
  errno = saved;
}

pid_t start_owned_child(const OwnedChild& child, std::string& error) noexcept {
  try {
    std::vector<char*> argv;
    for (const auto& a : child.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : child.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    sigset_t restore = signals_to_restore_in_children();
    // The child tells why it could not exec through this pipe; end of file means it did.
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
      error = std::strerror(errno);
      return -1;
    }
    pid_t owner = ::getpid();
    // No handler of ours may run in the child before exec (it would act for the owner): signals are
    // blocked across the fork, and the child drops every handler before it unblocks them.
    sigset_t all, mask;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &mask);
    pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls from here: the owner may have threads (bstest run's shipper).
      ::close(report[0]);
      if (child.own_group) ::setpgid(0, 0);
      for (int sig = 1; sig < 64; ++sig) {
        struct sigaction sa {};
        if (::sigaction(sig, nullptr, &sa) != 0) continue;
        bool handled = sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL;
        if (handled || sigismember(&restore, sig) == 1) ::signal(sig, SIG_DFL);
      }
      ::sigprocmask(SIG_SETMASK, &mask, nullptr);
      int err = 0;
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != owner) err = ESRCH;  // the owner is gone
      if (err == 0 && !child.cwd.empty() && ::chdir(child.cwd.c_str()) != 0) err = errno;
      if (err == 0) {
        ::execve(child.exe.c_str(), argv.data(), envp.data());
        err = errno;
      }
      ssize_t w = ::write(report[1], &err, sizeof err);
      (void)w;
      ::_exit(127);
    }
    int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    ::close(report[1]);
    if (pid > 0 && child.own_group) ::setpgid(pid, pid);  // a signal sent to its group at once finds it
    errno = fork_errno;
    if (pid < 0) {
      error = std::strerror(errno);
      ::close(report[0]);
      return -1;
    }
    int err = 0;
    ssize_t got;
    while ((got = ::read(report[0], &err, sizeof err)) < 0 && errno == EINTR) {
    }
    ::close(report[0]);
    if (got == static_cast<ssize_t>(sizeof err)) {
      error = std::strerror(err);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      return -1;
    }
    return pid;
  } catch (...) {
    error = "out of memory";
    return -1;
  }
}

}  // namespace bstest
