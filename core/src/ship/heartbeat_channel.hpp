// The Uptime heartbeat channel: each queued heartbeat decision ({"heartbeat":…}, the suite's verdict)
// becomes one ping, success or failure with its exit code and body. A ping is idempotent: it is tried again
// after a network error, 408, 429 or 5xx until the deadline, then kept in its journal for `bstest flush`.
// Heartbeats go before anything else: one small request that says whether the suite passed.
#pragma once

#include "record/record_reader.hpp"
#include "ship/followed_journal.hpp"
#include "ship/ship_context.hpp"

#include <cstdint>

namespace bstest::detail {

class HeartbeatChannel {
 public:
  explicit HeartbeatChannel(ShipContext& ctx) : ctx_(ctx) { state_.enabled = ctx.scope.heartbeat; }

  // Sends j's queued pings that may leave now (before `deadline`, mono ms; <= 0: none); true while some are
  // left to send.
  bool send(FollowedJournal& j, std::int64_t deadline);
  const ChannelState& state() const noexcept { return state_; }

 private:
  ShipContext& ctx_;
  ChannelState state_;
  Record line_;  // the decision being sent
};

}  // namespace bstest::detail
