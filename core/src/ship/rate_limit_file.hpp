// A Sentry rate limit holds for every shipper of a bstest folder (the companions of a suite's programs,
// `bstest flush` later), so its end is kept in a small file, `<BSTEST_DIR>/errors-rate-limited-until`,
// as wall-clock milliseconds. How long a limit lasts is ship/retry_policy.cpp's to judge.
#pragma once

#include <cstdint>
#include <string>

namespace bstest::detail {

class RateLimitFile {
 public:
  explicit RateLimitFile(const std::string& bstest_dir);

  // Notes that the limit ends `delay_ms` from now. Best effort: the file is replaced whole (written aside,
  // then renamed), never seen half written.
  void remember(int delay_ms) const;
  // What is left of a limit noted by any shipper (or an earlier run), in milliseconds; 0 when none holds.
  std::int64_t left_ms() const;

 private:
  std::string path_;
};

}  // namespace bstest::detail
