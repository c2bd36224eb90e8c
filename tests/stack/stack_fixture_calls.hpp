// The calls of the stack fixtures: each test body calls rebuild(), which calls corrupt_index(), which crashes,
// throws or hangs. Included by one file of each fixture program: stack_fixture.cpp and
// stack_fixture_catch2.cpp (which take their stacks themselves, stack_fixture_capture.hpp), and
// stack_pipeline_gtest.cpp and stack_pipeline_catch2.cpp (which report to bstest). The lines the tests
// check are marked `STACK-LINE: <name>`.
#pragma once

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

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
bool g_stopped = false;  // under g_mu

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
    // Until the file $STACK_RELEASE names exists (for ever without it).
    const char* release = std::getenv("STACK_RELEASE");
    struct stat st {};
    while (release == nullptr || ::stat(release, &st) != 0) ::usleep(10000);  // STACK-LINE: hang
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
  g_rows.wait(lock, [] { return g_stopped; });  // STACK-LINE: worker
}

// Two workers waiting until the test ends, named (the hang itself says READY on stdout, three calls deep).
struct Workers {
  std::thread a{worker_waits_for_rows};
  std::thread b{worker_waits_for_rows};
  Workers() {
    ::pthread_setname_np(a.native_handle(), "index-worker");
    ::pthread_setname_np(b.native_handle(), "index-worker");
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(g_mu);
      g_stopped = true;
    }
    g_rows.notify_all();
    a.join();
    b.join();
  }
};

}  // namespace
