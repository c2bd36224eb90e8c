// Better Stack Logs records: one JSON object per event, exactly the bytes that are sent.
//
// The parts that do not change during a run (the "run" and "ci" objects) are rendered once and copied
// into each record, so a record costs a few memcpy calls plus the escaping of the test's own strings.
// Field names are a public contract: docs/records.md describes each one.
#pragma once

#include <bstest/model.hpp>

#include "env/ci.hpp"
#include "record/json.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

// Caps that keep every record under 100 KiB whatever the test throws at us. The caps of single strings
// count input bytes (escaping can make one byte six: \u0001), the others count output bytes.
constexpr std::size_t kMaxNameBytes = 2048;          // suite, name, parameters, file
constexpr std::size_t kMaxMessageBytes = 16u << 10;  // one failure message
constexpr std::size_t kMaxDetailBytes = 2048;        // expression, macro, info lines
constexpr std::size_t kMaxFailuresBytes = 64u << 10; // all failures of one test, escaped
constexpr std::size_t kMaxPropertiesBytes = 8u << 10;  // all properties of one test, escaped
constexpr std::size_t kMaxSummaryLineBytes = 512;    // the one-line "message"
constexpr std::size_t kMaxRecordBytes = 100u << 10;  // one whole record, escaped
// The parts every record of a test repeats, escaped: when one would be larger, each of its strings is cut
// to kCompactNameBytes instead of kMaxNameBytes. With these, a record without its failures and properties
// stays under kMaxRecordBytes, so dropping them (the record says how many) always makes it fit.
constexpr std::size_t kMaxIdentityBytes = 16u << 10;    // a test's identity fields
constexpr std::size_t kMaxRunFragmentBytes = 10u << 10; // ,"run":{...}
constexpr std::size_t kMaxCiFragmentBytes = 18u << 10;  // ,"ci":{...}
constexpr std::size_t kCompactNameBytes = 256;

// Input caps of one failure's strings.
struct FailureCaps {
  std::size_t name;     // file
  std::size_t message;
  std::size_t detail;   // macro, expression, expanded, section, exception type, each info line (4x in all)
};
constexpr FailureCaps kFailureCaps{kMaxNameBytes, kMaxMessageBytes, kMaxDetailBytes};
// The largest caps (kFailureCaps scaled down) that keep put_failure's output within `max_bytes`, however
// the strings escape. kFailureCaps when even the worst case fits.
FailureCaps failure_caps_within(std::size_t max_bytes) noexcept;

struct RunMeta {
  std::string run_id;
  std::string framework;
  std::string framework_version;
  std::string binary;
  std::string host;
  long pid = 0;
  int shard_index = -1;
  int shard_total = 0;
  int iteration = 0;
  bool has_random_seed = false;
  std::uint64_t random_seed = 0;
  int attempt = 1;
  std::string bstest_version;
};

// Replaces the values of secret-looking environment variables (and our tokens) by "[redacted]".
class Redactor {
 public:
  // Collects values of variables named like *TOKEN*, *SECRET*, *PASSWORD*, *KEY*, *DSN*, *HEARTBEAT_URL*,
  // or matching one of `extra_patterns` (a '*' matches any run of characters), from `environ`.
  void collect_from_environment(const std::vector<std::string>& extra_patterns);
  void add(std::string value);
  // Appends `in` to `out` with every secret replaced; returns true when something was replaced.
  bool apply(std::string_view in, std::string& out) const;
  // `in` with every secret replaced.
  std::string clean(std::string_view in) const;
  // The same into `out` (at most `cap` bytes, never part of a "[redacted]"), without allocating: for a
  // signal handler. Returns the bytes written.
  std::size_t apply_bounded(std::string_view in, char* out, std::size_t cap) const noexcept;
  bool empty() const noexcept { return values_.empty(); }
  static bool name_looks_secret(std::string_view name, const std::vector<std::string>& extra_patterns);

 private:
  std::vector<std::string> values_;
};

class LogEncoder {
 public:
  // `id_prefix` makes record ids unique across processes (the journal's own random id).
  void set_id_prefix(std::string id_prefix) { id_prefix_ = std::move(id_prefix); }
  void set_run(const RunMeta& run);
  void set_ci(const CiInfo& ci);
  const RunMeta& run() const noexcept { return run_; }

  // {"id":"…","dt":"…","level":"…","event":"…","message":   (the caller writes the message next)
  void begin(Buf& out, std::string_view level, std::string_view event);
  // ,"run":{…}
  void put_run(Buf& out) const { out.put(run_fragment_); }
  // ,"ci":{…} (nothing outside CI)
  void put_ci(Buf& out) const { out.put(ci_fragment_); }
  // }\n
  static void end(Buf& out) { out.put("}\n", 2); }
  std::uint64_t records() const noexcept { return seq_; }

  // The test's identity fields, without braces: "suite":…,"name":…,"full_name":…,"file":…,"line":…
  // Returns where the escaped full name (without quotes) starts in `out`; it is `escaped_len` long.
  // At most kMaxIdentityBytes (each string cut to kCompactNameBytes when they would be more).
  static std::size_t put_test_identity(Buf& out, const TestInfo& test, std::string_view full_name,
                                       std::size_t& escaped_len);
  // {"file":…,"line":…,"message":…,"kind":…,…} with secrets redacted from the free text, cut at
  // kFailureCaps; when that would be more than `max_bytes`, at failure_caps_within(max_bytes) instead.
  static void put_failure(Buf& out, const Failure& f, const Redactor& redactor, std::size_t max_bytes = SIZE_MAX);
  // The same at failure_caps_within(max_bytes), for a signal handler: no allocation and no lock, provided
  // `out` has room for `max_bytes` more bytes and `scratch` holds kSignalScratchBytes.
  static void put_failure_from_signal(Buf& out, const Failure& f, const Redactor& redactor, char* scratch,
                                      std::size_t max_bytes) noexcept;
  static constexpr std::size_t kSignalScratchBytes = kMaxMessageBytes;

  const std::string& id_prefix() const noexcept { return id_prefix_; }
  const std::string& run_fragment_view() const noexcept { return run_fragment_; }
  const std::string& ci_fragment_view() const noexcept { return ci_fragment_; }
  std::uint64_t next_seq() noexcept { return ++seq_; }

 private:
  std::string id_prefix_;
  std::uint64_t seq_ = 0;
  RunMeta run_;
  std::string run_fragment_;
  std::string ci_fragment_;
  TimestampCache clock_;
};

std::string_view to_string(FailureKind k) noexcept;

// Appends `s` as a JSON string with secrets redacted and the cap applied.
void put_redacted_string(Buf& out, std::string_view s, std::size_t max_bytes, const Redactor& redactor);

// First line of a message, cut to `max` bytes (for the human "message" field).
std::string_view first_line(std::string_view s, std::size_t max);

// `s` with secrets redacted, then cut to `max` bytes at a character boundary (redacting first, so that a
// secret straddling the cut is never half shown). With `one_line`, only the first line is kept.
std::string redacted_head(std::string_view s, std::size_t max, const Redactor& redactor, bool one_line = false);

// Fresh random lowercase hex (from getrandom/urandom), `bytes` bytes -> 2*bytes characters.
std::string random_hex(std::size_t bytes);

}  // namespace bstest::detail
