// Tests of the GoogleTest wrap's consumer: one GoogleTest test, plus a GoogleMock one with WITH_GMOCK;
// OWN_MAIN brings a main instead of linking gtest_main / gmock_main.
#ifdef WITH_GMOCK
#include <gmock/gmock.h>
#endif
#include <gtest/gtest.h>

#include <string>

TEST(Wrap, Works) { EXPECT_EQ(2 * 21, 42); }

#ifdef WITH_GMOCK
TEST(Wrap, MatchesWithGMock) { EXPECT_THAT(std::string("googletest"), ::testing::StartsWith("google")); }
#endif

#ifdef OWN_MAIN
int main(int argc, char** argv) {
#ifdef WITH_GMOCK
  ::testing::InitGoogleMock(&argc, argv);
#else
  ::testing::InitGoogleTest(&argc, argv);
#endif
  return RUN_ALL_TESTS();
}
#endif
