// The user's own main of README.md's GoogleTest quick start (way 1), linked with my_tests.cpp and
// bstest-gtest (bstest::gtest) by the packaging tests. README.md shows the lines below as they are here.

#include <bstest/gtest.hpp>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::install();
  return RUN_ALL_TESTS();
}
