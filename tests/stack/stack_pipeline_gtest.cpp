// A GoogleTest program that reports to bstest (the provided main: re-runs, verdicts) and crashes, throws and
// hangs three calls deep: TestBody -> rebuild() -> corrupt_index() (stack_fixture_calls.hpp). Each case runs
// only when selected with --gtest_filter; the attempt a re-run carries (BSTEST_ATTEMPT) decides what the
// flaky ones do. The pipeline tests (stack_pipeline_test.cpp) check the frames that reach Better Stack.
#include "stack_fixture_calls.hpp"

#include <gtest/gtest.h>

#include <sys/prctl.h>

#include <cstdlib>

namespace {

int attempt() {
  const char* a = std::getenv("BSTEST_ATTEMPT");
  return a != nullptr ? std::atoi(a) : 1;
}

// When $STACK_CRASH_AT_EXIT is set: crashes three calls deep in its destructor, after the run finished.
struct CrashesAtExit {
  ~CrashesAtExit() {
    if (std::getenv("STACK_CRASH_AT_EXIT") == nullptr) return;
    Index index;
    rebuild(index, Mode::crash);  // STACK-LINE: pipeline-gtest-exit
  }
} g_crashes_at_exit;

// $STACK_NOT_DUMPABLE=1: no process of its user may ptrace it (its hang's stacks are refused).
const bool g_not_dumpable = [] {
  const char* v = std::getenv("STACK_NOT_DUMPABLE");
  return v != nullptr && v[0] == '1' && ::prctl(PR_SET_DUMPABLE, 0) == 0;
}();

}  // namespace

TEST(Stacks, Crash) {
  Index index;
  rebuild(index, Mode::crash);  // STACK-LINE: pipeline-gtest-crash
}

TEST(Stacks, Overflow) { EXPECT_EQ(grow_stack(0), 0); }

TEST(Stacks, Throw) {
  Index index;
  rebuild(index, Mode::throws);  // STACK-LINE: pipeline-gtest-throw
}

TEST(Stacks, Hang) {
  Workers workers;
  Index index;
  rebuild(index, Mode::hang);  // STACK-LINE: pipeline-gtest-hang
}

// Fails its first attempt, crashes when it is run again.
TEST(Stacks, CrashesWhenRunAgain) {
  ASSERT_GT(attempt(), 1) << "the first attempt fails";
  Index index;
  rebuild(index, Mode::crash);  // STACK-LINE: pipeline-gtest-rerun
}

// Throws on its first attempt, passes when it is run again.
TEST(Stacks, ThrowsThenPasses) {
  if (attempt() > 1) return;
  Index index;
  rebuild(index, Mode::throws);  // STACK-LINE: pipeline-gtest-flaky-throw
}

// Two failed assertions on its first attempt, one on its second, passes on its third.
TEST(Stacks, FlakyAssertions) {
  EXPECT_GT(attempt(), 1) << "first of two";  // STACK-LINE: pipeline-gtest-flaky-1
  EXPECT_GT(attempt(), 2) << "second of two";  // STACK-LINE: pipeline-gtest-flaky-2
}

// Crashes three calls deep in its suite's set-up, before any of its tests runs.
class CrashingSetUp : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    Index index;
    rebuild(index, Mode::crash);  // STACK-LINE: pipeline-gtest-setup
  }
};
TEST_F(CrashingSetUp, NeverRuns) {}

// Passes; the program then crashes in a static destructor when $STACK_CRASH_AT_EXIT is set.
TEST(Stacks, Passes) {}
