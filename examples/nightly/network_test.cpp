// Part of the nightly example suite: URL parsing tests with GoogleTest's own gtest_main, reported by linking
// bstest-gtest-auto (registers itself; no code).
#include <gtest/gtest.h>

#include <string>

namespace {

struct Url {
  std::string scheme, host, path;
};

bool parse(const std::string& text, Url& out) {
  auto sep = text.find("://");
  if (sep == std::string::npos) return false;
  out.scheme = text.substr(0, sep);
  auto rest = text.substr(sep + 3);
  auto slash = rest.find('/');
  out.host = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  return !out.host.empty();
}

}  // namespace

TEST(UrlParse, SchemeHostPath) {
  Url u;
  ASSERT_TRUE(parse("https://example.com/a/b", u));
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.path, "/a/b");
}

TEST(UrlParse, DefaultPath) {
  Url u;
  ASSERT_TRUE(parse("http://h", u));
  EXPECT_EQ(u.path, "/");
}

TEST(UrlParse, RejectsNoScheme) {
  Url u;
  EXPECT_FALSE(parse("example.com", u));
}

class UrlSchemes : public ::testing::TestWithParam<const char*> {};
TEST_P(UrlSchemes, Parses) {
  Url u;
  EXPECT_TRUE(parse(std::string(GetParam()) + "://host/x", u));
  EXPECT_EQ(u.scheme, GetParam());
}
INSTANTIATE_TEST_SUITE_P(Common, UrlSchemes, ::testing::Values("http", "https", "ftp"));
