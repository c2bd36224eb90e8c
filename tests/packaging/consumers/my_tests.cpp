// Two GoogleTest tests, built by every GoogleTest consumer of the packaging tests (tests/packaging/): with
// gtest_own_main.cpp next to bstest-gtest (bstest::gtest), with gtest_main next to bstest-gtest-auto, or
// alone with bstest-gtest-main. The documentation calls the user's file my_tests.cpp; this is it.
#include <gtest/gtest.h>

#include <string>

TEST(Consumer, Adds) { EXPECT_EQ(1 + 1, 2); }
TEST(Consumer, Concatenates) { EXPECT_EQ(std::string("a") + "b", "ab"); }
