// Two Catch2 test cases, built by the Catch2 consumers of the packaging tests, with Catch2 2.x or 3.x
// (whichever is on the include path: 3.x has <catch2/catch_test_macros.hpp>). bstest-catch2-main provides
// main; next to bstest-catch2, Catch2 does: 3.x through Catch2WithMain, 2.x through this file when it is
// compiled with CONSUMER_OWN_MAIN (CATCH_CONFIG_MAIN).
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_test_macros.hpp>
#else
#ifdef CONSUMER_OWN_MAIN
#define CATCH_CONFIG_MAIN
#endif
#include <catch2/catch.hpp>
#endif

#include <string>

TEST_CASE("Consumer adds", "[consumer]") { CHECK(1 + 1 == 2); }
TEST_CASE("Consumer concatenates", "[consumer]") { CHECK(std::string("a") + "b" == "ab"); }
