// measure: runs one program and reports what it cost, for bench/run.py.
//
//   measure REPORT PROGRAM [ARGS...]
//
// Standard streams and the environment pass through unchanged. Writes one JSON line to REPORT:
//   {"t_start_ns":..,"t_exit_ns":..,"schedstat_ns":..,"ticks":[utime,stime,cutime,cstime],"minflt":..,
//    "clk_tck":..,"user_us":..,"sys_us":..,"maxrss_kb":..,"hwm_kb":..,"status":..}
// t_* are CLOCK_MONOTONIC. schedstat_ns is the program's own on-CPU time, read from /proc while it is a
// zombie (before it is reaped, so its children are not included); ticks are /proc/PID/stat's fields at the
// same moment (minflt: the program's own minor page faults); user/sys/maxrss are wait4's, which include
// the children it reaped (ru_maxrss is the largest of the program and those children); hwm_kb is the
// program's own peak RSS (VmHWM), read when it stops at its exit.
//
// Why a separate program: a child's ru_maxrss starts from the RSS of the process that spawned it (the
// memory it shared until exec), so a test spawned by Python would never look smaller than Python; and
// Python cannot stop a child at its exit to read its own peak.
#include <csignal>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <ctime>

extern char** environ;

namespace {

std::int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long long micros(const timeval& tv) { return static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec; }

// Peak and current RSS of a live process, from /proc/PID/status (kB; -1 when unknown).
void read_hwm(pid_t pid, long& hwm_kb, long& rss_kb) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    long v = 0;
    if (std::sscanf(line, "VmHWM: %ld", &v) == 1) hwm_kb = v;
    if (std::sscanf(line, "VmRSS: %ld", &v) == 1) rss_kb = v;
  }
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fputs("usage: measure REPORT PROGRAM [ARGS...]\n", stderr);
    return 2;
  }
  // The program runs traced, only so that it stops once at its exit, memory still intact, for its own
  // peak RSS (VmHWM); signals it receives are passed on unchanged and its children are not traced.
  const std::int64_t t_start = mono_ns();
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("measure: fork");
    return 2;
  }
  if (pid == 0) {
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::execv(argv[2], argv + 2);
    std::fprintf(stderr, "measure: cannot start %s\n", argv[2]);
    ::_exit(127);
  }
  long hwm_kb = -1, rss_at_exit_kb = -1;
  bool traced = false;
  for (;;) {
    int st = 0;
    siginfo_t info{};
    // Wait without reaping, so the zombie's own CPU time can still be read.
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WSTOPPED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (info.si_code == CLD_EXITED || info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) break;
    // A stop: consume it (waitpid) and resume.
    if (::waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st)) break;
    int sig = WSTOPSIG(st);
    int inject = 0;
    if (!traced && sig == SIGTRAP) {
      ::ptrace(PTRACE_SETOPTIONS, pid, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
      traced = true;
    } else if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
      read_hwm(pid, hwm_kb, rss_at_exit_kb);
    } else {
      inject = sig;
    }
    ::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(inject)));
  }
  const std::int64_t t_exit = mono_ns();
  char path[64];
  long long schedstat = -1;
  std::snprintf(path, sizeof path, "/proc/%d/schedstat", static_cast<int>(pid));
  if (FILE* f = std::fopen(path, "r")) {
    if (std::fscanf(f, "%lld", &schedstat) != 1) schedstat = -1;
    std::fclose(f);
  }
  long long ticks[4] = {-1, -1, -1, -1};
  long long minflt = -1;
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  if (FILE* f = std::fopen(path, "r")) {
    char buf[4096];
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    std::fclose(f);
    // Fields after the command name, which ends with the last ')': state is field 3, utime field 14.
    char* p = nullptr;
    for (char* q = buf; *q != '\0'; ++q) {
      if (*q == ')') p = q;
    }
    if (p != nullptr) {
      long long v[15] = {};
      char state = 0;
      if (std::sscanf(p + 1, " %c %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &state, &v[0],
                      &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12],
                      &v[13]) == 15) {
        for (int i = 0; i < 4; ++i) ticks[i] = v[10 + i];
        minflt = v[6];
      }
    }
  }

  int status = 0;
  rusage ru{};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (FILE* f = std::fopen(argv[1], "w")) {
    std::fprintf(f,
                 "{\"t_start_ns\":%lld,\"t_exit_ns\":%lld,\"schedstat_ns\":%lld,\"ticks\":[%lld,%lld,%lld,%lld],"
                 "\"minflt\":%lld,\"clk_tck\":%ld,\"user_us\":%lld,\"sys_us\":%lld,\"maxrss_kb\":%ld,\"hwm_kb\":%ld,"
                 "\"status\":%d}\n",
                 static_cast<long long>(t_start), static_cast<long long>(t_exit), schedstat, ticks[0], ticks[1],
                 ticks[2], ticks[3], minflt, ::sysconf(_SC_CLK_TCK), micros(ru.ru_utime), micros(ru.ru_stime), ru.ru_maxrss,
                 hwm_kb, code);
    std::fclose(f);
  }
  return 0;
}
