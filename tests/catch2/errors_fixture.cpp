// Catch2 (v2.13 and v3) cases for the error-event tests (errors_test.cpp). All hidden ([.]): each test
// selects the ones it needs by tag. The attempt number a re-run carries (BSTEST_ATTEMPT) decides whether a
// flaky case fails.
#if BSTEST_CATCH2_MAJOR == 2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#endif

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace fixture {
struct DatabaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace fixture

namespace {
int attempt() {
  const char* a = std::getenv("BSTEST_ATTEMPT");
  return a != nullptr ? std::atoi(a) : 1;
}
}  // namespace

// Fails every time under -w NoAssertions (and passes without it).
TEST_CASE("never asserts", "[.][noassert]") {}

TEST_CASE("throws a typed exception", "[.][exception]") { throw fixture::DatabaseError("connection to db-7 refused"); }

TEST_CASE("throws after a failed check", "[.][exception]") {
  CHECK(1 == 2);
  throw std::invalid_argument("bad input 7");
}

TEST_CASE("flaky once", "[.][flaky]") { CHECK(attempt() > 1); }

TEST_CASE("segfaults", "[.][segv]") {
  volatile int* volatile p = nullptr;
  *p = 7;
}

TEST_CASE("aborts", "[.][abort]") { std::abort(); }

TEST_CASE("exits with zero", "[.][exit]") { std::exit(0); }

// Reads its data from the folder the program started in, then moves away. Flaky: only the first attempt
// fails, so its re-run must start where the program did.
TEST_CASE("reads its data then moves away", "[.][startdir]") {
  std::ifstream data("testdata.txt");
  std::string line;
  std::getline(data, line);
  CHECK(line == "fixture data");
  REQUIRE(::chdir("/") == 0);
  CHECK(attempt() > 1);
}

#if BSTEST_CATCH2_MAJOR == 3
// Test cases of one name, told apart by their tags (v3 runs them; v2 refuses to start).
TEST_CASE("one name", "[.][dup][passes]") { CHECK(attempt() > 0); }
TEST_CASE("one name", "[.][dup][broken]") { CHECK(attempt() == 0); }
TEST_CASE("one name", "[.][dup][once]") { CHECK(attempt() > 1); }
#endif
