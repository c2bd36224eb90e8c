// A GoogleTest suite that exercises every case the bstest listener must get right. The reporter tests run
// it (with and without bstest, with GoogleTest's own JSON report as the oracle) and check the records.
//
// Environment switches for the cases that change the whole run:
//   FIXTURE_ENV=nonfatal|fatal|skip|teardown|teardown_skip
//                                  a global Environment fails (or skips) in SetUp / TearDown
//   FIXTURE_CRASH=segv|abort|exit|throw|overflow
//                                  Crash.Now crashes that way (throw: with --gtest_catch_exceptions=0;
//                                  overflow: a stack overflow, so a handler needs an alternate stack)
//   FIXTURE_ONLY_PASSING=1         the failing cases pass (for exit-code-0 runs)
//   FIXTURE_THREADS=1              Threads.ManyFailAtOnce and the worker Threads.LeavesAWorkerBehind leaves
//                                  to fail during the next test (not with --gtest_shuffle)
//   FIXTURE_TIMING=1               Timing.Sleeps sleeps 60 ms, its TearDownTestSuite 1 s
// Own main only (FIXTURE_OWN_MAIN; FIXTURE_NO_BSTEST builds the same program without bstest):
//   a leak-checking listener appended before bstest's fails Listen.Leaky* in its OnTestEnd and
//   Listen.FlaggedAtStart in its OnTestStart;
//   FIXTURE_PRE_RUN=nonfatal|fatal an assertion fails before RUN_ALL_TESTS
//   FIXTURE_OWN_HANDLER=1          the program's own SIGSEGV handler (installed before RUN_ALL_TESTS) says
//                                  so on stderr and exits with 42
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef FIXTURE_OWN_MAIN
#define FIXTURE_OWN_MAIN 0
#endif
#ifndef FIXTURE_NO_BSTEST
#define FIXTURE_NO_BSTEST 0
#endif
#if FIXTURE_OWN_MAIN
#include <signal.h>
#include <unistd.h>
#if !FIXTURE_NO_BSTEST
#include <bstest/gtest.hpp>
#endif
#endif

namespace {

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}
bool failing() { return !env_is("FIXTURE_ONLY_PASSING", "1"); }
bool threads_mode() { return env_is("FIXTURE_THREADS", "1"); }
bool timing_mode() { return env_is("FIXTURE_TIMING", "1"); }

class GlobalEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    ::testing::Test::RecordProperty("build", "nightly-7");  // a property of the whole run
    if (env_is("FIXTURE_ENV", "nonfatal")) ADD_FAILURE() << "global set-up failed softly";
    if (env_is("FIXTURE_ENV", "fatal")) FAIL() << "global set-up failed hard";
    if (env_is("FIXTURE_ENV", "skip")) GTEST_SKIP() << "no database in this environment";
  }
  void TearDown() override {
    if (env_is("FIXTURE_ENV", "teardown")) ADD_FAILURE() << "global tear-down failed";
    if (env_is("FIXTURE_ENV", "teardown_skip")) GTEST_SKIP() << "no cleanup in this environment";
  }
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new GlobalEnv);

}  // namespace

TEST(Basic, Passes) { EXPECT_EQ(2 + 2, 4); }

TEST(Basic, FailsWithMessage) {
  int a = 1, b = failing() ? 2 : 1;
  EXPECT_EQ(a, b) << "values differ";
}

TEST(Basic, TwoFailuresAndATrace) {
  if (!failing()) return;
  {
    SCOPED_TRACE("checking the second half");
    EXPECT_TRUE(false) << "first";
  }
  ASSERT_FALSE(true) << "second, fatal";
  ADD_FAILURE() << "never reached";
}

TEST(Basic, RecordsProperties) {
  RecordProperty("ticket", "BUG-42");
  RecordProperty("size", "7");
}

TEST(Basic, SkipsWithReason) { GTEST_SKIP() << "needs a GPU"; }

TEST(Basic, ThrowsStdException) {
  if (failing()) throw std::runtime_error("disk full");
}

TEST(Basic, ThrowsSomethingElse) {
  if (failing()) throw 42;
}

TEST(Basic, DISABLED_NotReady) { FAIL() << "disabled tests never run"; }

TEST(DISABLED_WholeSuite, One) {}
TEST(DISABLED_WholeSuite, Two) {}

TEST(Threads, FailsOnAnotherThread) {
  std::thread t([] {
    if (failing()) ADD_FAILURE() << "from a worker thread";
  });
  t.join();
}

TEST(Threads, NextTestIsClean) { SUCCEED(); }

TEST(Threads, ManyFailAtOnce) {
  if (!threads_mode()) return;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([w] {
      for (int i = 0; i < 10; ++i) ADD_FAILURE() << "worker " << w << " failure " << i;
    });
  }
  for (auto& t : workers) t.join();
}

namespace {
std::thread g_late_worker;
std::atomic<bool> g_late_go{false};
}  // namespace

// The worker outlives its test: GoogleTest gives its failure to whatever test is running then.
TEST(Threads, LeavesAWorkerBehind) {
  if (!threads_mode()) return;
  g_late_go = false;
  g_late_worker = std::thread([] {
    while (!g_late_go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ADD_FAILURE() << "from a worker the previous test left behind";
  });
}

TEST(Threads, WorkerFailsLate) {
  if (!g_late_worker.joinable()) return;
  g_late_go = true;
  g_late_worker.join();
}

class SetUpFails : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (failing()) FAIL() << "suite resource unavailable";
  }
};
TEST_F(SetUpFails, First) {}
TEST_F(SetUpFails, Second) {}
TEST_F(SetUpFails, DISABLED_Later) {}

class TearDownFails : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    if (failing()) ADD_FAILURE() << "suite cleanup failed";
  }
};
TEST_F(TearDownFails, Only) {}

class TearDownSkips : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { GTEST_SKIP() << "cleanup skipped: nothing was created"; }
};
TEST_F(TearDownSkips, Only) {}

// Properties of the suite (and of the run, from the global Environment) apply to each of its tests; a
// test's own value for the same key wins.
class Props : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RecordProperty("owner", "storage-team");
    RecordProperty("build", "suite-build-3");
  }
};
TEST_F(Props, Own) {
  RecordProperty("ticket", "BUG-9");
  RecordProperty("owner", "me");
}
TEST_F(Props, Inherits) {}

// With the leak checker of the own main: failures that a listener adds around the test.
class Listen : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    if (failing()) ADD_FAILURE() << "listen cleanup failed";
  }
};
TEST_F(Listen, Leaky) {}
TEST_F(Listen, FlaggedAtStart) {}
TEST_F(Listen, LeakyLast) {}

class Timing : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    if (timing_mode()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
};
TEST_F(Timing, Sleeps) {
  if (timing_mode()) std::this_thread::sleep_for(std::chrono::milliseconds(60));
}

template <typename T>
class Typed : public ::testing::Test {};
using TypedTypes = ::testing::Types<int, double>;
// Names as GoogleTest's default (0, 1), given explicitly: the macro's empty variadic form is not pedantic C++.
struct TypeIndexNames {
  template <typename T>
  static std::string GetName(int i) {
    return std::to_string(i);
  }
};
TYPED_TEST_SUITE(Typed, TypedTypes, TypeIndexNames);
TYPED_TEST(Typed, DefaultIsZero) { EXPECT_EQ(TypeParam(), TypeParam(0)); }

// Type-parameterized suites instantiated so that GoogleTest disables them by name, as its own gtest_unittest
// does: a DISABLED_ prefix on the instantiation (DISABLED_My/TypedTestP/0) or on the suite
// (My/DISABLED_TypedTestP/0). GoogleTest reports each as not run.
template <typename T>
class TypedTestP : public ::testing::Test {};
TYPED_TEST_SUITE_P(TypedTestP);
TYPED_TEST_P(TypedTestP, ShouldNotRun) { FAIL() << "disabled by its instantiation's name"; }
REGISTER_TYPED_TEST_SUITE_P(TypedTestP, ShouldNotRun);
INSTANTIATE_TYPED_TEST_SUITE_P(DISABLED_My, TypedTestP, TypedTypes, TypeIndexNames);

template <typename T>
class DISABLED_TypedTestP : public ::testing::Test {};
TYPED_TEST_SUITE_P(DISABLED_TypedTestP);
TYPED_TEST_P(DISABLED_TypedTestP, ShouldNotRun) { FAIL() << "disabled by its suite's name"; }
REGISTER_TYPED_TEST_SUITE_P(DISABLED_TypedTestP, ShouldNotRun);
INSTANTIATE_TYPED_TEST_SUITE_P(My, DISABLED_TypedTestP, TypedTypes, TypeIndexNames);

class Param : public ::testing::TestWithParam<int> {};
TEST_P(Param, IsSmall) { EXPECT_LT(GetParam(), failing() ? 3 : 100); }
INSTANTIATE_TEST_SUITE_P(Values, Param, ::testing::Values(1, 2, 5));

TEST(DeathTest, Dies) { EXPECT_DEATH(std::abort(), ""); }
TEST(DeathTest, ExitsZero) { EXPECT_EXIT(std::exit(0), ::testing::ExitedWithCode(0), ""); }

namespace {
// Deep enough to overflow any stack; the volatile depth keeps it from being folded or called infinite.
int overflow_stack(volatile int* depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(*depth);
  *depth = *depth + 1;
  if (*depth < 0) return frame[0];
  return overflow_stack(depth) + frame[0];
}
}  // namespace

TEST(Crash, Now) {
  const char* how = std::getenv("FIXTURE_CRASH");
  if (how == nullptr) return;
  if (std::strcmp(how, "segv") == 0) {
    volatile int* p = nullptr;
    *p = 7;
  } else if (std::strcmp(how, "abort") == 0) {
    std::abort();
  } else if (std::strcmp(how, "exit") == 0) {
    std::exit(3);
  } else if (std::strcmp(how, "throw") == 0) {
    throw std::logic_error("escaped with exceptions not caught");
  } else if (std::strcmp(how, "overflow") == 0) {
    volatile int depth = 0;
    EXPECT_EQ(overflow_stack(&depth), 0);
  }
}

// FIXTURE_FLAKY=1: flaky and broken tests, decided by the attempt number a re-run carries.
namespace fixture {
struct DatabaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace fixture

namespace {
bool first_attempt() {
  const char* a = std::getenv("BSTEST_ATTEMPT");
  return a == nullptr || std::strcmp(a, "1") == 0;
}
bool flaky_mode() { return env_is("FIXTURE_FLAKY", "1"); }
}  // namespace

TEST(Flaky, PassesOnSecondAttempt) {
  if (flaky_mode()) {
    EXPECT_FALSE(first_attempt()) << "the network was slow";
  }
}
TEST(Flaky, ThrowsOnFirstAttempt) {
  if (flaky_mode() && first_attempt()) throw std::out_of_range("index 7 out of range");
}
TEST(Flaky, AlwaysFails) {
  if (flaky_mode()) {
    EXPECT_EQ(1, 2) << "really broken";
  }
}
TEST(Flaky, AlwaysThrows) {
  if (flaky_mode()) throw fixture::DatabaseError("connection to db-7 refused");
}

TEST(Zz, LastTest) { SUCCEED(); }

#if FIXTURE_OWN_MAIN
namespace {
// Appended before bstest's listener, so it sees OnTestEnd after it (end events go in reverse order).
class LeakChecker : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo& t) override {
    if (failing() && std::strcmp(t.name(), "FlaggedAtStart") == 0) ADD_FAILURE() << "flagged before the test ran";
  }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (failing() && std::strncmp(t.name(), "Leaky", 5) == 0) ADD_FAILURE() << "leaked 64 bytes in " << t.name();
  }
};

extern "C" void own_segv_handler(int) {
  const char msg[] = "fixture: own SIGSEGV handler ran\n";
  ssize_t rc = ::write(2, msg, sizeof msg - 1);
  (void)rc;
  ::_exit(42);
}
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakChecker);
#if !FIXTURE_NO_BSTEST
  bstest::gtest::install();
#endif
  if (env_is("FIXTURE_PRE_RUN", "nonfatal")) ADD_FAILURE() << "checked before RUN_ALL_TESTS";
  if (env_is("FIXTURE_PRE_RUN", "fatal")) [] { FAIL() << "fatal before RUN_ALL_TESTS"; }();
  if (env_is("FIXTURE_OWN_HANDLER", "1")) {
    struct sigaction sa {};
    sa.sa_handler = own_segv_handler;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, nullptr);
  }
  return RUN_ALL_TESTS();
}
#endif
