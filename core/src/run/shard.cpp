#include "run/shard.hpp"

#include <cstdlib>

namespace bstest::detail {

namespace {

bool parse(const char* v, long& out) {
  if (v == nullptr || *v == '\0') return false;
  char* end = nullptr;
  out = std::strtol(v, &end, 10);
  return end != v && *end == '\0';
}

Shard shard_from(const char* index_name, const char* total_name) noexcept {
  long index = 0, total = 0;
  if (!parse(std::getenv(index_name), index) || !parse(std::getenv(total_name), total)) return {};
  if (total <= 0 || total > (1 << 20) || index < 0 || index >= total) return {};
  return {static_cast<int>(index), static_cast<int>(total)};
}

}  // namespace

Shard shard_from_bstest_env() noexcept { return shard_from("BSTEST_SHARD_INDEX", "BSTEST_SHARD_TOTAL"); }

Shard shard_from_gtest_env() noexcept { return shard_from("GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS"); }

Shard shard_from_env() noexcept {
  Shard s = shard_from_bstest_env();
  return s.total > 0 ? s : shard_from_gtest_env();
}

}  // namespace bstest::detail
