// bstest-gtest-main: a main() for GoogleTest programs that reports to Better Stack. Link it instead of
// gtest_main.
#include <bstest/gtest.hpp>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::install();
  return RUN_ALL_TESTS();
}
