// The error events of a test: built from its verdict after re-runs (flaky, failed with an escaped exception,
// an attempt that crashed) or from a crash record. Shared by the Session (provided mains), the suite writer of
// `bstest run` and the shipper.
#pragma once

#include <bstest/session.hpp>

#include "env/ci.hpp"
#include "record/error_events.hpp"
#include "record/record_context.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

// An exception that escaped a test (the first one), as the Session keeps it for the error event. It need
// not be the test's first failure (an assertion may have failed before it).
struct EscapedException {
  std::string type;        // demangled C++ type; "" when unknown
  std::string message;     // the framework's failure message (it holds what())
  std::string file;        // where the framework reported it (Catch2: its last assertion), "" if unknown
  int line = -1;
  // Where it was thrown: the event that reports it takes this event_id, which the stack snapshot of the
  // throw names ("for"). "" when no snapshot was taken (throw stacks off, a runtime linked statically).
  std::string event_id;
  // The snapshot line itself, when the event is written into another journal than the one that holds it
  // (bstest run writes the events of its programs): copied there first. "" otherwise.
  std::string stack_line;
};

// what() out of the framework's message for an escaped exception: GoogleTest's
// `C++ exception with description "…" thrown in the test body.`, Catch2's `unexpected exception with
// message: …` (as the bstest listener words it). "" when the message holds none ("Unknown C++ exception").
std::string exception_value(std::string_view framework_message);

// The error event of a test's verdict (flaky warning, uncaught exception, ...), with the run's context.
ErrorEvent error_event(ErrorKind kind, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                       const RunMeta& run, const CiInfo& ci, const std::string& environment);

// The uncaught-exception event of `t`: type, what() and the event_id its throw's stack names from `escaped`
// when known, else from the failure `t` carries.
ErrorEvent exception_event(const FailedTest& t, const EscapedException* escaped,
                           const std::vector<AttemptOutcome>& attempts, const RunMeta& run, const CiInfo& ci,
                           const EventContext& context);

// The error events that go with a verdict, as journal lines ({"sentry":…}\n each), one per kind: the
// flaky warning (flaky), else the uncaught-exception event when an exception escaped (`escaped`, or a type
// in `t`); and the crash event when an attempt crashed (signal, exit() or time-out of a re-run). A stack
// snapshot that an event needs and that is not in this journal yet (escaped->stack_line, a crashed re-run's
// crash_stack) comes first, naming the event.
std::string verdict_error_lines(const FailedTest& t, const std::vector<AttemptOutcome>& attempts, bool flaky,
                                const EscapedException* escaped, const RunMeta& run, const CiInfo& ci,
                                const EventContext& context);

// The HangingTest event of the test a test_started record names, in the program its run_started record
// describes (run, ci, context); the caller adds how long it ran and its stacks.
ErrorEvent hang_event(std::string_view run_started_record, std::string_view test_started_record);

// From a run_crashed log record (one line of JSON), the {"sentry":…}\n line for its crash event, with the
// context of the program's run_started record when given; empty when the record cannot be read, and for a
// re-run (attempt > 1: its owner reports the crash with the test's verdict).
std::string crash_error_line(std::string_view crash_record, std::string_view run_started_record = {});

}  // namespace bstest::detail
