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

namespace {

constexpr std::string_view kSnapshotHead = "{\"local\":\"stack\",";
constexpr std::string_view kForKey = ",\"for\":\"";

// Where the kind's value ends in a snapshot line's head (the "for" comes right after it); 0 when none.
std::size_t after_kind(std::string_view line) noexcept {
  if (line.compare(0, kSnapshotHead.size(), kSnapshotHead) != 0) return 0;
  constexpr std::string_view kKind = ",\"kind\":\"";
  std::size_t at = line.substr(0, 64).find(kKind);
  if (at == std::string_view::npos) return 0;
  std::size_t end = line.find('"', at + kKind.size());
  return end == std::string_view::npos ? 0 : end + 1;
}

bool is_plain_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::string_view snapshot_target(std::string_view line) noexcept {
  std::size_t at = after_kind(line);
  if (at == 0 || line.compare(at, kForKey.size(), kForKey) != 0) return {};
  std::size_t start = at + kForKey.size();
  std::size_t end = line.find('"', start);
  return end == std::string_view::npos ? std::string_view() : line.substr(start, end - start);
}

std::string snapshot_for(std::string_view line, std::string_view for_id) {
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::size_t at = after_kind(line);
  if (at == 0 || !is_plain_id(for_id)) return std::string(line) + "\n";
  std::size_t rest = at;
  if (line.compare(at, kForKey.size(), kForKey) == 0) {
    std::size_t end = line.find('"', at + kForKey.size());
    if (end == std::string_view::npos) return std::string(line) + "\n";
    rest = end + 1;
  }
  std::string out;
  out.reserve(line.size() + for_id.size() + kForKey.size() + 1);
  out.append(line.substr(0, at));
  out.append(kForKey);
  out.append(for_id);
  out += '"';
  out.append(line.substr(rest));
  out += '\n';
  return out;
}

}  // namespace bstest::detail::stack
