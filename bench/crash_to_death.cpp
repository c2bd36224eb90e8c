// crash-to-death: how much later a crashing test program is dead when bstest records its crash.
//
//   crash-to-death --dir DIR [--runs N]
//
// Runs itself N times (default 30) for each of two children, which segfault three calls deep inside a test:
// "bare" (no bstest: the default action ends it) and "bstest" (a Session through the public API, with its
// journal in DIR and no network: the crash handler writes the crash's stack snapshot and the run_crashed
// record, then hands the fault on). Each child writes CLOCK_MONOTONIC just before its fault into a pipe; the
// parent reads the clock when waitpid() reaps it. Core dumps are off (RLIMIT_CORE 0) in both. Prints one JSON
// object per child kind on stdout: {"program":"crash-to-death","child":"bstest","runs":N,"ms_to_death":median,
// "ms_to_death_p90":...}.
#include <bstest/session.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int g_clock_fd = -1;

__attribute__((noinline)) void fault() {
  std::int64_t now = mono_ns();
  if (::write(g_clock_fd, &now, sizeof now) != static_cast<ssize_t>(sizeof now)) std::_Exit(2);
  int* volatile p = reinterpret_cast<int*>(64);
  *p = 1;
}
__attribute__((noinline)) void rebuild() {
  fault();
  asm volatile("" ::: "memory");
}

[[noreturn]] void child(const std::string& kind, const std::string& dir, int fd) {
  g_clock_fd = fd;
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  if (kind == "bstest") {
    bstest::Config config = bstest::Config::from_env();
    config.dir = dir;
    static bstest::Session session(config);  // never destroyed: the process dies in the test
    bstest::RunInfo run;
    run.framework = "bench";
    session.run_started(run);
    bstest::TestInfo t;
    t.suite = "Bench";
    t.name = "Crash";
    t.full_name = "Bench.Crash";
    t.file = "bench/crash_to_death.cpp";
    t.line = 1;
    session.test_started(t);
  }
  rebuild();
  std::_Exit(3);  // not reached
}

// One child's time from its fault to its death, in ms; < 0 when it did not die of SIGSEGV.
double one_run(const char* self, const std::string& kind, const std::string& dir) {
  int p[2];
  if (::pipe(p) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string fd = std::to_string(p[1]);
    ::execl(self, self, "--child", kind.c_str(), dir.c_str(), fd.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(p[1]);
  std::int64_t fault_ns = 0;
  bool got = ::read(p[0], &fault_ns, sizeof fault_ns) == static_cast<ssize_t>(sizeof fault_ns);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::int64_t dead_ns = mono_ns();
  ::close(p[0]);
  if (!got || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV) return -1;
  return static_cast<double>(dead_ns - fault_ns) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "--child") == 0) child(argv[2], argv[3], std::atoi(argv[4]));
  std::string dir;
  int runs = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: crash-to-death --dir DIR [--runs N]\n");
    return 2;
  }
  ::unsetenv("BETTERSTACK_SOURCE_TOKEN");
  ::unsetenv("BETTERSTACK_ERRORS_DSN");
  ::unsetenv("BETTERSTACK_UPTIME_HEARTBEAT_URL");
  int failed = 0;
  for (const std::string kind : {"bare", "bstest"}) {
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      double t = one_run(argv[0], kind, dir);
      if (t < 0) {
        ++failed;
        continue;
      }
      ms.push_back(t);
    }
    if (ms.empty()) continue;
    std::sort(ms.begin(), ms.end());
    std::printf("{\"program\":\"crash-to-death\",\"child\":\"%s\",\"runs\":%zu,\"ms_to_death\":%.3f,"
                "\"ms_to_death_p90\":%.3f}\n",
                kind.c_str(), ms.size(), ms[ms.size() / 2], ms[ms.size() * 9 / 10]);
  }
  return failed == 0 ? 0 : 1;
}
