// crash-stack-cost: what taking a crash's stack snapshot adds to a crash, in the signal handler.
//
//   crash-stack-cost [--captures N]
//
// A handler for SIGUSR1 (on an alternate stack, as bstest's crash handler runs) takes the snapshot of the
// interrupted thread (stack/capture.hpp: registers, up to 32 KiB of stack read safely, the module list with
// build-ids) into a static buffer. The main thread raises the signal N times (default 2,000) from three calls
// deep, timing each round trip, and the same N times with a handler that takes nothing. Prints
// {"captures":N,"ns_per_capture":median,"ns_per_capture_p99":...,"line_bytes":...} on stdout: the
// difference to the empty handler is what a crash costs more before the process dies.
#include "stack/capture.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace stack = bstest::detail::stack;

namespace {

char g_line[stack::kCrashLineCapacity];
std::size_t g_size = 0;
bool g_capture = true;

void on_signal(int signo, siginfo_t*, void* ucontext) {
  if (g_capture) g_size = stack::write_crash_stack(g_line, sizeof g_line, signo, ucontext);
}

__attribute__((noinline)) void crash_here() {
  ::raise(SIGUSR1);
  asm volatile("" ::: "memory");
}
__attribute__((noinline)) void rebuild() {
  crash_here();
  asm volatile("" ::: "memory");
}

std::vector<double> round_trips(int n) {
  std::vector<double> ns;
  for (int i = 0; i < n; ++i) {
    auto start = std::chrono::steady_clock::now();
    rebuild();
    ns.push_back(static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count()));
  }
  std::sort(ns.begin(), ns.end());
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 2000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--captures") == 0) n = std::atoi(argv[i + 1]);
  }
  static char alt[64 << 10];
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = sizeof alt;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGUSR1, &sa, nullptr);
  g_capture = false;
  std::vector<double> bare = round_trips(n);
  g_capture = true;
  std::vector<double> with = round_trips(n);
  std::printf("{\"captures\":%d,\"ns_per_capture\":%.0f,\"ns_per_capture_p99\":%.0f,\"ns_per_empty_handler\":%.0f,"
              "\"line_bytes\":%zu}\n",
              n, with[with.size() / 2], with[with.size() * 99 / 100], bare[bare.size() / 2], g_size);
  return g_size > 0 ? 0 : 1;
}
