// The framework-neutral description of a test run that reporters hand to a Session.
//
// Every struct here is a view: strings are std::string_view into the caller's objects and must stay valid
// only for the duration of the Session call that receives them (the Session copies what it keeps). This
// keeps a reporter's hot path free of allocations.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace bstest {

enum class Result : std::uint8_t {
  passed,
  failed,
  skipped,   // skipped by the test itself (GTEST_SKIP, SKIP) or by the framework (set-up failed, fail-fast)
  disabled,  // never meant to run (DISABLED_ prefix); reported once, without test_started
};

// "passed", "failed", "skipped", "disabled".
std::string_view to_string(Result r) noexcept;

// Once per test program, before any test.
struct RunInfo {
  std::string_view framework;          // "googletest", "catch2", "doctest", ...
  std::string_view framework_version;  // "1.12.1"
  // Which shard this is, when the framework was told (Catch2's --shard-count/--shard-index). Left unset,
  // bstest reads GoogleTest's GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS (framework "googletest") or its own
  // BSTEST_SHARD_INDEX/BSTEST_SHARD_TOTAL.
  int shard_index = -1;                // -1: not sharded
  int shard_total = 0;
  bool has_random_seed = false;
  std::uint64_t random_seed = 0;
  // Every test of the program runs: no filter or test spec selects some of them (sharding is told apart
  // above). Such a run tells which quarantine entries match no test any more (docs/quarantine.md).
  bool runs_every_test = false;
};

// Identity of one test. `full_name` is the name the framework selects the test by (GoogleTest
// "Suite.Name", Catch2 the test case name); when empty the Session uses "suite.name".
struct TestInfo {
  std::string_view suite;
  std::string_view name;
  std::string_view full_name;
  std::string_view type_param;   // GoogleTest typed tests
  std::string_view value_param;  // GoogleTest value-parameterized tests
  std::string_view file;
  int line = 0;
  std::string_view class_name;          // Catch2 test fixture class
  std::vector<std::string_view> tags;   // Catch2 tags, without brackets
};

enum class FailureKind : std::uint8_t {
  assertion,    // a failed check (EXPECT_*, CHECK, REQUIRE, ...)
  explicit_fail,// FAIL(), ADD_FAILURE()
  exception,    // an exception escaped the test code
  fatal_error,  // a signal caught by the framework (Catch2's FatalConditionHandler)
};

// One failure inside a test, or outside any test (see Session::fixture_failure).
struct Failure {
  std::string_view file;  // empty when the framework does not know it
  int line = -1;          // -1 when unknown
  std::string_view message;
  FailureKind kind = FailureKind::assertion;
  bool fatal = false;     // stopped the test (ASSERT_*, REQUIRE)
  bool allowed = false;   // a failure the framework was told to tolerate (Catch2 [!mayfail], [!shouldfail])
  // Optional details; frameworks that have them fill them in.
  std::string_view macro;             // "CHECK", "REQUIRE_THROWS_AS"
  std::string_view expression;        // as written: "a == b"
  std::string_view expanded;          // with values: "1 == 2"
  std::string_view section;           // Catch2 section path, "outer / inner"
  int pass = 0;                       // Catch2 pass through the test case (sections, generators), from 1
  std::vector<std::string_view> info; // INFO / CAPTURE / SCOPED_TRACE messages in scope
  std::string_view exception_type;    // demangled C++ type, when the exception was seen being thrown
};

// Where an outside-test failure happened.
enum class FixturePhase : std::uint8_t {
  suite_setup,      // GoogleTest SetUpTestSuite
  suite_teardown,   // GoogleTest TearDownTestSuite
  global_setup,     // GoogleTest Environment::SetUp
  global_teardown,  // GoogleTest Environment::TearDown
  run,              // anywhere else (code before the first test, an invalid test spec, ...)
};

std::string_view to_string(FixturePhase p) noexcept;

struct TestEnd {
  Result result = Result::passed;
  std::string_view skip_reason;  // for skipped: the message or the cause ("SetUpTestSuite failed")
  // Since test_started, as the framework measured it; it also dates the test_finished record (test_started's
  // time plus this), which may be written later. < 0: the Session measures it when test_finished is called.
  double duration_ms = -1;
};

}  // namespace bstest
