// `bstest run` and the quarantine file (docs/quarantine.md, "In a run"): bstest run owns the suite, so it
// reads the file once, at its start, says what is wrong with it or which entries have ended, gives its
// command and the re-runs the same file and day (quarantine_env), and at the end names the stale entries.
#pragma once

#include "quarantine/quarantine.hpp"
#include "run/suite.hpp"

#include <string>
#include <vector>

namespace bstest::cli {

// Reads the file from the working directory, as of today; says its problems or its ended entries on stderr,
// and writes a quarantine_expired record for each ended entry through `writer`.
Quarantine start_run_quarantine(const Config& config, SuiteWriter& writer);

// When every program of the suite ran every one of its tests (each kept what it matched, for this run): the
// entries that no program's last complete run matched, on stderr and as quarantine_stale records.
void report_stale_quarantine(const Config& config, const Quarantine& quarantine, const std::string& run_id,
                             const std::vector<ProgramRun>& programs, SuiteWriter& writer);

}  // namespace bstest::cli
