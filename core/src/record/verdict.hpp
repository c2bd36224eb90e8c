// A test's final verdict after re-runs (test_flaky / test_failed records) and the error events that go
// with it. Shared by the Session (provided mains) and the suite writer of `bstest run`.
#pragma once

#include <bstest/session.hpp>

#include "env/ci.hpp"
#include "record/envelope.hpp"
#include "record/json.hpp"
#include "record/log_encoder.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

// An exception that escaped a test (the first one), as the Session keeps it for the error event. It need
// not be the test's first failure (an assertion may have failed before it).
struct EscapedException {
  std::string type;            // demangled C++ type; "" when unknown
  std::string message;         // the framework's failure message (it holds what())
  std::string file;            // where the framework reported it (Catch2: its last assertion), "" if unknown
  int line = -1;
  void* throw_site = nullptr;  // the return address of the throw, when __cxa_throw saw it
};

// what() out of the framework's message for an escaped exception: GoogleTest's
// `C++ exception with description "…" thrown in the test body.`, Catch2's `unexpected exception with
// message: …` (as the bstest listener words it). "" when the message holds none ("Unknown C++ exception").
std::string exception_value(std::string_view framework_message);

// Flaky across the iterations of a repeated run (--gtest_repeat), from 0.
struct RepeatFlake {
  int failed_iteration = 0;
  int passed_iteration = 0;
};

// Appends the test_flaky (`flaky`) or test_failed record, in the name of `enc`'s run. `repeat`: the test was
// flaky within one repeated run (no re-run needed).
void encode_verdict(LogEncoder& enc, Buf& out, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                    bool flaky, const RepeatFlake* repeat = nullptr);

// The error event of a test's verdict (flaky warning, uncaught exception, ...), with the run's context.
ErrorEvent error_event(ErrorKind kind, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                       const RunMeta& run, const CiInfo& ci, const std::string& environment);

// The uncaught-exception event of `t`: type, what() and throw site from `escaped` when known, else from the
// failure `t` carries.
ErrorEvent exception_event(const FailedTest& t, const EscapedException* escaped,
                           const std::vector<AttemptOutcome>& attempts, const RunMeta& run, const CiInfo& ci,
                           const EventContext& context);

// The error events that go with a verdict, as journal lines ({"sentry":…}\n each), one per kind: the
// flaky warning (flaky), else the uncaught-exception event when an exception escaped (`escaped`, or a type
// in `t`); and the crash event when an attempt crashed (signal, exit() or time-out of a re-run).
std::string verdict_error_lines(const FailedTest& t, const std::vector<AttemptOutcome>& attempts, bool flaky,
                                const EscapedException* escaped, const RunMeta& run, const CiInfo& ci,
                                const EventContext& context);

}  // namespace bstest::detail
