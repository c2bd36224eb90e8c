// The record encoder's string rules: escaping, UTF-8 repair, caps, timestamps.
#include "base/clock.hpp"
#include "record/json.hpp"
#include "record/limits.hpp"
#include "record/redactor.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

using bstest::detail::Buf;
using bstest::detail::put_json_string;

namespace {

std::string encode(std::string_view s, std::size_t cap = SIZE_MAX) {
  Buf b;
  put_json_string(b, s, cap);
  return b.str();
}

// Parses `json` (a string literal) back; the round trip must give `expected`.
std::string decode(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  EXPECT_FALSE(d.HasParseError()) << json;
  EXPECT_TRUE(d.IsString()) << json;
  return d.IsString() ? std::string(d.GetString(), d.GetStringLength()) : std::string();
}

TEST(JsonString, PlainAsciiIsCopied) { EXPECT_EQ(encode("Math.Add"), "\"Math.Add\""); }

TEST(JsonString, QuotesBackslashesAndControlsAreEscaped) {
  std::string in = std::string("a\"b\\c\nd\re\tf") + '\x01' + '\x1f' + std::string(1, '\0') + "g";
  std::string out = encode(in);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001\\u001f\\u0000g\"");
  EXPECT_EQ(decode(out), in);
}

// Runs of safe bytes are copied eight at a time: a byte that needs escaping must be seen at every position
// of a word, and next to the bytes just inside the safe range.
TEST(JsonString, EveryByteIsEscapedAtEveryPositionOfAWord) {
  for (int c = 0; c < 256; ++c) {
    for (std::size_t at = 0; at < 17; ++at) {
      std::string in(17, c == ' ' ? '~' : ' ');
      in[at] = static_cast<char>(c);
      std::string out = encode(in);
      bool copied_as_is = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
      if (copied_as_is) {
        EXPECT_EQ(out, '"' + in + '"') << "byte " << c << " at " << at;
      } else if (c < 0x80) {
        EXPECT_EQ(decode(out), in) << "byte " << c << " at " << at;
        EXPECT_EQ(out.size(), in.size() + 2 + (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\b' && c != '\f' ? 5 : 1))
            << "byte " << c << " at " << at << ": " << out;
      } else {
        // A lone byte of 0x80 and above is never valid UTF-8 here: replaced, never copied.
        EXPECT_EQ(decode(out), in.substr(0, at) + "\xEF\xBF\xBD" + in.substr(at + 1)) << "byte " << c << " at " << at;
      }
    }
  }
}

TEST(JsonString, ValidUtf8IsKept) {
  std::string in = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";  // café € 😀
  EXPECT_EQ(decode(encode(in)), in);
}

TEST(JsonString, InvalidUtf8IsReplaced) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(decode(encode("a\xFF" "b")), "a" + fffd + "b");
  EXPECT_EQ(decode(encode("\xC3")), fffd);                         // truncated sequence
  EXPECT_EQ(decode(encode("\xC0\xAF")), fffd + fffd);              // overlong
  EXPECT_EQ(decode(encode("\xED\xA0\x80")), fffd + fffd + fffd);   // UTF-16 surrogate
  EXPECT_EQ(decode(encode("\xF4\x90\x80\x80")), fffd + fffd + fffd + fffd);  // above U+10FFFF
}

TEST(JsonString, CapCutsAtACharacterBoundaryAndSaysSo) {
  std::string in = std::string(10, 'x') + "\xC3\xA9" + std::string(100, 'y');
  std::string out = decode(encode(in, 11));  // the cut would split the é
  EXPECT_EQ(out.substr(0, 10), std::string(10, 'x'));
  EXPECT_EQ(out.find('\xC3'), std::string::npos);
  EXPECT_NE(out.find("[bstest: truncated, kept 10 of 112 bytes]"), std::string::npos) << out;
}

TEST(JsonString, TenMegabytesAreCappedAndStayValid) {
  std::string big(10u << 20, 'm');
  big[12345] = '\0';
  big[23456] = '\xFF';
  std::string out = encode(big, bstest::detail::kMaxMessageBytes);
  EXPECT_LT(out.size(), bstest::detail::kMaxMessageBytes * 2);
  std::string back = decode(out);
  EXPECT_NE(back.find("truncated"), std::string::npos);
}

TEST(Timestamp, Rfc3339WithMicroseconds) {
  char out[bstest::detail::kTimestampLength];
  bstest::detail::format_timestamp(out, 1795626365, 123456);  // 2026-11-25T17:06:05Z
  EXPECT_EQ(std::string(out, sizeof out), "2026-11-25T17:06:05.123456Z");
  bstest::detail::format_timestamp(out, 951782400, 7);  // leap day 2000-02-29
  EXPECT_EQ(std::string(out, sizeof out), "2000-02-29T00:00:00.000007Z");
}

TEST(Timestamp, ParsedBackToTheMicrosecond) {
  using namespace bstest::detail;
  for (std::int64_t s : {0LL, 951782400LL, 1795626365LL, 4102444799LL}) {
    for (long us : {0L, 7L, 123456L, 999999L}) {
      char t[kTimestampLength];
      format_timestamp(t, s, us);
      EXPECT_EQ(parse_timestamp_us(std::string_view(t, sizeof t)), s * 1000000 + us) << std::string(t, sizeof t);
      EXPECT_EQ(parse_timestamp_ms(std::string_view(t, sizeof t)), s * 1000 + us / 1000);
    }
  }
  for (std::string_view bad : {"", "2026-11-25T17:06:05Z", "2026-11-25 17:06:05.123456Z", "2026-13-25T17:06:05.123456Z",
                               "2026-11-25T17:06:05.12345xZ"}) {
    EXPECT_EQ(parse_timestamp_us(bad), -1) << bad;
    EXPECT_EQ(parse_timestamp_ms(bad), -1) << bad;
  }
}

TEST(Timestamp, CacheMatchesTheSlowPath) {
  // The same second again (the cached date and time), the next one, a far one, and back; the microseconds
  // change within a cached second too.
  bstest::detail::TimestampCache cache;
  for (std::int64_t s : {1795626365LL, 1795626365LL, 1795626366LL, 4102444799LL, 1795626365LL}) {
    for (long us : {0L, 7L, 123456L, 999999L}) {
      char cached[bstest::detail::kTimestampLength];
      cache.write(cached, s, us);
      char out[bstest::detail::kTimestampLength];
      bstest::detail::format_timestamp(out, s, us);
      EXPECT_EQ(std::string(cached, sizeof cached), std::string(out, sizeof out)) << s << " " << us;
    }
  }
}

// A record's time from a monotonic reading agrees with the wall clock read beside it, for a reading of now, one
// from a moment ago (a test's start), and across the once-a-second refresh of the clocks' difference.
TEST(Timestamp, WallFromMonoAgreesWithTheWallClock) {
  using namespace bstest::detail;
  auto us_of = [](WallTime t) { return t.seconds * 1000000 + t.microseconds; };
  WallFromMono clock;
  for (int round = 0; round < 2; ++round) {
    if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the refresh
    std::int64_t earlier = mono_now_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::int64_t before = us_of(wall_now());
    std::int64_t now = us_of(clock.at(mono_now_ns()));
    std::int64_t after = us_of(wall_now());
    EXPECT_GE(now, before - 1000) << "round " << round;
    EXPECT_LE(now, after + 1000) << "round " << round;
    std::int64_t then = us_of(clock.at(earlier));
    EXPECT_NEAR(static_cast<double>(now - then), static_cast<double>(mono_now_ns() - earlier) / 1000, 10000);
    EXPECT_GE(now - then, 5000) << "a reading from 5 ms ago is dated 5 ms earlier";
  }
}

TEST(BufNumbers, IntegersAndMilliseconds) {
  Buf b;
  b.put_int(-42);
  b.put(' ');
  b.put_uint(18446744073709551615ull);
  b.put(' ');
  b.put_ms(3.14159);
  b.put(' ');
  b.put_ms(0);
  EXPECT_EQ(b.str(), "-42 18446744073709551615 3.142 0.000");
  // format_ms, which put_ms and a test_finished record use: rounded to the microsecond; negative, NaN and
  // absurd values are 0.
  auto ms = [](double v) {
    char out[bstest::detail::kMaxMsChars];
    return std::string(out, bstest::detail::format_ms(out, v));
  };
  EXPECT_EQ(ms(1.0006), "1.001");
  EXPECT_EQ(ms(0.0004), "0.000");
  EXPECT_EQ(ms(12345.678), "12345.678");
  EXPECT_EQ(ms(1e15), "1000000000000000.000");
  EXPECT_EQ(ms(-1), "0.000");
  EXPECT_EQ(ms(2e15), "0.000");
  EXPECT_EQ(ms(std::nan("")), "0.000");
}

TEST(BufNumbers, EveryLengthOfDecimalAsToStringWritesIt) {
  // Each power of ten and its neighbours (every digit count, both sides of each pair boundary), then a
  // spread of values between them.
  std::vector<std::uint64_t> values = {0, 18446744073709551615ull};
  for (std::uint64_t p = 1; p <= 1000000000000000000ull; p *= 10) {
    values.insert(values.end(), {p - 1, p, p + 1, p * 9 + 9});
  }
  for (std::uint64_t v = 1; v < 18446744073709551615ull / 7; v = v * 7 + 3) values.push_back(v);
  for (std::uint64_t v : values) {
    char out[20];
    std::size_t n = bstest::detail::format_uint(out, v);
    EXPECT_EQ(std::string(out, n), std::to_string(v));
  }
}

TEST(Redactor, ReplacesSecretValuesLongestFirst) {
  bstest::detail::Redactor r;
  r.add("s3cret-token-value");
  r.add("s3cret-token-value-longer");
  r.add("abc");  // too short to redact safely
  std::string out;
  EXPECT_TRUE(r.apply("token=s3cret-token-value-longer, other=s3cret-token-value, abc", out));
  EXPECT_EQ(out, "token=[redacted], other=[redacted], abc");
}

TEST(Redactor, NamesThatLookSecret) {
  using bstest::detail::Redactor;
  EXPECT_TRUE(Redactor::name_looks_secret("BETTERSTACK_SOURCE_TOKEN", {}));
  EXPECT_TRUE(Redactor::name_looks_secret("db_password", {}));
  EXPECT_TRUE(Redactor::name_looks_secret("AWS_SECRET_ACCESS_KEY", {}));
  EXPECT_FALSE(Redactor::name_looks_secret("HOME", {}));
  EXPECT_TRUE(Redactor::name_looks_secret("MY_PRIVATE_THING", {"*private*"}));
}

}  // namespace
