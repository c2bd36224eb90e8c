// The caps that keep every record under 100 KiB and every error event under Sentry's limits, whatever a
// test throws at us. Each limit is named once, here.
#pragma once

#include <cstddef>

namespace bstest::detail {

// Caps that keep every record under 100 KiB whatever the test throws at us. The caps of single strings
// count input bytes (escaping can make one byte six: \u0001), the others count output bytes.
constexpr std::size_t kMaxNameBytes = 2048;          // suite, name, parameters, file
constexpr std::size_t kMaxMessageBytes = 16u << 10;  // one failure message
constexpr std::size_t kMaxDetailBytes = 2048;        // expression, macro, info lines
constexpr std::size_t kMaxFailuresBytes = 64u << 10; // all failures of one test, escaped
constexpr std::size_t kMaxPropertiesBytes = 8u << 10;  // all properties of one test, escaped
constexpr std::size_t kMaxPropertyKeyBytes = 256;     // one property's key
constexpr std::size_t kMaxPropertyValueBytes = 2048;  // one property's value
constexpr std::size_t kMaxSummaryLineBytes = 512;    // the one-line "message"
constexpr std::size_t kMaxRecordBytes = 100u << 10;  // one whole record, escaped
// The parts every record of a test repeats, escaped: when one would be larger, each of its strings is cut
// to kCompactNameBytes instead of kMaxNameBytes. With these, a record without its failures and properties
// stays under kMaxRecordBytes, so dropping them (the record says how many) always makes it fit.
constexpr std::size_t kMaxIdentityBytes = 16u << 10;    // a test's identity fields
constexpr std::size_t kMaxRunFragmentBytes = 10u << 10; // ,"run":{...}
constexpr std::size_t kMaxCiFragmentBytes = 18u << 10;  // ,"ci":{...}
constexpr std::size_t kCompactNameBytes = 256;
// A quarantine entry's reason and link, as a test's records carry them (within its identity's bytes).
constexpr std::size_t kMaxQuarantineTextBytes = 512;

// Of a failed test's first failure, kept in memory for verdicts, events and the heartbeat body.
constexpr std::size_t kMaxFirstFailureBytes = 2000;
// Sentry: an exception value (messages are shown up to 8192 characters) and a tag value (under 200).
constexpr std::size_t kMaxEventValueBytes = 8000;
constexpr std::size_t kMaxTagBytes = 190;
// The Uptime heartbeat's body (its limit is not documented: stay under 10 kB).
constexpr std::size_t kMaxHeartbeatBodyBytes = 10000;
// A suite's failure lines stop being added to a heartbeat body past this (`bstest run`, and `bstest heartbeat
// --summaries` for sharded runs), so that the last one fits under kMaxHeartbeatBodyBytes.
constexpr std::size_t kHeartbeatFailureLinesBytes = 9500;
// A failed test's lines in a heartbeat body, and how many failed tests it lists.
constexpr std::size_t kHeartbeatLineBytes = 300;
constexpr std::size_t kHeartbeatTestsListed = 20;

}  // namespace bstest::detail
