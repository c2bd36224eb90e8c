// What the parts of one shipping pass share (ship()): the configuration and the caller's options, which
// channels this shipper sends, the counts and problems it reports, the HTTP client of the shipper's own
// thread and the random source of its back-off jitter.
//
// Everything here lives on the shipper's thread; only the Logs channel's sender has a thread of its own
// (ship/async_sender.hpp), with a client of its own.
#pragma once

#include <bstest/config.hpp>
#include "ship/ship.hpp"

#include "ship/http.hpp"

#include <cstdint>
#include <memory>
#include <random>
#include <string>

namespace bstest::detail {

// How long the shipper sleeps between looks at its journals while it follows them or waits to send (ms).
constexpr int kPollIntervalMs = 50;

// Which channels this shipper sends, and for whom.
struct ShipScope {
  bool logs = false;       // Better Stack Logs is configured here
  bool errors = false;     // Better Stack Errors
  bool heartbeat = false;  // the Uptime heartbeat
  // Shipping one run with that run's own configuration (the companion, bstest run, the test program at
  // exit): error events and heartbeats of a channel not configured here were not meant to be sent, and
  // are passed by. Without it (bstest flush) they are kept for a shipper that can send them.
  bool own_run = false;
};

// Where a channel stands: configured, stopped for the run (a bad token), and when it may try again.
struct ChannelState {
  bool enabled = false;
  bool stopped = false;
  int attempt = 0;          // tries in a row that did not go through
  std::int64_t next_at = 0; // mono ms before which it does not send
  bool sending() const noexcept { return enabled && !stopped; }
};

struct ShipContext {
  ShipContext(const Config& config, const ShipOptions& options);

  const Config& cfg;
  const ShipOptions& opt;
  const std::string dir;  // the bstest folder
  const ShipScope scope;
  ShipStats stats;

  // Errors, heartbeats and the Logs channel's notes are sent with this client, on the shipper's thread.
  HttpClient& client() { return *client_; }
  // Records "channel: reason" in stats.problems, once, and tells the caller (on_problem) the first time.
  void problem(const std::string& channel, const std::string& reason);
  // The configured request time-out, shortened to what is left before `deadline` (mono ms; <= 0: none).
  int request_timeout(std::int64_t deadline) const;
  // In [0, 1), for back-off jitter.
  double random01();

 private:
  std::unique_ptr<HttpClient> client_;
  std::mt19937_64 rng_;
};

}  // namespace bstest::detail
