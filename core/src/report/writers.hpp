// The report's three formats, each written from the model (report/run_report.hpp). docs/report.md says
// what each holds and which tools read it.
#pragma once

#include "report/run_report.hpp"

#include <string>

namespace bstest::report {

// JUnit XML: one <testsuite> per program and test suite, each test once with its final verdict; flaky
// tests pass with a <flakyFailure> per failed attempt and tests that failed every attempt carry a
// <rerunFailure> per re-run (Maven Surefire's convention, which Jenkins reads); a crash is an <error>.
// Valid against docs/junit.xsd.
std::string junit_xml(const RunReport& report);

// One self-contained HTML page (no network): verdict and counts, failures first, flaky tests with their
// attempts, crashed programs, the slowest tests, and every test in a filterable table that renders only
// the rows on screen (usable at 100,000 tests).
std::string html_page(const RunReport& report);

// GitHub-flavoured Markdown for a CI job summary ($GITHUB_STEP_SUMMARY): verdict, counts, failed,
// crashed and flaky tests, links to the CI run and to the run in Better Stack when known. At most about
// `max_bytes` (GitHub takes 1 MiB per step): lists are cut with a note.
std::string markdown_summary(const RunReport& report, std::size_t max_bytes = 256u << 10);

// The words every format shows (report/wording.cpp).
// The verdict in one word: "PASSED", "FAILED", "RUNNING" (a program is still writing).
std::string verdict_word(const RunReport& report);
// "17 tests: 7 passed, 2 flaky, 5 failed, 1 crashed, 1 skipped, 1 disabled" (verdicts with no test left out),
// then the crashed programs and failures outside tests when there are any.
std::string counts_line(const RunReport& report);
// What the attempts of a re-run test say: "failed, then passed on attempt 2", "failed all 3 attempts".
std::string attempts_line(const TestCase& test);
// A quarantined test's entry: "quarantined until 2027-01-31: flaky on the farm (https://bugs/7)"; "" when
// the test is not quarantined.
std::string quarantine_line(const TestCase& test);
// The program and test, for lists: "math_test: Math.Add".
std::string test_label(const Program& program, const TestCase& test);

}  // namespace bstest::report
