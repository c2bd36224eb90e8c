// BENCH_TESTS (environment, default 1000) trivial Catch2 3.x test cases, registered at start-up in a loop
// (REGISTER_TEST_CASE), so the suite is one small translation unit, compiled once for every size. Linked
// with Catch2's own main or with bstest-catch2-main.
#include <catch2/catch_test_macros.hpp>

#include <cstdlib>
#include <deque>
#include <string>

namespace {

volatile int g_value = 1;

void trivial() { CHECK(g_value >= 0); }

// Test case names must stay alive as long as the registry refers to them.
std::deque<std::string>& names() {
  static std::deque<std::string> n;
  return n;
}

const bool registered = [] {
  const char* v = std::getenv("BENCH_TESTS");
  int n = v != nullptr ? std::atoi(v) : 1000;
  if (n <= 0) n = 1000;
  for (int i = 0; i < n; ++i) {
    names().push_back("Trivial " + std::to_string(i));
    REGISTER_TEST_CASE(trivial, names().back());
  }
  return true;
}();

}  // namespace
