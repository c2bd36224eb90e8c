// Two Catch2 test cases (Catch2 v2 or v3: CONSUMER_CATCH2_MAJOR), built by the Catch2 consumers of the
// packaging tests. With CONSUMER_OWN_MAIN the file brings Catch2's own main (v2: CATCH_CONFIG_MAIN; v3 links
// Catch2WithMain instead) next to bstest-catch2; otherwise bstest-catch2-main provides main.
#if CONSUMER_CATCH2_MAJOR == 2
#ifdef CONSUMER_OWN_MAIN
#define CATCH_CONFIG_MAIN
#endif
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#endif

#include <string>

TEST_CASE("Consumer adds", "[consumer]") { CHECK(1 + 1 == 2); }
TEST_CASE("Consumer concatenates", "[consumer]") { CHECK(std::string("a") + "b" == "ab"); }
