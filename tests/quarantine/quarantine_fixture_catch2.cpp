// A Catch2 program (v2.13 or v3) for the quarantine's end-to-end tests (quarantine_run_test.cpp), linked with
// bstest-catch2-main: a test case tagged [network] that always fails, one that passes, and one that crashes
// when asked (QFIX_CRASH=1).
#include <bstest/catch2.hpp>

#if BSTEST_CATCH2_MAJOR == 2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#endif

#include <csignal>
#include <cstdlib>
#include <cstring>

TEST_CASE("download resumes", "[network]") { CHECK(1 == 2); }

TEST_CASE("parses unicode", "[parser]") { CHECK(2 == 2); }

TEST_CASE("crashes when asked", "[crash]") {
  const char* v = std::getenv("QFIX_CRASH");
  if (v != nullptr && std::strcmp(v, "1") == 0) std::raise(SIGSEGV);
  CHECK(true);
}
