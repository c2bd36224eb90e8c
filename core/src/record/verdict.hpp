// A test's final verdict after re-runs (test_flaky / test_failed records) and the error event that goes
// with it. Shared by the Session (provided mains) and the suite writer of `bstest run`.
#pragma once

#include <bstest/session.hpp>

#include "env/ci.hpp"
#include "record/envelope.hpp"
#include "record/json.hpp"
#include "record/log_encoder.hpp"

#include <string>
#include <vector>

namespace bstest::detail {

// Appends the test_flaky (`flaky`) or test_failed record, in the name of `enc`'s run.
void encode_verdict(LogEncoder& enc, Buf& out, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                    bool flaky);

// The error event of a test's verdict (flaky warning, uncaught exception, ...), with the run's context.
ErrorEvent error_event(ErrorKind kind, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                       const RunMeta& run, const CiInfo& ci, const std::string& environment);

}  // namespace bstest::detail
