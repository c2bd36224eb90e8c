// Which shard of a sharded suite this is: GoogleTest's variables (GTEST_SHARD_INDEX, GTEST_TOTAL_SHARDS),
// bstest's own (BSTEST_SHARD_INDEX, BSTEST_SHARD_TOTAL), or what the framework says (Catch2's
// --shard-count). A shard never sends the success ping: the shards' owner decides for all of them.
#pragma once

namespace bstest::detail {

struct Shard {
  int index = -1;  // -1: not sharded
  int total = 0;
};

// BSTEST_SHARD_INDEX / BSTEST_SHARD_TOTAL, when both are set and valid.
Shard shard_from_bstest_env() noexcept;
// GoogleTest's GTEST_SHARD_INDEX / GTEST_TOTAL_SHARDS, when both are set and valid (GoogleTest shards by
// them when both are set).
Shard shard_from_gtest_env() noexcept;
// BSTEST_SHARD_*, else GoogleTest's GTEST_SHARD_INDEX / GTEST_TOTAL_SHARDS.
Shard shard_from_env() noexcept;

}  // namespace bstest::detail
