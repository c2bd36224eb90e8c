#include "record/json.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace bstest::detail {

bool Buf::grow(std::size_t extra) {
  if (fixed_) {
    overflow_ = true;
    return false;
  }
  std::size_t want = std::max<std::size_t>(size_ + extra, capacity_ * 2);
  want = std::max<std::size_t>(want, 256);
  std::unique_ptr<char[]> bigger(new char[want]);
  if (size_ != 0) std::memcpy(bigger.get(), data_, size_);
  owned_ = std::move(bigger);
  data_ = owned_.get();
  capacity_ = want;
  return true;
}

namespace {
// "00" to "99": two digits per division (record ids, line numbers and durations are written on every record).
struct DigitPairs {
  char text[200];
  constexpr DigitPairs() : text() {
    for (int i = 0; i < 100; ++i) {
      text[2 * i] = static_cast<char>('0' + i / 10);
      text[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
  }
};
constexpr DigitPairs kDigitPairs;
}  // namespace

std::size_t format_uint(char* out, std::uint64_t v) noexcept {
  char tmp[kMaxUintChars];
  std::size_t at = sizeof tmp;  // written from the end
  while (v >= 100) {
    const std::size_t pair = static_cast<std::size_t>(v % 100) * 2;
    v /= 100;
    tmp[--at] = kDigitPairs.text[pair + 1];
    tmp[--at] = kDigitPairs.text[pair];
  }
  if (v >= 10) {
    tmp[--at] = kDigitPairs.text[v * 2 + 1];
    tmp[--at] = kDigitPairs.text[v * 2];
  } else {
    tmp[--at] = static_cast<char>('0' + v);
  }
  const std::size_t n = sizeof tmp - at;
  std::memcpy(out, tmp + at, n);
  return n;
}

void Buf::put_uint(std::uint64_t v) {
  char* p = tail(kMaxUintChars);
  if (p == nullptr) return;
  commit(format_uint(p, v));
}

void Buf::put_int(std::int64_t v) {
  if (v < 0) {
    put('-');
    put_uint(static_cast<std::uint64_t>(-(v + 1)) + 1);
  } else {
    put_uint(static_cast<std::uint64_t>(v));
  }
}

void Buf::put_ms(double ms) {
  char* p = tail(kMaxMsChars);
  if (p == nullptr) return;
  commit(format_ms(p, ms));
}

std::size_t format_ms(char* out, double ms) noexcept {
  if (!(ms >= 0) || ms > 1e15) ms = 0;  // also catches NaN
  auto micros = static_cast<std::uint64_t>(std::llround(ms * 1000.0));
  std::size_t n = format_uint(out, micros / 1000);
  std::uint64_t frac = micros % 1000;
  out[n] = '.';
  out[n + 1] = static_cast<char>('0' + frac / 100);
  out[n + 2] = static_cast<char>('0' + frac / 10 % 10);
  out[n + 3] = static_cast<char>('0' + frac % 10);
  return n + 4;
}

namespace {

// Length of the valid UTF-8 sequence at s[i..n), or 0 when the bytes there are not valid UTF-8.
inline std::size_t utf8_sequence(const unsigned char* s, std::size_t i, std::size_t n) noexcept {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    unsigned char c1 = s[i + 1];
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    unsigned char c1 = s[i + 1];
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

constexpr char kHex[] = "0123456789abcdef";

// 1 where a byte can be copied into a JSON string as is.
struct SafeTable {
  bool safe[256];
  constexpr SafeTable() : safe() {
    for (int c = 0; c < 256; ++c) safe[c] = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
  }
};
constexpr SafeTable kSafe;

// True when none of the 8 bytes needs escaping or UTF-8 checking: none is below 0x20, at or above 0x80, a
// quote or a backslash. Each test is the classic "has a byte below n" / "has a zero byte" word trick: with
// no byte at or above 0x80 (the last term), a subtraction borrows into a byte's high bit exactly when that
// byte is below 0x20, or is the quote or the backslash.
inline bool eight_safe(const unsigned char* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  const std::uint64_t quote = x ^ (kOnes * '"');
  const std::uint64_t backslash = x ^ (kOnes * '\\');
  const std::uint64_t flags = (x - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes) | x;
  return (flags & kHigh) == 0;
}

}  // namespace

bool put_json_string(Buf& out, std::string_view s, std::size_t max_bytes) {
  out.put('"');
  bool truncated = put_json_chars(out, s, max_bytes);
  out.put('"');
  return truncated;
}

bool put_json_chars(Buf& out, std::string_view s, std::size_t max_bytes) {
  const std::size_t n = s.size();
  const std::size_t limit = std::min(n, max_bytes);
  // Worst case 6 output bytes per input byte (\u00XX), plus quotes and the truncation note.
  char* o = out.tail(limit * 6 + 96);
  if (o == nullptr) return true;  // fixed storage too small: nothing of it is kept
  char* const begin = o;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < limit) {
    // Copy a run of safe bytes at once.
    std::size_t j = i;
    while (j + 8 <= limit && eight_safe(p + j)) j += 8;
    while (j < limit && kSafe.safe[p[j]]) ++j;
    if (j > i) {
      std::memcpy(o, p + i, j - i);
      o += j - i;
      i = j;
      if (i >= limit) break;
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      *o++ = '\\';
      switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
          *o++ = 'u';
          *o++ = '0';
          *o++ = '0';
          *o++ = kHex[c >> 4];
          *o++ = kHex[c & 15];
      }
      ++i;
      continue;
    }
    std::size_t len = utf8_sequence(p, i, n);
    if (len == 0) {
      *o++ = '\xEF';  // U+FFFD REPLACEMENT CHARACTER
      *o++ = '\xBF';
      *o++ = '\xBD';
      ++i;
      continue;
    }
    if (i + len > limit) break;  // do not cut a character in half
    std::memcpy(o, p + i, len);
    o += len;
    i += len;
  }
  bool truncated = i < n;
  out.commit(static_cast<std::size_t>(o - begin));
  if (truncated) {
    out.put(" [bstest: truncated, kept ");
    out.put_uint(i);
    out.put(" of ");
    out.put_uint(n);
    out.put(" bytes]");
  }
  return truncated;
}

std::string sanitize_utf8(std::string_view s) {
  std::string r;
  r.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = utf8_sequence(p, i, s.size());
    if (len == 0) {
      r += "\xEF\xBF\xBD";
      ++i;
    } else {
      r.append(s.data() + i, len);
      i += len;
    }
  }
  return r;
}

namespace {
// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (public-domain "civil from days"
// arithmetic, written here from its description).
inline void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

inline void two(char* p, unsigned v) noexcept {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
}
}  // namespace

void format_timestamp(char out[kTimestampLength], std::int64_t secs, long micros) noexcept {
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  auto year = static_cast<unsigned>(y < 0 ? 0 : (y > 9999 ? 9999 : y));
  out[0] = static_cast<char>('0' + year / 1000);
  out[1] = static_cast<char>('0' + year / 100 % 10);
  out[2] = static_cast<char>('0' + year / 10 % 10);
  out[3] = static_cast<char>('0' + year % 10);
  out[4] = '-';
  two(out + 5, m);
  out[7] = '-';
  two(out + 8, d);
  out[10] = 'T';
  two(out + 11, static_cast<unsigned>(rem / 3600));
  out[13] = ':';
  two(out + 14, static_cast<unsigned>(rem / 60 % 60));
  out[16] = ':';
  two(out + 17, static_cast<unsigned>(rem % 60));
  out[19] = '.';
  auto us = static_cast<unsigned long>(micros < 0 ? 0 : micros % 1000000);
  for (int k = 25; k >= 20; --k) {
    out[k] = static_cast<char>('0' + us % 10);
    us /= 10;
  }
  out[26] = 'Z';
}

void TimestampCache::write(char* p, std::int64_t secs, long micros) noexcept {
  if (secs != second_) {
    format_timestamp(text_, secs, 0);
    second_ = secs;
  }
  std::memcpy(p, text_, 20);  // "YYYY-MM-DDTHH:MM:SS."
  auto us = static_cast<unsigned long>(micros);
  for (int k = 25; k >= 20; --k) {
    p[k] = static_cast<char>('0' + us % 10);
    us /= 10;
  }
  p[26] = 'Z';
}

std::int64_t parse_timestamp_us(std::string_view t) noexcept {
  if (t.size() != kTimestampLength || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t[19] != '.' || t[26] != 'Z') {
    return -1;
  }
  auto number = [&](std::size_t at, std::size_t n, long& out) {
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  long y, mo, d, h, mi, s, us;
  if (!number(0, 4, y) || !number(5, 2, mo) || !number(8, 2, d) || !number(11, 2, h) || !number(14, 2, mi) ||
      !number(17, 2, s) || !number(20, 6, us) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return -1;
  }
  // Days since 1970-01-01 of a civil date (the inverse of civil_from_days).
  long yy = mo <= 2 ? y - 1 : y;
  long era = (yy >= 0 ? yy : yy - 399) / 400;
  long yoe = yy - era * 400;
  long doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return (((days * 24 + h) * 60 + mi) * 60 + s) * 1000000 + us;
}

}  // namespace bstest::detail
