// Better Stack Errors: the Sentry event of each kind (a flaky test, an uncaught exception, a crash), written
// by sentry_event_json through the one JsonWriter, and the envelope that carries one.
//
// An error event is journaled as one line {"sentry":<event JSON>} by whoever knows the test's final
// verdict (the session for uncaught exceptions without re-runs, the re-run owner for flaky tests and
// crashed re-runs, the session or the shipper for the crash of a first attempt). The shipper wraps it in an
// envelope at send time (sent_at is written then).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

class JsonWriter;

enum class ErrorKind { flaky, exception, crash };

// Where the event happened: the `contexts` of the event and its `environment`. Taken in the test program
// (and kept in its run_started record), so that an event built later, elsewhere (`bstest flush` on
// another machine), still describes the machine that ran the test.
struct EventContext {
  std::string environment;    // nightly / ci / local (BSTEST_ENVIRONMENT)
  std::string os_name;        // uname: "Linux"
  std::string os_version;     // "6.1.0-18-amd64"
  std::string arch;           // "x86_64"
  std::string runtime_name;   // compiler: "gcc"
  std::string runtime_version;
  std::string runtime_description;  // "gcc 12.2.0, libstdc++ 20230528"
};

// This process's context, with `environment`.
EventContext this_process_context(const std::string& environment);
// The "context" member of the run_started record: the environment and the contexts every event repeats.
void put_event_context(JsonWriter& w, const EventContext& context);

// A stack frame beyond the test's definition and its failing assertion (the throw site).
struct EventFrame {
  std::string function;
  std::string filename;
  int lineno = 0;
  std::string package;          // the object (program or library) the code is in
  std::uintptr_t instruction_addr = 0;
  std::uintptr_t image_addr = 0;  // where that object is loaded (addr2line wants the difference)
  bool in_app = true;
};

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
  bool quarantined = false;  // its quarantine applied (docs/quarantine.md): tagged, so alert rules can leave it out
  // The (first) failure
  std::string failure_file;
  int failure_line = -1;
  std::string failure_message;
  // Exception (and a crash by an exception nobody caught): the C++ type and what()
  std::string exception_type;
  std::string exception_value;
  std::vector<EventFrame> frames;  // after the test's own frame, oldest first (the throw site last)
  // Crash
  std::string signal;          // "SIGSEGV", "exit", "unknown"
  int signo = 0;
  std::string crash_reason;    // "signal", "exit", "ended", "timeout"
  int crash_attempt = 0;       // a re-run that crashed: its attempt number
  // Flaky: which attempts failed / passed ("1:failed", "2:passed")
  std::vector<std::string> attempts;
  std::vector<int> failed_attempts;
  // Flaky in a repeated run (--gtest_repeat): the iterations it failed and passed in (from 0)
  int failed_iteration = -1;
  int passed_iteration = -1;
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
  EventContext context;      // os, runtime, device; empty os_name: this process's
  std::string timestamp;     // RFC 3339; empty: now
};

// The event JSON (event_id first).
std::string sentry_event_json(const ErrorEvent& e);
// The journal line: {"sentry":<event>}\n
std::string sentry_line(const ErrorEvent& e);
// An envelope for one event JSON (as produced by sentry_event_json): header, item header, payload.
std::string make_envelope(std::string_view event_json);
// The environment name for a run: BSTEST_ENVIRONMENT, else nightly / ci / local from the CI metadata.
std::string default_environment();

}  // namespace bstest::detail
