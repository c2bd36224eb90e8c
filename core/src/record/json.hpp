// A minimal JSON writer for records: a growable byte buffer and the escaping rules, tuned for the
// test's hot path (no allocation once the buffer has grown, one pass per string).
#pragma once

#include "base/clock.hpp"

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
  // Over `capacity` bytes of the caller's storage: never allocates (for a signal handler). What does not fit
  // is left out and overflowed() turns true.
  Buf(char* storage, std::size_t capacity) noexcept : data_(storage), capacity_(capacity), fixed_(true) {}
  // From now on over the caller's storage, as above (what it held is dropped).
  void use_storage(char* storage, std::size_t capacity) noexcept {
    owned_.reset();
    data_ = storage;
    capacity_ = capacity;
    size_ = 0;
    fixed_ = true;
    overflow_ = false;
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;

  void clear() noexcept {
    size_ = 0;
    overflow_ = false;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool overflowed() const noexcept { return overflow_; }
  const char* data() const noexcept { return data_; }
  char* data() noexcept { return data_; }
  std::string_view view() const noexcept { return {data_, size_}; }
  std::string str() const { return std::string(view()); }
  void truncate(std::size_t n) noexcept {
    if (n < size_) size_ = n;
  }

  // Makes room for `extra` more bytes; false only for fixed storage that is too small.
  bool reserve(std::size_t extra) { return capacity_ - size_ >= extra || grow(extra); }
  // Room for n bytes at the end (nullptr: fixed storage too small); call commit(k) with how many were written.
  char* tail(std::size_t n) { return reserve(n) ? data_ + size_ : nullptr; }
  void commit(std::size_t n) noexcept { size_ += n; }

  void put(char c) {
    if (size_ == capacity_ && !grow(1)) return;
    data_[size_++] = c;
  }
  void put(const char* p, std::size_t n) {
    if (!reserve(n)) return;
    if (n != 0) std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void put(std::string_view s) { put(s.data(), s.size()); }
  void put_uint(std::uint64_t v);
  void put_int(std::int64_t v);
  // Milliseconds with three decimals ("12.345"), for durations.
  void put_ms(double ms);

 private:
  bool grow(std::size_t extra);
  std::unique_ptr<char[]> owned_;
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  bool fixed_ = false;
  bool overflow_ = false;
};

// Appends `s` as a JSON string literal, quotes included. Invalid UTF-8 is replaced by U+FFFD; control
// characters are escaped. At most `max_bytes` bytes of `s` are used (cut at a character boundary); when
// `s` is cut, the literal ends with " [bstest: truncated, kept K of N bytes]" and true is returned.
bool put_json_string(Buf& out, std::string_view s, std::size_t max_bytes = SIZE_MAX);
// The same escaping without the quotes, to build one string from several parts.
bool put_json_chars(Buf& out, std::string_view s, std::size_t max_bytes = SIZE_MAX);

// Writes `s` as valid UTF-8 (invalid bytes replaced by U+FFFD), without JSON escaping, to a std::string.
std::string sanitize_utf8(std::string_view s);

// RFC 3339 UTC with microseconds, e.g. "2026-11-25T17:06:05.123456Z" (27 characters, no quotes).
// Async-signal-safe: only arithmetic, no library calls.
constexpr std::size_t kTimestampLength = 27;
void format_timestamp(char out[kTimestampLength], std::int64_t unix_seconds, long microseconds) noexcept;
// The other way: microseconds since 1970 of such a timestamp; -1 when it is not one.
std::int64_t parse_timestamp_us(std::string_view text) noexcept;
// The same in milliseconds.
inline std::int64_t parse_timestamp_ms(std::string_view text) noexcept {
  const std::int64_t us = parse_timestamp_us(text);
  return us < 0 ? -1 : us / 1000;
}

// Caches the date-time part of the current second so that records of the same second cost a memcpy.
class TimestampCache {
 public:
  // Writes the timestamp (kTimestampLength chars, no quotes) into `out`.
  void write(char* out, std::int64_t unix_seconds, long microseconds) noexcept;

 private:
  std::int64_t second_ = -1;
  char text_[kTimestampLength] = {};
};

// Writes an unsigned decimal into `out` (at most kMaxUintChars chars); returns the number of chars.
// Signal-safe.
constexpr std::size_t kMaxUintChars = 20;
std::size_t format_uint(char* out, std::uint64_t v) noexcept;
// Milliseconds with three decimals ("12.345"; 0 for a negative, NaN or absurd value) into `out` (at most
// kMaxMsChars chars); returns the number of chars.
constexpr std::size_t kMaxMsChars = kMaxUintChars + 4;
std::size_t format_ms(char* out, double ms) noexcept;

}  // namespace bstest::detail
