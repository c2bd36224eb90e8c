// How the phase-1 fixtures (stack_fixture.cpp, stack_fixture_catch2.cpp) take their stacks themselves, the way
// bstest's handlers do (stack/capture.hpp), into the file $STACK_OUT: their own SIGSEGV handler writes the
// crash snapshot, then hands the fault on (the previous handler, AddressSanitizer's under ASan, sees it as if
// we were not there); throw stacks are on, and the framework's listener writes the throw snapshot when the
// exception escapes. $STACK_TRACER names a process that may ptrace it (prctl PR_SET_PTRACER);
// $STACK_NOT_DUMPABLE=1 makes it not dumpable.
#pragma once

#include "stack/capture.hpp"
#include "stack_fixture_calls.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace stack = bstest::detail::stack;

namespace {

int g_out = -1;
struct sigaction g_previous;
char g_line[stack::kCrashLineCapacity];

void on_segv(int signo, siginfo_t*, void* ucontext) {
  std::size_t n = stack::write_crash_stack(g_line, sizeof g_line, signo, ucontext);
  if (n > 0 && g_out >= 0 && ::write(g_out, g_line, n) != static_cast<ssize_t>(n)) ::_exit(3);
  // Return with the previous disposition back: the instruction faults again and it sees the true fault.
  ::sigaction(signo, &g_previous, nullptr);
}

void install_handler() {
  static char alt[64 << 10];
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = sizeof alt;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGSEGV, &sa, &g_previous);
}

// Writes the calling thread's last throw snapshot to $STACK_OUT (from the framework's catch block).
void write_throw_stack() {
  std::string line = stack::throw_stack_line();
  if (!line.empty() && g_out >= 0 && ::write(g_out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "stack_fixture: cannot write the throw stack\n");
  }
}

// What main does before the tests run.
void set_up_fixture() {
  if (const char* out = std::getenv("STACK_OUT")) g_out = ::open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (const char* tracer = std::getenv("STACK_TRACER")) stack::allow_tracer(static_cast<pid_t>(std::atol(tracer)));
  if (const char* v = std::getenv("STACK_NOT_DUMPABLE"); v != nullptr && v[0] == '1') ::prctl(PR_SET_DUMPABLE, 0);
  install_handler();
  stack::enable_throw_stacks(true);
}

}  // namespace
