// Better Stack Errors: Sentry events built from the run's model, and the envelope that carries one.
//
// An error event is journaled as one line {"sentry":<event JSON>} by whoever knows the test's final
// verdict (the session for uncaught exceptions without re-runs, the re-run owner for flaky tests, the
// shipper for crashes). The shipper wraps it in an envelope at send time (sent_at is written then).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

enum class ErrorKind { flaky, exception, crash };

struct ErrorEvent {
  ErrorKind kind = ErrorKind::crash;
  // The test
  std::string framework;
  std::string binary;
  std::string suite;
  std::string name;
  std::string full_name;
  std::string file;
  int line = 0;
  // The (first) failure
  std::string failure_file;
  int failure_line = -1;
  std::string failure_message;
  std::string exception_type;  // exception: the C++ type
  // Crash
  std::string signal;          // "SIGSEGV", "exit", "unknown"
  int signo = 0;
  std::string crash_reason;    // "signal", "exit", "ended"
  // Flaky: which attempts failed / passed ("1:failed", "2:passed")
  std::vector<std::string> attempts;
  std::vector<int> failed_attempts;
  // Context
  std::string run_id;
  std::string run_url;
  std::string release;       // commit
  std::string environment;   // nightly / ci / local
  std::string server_name;   // host
  std::string ci_provider;
  std::string branch;
  int shard_index = -1;
  int shard_total = 0;
  std::string timestamp;     // RFC 3339; empty: now
};

// The event JSON (event_id first).
std::string sentry_event_json(const ErrorEvent& e);
// The journal line: {"sentry":<event>}\n
std::string sentry_line(const ErrorEvent& e);
// An envelope for one event JSON (as produced by sentry_event_json): header, item header, payload.
std::string make_envelope(std::string_view event_json);
// From a run_crashed log record (one line of JSON), the {"sentry":…}\n line for its crash event; empty
// when the record cannot be read.
std::string crash_error_line(std::string_view crash_record);
// The environment name for a run: BSTEST_ENVIRONMENT, else nightly / ci / local from the CI metadata.
std::string default_environment();

}  // namespace bstest::detail
