// A Catch2 suite (v2.13 and v3) that exercises every case the bstest listener must get right. The reporter
// tests run it with Catch2's own XML report as the oracle, and look up the lines they expect by the
// `@name` markers in comments (so this file can change without breaking them).
//
// Hidden test cases run only when selected: [crash] ends the process with SIGSEGV, [hidden] and [slow]
// check that hidden tests appear only when run, [dup] (v3) are two test cases of the same name.
#if BSTEST_CATCH2_MAJOR == 2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#endif

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

int answer() { return 42; }
int throws_runtime_error() { throw std::runtime_error("disk full"); }
void does_not_throw() {}

struct Database {
  int rows = 3;
};

}  // namespace

TEST_CASE("passes", "[fast][math]") {
  CHECK(answer() == 42);
  REQUIRE(answer() > 0);
}

TEST_CASE("check fails with info", "[math]") {
  INFO("computing the answer");
  int x = 1;
  CAPTURE(x);
  CHECK(x == 2);  // @check-x
  CHECK(x == 1);
  REQUIRE(x > 5);  // @require-x
  CHECK(false);    // never reached: REQUIRE stopped the test case
}

TEST_CASE("sections", "[sections]") {
  SECTION("outer") {
    SECTION("inner a") {
      CHECK(1 == 2);  // @inner-a
    }
    SECTION("inner b") {
      CHECK(true);
    }
  }
  SECTION("other") {
    CHECK(2 == 3);  // @other
  }
}

TEST_CASE("generator", "[generators]") {
  auto value = GENERATE(1, 2, 3);
  CAPTURE(value);
  CHECK(value != 2);  // @generator
}

TEST_CASE("sections passing", "[sections]") {
  SECTION("a") { CHECK(true); }
  SECTION("b") { CHECK(true); }
}

#if BSTEST_CATCH2_MAJOR == 3
TEST_CASE("skips", "[skip]") {
  SKIP("not on this platform");  // @skip
}

TEST_CASE("skips one section", "[skip]") {
  SECTION("runs") { CHECK(true); }
  SECTION("skipped") { SKIP("section b needs a GPU"); }
}

TEST_CASE("fails then skips", "[skip]") {
  CHECK(answer() == 41);  // @fail-then-skip
  SKIP("after a failure");
}
#endif

TEST_CASE("may fail and does", "[!mayfail]") {
  CHECK(answer() == 0);  // @mayfail
}

TEST_CASE("may fail and passes", "[!mayfail]") { CHECK(answer() == 42); }

TEST_CASE("should fail and does", "[!shouldfail]") {
  REQUIRE(answer() == 1);  // @shouldfail
}

TEST_CASE("should fail but passes", "[!shouldfail]") {  // @shouldfail-passes
  CHECK(answer() == 42);
}

TEST_CASE("hidden", "[.][hidden]") { CHECK(true); }

TEST_CASE("hidden by tag", "[.slow]") {
  CHECK(answer() == 43);  // @hidden-fails
}

TEST_CASE("throws", "[exceptions]") {  // @throws
  CHECK(answer() == 42);                // @throws-last-check
  throws_runtime_error();
}

TEST_CASE("throws in a section", "[exceptions]") {
  SECTION("loading") {
    throws_runtime_error();
  }
}

TEST_CASE("check throws", "[exceptions]") {
  CHECK(throws_runtime_error() == 1);  // @check-throws
  CHECK(true);
}

TEST_CASE("require throws but does not", "[exceptions]") {
  REQUIRE_THROWS(does_not_throw());  // @require-throws
}

TEST_CASE("explicit fail", "[explicit]") {
  FAIL_CHECK("soft failure");  // @fail-check
  FAIL("gave up");             // @fail
}

TEST_CASE("nofail", "[explicit]") {
  CHECK_NOFAIL(answer() == 7);  // @nofail
}

TEST_CASE("warns", "[explicit]") { WARN("just saying"); }

TEST_CASE_METHOD(Database, "database rows", "[db]") {
  CHECK(rows == 4);  // @rows
}

TEST_CASE("name, with [brackets] and \"quotes\" \xC3\xA9", "[names]") {
  std::string s = "tab\tand \"quote\"";
  CHECK(s == "x");  // @quoted
}

// Long enough for its duration to be measured, not noise.
TEST_CASE("takes a while", "[timed]") {
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(answer() == 42);
}

#if BSTEST_CATCH2_MAJOR == 3
// v3 accepts two test cases of the same name when their tags (or class) differ; v2 refuses to start.
TEST_CASE("same name", "[.][dup][linux]") { CHECK(answer() == 42); }
TEST_CASE("same name", "[.][dup][windows]") {
  CHECK(answer() == 7);  // @dup-fails
}
#endif

// Hidden: selected by the re-run tests only. They fail on the first attempt (BSTEST_ATTEMPT unset or 1).
namespace {
bool first_attempt() {
  const char* a = std::getenv("BSTEST_ATTEMPT");
  return a == nullptr || std::string(a) == "1";
}
}  // namespace
TEST_CASE("flaky, passes when run again", "[.][flaky]") { CHECK_FALSE(first_attempt()); }
TEST_CASE("flaky, with a comma, [brackets] and \\ in its name", "[.][flaky]") { CHECK_FALSE(first_attempt()); }
TEST_CASE("broken every time", "[.][broken]") { CHECK(1 == 2); }

TEST_CASE("crashes", "[.][crash]") {
  INFO("about to crash");
  CHECK(answer() == 1);  // @before-crash
  std::raise(SIGSEGV);
}
