#include "ship/companion.hpp"

#include "base/clock.hpp"
#include "base/strings.hpp"
#include "ship/location.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>

extern char** environ;

#if defined(__GLIBC__)
// glibc's clone() under the name it exports it by as well. ThreadSanitizer intercepts clone() and takes every
// clone for a fork: its child resets the runtime's state, which a child sharing this process's memory would
// reset for the whole program.
extern "C" int __clone(int (*fn)(void*), void* stack, int flags, void* arg, ...);
#define BSTEST_CLONE __clone
#else
#define BSTEST_CLONE ::clone
#endif

namespace bstest::detail {

namespace {

bool is_executable(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string Companion::find_program(const Config& config) {
  if (!config.shipper_program.empty()) return is_executable(config.shipper_program) ? config.shipper_program : "";
  if (const char* dir = build_tree_bindir(); dir != nullptr) {
    if (std::string p = std::string(dir) + "/bstest"; is_executable(p)) return p;
  }
#ifdef BSTEST_INSTALL_BINDIR
  if (std::string p = std::string(BSTEST_INSTALL_BINDIR) + "/bstest"; is_executable(p)) return p;
#endif
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string dirs = path;
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && is_executable(dir + "/bstest")) return dir + "/bstest";
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

std::string Companion::not_found(const Config& config) {
  return config.shipper_program.empty() ? "the bstest program was not found (put it on PATH or set BSTEST_SHIPPER to its path)"
                                        : "BSTEST_SHIPPER=" + config.shipper_program + " is not an executable file";
}

Companion::~Companion() { abandon(); }

void Companion::abandon() noexcept {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (notify_fd_ >= 0) ::close(notify_fd_);
  wake_fd_ = notify_fd_ = -1;
  running_ = false;
}

namespace {

// What the companion's process needs, prepared before the fork: between fork and exec only system calls.
struct Launch {
  const char* program;
  char* const* argv;
  int wake_read;
  int notify_write;
  int devnull;
  int status_write;  // close-on-exec: end of file once exec succeeded, errno before that if it failed
  int pid_write;     // the intermediate process writes the companion's pid here
  char* companion_stack;  // the top of the stack the companion runs on until exec
};

// The stack each of the two processes of the double fork runs on until it ends or execs: they share this
// process's memory, so neither may touch the stack of the thread that starts them.
constexpr std::size_t kLaunchStackBytes = 128u << 10;

constexpr long kCloseRangeCloexec = 1L << 2;  // CLOSE_RANGE_CLOEXEC (linux/close_range.h)

// The code of the double fork's two processes, which share this process's memory until they exec or end:
// only system calls, and no sanitizer bookkeeping (it would be written into the starting thread's own).
#define BSTEST_LAUNCH_CODE __attribute__((no_sanitize("address", "thread", "undefined")))

BSTEST_LAUNCH_CODE long sys(long number, long a = 0, long b = 0, long c = 0) {
  return ::syscall(number, a, b, c, 0, 0);
}

[[noreturn]] BSTEST_LAUNCH_CODE void exit_now(int code) {
  for (;;) sys(SYS_exit_group, code);
}

// The companion itself (the grandchild): its own process group, the two pipe ends as fds 3 and 4, the
// standard streams on /dev/null, nothing else open, then exec. Only system calls: it runs in the memory of a
// test program whose other threads go on, and whose locks (its own, a sanitizer runtime's) may be held.
[[noreturn]] BSTEST_LAUNCH_CODE void exec_companion(const Launch& l) {
  sys(SYS_setpgid, 0, 0);  // a Ctrl-C or a time-out kill aimed at the test's group leaves it shipping
  // Everything out of the way of 0 to 4 first (a program that closed its standard streams has its own
  // descriptors there), then into place.
  auto high = [](int fd) { return static_cast<int>(sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 10)); };
  int status = high(l.status_write);
  int wake = high(l.wake_read);
  int notify = high(l.notify_write);
  int devnull = high(l.devnull);
  bool ok = status >= 0 && wake >= 0 && notify >= 0 && devnull >= 0 && sys(SYS_dup3, wake, 3, 0) == 3 &&
            sys(SYS_dup3, notify, 4, 0) == 4;
  for (int fd = 0; ok && fd < 3; ++fd) ok = sys(SYS_dup3, devnull, fd, 0) == fd;
  if (ok) {
#ifdef SYS_close_range
    // Descriptors of the test program that are not close-on-exec stay out of the companion. The status
    // pipe must stay open until exec: marked close-on-exec (Linux 5.11), or spared when closing.
    if (sys(SYS_close_range, 5, ~0u, kCloseRangeCloexec) != 0) {
      sys(SYS_close_range, 5, status - 1, 0);
      sys(SYS_close_range, status + 1, ~0u, 0);
    }
#endif
    sys(SYS_execve, reinterpret_cast<long>(l.program), reinterpret_cast<long>(l.argv), reinterpret_cast<long>(environ));
  }
  int e = errno != 0 ? errno : EIO;
  sys(SYS_write, status >= 0 ? status : l.status_write, reinterpret_cast<long>(&e), sizeof e);
  exit_now(127);
}

BSTEST_LAUNCH_CODE int companion_main(void* launch) { exec_companion(*static_cast<const Launch*>(launch)); }

// The intermediate process: starts the companion, tells its pid and ends at once. The companion is an
// ordinary child of it (exit signal SIGCHLD), re-parented when it ends. Like the intermediate itself, it
// shares the memory until it execs (CLONE_VM | CLONE_VFORK, as posix_spawn does), so starting it copies
// nothing: a fork would mark every page of the test program copy-on-write, and the program would then take
// a page fault for each one it writes again (a large suite's registered tests: thousands of them).
BSTEST_LAUNCH_CODE int intermediate_main(void* launch) {
  const Launch& l = *static_cast<const Launch*>(launch);
  pid_t pid = BSTEST_CLONE(companion_main, l.companion_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, launch);
  if (pid > 0) sys(SYS_write, l.pid_write, reinterpret_cast<long>(&pid), sizeof pid);
  exit_now(pid > 0 ? 0 : 1);
}

// Waits, at most until `deadline_ms`, for the intermediate process to end, and reaps it.
bool reap_intermediate(pid_t pid, std::int64_t deadline_ms) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG | __WCLONE);
    if (r == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (r < 0 && errno != EINTR) return false;
    if (mono_now_ms() >= deadline_ms) return false;
    ::usleep(200);
  }
}

// Reads the exec status pipe: 0 once the companion runs `bstest` (end of file), its errno if exec failed,
// ETIMEDOUT at the deadline.
int exec_status(int fd, std::int64_t deadline_ms) {
  int e = 0;
  std::size_t got = 0;
  for (;;) {
    std::int64_t left = deadline_ms - mono_now_ms();
    if (left <= 0) return ETIMEDOUT;
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return ETIMEDOUT;
    ssize_t n = ::read(fd, reinterpret_cast<char*>(&e) + got, sizeof e - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return got == sizeof e ? e : 0;
    got += static_cast<std::size_t>(n);
  }
}

// `bstest ship --companion` for run `run_id`: the wake pipe's read end is fd 3, the notify pipe's write end
// fd 4 (exec_companion puts them there).
std::vector<std::string> companion_args(const std::string& program, const Config& config, const std::string& run_id) {
  // A little less than we wait, so its summary arrives in time.
  int deadline_ms = std::max(config.flush_timeout_ms - 300, config.flush_timeout_ms * 3 / 4);
  // With its pid: the companion sends what the program writes after its run once it is gone.
  return {program,     "ship",     "--companion", "--run",         run_id,
          "--dir",     config.dir, "--wake-fd",   "3",             "--notify-fd",
          "4",         "--owner-pid", std::to_string(::getpid()), "--deadline-ms", std::to_string(deadline_ms)};
}

}  // namespace

bool Companion::start(const Config& config, const std::string& run_id, std::string& why) {
  std::string program = find_program(config);
  if (program.empty()) {
    why = not_found(config);
    return false;
  }
  int subreaper = 0;
  if (::prctl(PR_GET_CHILD_SUBREAPER, &subreaper) == 0 && subreaper != 0) {
    // The companion would be re-parented to this very process: it would be the test's child after all.
    why = "the test program is a child subreaper (PR_SET_CHILD_SUBREAPER), so the companion would be its child";
    return false;
  }
  std::vector<std::string> args = companion_args(program, config, run_id);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int wake[2] = {-1, -1};
  int notify[2] = {-1, -1};
  int status[2] = {-1, -1};
  int pid_pipe[2] = {-1, -1};  // the intermediate process tells the companion's pid through it
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  auto close_all = [&] {
    for (int fd : {wake[0], wake[1], notify[0], notify[1], status[0], status[1], pid_pipe[0], pid_pipe[1], devnull}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (devnull < 0 || ::pipe2(wake, O_CLOEXEC) != 0 || ::pipe2(notify, O_CLOEXEC) != 0 ||
      ::pipe2(status, O_CLOEXEC) != 0 || ::pipe2(pid_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    why = std::string("cannot start the companion: ") + std::strerror(errno);
    close_all();
    return false;
  }
  void* stacks = ::mmap(nullptr, 2 * kLaunchStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stacks == MAP_FAILED) {
    why = std::string("cannot start the companion: ") + std::strerror(errno);
    close_all();
    return false;
  }
  char* stack_base = static_cast<char*>(stacks);
  Launch launch{program.c_str(), argv.data(), wake[0], notify[1], devnull, status[1], pid_pipe[1],
                stack_base + 2 * kLaunchStackBytes};
  // Double fork, as crashpad starts its handler: the intermediate process starts the companion and ends
  // at once, so the companion is re-parented (to init, or to the nearest child subreaper above us) and is
  // never a child of the test program. The intermediate has no exit signal: no SIGCHLD, no fork handlers
  // of the program (pthread_atfork), and invisible to wait(), waitpid(-1, ...) and waitid(P_ALL, ...)
  // unless asked for clone children (__WCLONE / __WALL). This thread waits while they share its memory
  // (CLONE_VFORK). No signal reaches either process before exec; the companion's `bstest ship` unblocks
  // them.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t mid = BSTEST_CLONE(intermediate_main, stack_base + kLaunchStackBytes, CLONE_VM | CLONE_VFORK, &launch);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::munmap(stacks, 2 * kLaunchStackBytes);
  ::close(status[1]);
  status[1] = -1;
  ::close(wake[0]);
  wake[0] = -1;
  ::close(notify[1]);
  notify[1] = -1;
  std::int64_t deadline = mono_now_ms() + std::max(config.flush_timeout_ms, 1000);
  int exec_errno = mid < 0 ? fork_errno : !reap_intermediate(mid, deadline) ? ECHILD : exec_status(status[0], deadline);
  if (exec_errno != 0) {
    why = "cannot start " + program + ": " + std::strerror(exec_errno);
    close_all();
    return false;
  }
  // Its pid, so that the test program can let it read its stacks while a test hangs (Yama's ptrace_scope).
  pid_t companion = 0;
  if (::read(pid_pipe[0], &companion, sizeof companion) == static_cast<ssize_t>(sizeof companion)) pid_ = companion;
  ::close(pid_pipe[0]);
  ::close(pid_pipe[1]);
  ::close(status[0]);
  ::close(devnull);
  running_ = true;
  wake_fd_ = wake[1];
  notify_fd_ = notify[0];
  return true;
}

bool Companion::finish(int timeout_ms, std::string& summary, std::string& problem) {
  if (!running_) return true;
  ::close(wake_fd_);
  wake_fd_ = -1;
  std::int64_t deadline = mono_now_ms() + timeout_ms;
  bool eof = false;
  std::string text;
  while (!eof) {
    std::int64_t left = deadline - mono_now_ms();
    if (left <= 0) break;
    pollfd p{notify_fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) break;
    char buf[4096];
    ssize_t n = ::read(notify_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
    } else {
      text.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(notify_fd_);
  notify_fd_ = -1;
  // Lines: "problem: <fault>" while shipping, then the summary line.
  summary.clear();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // an unfinished line is ignored
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (detail::starts_with(line, "problem: ")) {
      problem = line.substr(9);
    } else if (!line.empty()) {
      summary = line;
    }
  }
  running_ = false;
  return eof;
}

}  // namespace bstest::detail
