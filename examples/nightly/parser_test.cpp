// Part of the nightly example suite: a Catch2 test program (v2 or v3), reported with bstest-catch2-main (no
// bstest code: linking the main registers the listener and re-runs failures).
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <cctype>
#include <string>
#include <vector>

namespace {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!current.empty()) words.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) words.push_back(current);
  return words;
}

}  // namespace

TEST_CASE("splitting text into words", "[parser]") {
  SECTION("single spaces") { CHECK(split_words("a b c") == std::vector<std::string>{"a", "b", "c"}); }
  SECTION("runs of whitespace") { CHECK(split_words("  a \t b\n") == std::vector<std::string>{"a", "b"}); }
  SECTION("nothing") { CHECK(split_words("").empty()); }
}

TEST_CASE("words keep their punctuation", "[parser]") {
  auto words = split_words("hello, world!");
  REQUIRE(words.size() == 2);
  CHECK(words[0] == "hello,");
  CHECK(words[1] == "world!");
}
