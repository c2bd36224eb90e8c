// The Better Stack Errors channel: each queued error event leaves as one Sentry envelope, in journal order,
// on the shipper's thread. Sentry's rules: an HTTP error is not retried (the event is dropped and counted),
// a network failure is; a rate limit (X-Sentry-Rate-Limits, or 429) holds every shipper of the folder back
// until it ends (ship/rate_limit_file.hpp), and the events wait in their journal meanwhile.
#pragma once

#include "ship/followed_journal.hpp"
#include "ship/rate_limit_file.hpp"
#include "ship/ship_context.hpp"

#include <cstdint>

namespace bstest::detail {

class ErrorsChannel {
 public:
  explicit ErrorsChannel(ShipContext& ctx);

  // Sends j's queued events that may leave now (before `deadline`, mono ms; <= 0: none); true while some
  // are left to send.
  bool send(FollowedJournal& j, std::int64_t deadline);
  const ChannelState& state() const noexcept { return state_; }

 private:
  // Holds the channel back for `delay_ms`, here and, through the file, for every shipper of the folder.
  void hold_back(int delay_ms);
  // True while a limit that another shipper (or an earlier run) learnt still holds; next_at is its end.
  bool limited_elsewhere();

  ShipContext& ctx_;
  ChannelState state_;
  RateLimitFile limit_;
};

}  // namespace bstest::detail
