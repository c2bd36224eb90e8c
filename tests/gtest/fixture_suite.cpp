// A GoogleTest suite that exercises every case the bstest listener must get right. The reporter tests run
// it (with and without bstest, with GoogleTest's own JSON report as the oracle) and check the records.
//
// Environment switches for the cases that change the whole run:
//   FIXTURE_ENV=nonfatal|fatal|skip|teardown   a global Environment fails (or skips) in SetUp / TearDown
//   FIXTURE_CRASH=segv|abort|exit|throw         Crash.Now crashes that way (throw: with --gtest_catch_exceptions=0)
//   FIXTURE_ONLY_PASSING=1                      the failing cases pass (for exit-code-0 runs)
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#ifndef FIXTURE_OWN_MAIN
#define FIXTURE_OWN_MAIN 0
#endif
#if FIXTURE_OWN_MAIN
#include <bstest/gtest.hpp>
#endif

namespace {

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}
bool failing() { return !env_is("FIXTURE_ONLY_PASSING", "1"); }

class GlobalEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    if (env_is("FIXTURE_ENV", "nonfatal")) ADD_FAILURE() << "global set-up failed softly";
    if (env_is("FIXTURE_ENV", "fatal")) FAIL() << "global set-up failed hard";
    if (env_is("FIXTURE_ENV", "skip")) GTEST_SKIP() << "no database in this environment";
  }
  void TearDown() override {
    if (env_is("FIXTURE_ENV", "teardown")) ADD_FAILURE() << "global tear-down failed";
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

class SetUpFails : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (failing()) FAIL() << "suite resource unavailable";
  }
};
TEST_F(SetUpFails, First) {}
TEST_F(SetUpFails, Second) {}

class TearDownFails : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    if (failing()) ADD_FAILURE() << "suite cleanup failed";
  }
};
TEST_F(TearDownFails, Only) {}

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

class Param : public ::testing::TestWithParam<int> {};
TEST_P(Param, IsSmall) { EXPECT_LT(GetParam(), failing() ? 3 : 100); }
INSTANTIATE_TEST_SUITE_P(Values, Param, ::testing::Values(1, 2, 5));

TEST(DeathTest, Dies) { EXPECT_DEATH(std::abort(), ""); }
TEST(DeathTest, ExitsZero) { EXPECT_EXIT(std::exit(0), ::testing::ExitedWithCode(0), ""); }

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
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::install();
  return RUN_ALL_TESTS();
}
#endif
