// Writing a snapshot line (capture.hpp) into a fixed buffer: async-signal-safe, never past the end.
#pragma once

#include "stack/capture.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bstest::detail::stack {

// Appends to `out` (capacity `cap`); once something did not fit, nothing more is written and ok() is false.
class LineWriter {
 public:
  LineWriter(char* out, std::size_t cap) noexcept : out_(out), cap_(cap) {}
  bool ok() const noexcept { return ok_; }
  std::size_t size() const noexcept { return n_; }
  std::size_t room() const noexcept { return cap_ - n_; }

  void put(const char* s, std::size_t len) noexcept {
    if (!ok_ || len > cap_ - n_) {
      ok_ = false;
      return;
    }
    std::memcpy(out_ + n_, s, len);
    n_ += len;
  }
  void put(const char* s) noexcept { put(s, std::strlen(s)); }
  void put_uint(std::uint64_t v) noexcept;
  // Lower-case hex without a prefix or leading zeros ("7ffd5e3c1a40", "0").
  void put_hex(std::uint64_t v) noexcept;
  void put_hex_bytes(const unsigned char* p, std::size_t n) noexcept;
  // Base64 of `n` bytes; padding only when n is not a multiple of 3 (so chunks of 3k bytes concatenate).
  void put_base64(const unsigned char* p, std::size_t n) noexcept;
  // JSON string characters (no quotes): '"', '\\' and control characters escaped, other bytes as they are.
  void put_escaped(const char* s, std::size_t n) noexcept;

 private:
  char* out_;
  std::size_t cap_;
  std::size_t n_ = 0;
  bool ok_ = true;
};

// `{"local":"stack","v":1,"kind":...,"regs":{...}` (no closing brace); `for_id` may be null.
void put_head(LineWriter& w, const char* kind, const char* for_id, int signo, const Registers& regs, int skip) noexcept;
// `,"modules":[...]`: the loaded modules, from the dynamic loader's list.
void put_modules(LineWriter& w) noexcept;

}  // namespace bstest::detail::stack
