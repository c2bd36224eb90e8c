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

// Wall-clock time for a reading of the monotonic clock, so that a record's time costs no clock read of its own
// when the caller has just read the monotonic clock (a test's start, its end). On Linux both clocks advance
// at the same rate (NTP's slewing adjusts both); only a step of the wall clock (clock_settime, a leap second,
// a resume from suspend) moves one against the other, so their difference is read again whenever a second has
// passed since it was last read. One writer at a time (it is a record writer's, under its lock).
class WallFromMono {
 public:
  WallTime at(std::int64_t mono_ns) noexcept {
    if (!anchored_ || mono_ns - anchor_mono_ns_ >= kRefreshNs) refresh();
    std::int64_t wall_ns = mono_ns + offset_ns_;
    return {wall_ns / 1000000000, static_cast<long>(wall_ns % 1000000000 / 1000)};
  }

 private:
  static constexpr std::int64_t kRefreshNs = 1000000000;
  // The wall clock is read between two monotonic readings, taken as their midpoint: a thread preempted in
  // between would skew every record of the next second, so a wide pair is read again (a few times at most).
  static constexpr std::int64_t kMaxPairNs = 50000;
  void refresh() noexcept {
    for (int tries = 1;; ++tries) {
      timespec wall{};
      std::int64_t before = mono_now_ns();
      clock_gettime(CLOCK_REALTIME, &wall);
      std::int64_t after = mono_now_ns();
      if (after - before > kMaxPairNs && tries < 4) continue;
      anchor_mono_ns_ = before + (after - before) / 2;
      offset_ns_ = static_cast<std::int64_t>(wall.tv_sec) * 1000000000 + wall.tv_nsec - anchor_mono_ns_;
      anchored_ = true;
      return;
    }
  }
  bool anchored_ = false;
  std::int64_t anchor_mono_ns_ = 0;
  std::int64_t offset_ns_ = 0;
};

}  // namespace bstest::detail
