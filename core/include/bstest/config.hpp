// bstest configuration: where records go and how they are shipped.
//
// Filled from the environment by Config::from_env(); every field can be overridden in code before the
// Config is handed to a Session. Parsing never throws and never exits: a bad variable is described in
// `problems` (variable name and what to do, never the secret itself) and its channel is turned off.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bstest {

// How long one re-run of a failed test may take by default (BSTEST_RERUN_TIMEOUT_MS), in ms.
inline constexpr int kDefaultRerunTimeoutMs = 300000;

// A token or a URL that embeds one. It can be read explicitly with reveal(); it never prints itself.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

 private:
  std::string value_;
};

// Better Stack Logs (HTTP ingest).
struct LogsTarget {
  std::string url;      // "https://<host>[:port]/" (or http:// for loopback only)
  Secret token;         // BETTERSTACK_SOURCE_TOKEN, sent as "Authorization: Bearer"
  bool enabled() const noexcept { return !url.empty() && !token.empty(); }
};

// Better Stack Errors (Sentry envelope protocol), parsed from the DSN.
struct ErrorsTarget {
  std::string envelope_url;  // "https://<host>/api/<project>/envelope/"
  Secret key;                // the DSN's public key, sent in X-Sentry-Auth
  bool enabled() const noexcept { return !envelope_url.empty() && !key.empty(); }
};

// Better Stack Uptime heartbeat. The whole URL is a secret (the token is its last path segment).
struct HeartbeatTarget {
  Secret url;  // "https://uptime.betterstack.com/api/v1/heartbeat/<token>"
  bool enabled() const noexcept { return !url.empty(); }
};

// Which log records go to Better Stack Logs (BSTEST_SEND). The journal keeps every record either way.
enum class SendRecords {
  all,       // every record
  failures,  // what did not pass (failed tests' results, crashes, flaky verdicts, failures outside any
             // test) and the run's own records; not test_started, not the results of tests that passed
};

struct Config {
  LogsTarget logs;
  ErrorsTarget errors;
  HeartbeatTarget heartbeat;

  bool enabled = true;                    // BSTEST_DISABLE=1 turns every part of bstest off
  std::string dir = ".bstest";            // BSTEST_DIR: journal folder (0700), relative to the working dir
  int flush_timeout_ms = 5000;            // BSTEST_FLUSH_TIMEOUT_MS: how long a test program waits at exit
  int flush_interval_ms = 1000;           // BSTEST_FLUSH_INTERVAL_MS: oldest record's age that sends a batch
  std::size_t max_batch_records = 1000;   // BSTEST_BATCH_RECORDS
  std::size_t max_batch_bytes = 4u << 20; // BSTEST_BATCH_BYTES (uncompressed)
  int connect_timeout_ms = 5000;          // BSTEST_CONNECT_TIMEOUT_MS
  int request_timeout_ms = 15000;         // BSTEST_REQUEST_TIMEOUT_MS (whole request)
  std::string ca_bundle;                  // BSTEST_CA_BUNDLE: PEM file of trusted CAs (default: system store)
  int retries = 2;                        // BSTEST_RETRIES: re-runs of a failed test (0 = off)
  int rerun_timeout_ms = kDefaultRerunTimeoutMs;  // BSTEST_RERUN_TIMEOUT_MS: time limit of one re-run (0 = none)
  int hang_after_ms = 600000;             // BSTEST_HANG_AFTER_MS: a test running longer is reported as hanging,
                                          // with every thread's stack (0 = never); it is never stopped
  bool flaky_fails = false;               // BSTEST_FLAKY_FAILS=1: flaky tests fail the run
  bool heartbeat_on_failure = true;       // BSTEST_HEARTBEAT_ON_FAILURE=none: no ping when the suite failed
  std::string environment;                // BSTEST_ENVIRONMENT (default: nightly / ci / local)
  std::vector<std::string> redact;        // BSTEST_REDACT: extra variable-name patterns to redact
  std::string shipper_program;            // BSTEST_SHIPPER: path of `bstest` (default: found automatically)
  SendRecords send = SendRecords::all;    // BSTEST_SEND: all, or failures (what a small Logs quota can take)
  bool quiet = false;                     // BSTEST_QUIET=1: no summary line on stderr (problems still shown)
  int keep_runs = 3;                      // BSTEST_KEEP_RUNS: delivered journals of the last N runs kept for
                                          // `bstest report` in <dir>/delivered/ (0: removed once delivered)
  std::string run_link;                   // BSTEST_RUN_LINK: the run in Better Stack, "{run_id}" replaced (reports)
  std::string quarantine_file;            // BSTEST_QUARANTINE: the quarantine file (default: .bstest-quarantine,
                                          // looked for from the start directory up to the repository root)

  // One line per problem found while parsing, e.g.
  // "BETTERSTACK_SOURCE_TOKEN contains whitespace or control characters; Better Stack Logs is off for this run".
  std::vector<std::string> problems;

  // Reads the process environment.
  static Config from_env();
  // Reads through `lookup` (returns nullptr for an unset variable); used by tests.
  static Config from_env(const std::function<const char*(const char*)>& lookup);
};

}  // namespace bstest
