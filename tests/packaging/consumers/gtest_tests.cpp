// Two GoogleTest tests, built by every GoogleTest consumer of the packaging tests (tests/packaging/).
// With CONSUMER_OWN_MAIN the file has its own main that installs the listener (bstest-gtest, bstest::gtest);
// otherwise a main comes from elsewhere (gtest_main next to bstest-gtest-auto, or bstest-gtest-main).
#include <gtest/gtest.h>

#ifdef CONSUMER_OWN_MAIN
#include <bstest/gtest.hpp>
#endif

TEST(Consumer, Adds) { EXPECT_EQ(1 + 1, 2); }
TEST(Consumer, Concatenates) { EXPECT_EQ(std::string("a") + "b", "ab"); }

#ifdef CONSUMER_OWN_MAIN
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::install();
  return RUN_ALL_TESTS();
}
#endif
