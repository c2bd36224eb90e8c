// A minimal JSON writer for records: a growable byte buffer and the escaping rules, tuned for the
// test's hot path (no allocation once the buffer has grown, one pass per string).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace bstest::detail {

class Buf {
 public:
  Buf() = default;
  explicit Buf(std::size_t capacity) { reserve(capacity); }

  void clear() noexcept { size_ = 0; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const char* data() const noexcept { return data_.get(); }
  char* data() noexcept { return data_.get(); }
  std::string_view view() const noexcept { return {data_.get(), size_}; }
  std::string str() const { return std::string(view()); }
  void truncate(std::size_t n) noexcept {
    if (n < size_) size_ = n;
  }

  // Makes room for `extra` more bytes.
  void reserve(std::size_t extra) {
    if (capacity_ - size_ < extra) grow(extra);
  }
  // Room for n bytes at the end; call commit(k) with how many were written.
  char* tail(std::size_t n) {
    reserve(n);
    return data_.get() + size_;
  }
  void commit(std::size_t n) noexcept { size_ += n; }

  void put(char c) {
    if (size_ == capacity_) grow(1);
    data_[size_++] = c;
  }
  void put(const char* p, std::size_t n) {
    reserve(n);
    std::memcpy(data_.get() + size_, p, n);
    size_ += n;
  }
  void put(std::string_view s) {
    reserve(s.size());
    if (!s.empty()) std::memcpy(data_.get() + size_, s.data(), s.size());
    size_ += s.size();
  }
  void put_uint(std::uint64_t v);
  void put_int(std::int64_t v);
  // Milliseconds with three decimals ("12.345"), for durations.
  void put_ms(double ms);

 private:
  void grow(std::size_t extra);
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Appends `s` as a JSON string literal, quotes included. Invalid UTF-8 is replaced by U+FFFD; control
// characters are escaped. At most `max_bytes` bytes of `s` are used (cut at a character boundary); when
// `s` is cut, the literal ends with " [bstest: truncated, kept K of N bytes]" and true is returned.
bool put_json_string(Buf& out, std::string_view s, std::size_t max_bytes = SIZE_MAX);
// The same escaping without the quotes, to build one string from several parts.
bool put_json_chars(Buf& out, std::string_view s, std::size_t max_bytes = SIZE_MAX);

// `"key":` for a key that needs no escaping (a literal in our code).
inline void put_key(Buf& out, std::string_view key) {
  char* p = out.tail(key.size() + 3);
  *p++ = '"';
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = '"';
  *p = ':';
  out.commit(key.size() + 3);
}

// Writes `s` as valid UTF-8 (invalid bytes replaced by U+FFFD), without JSON escaping, to a std::string.
std::string sanitize_utf8(std::string_view s);

// RFC 3339 UTC with microseconds, e.g. "2026-11-25T17:06:05.123456Z" (27 characters, no quotes).
// Async-signal-safe: only arithmetic, no library calls.
constexpr std::size_t kTimestampLength = 27;
void format_timestamp(char out[kTimestampLength], std::int64_t unix_seconds, long microseconds) noexcept;

// Caches the date-time part of the current second so that records of the same second cost a memcpy.
class TimestampCache {
 public:
  void put(Buf& out, std::int64_t unix_seconds, long microseconds);

 private:
  std::int64_t second_ = -1;
  char text_[kTimestampLength] = {};
};

// Current wall-clock time.
struct WallTime {
  std::int64_t seconds;
  long microseconds;
};
WallTime wall_now() noexcept;
// Monotonic clock in nanoseconds.
std::int64_t mono_now_ns() noexcept;

// Writes an unsigned decimal into `out` (at most 20 chars); returns the number of chars. Signal-safe.
std::size_t format_uint(char* out, std::uint64_t v) noexcept;

}  // namespace bstest::detail
