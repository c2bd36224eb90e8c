// The calls of the stack fixtures (stack_fixture.cpp for GoogleTest, stack_fixture_catch2.cpp for Catch2):
// each test body calls rebuild(), which calls corrupt_index(), which crashes, throws or hangs. Included by
// one file of each fixture program. The lines the tests check are marked `STACK-LINE: <name>`.
//
// The fixture takes its own stacks the way bstest's handlers do (stack/capture.hpp), into the file
// $STACK_OUT: its own SIGSEGV handler writes the crash snapshot, then hands the fault on (the previous
// handler, AddressSanitizer's under ASan, sees it as if we were not there); throw stacks are on, and the
// framework's listener writes the throw snapshot when the exception escapes. $STACK_TRACER names a process
// that may ptrace it (prctl PR_SET_PTRACER); $STACK_NOT_DUMPABLE=1 makes it not dumpable.
#pragma once

#include "stack/capture.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

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

class IndexCorrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Mode { crash, throws, hang };

// Its slots point to memory that is long gone (not null: UndefinedBehaviorSanitizer would stop the program
// before the fault).
struct Index {
  int* slots = reinterpret_cast<int*>(64);
  int rebuilds = 0;
};

std::mutex g_mu;
std::condition_variable g_rows;

__attribute__((noinline)) void corrupt_index(Index& index, Mode mode) {
  ++index.rebuilds;
  if (mode == Mode::crash) {
    int* volatile slots = index.slots;
    *slots = 42;  // STACK-LINE: crash
  } else if (mode == Mode::throws) {
    throw IndexCorrupted("slot 7 is gone");  // STACK-LINE: throw
  } else {
    std::printf("READY %d\n", static_cast<int>(::getpid()));
    std::fflush(stdout);
    for (;;) ::usleep(10000);  // STACK-LINE: hang
  }
  asm volatile("" ::: "memory");
}

__attribute__((noinline)) void rebuild(Index& index, Mode mode) {
  corrupt_index(index, mode);  // STACK-LINE: rebuild
  asm volatile("" ::: "memory");  // no tail call: rebuild() stays a frame of its own
}

// Recursion without end: the stack overflows into its guard page.
__attribute__((noinline)) int grow_stack(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth < 0) return 0;
  return grow_stack(depth + 1) + frame[0];  // STACK-LINE: overflow
}

__attribute__((noinline)) void worker_waits_for_rows() {
  std::unique_lock<std::mutex> lock(g_mu);
  g_rows.wait(lock, [] { return false; });  // STACK-LINE: worker
}

// Writes the calling thread's last throw snapshot to $STACK_OUT (from the framework's catch block).
void write_throw_stack() {
  std::string line = stack::throw_stack_line();
  if (!line.empty() && g_out >= 0 && ::write(g_out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "stack_fixture: cannot write the throw stack\n");
  }
}

// Two workers waiting for ever, named (the hang itself says READY on stdout, three calls deep).
struct Workers {
  std::thread a{worker_waits_for_rows};
  std::thread b{worker_waits_for_rows};
  Workers() {
    ::pthread_setname_np(a.native_handle(), "index-worker");
    ::pthread_setname_np(b.native_handle(), "index-worker");
  }
  ~Workers() {
    a.join();
    b.join();
  }
};

// What main does before the tests run.
void set_up_fixture() {
  if (const char* out = std::getenv("STACK_OUT")) g_out = ::open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (const char* tracer = std::getenv("STACK_TRACER")) stack::allow_tracer(static_cast<pid_t>(std::atol(tracer)));
  if (const char* v = std::getenv("STACK_NOT_DUMPABLE"); v != nullptr && v[0] == '1') ::prctl(PR_SET_DUMPABLE, 0);
  install_handler();
  stack::enable_throw_stacks(true);
}

}  // namespace
