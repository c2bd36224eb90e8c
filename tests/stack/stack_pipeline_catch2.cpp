// The Catch2 (v2 and v3) twin of stack_pipeline_gtest.cpp, with the provided main (bstest-catch2-main): test
// cases that crash, throw and hang three calls deep (the test case's function -> rebuild() ->
// corrupt_index()). Hidden: each runs only when selected by name.
#include "stack_fixture_calls.hpp"

#if BSTEST_CATCH2_MAJOR == 2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#endif

#include <cstdlib>

namespace {
int attempt() {
  const char* a = std::getenv("BSTEST_ATTEMPT");
  return a != nullptr ? std::atoi(a) : 1;
}
}  // namespace

TEST_CASE("crash", "[.]") {
  Index index;
  rebuild(index, Mode::crash);  // STACK-LINE: pipeline-catch2-crash
}

TEST_CASE("overflow", "[.]") { CHECK(grow_stack(0) == 0); }

TEST_CASE("throw", "[.]") {
  Index index;
  rebuild(index, Mode::throws);  // STACK-LINE: pipeline-catch2-throw
}

TEST_CASE("hang", "[.]") {
  Workers workers;
  Index index;
  rebuild(index, Mode::hang);  // STACK-LINE: pipeline-catch2-hang
}

TEST_CASE("crashes when run again", "[.]") {
  REQUIRE(attempt() > 1);
  Index index;
  rebuild(index, Mode::crash);  // STACK-LINE: pipeline-catch2-rerun
}
