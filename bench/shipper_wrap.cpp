// shipper-wrap: set as BSTEST_SHIPPER, it runs the real `bstest` (BENCH_REAL_SHIPPER) with the same
// arguments and descriptors, so that the benchmark can tell the shipper's cost from the test process's.
//
// The test process starts it with the wake pipe's read end on fd 3 and the notify pipe's write end on
// fd 4. The wake pipe passes to the real shipper unchanged; the wrapper keeps fd 3 only to time the moment
// the test process closes it, which is when it starts waiting at exit. The real shipper gets a pipe of the
// wrapper's as its fd 4: the wrapper forwards what it writes to the test process's notify pipe and, at its
// end of file, notes the time (notify_eof_ns) before closing the test process's end. That is the moment the
// test process stops waiting, and it comes before the test process can see it: the test program does not
// wait for the shipper's process (it is not its child), only for the notify pipe's end of file.
//
// When the shipper ends, it writes one JSON line to BENCH_SHIPPER_REPORT (CLOCK_MONOTONIC times in ns):
//   {"spawn_ns":..,"wake_closed_ns":..,"notify_eof_ns":..,"exit_ns":..,"status":..,"user_us":..,"sys_us":..,
//    "maxrss_kb":..,"wrap_user_us":..,"wrap_sys_us":..}
// and exits with the shipper's exit code.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

extern char** environ;

namespace {

std::int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long long micros(const timeval& tv) { return static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec; }

}  // namespace

int main(int argc, char** argv) {
  const char* real = std::getenv("BENCH_REAL_SHIPPER");
  const char* report = std::getenv("BENCH_SHIPPER_REPORT");
  if (real == nullptr || *real == '\0') {
    std::fputs("shipper-wrap: set BENCH_REAL_SHIPPER to the bstest program\n", stderr);
    return 2;
  }
  std::vector<char*> args;
  args.push_back(const_cast<char*>(real));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);

  // The real shipper's notify pipe: its write end becomes the shipper's fd 4 (posix_spawn's dup2 clears
  // close-on-exec on the copy), the read end stays here.
  bool forward_notify = ::fcntl(4, F_GETFD) != -1;
  int relay[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (forward_notify) {
    if (::pipe2(relay, O_CLOEXEC) != 0) {
      std::fputs("shipper-wrap: cannot make a pipe\n", stderr);
      return 2;
    }
    posix_spawn_file_actions_adddup2(&actions, relay[1], 4);
  }
  const std::int64_t spawn_ns = mono_ns();
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, real, &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::fprintf(stderr, "shipper-wrap: cannot start %s\n", real);
    return 2;
  }
  if (forward_notify) ::close(relay[1]);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));

  std::int64_t wake_closed_ns = -1;
  std::int64_t notify_eof_ns = -1;
  bool watch_wake = ::fcntl(3, F_GETFD) != -1;
  for (;;) {
    pollfd fds[3];
    nfds_t n = 0;
    if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
    if (watch_wake) fds[n++] = {3, POLLIN, 0};
    if (forward_notify) fds[n++] = {relay[0], POLLIN, 0};
    if (n == 0) break;
    int r = ::poll(fds, n, pidfd >= 0 ? -1 : 5);
    if (r < 0 && errno == EINTR) continue;
    bool child_done = false;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == relay[0]) {
        char buf[4096];
        ssize_t got = ::read(relay[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got > 0) {
          for (ssize_t off = 0; off < got;) {
            ssize_t w = ::write(4, buf + off, static_cast<std::size_t>(got - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;  // the test process is gone: nothing more to tell it
            off += w;
          }
        } else {
          notify_eof_ns = mono_ns();
          ::close(4);  // the test process sees end of file now
          ::close(relay[0]);
          forward_notify = false;
        }
      } else if (fds[i].fd == 3) {
        // Never read: the bytes on the wake pipe belong to the shipper. POLLHUP: the writer closed it.
        if ((fds[i].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
          wake_closed_ns = mono_ns();
          watch_wake = false;
        } else {
          ::usleep(1000);  // bytes for the shipper to read: do not spin on them
        }
      } else {
        child_done = true;
      }
    }
    if (child_done) break;
    if (pidfd < 0 && ::waitpid(pid, nullptr, WNOHANG | WNOWAIT) == pid) break;
  }

  // The shipper is gone, so its end of the relay is closed: forward what is left, then end of file.
  while (forward_notify) {
    char buf[4096];
    ssize_t got = ::read(relay[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      if (::write(4, buf, static_cast<std::size_t>(got)) < 0) {
      }
      continue;
    }
    notify_eof_ns = mono_ns();
    ::close(4);
    ::close(relay[0]);
    forward_notify = false;
  }

  int status = 0;
  rusage ru{};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  const std::int64_t exit_ns = mono_ns();
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (report != nullptr && *report != '\0') {
    if (FILE* f = std::fopen(report, "w")) {
      std::fprintf(f,
                   "{\"spawn_ns\":%lld,\"wake_closed_ns\":%lld,\"notify_eof_ns\":%lld,\"exit_ns\":%lld,"
                   "\"status\":%d,\"user_us\":%lld,\"sys_us\":%lld,\"maxrss_kb\":%ld,\"wrap_user_us\":%lld,"
                   "\"wrap_sys_us\":%lld}\n",
                   static_cast<long long>(spawn_ns), static_cast<long long>(wake_closed_ns),
                   static_cast<long long>(notify_eof_ns), static_cast<long long>(exit_ns), code, micros(ru.ru_utime), micros(ru.ru_stime), ru.ru_maxrss,
                   micros(self.ru_utime), micros(self.ru_stime));
      std::fclose(f);
    }
  }
  return code;
}
