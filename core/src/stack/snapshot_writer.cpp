#include "stack/snapshot_writer.hpp"

#include "record/json.hpp"

namespace bstest::detail::stack {

namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

void LineWriter::put_uint(std::uint64_t v) noexcept {
  char num[24];
  put(num, format_uint(num, v));
}

void LineWriter::put_hex(std::uint64_t v) noexcept {
  char tmp[16];
  std::size_t n = 0;
  do {
    tmp[15 - n++] = kHex[v & 15];
    v >>= 4;
  } while (v != 0);
  put(tmp + 16 - n, n);
}

void LineWriter::put_hex_bytes(const unsigned char* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    char two[2] = {kHex[p[i] >> 4], kHex[p[i] & 15]};
    put(two, 2);
  }
}

void LineWriter::put_base64(const unsigned char* p, std::size_t n) noexcept {
  if (!ok_ || (n + 2) / 3 * 4 > room()) {
    ok_ = false;
    return;
  }
  char* o = out_ + n_;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    *o++ = kBase64[(v >> 18) & 63];
    *o++ = kBase64[(v >> 12) & 63];
    *o++ = kBase64[(v >> 6) & 63];
    *o++ = kBase64[v & 63];
  }
  if (i < n) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (i + 1 < n) v |= std::uint32_t{p[i + 1]} << 8;
    *o++ = kBase64[(v >> 18) & 63];
    *o++ = kBase64[(v >> 12) & 63];
    *o++ = i + 1 < n ? kBase64[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  n_ = static_cast<std::size_t>(o - out_);
}

void LineWriter::put_escaped(const char* s, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      char two[2] = {'\\', static_cast<char>(c)};
      put(two, 2);
    } else if (c < 0x20) {
      char six[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      put(six, 6);
    } else {
      put(reinterpret_cast<const char*>(&c), 1);
    }
  }
}

}  // namespace bstest::detail::stack
