// A suite of trivial GoogleTest tests: one value-parameterized test over Range(0, N), so the whole suite
// is one small translation unit, compiled once for every size.
//
// Environment (read when GoogleTest registers the tests, after main starts):
//   BENCH_TESTS=N           the number of tests (default 1000)
//   BENCH_TEST_SLEEP_US=N   each test sleeps N microseconds first (the long runs that measure how soon
//                           records reach the server while tests are still running)
//   BENCH_FAIL_EVERY=N      every Nth test fails, with a message (the report of a run with failures)
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace {

int bench_tests() {
  const char* v = std::getenv("BENCH_TESTS");
  int n = v != nullptr ? std::atoi(v) : 1000;
  return n > 0 ? n : 1000;
}

long sleep_us() {
  static const long us = [] {
    const char* v = std::getenv("BENCH_TEST_SLEEP_US");
    return v != nullptr ? std::atol(v) : 0L;
  }();
  return us;
}

int fail_every() {
  static const int n = [] {
    const char* v = std::getenv("BENCH_FAIL_EVERY");
    return v != nullptr ? std::atoi(v) : 0;
  }();
  return n;
}

class Trivial : public ::testing::TestWithParam<int> {};

TEST_P(Trivial, Pass) {
  if (long us = sleep_us(); us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
  EXPECT_GE(GetParam(), 0);
  if (int every = fail_every(); every > 0 && GetParam() % every == every - 1) {
    ADD_FAILURE() << "test " << GetParam() << " fails on purpose (BENCH_FAIL_EVERY=" << every << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Bench, Trivial, ::testing::Range(0, bench_tests()));

}  // namespace
