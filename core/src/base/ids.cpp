#include "base/ids.hpp"

#include "base/clock.hpp"
#include "record/json.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace bstest::detail {

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes) {  // no getrandom: mix the clock and pid, good enough for ids
    auto seed = static_cast<std::uint64_t>(mono_now_ns()) ^
                (static_cast<std::uint64_t>(::getpid()) << 32);
    for (std::size_t i = got; i < bytes; ++i) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      raw[i] = static_cast<char>(seed >> 56);
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string r;
  r.reserve(bytes * 2);
  for (unsigned char c : raw) {
    r += kHex[c >> 4];
    r += kHex[c & 15];
  }
  return r;
}

bool valid_run_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

std::string make_run_id() {
  const char* chosen = std::getenv("BSTEST_RUN_ID");
  if (chosen != nullptr && valid_run_id(chosen)) return chosen;
  char ts[kTimestampLength];
  format_timestamp(ts, wall_now().seconds, 0);
  // "2026-11-25T17:06:05" -> "20261125T170605Z"
  std::string id;
  for (int i = 0; i < 19; ++i) {
    if (ts[i] != '-' && ts[i] != ':') id += ts[i];
  }
  return id + "Z-" + random_hex(4);
}

}  // namespace bstest::detail
