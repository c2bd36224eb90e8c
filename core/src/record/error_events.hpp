// Better Stack Errors: the Sentry event of each kind (a flaky test, an uncaught exception, a crash, a hang),
// written by sentry_event_json through the one JsonWriter, and the envelope that carries one.
//
// An error event is journaled as one line {"sentry":<event JSON>} by whoever knows the test's final
// verdict (the session for uncaught exceptions without re-runs, the re-run owner for flaky tests and
// crashed re-runs, the session or the shipper for the crash of a first attempt). The shipper wraps it in an
// envelope at send time (sent_at is written then).
//
// An event's frames are real or absent: they come from a stack that the bstest program named
// (core/src/stack/symbolize.hpp). A test program cannot name them, so it writes the stack's raw snapshot
// (a {"local":"stack",...} line whose "for" is the event's id) just before the event, and the shipper adds
// the frames with event_with_stack() before it sends the event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

class JsonWriter;

enum class ErrorKind { flaky, exception, crash, hang };

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

// A frame of a stack that the bstest program named (stack/render.hpp makes them).
struct EventFrame {
  std::string function;           // demangled; empty when unknown
  std::string filename;
  int lineno = 0;
  std::string package;            // the module (program or library) the code is in
  std::uintptr_t instruction_addr = 0;
  std::uintptr_t image_addr = 0;  // where that module is loaded (addr2line wants the difference)
  bool in_app = false;            // the test program's own code
};

// A module that frames are in (Sentry's debug_meta.images), so that its addresses can be matched later.
struct EventImage {
  std::string code_file;          // its path
  std::string code_id;            // its GNU build-id, hex; empty when it has none
  std::uintptr_t image_addr = 0;  // its load bias
};

// A stack as an event carries it: frames outermost first (Sentry's order: where it crashed, threw or waits
// is last), the modules they are in, and one line on what is missing (no debug information, ptrace refused).
struct EventStack {
  std::vector<EventFrame> frames;
  std::vector<EventImage> images;
  std::string note;
  bool empty() const noexcept { return frames.empty() && note.empty(); }
};

// A thread of a hung program (Sentry's threads.values[]).
struct EventThread {
  long id = 0;
  std::string name;
  bool current = false;            // the thread that runs the test (the main thread)
  std::vector<EventFrame> frames;  // outermost first
};

// A breadcrumb of a flaky test's event: one failure of one failed attempt.
struct EventBreadcrumb {
  int attempt = 1;
  std::string file;  // empty when unknown
  int line = -1;
  std::string message;
};

struct ErrorEvent {
  ErrorKind kind = ErrorKind::crash;
  std::string event_id;  // 32 lowercase hex digits; empty: a new one
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
  // Where it crashed, threw or hangs: real frames only (none when unknown), and the one line on what is missing
  EventStack stack;
  // Crash
  std::string signal;          // "SIGSEGV", "exit", "unknown"
  int signo = 0;
  std::string crash_reason;    // "signal", "exit", "ended", "timeout"
  int crash_attempt = 0;       // a re-run that crashed: its attempt number
  std::string crash_record;    // the id of the run_crashed record the event was made from (extra.crash_record)
  bool after_run = false;      // the program crashed after its run finished (a static destructor)
  // Flaky: which attempts failed / passed ("1:failed", "2:passed")
  std::vector<std::string> attempts;
  std::vector<int> failed_attempts;
  // Flaky: each failed attempt's failures, oldest first (breadcrumbs)
  std::vector<EventBreadcrumb> breadcrumbs;
  // Flaky in a repeated run (--gtest_repeat): the iterations it failed and passed in (from 0)
  int failed_iteration = -1;
  int passed_iteration = -1;
  // Hang: how long the test had been running, after how long bstest looks (BSTEST_HANG_AFTER_MS), and every
  // thread of the program (the one that runs the test first; its frames are also `stack`)
  std::int64_t running_ms = 0;
  std::int64_t hang_after_ms = 0;
  std::vector<EventThread> threads;
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
// The event JSON `event_json` (as sentry_event_json wrote it) with `stack`: its exception's stacktrace, the
// modules in debug_meta.images, the note in extra.stack_note. `event_json` as it was when it cannot be read.
std::string event_with_stack(std::string_view event_json, const EventStack& stack);
// The event_id of an event JSON ("" when it has none).
std::string_view event_id_of(std::string_view event_json) noexcept;
// An envelope for one event JSON (as produced by sentry_event_json): header, item header, payload.
std::string make_envelope(std::string_view event_json);
// The environment name for a run: BSTEST_ENVIRONMENT, else nightly / ci / local from the CI metadata.
std::string default_environment();

}  // namespace bstest::detail
