// Reading the error events a FakeBetterStack received, for the tests of flaky tests, exceptions and crashes.
#pragma once

#include "fake_betterstack.hpp"
#include "process.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace bstest::testing {

// Every envelope that arrived once at least `n` did (or `timeout_ms` passed) and `settle_ms` more went by, so
// that an event sent later than those `n` (one too many) is counted too.
inline std::vector<Envelope> envelopes_settled(const FakeBetterStack& server, std::size_t n, int timeout_ms = 8000,
                                               int settle_ms = 500) {
  server.wait_for_envelopes(n, timeout_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
  return server.envelopes();
}

// The envelopes' events by their "transaction" (the test's full name).
inline std::map<std::string, std::vector<Json>> events_by_test(const std::vector<Envelope>& envelopes) {
  std::map<std::string, std::vector<Json>> m;
  for (const auto& e : envelopes) {
    Json ev(e.event);
    m[ev.str("transaction")].push_back(ev);
  }
  return m;
}

}  // namespace bstest::testing
