// The clocks bstest reads: wall-clock time for records, the monotonic clock for durations and deadlines
// (CLOCK_MONOTONIC is shared by the processes of one machine, so deadlines can be handed between them).
#pragma once

#include <time.h>

#include <cstdint>

namespace bstest::detail {

struct WallTime {
  std::int64_t seconds;
  long microseconds;
};

inline WallTime wall_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return {static_cast<std::int64_t>(ts.tv_sec), ts.tv_nsec / 1000};
}

inline std::int64_t wall_now_ms() noexcept {
  WallTime w = wall_now();
  return w.seconds * 1000 + w.microseconds / 1000;
}

inline std::int64_t mono_now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline std::int64_t mono_now_ms() noexcept { return mono_now_ns() / 1000000; }

}  // namespace bstest::detail
