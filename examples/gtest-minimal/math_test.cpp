// A small, realistic GoogleTest suite reported to Better Stack by bstest: a passing test, a failing test,
// a skipped test and a parameterized test. `./dev demo` runs it.
//
// The only bstest code is the install() line in main (link bstest-gtest-main instead to need none).
#include <bstest/gtest.hpp>
#include <gtest/gtest.h>

#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }

double average(const std::vector<double>& v) {
  if (v.empty()) throw std::invalid_argument("average of nothing");
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

TEST(Math, GreatestCommonDivisor) {
  EXPECT_EQ(gcd(12, 18), 6);
  EXPECT_EQ(gcd(7, 13), 1);
}

TEST(Math, AverageOfThree) {
  // Deliberately wrong expectation: this is the failing test of the example.
  EXPECT_DOUBLE_EQ(average({1.0, 2.0, 4.0}), 2.0) << "the mean of 1, 2 and 4 is 7/3";
}

TEST(Math, AverageOfNothingThrows) { EXPECT_THROW(average({}), std::invalid_argument); }

TEST(Network, DownloadsTheDataset) {
  GTEST_SKIP() << "needs network access to the dataset mirror";
}

class Parity : public ::testing::TestWithParam<int> {};

TEST_P(Parity, SquareKeepsParity) {
  int n = GetParam();
  EXPECT_EQ((n * n) % 2, n % 2);
}

INSTANTIATE_TEST_SUITE_P(SmallNumbers, Parity, ::testing::Values(1, 2, 3, 10));

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::install();
  return RUN_ALL_TESTS();
}
