// A GoogleTest program linked as many users link theirs (bstest-gtest-auto with gtest_main) whose exit
// status can differ from what its main returned, for the tests of when `bstest run` may forgive a failing
// exit code:
//
//   EXIT_FIXTURE_AFTER=exit23  after main returned, an exit handler ends the process with _exit(23), as
//                              LeakSanitizer does (its check is registered before main, so it runs after
//                              every handler registered later, bstest's included)
//   EXIT_FIXTURE_AFTER=segv    a static object's destructor crashes after the tests
//
// Suite.FlakyOnce fails on the first attempt only (BSTEST_ATTEMPT); Suite.Passes passes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

int attempt() {
  const char* a = std::getenv("BSTEST_ATTEMPT");
  return a != nullptr ? std::atoi(a) : 1;
}

bool after_is(const char* what) {
  const char* a = std::getenv("EXIT_FIXTURE_AFTER");
  return a != nullptr && std::strcmp(a, what) == 0;
}

const bool g_exit_handler = [] {
  std::atexit([] {
    if (after_is("exit23")) ::_exit(23);
  });
  return true;
}();

struct CrashesWhenDestroyed {
  ~CrashesWhenDestroyed() {
    if (after_is("segv")) {
      volatile int* volatile p = nullptr;
      *p = 1;
    }
  }
} g_crashes_when_destroyed;

}  // namespace

TEST(Suite, Passes) { EXPECT_TRUE(g_exit_handler); }

TEST(Suite, FlakyOnce) { EXPECT_GT(attempt(), 1) << "only the first attempt fails"; }
