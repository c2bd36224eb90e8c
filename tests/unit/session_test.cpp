// The records a Session writes, read back from its journal: whatever a test throws at it, each record is
// valid JSON of at most 100 KiB that says what it left out, and no secret is shown, not even in part.
#include <bstest/session.hpp>

#include "record/json.hpp"

#include "process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <random>
#include <string>
#include <thread>
#include <vector>

using bstest::testing::Json;
using bstest::testing::TempDir;

namespace {

constexpr std::size_t kMaxRecordBytes = 100u << 10;

// A Session that keeps its records in `dir` and never ships or prints.
bstest::Config local_config(const std::string& dir) {
  bstest::Config cfg = bstest::Config::from_env([](const char*) -> const char* { return nullptr; });
  cfg.dir = dir;
  cfg.quiet = true;
  return cfg;
}

// Every record of the run, each as written.
std::vector<std::string> records_of(const std::string& dir) {
  std::vector<std::string> r;
  for (auto& line : bstest::testing::journal_lines(dir)) {
    if (line.rfind("{\"id\":", 0) == 0) r.push_back(line);
  }
  return r;
}

// Checks what must hold for every record; returns the parsed ones.
std::vector<Json> check_records(const std::string& dir) {
  std::vector<Json> parsed;
  for (const auto& text : records_of(dir)) {
    EXPECT_LE(text.size() + 1, kMaxRecordBytes) << "a record of " << text.size() << " bytes: " << text.substr(0, 300);
    Json j(text);
    EXPECT_TRUE(j.ok()) << text.substr(0, 300);
    parsed.push_back(std::move(j));
  }
  return parsed;
}

std::string control_bytes(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\x01');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(1 + (i * 7 + seed) % 31);  // \u0001 .. \u001f
  return s;
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  void set(const std::string& name, const std::string& value) {
    const char* old = std::getenv(name.c_str());
    saved_.push_back({name, old != nullptr, old != nullptr ? old : ""});
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->had) {
        ::setenv(it->name.c_str(), it->value.c_str(), 1);
      } else {
        ::unsetenv(it->name.c_str());
      }
    }
  }

 private:
  struct Saved {
    std::string name;
    bool had;
    std::string value;
  };
  std::vector<Saved> saved_;
};

bstest::TestInfo test_info(std::string_view suite, std::string_view name) {
  bstest::TestInfo t;
  t.suite = suite;
  t.name = name;
  t.file = "session_test.cpp";
  t.line = 1;
  return t;
}

// The auditor's three cases: escaping multiplies bytes, so input caps alone let records grow past 100 KiB.
TEST(SessionRecords, ControlBytesInAMessageAndItsDetails) {
  TempDir dir;
  {
    bstest::Session s(local_config(dir.path()));
    s.run_started({"unit", "1"});
    s.test_started(test_info("Big", "Control"));
    std::string ctrl = control_bytes(16u << 10);
    bstest::Failure f;
    f.file = "big.cpp";
    f.line = 1;
    f.message = ctrl;
    f.expression = ctrl;
    f.expanded = ctrl;
    f.macro = ctrl;
    f.section = ctrl;
    s.failure(f);
    s.test_finished({bstest::Result::failed, {}, -1});
    s.run_finished();
  }
  auto records = check_records(dir.path());
  auto finished = bstest::testing::with_event(records, "test_finished");
  ASSERT_EQ(finished.size(), 1u);
  ASSERT_EQ(finished[0].size("test.failures"), 1u) << "cut harder, but kept";
  EXPECT_NE(finished[0].str("test.failures.0.message").find("[bstest: truncated"), std::string::npos);
}

// A record's dt, in microseconds since the epoch (the project's own parser); -1 when it is not a timestamp.
long long dt_us(const Json& record) { return bstest::detail::parse_timestamp_us(record.str("dt")); }

long long system_now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// A test's records are dated when it started and when it ended, on the wall clock, whether the framework gave
// its duration (GoogleTest: the record is written later, when the next event came) or the Session measured it.
TEST(SessionRecords, ATestsRecordsAreDatedAtItsStartAndItsEnd) {
  TempDir dir;
  long long before = system_now_us();
  {
    bstest::Session s(local_config(dir.path()));
    s.run_started({"unit", "1"});
    s.test_started(test_info("Dated", "ByTheFramework"));
    s.test_finished({bstest::Result::passed, {}, 2500.0});  // as if it ran 2.5 s
    s.test_started(test_info("Dated", "ByTheSession"));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    s.test_finished({bstest::Result::passed, {}, -1});
    s.run_finished();
  }
  long long after = system_now_us();
  auto records = check_records(dir.path());
  auto started = bstest::testing::with_event(records, "test_started");
  auto finished = bstest::testing::with_event(records, "test_finished");
  ASSERT_EQ(started.size(), 2u);
  ASSERT_EQ(finished.size(), 2u);
  for (const Json& r : started) {
    EXPECT_GE(dt_us(r), before - 1000) << r.str("dt");
    EXPECT_LE(dt_us(r), after + 1000) << r.str("dt");
  }
  EXPECT_NEAR(dt_us(finished[0]) - dt_us(started[0]), 2500000, 1000) << "dated at the end the framework measured";
  long long measured_us = dt_us(finished[1]) - dt_us(started[1]);
  EXPECT_GE(measured_us, 29000);
  EXPECT_NEAR(static_cast<double>(measured_us), finished[1].dbl("test.duration_ms") * 1000, 1000);
  EXPECT_LE(dt_us(finished[1]), after + 1000);
  EXPECT_GE(dt_us(started[1]), dt_us(started[0]));
}

TEST(SessionRecords, LargeAsciiFailuresAndProperties) {
  TempDir dir;
  {
    bstest::Session s(local_config(dir.path()));
    s.run_started({"unit", "1"});
    s.test_started(test_info("Big", "Ascii"));
    std::string text(20000, 'x');
    for (int i = 0; i < 4; ++i) {
      bstest::Failure f;
      f.message = text;
      f.expression = text;
      f.expanded = text;
      s.failure(f);
    }
    for (int i = 0; i < 10; ++i) s.property("key" + std::to_string(i), std::string(2000, 'v'));
    s.test_finished({bstest::Result::failed, {}, -1});
    s.run_finished();
  }
  auto finished = bstest::testing::with_event(check_records(dir.path()), "test_finished");
  ASSERT_EQ(finished.size(), 1u);
  const Json& t = finished[0];
  std::size_t kept = t.size("test.failures");
  EXPECT_GE(kept, 1u);
  EXPECT_EQ(kept + static_cast<std::size_t>(std::max(0LL, t.num("test.failures_omitted"))), 4u)
      << "every failure is either kept or counted";
  EXPECT_EQ(t.str("test.failures.0.message").size(), 16384u + std::string(" [bstest: truncated, kept 16384 of 20000 bytes]").size())
      << "an ASCII message keeps its whole 16 KiB";
  const auto* props = t.at("test.properties");
  std::size_t props_kept = props != nullptr && props->IsObject() ? props->MemberCount() : 0;
  EXPECT_EQ(props_kept + static_cast<std::size_t>(std::max(0LL, t.num("test.properties_omitted"))), 10u);
}

TEST(SessionRecords, IdentityOfControlBytesInEveryRecordOfTheTest) {
  TempDir dir;
  ScopedEnv env;
  // CI metadata too: every value a CI provider gives, at its longest.
  env.set("GITHUB_ACTIONS", "true");
  for (const char* v : {"GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_JOB",
                        "GITHUB_SHA", "GITHUB_HEAD_REF", "GITHUB_EVENT_NAME", "GITHUB_SERVER_URL"}) {
    env.set(v, control_bytes(4096, static_cast<unsigned>(v[8])));
  }
  std::string ctrl = control_bytes(4096);
  std::vector<std::string_view> tags(2000, std::string_view());  // empty tags are not free
  {
    bstest::Session s(local_config(dir.path()));
    std::string framework = control_bytes(4096, 3);
    s.run_started({framework, framework});
    bstest::TestInfo t;
    t.suite = ctrl;
    t.name = ctrl;
    t.full_name = ctrl;
    t.type_param = ctrl;
    t.value_param = ctrl;
    t.file = ctrl;
    t.class_name = ctrl;
    t.tags = tags;
    s.test_started(t);
    bstest::Failure f;
    f.file = ctrl;
    const std::string megabyte = control_bytes(1u << 20);
    f.message = megabyte;
    f.info.assign(100000, std::string_view());
    s.failure(f);
    s.property(ctrl, ctrl);
    s.test_finished({bstest::Result::skipped, control_bytes(8192), -1});
    s.test_not_run(t, bstest::Result::disabled, control_bytes(8192));
    s.fixture_failure(bstest::FixturePhase::suite_setup, ctrl, f);
    s.run_problem(control_bytes(8192), false);
    s.run_finished();
  }
  auto records = check_records(dir.path());
  EXPECT_EQ(records.size(), 7u);
  for (const auto& r : records) {
    // A test's records that did not fail (its start, its skipped and disabled results) carry no ci object:
    // run_started and run_finished have it.
    const std::string ev = r.str("event");
    const bool short_record = ev == "test_started" || (ev == "test_finished" && r.str("level") != "error");
    EXPECT_EQ(r.str("ci.provider"), short_record ? "" : "github") << ev;
  }
}

// The crash record a dying run writes is held to the same limit.
TEST(SessionRecords, CrashRecordOfATestWithHugeFailures) {
  TempDir dir;
  {
    bstest::Session s(local_config(dir.path()));
    s.run_started({"unit", "1"});
    std::string name(2048, '"');
    s.test_started(test_info(name, name));
    std::string text(16u << 10, '\x02');
    for (int i = 0; i < 50; ++i) {
      bstest::Failure f;
      f.message = text;
      s.failure(f);
    }
    // Destroyed before the test ends: the run is recorded as crashed, in this test.
  }
  auto crashed = bstest::testing::with_event(check_records(dir.path()), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u);
  // 50 failures: those kept and those counted as omitted add up to every one.
  ASSERT_GE(crashed[0].num("test.failures_omitted"), 0);
  EXPECT_EQ(static_cast<long long>(crashed[0].size("test.failures")) + crashed[0].num("test.failures_omitted"), 50);
}

// Random hostile runs: sizes, escapes, counts.
TEST(SessionRecords, RandomHostileInputNeverMakesARecordLargerThan100KiB) {
  std::mt19937 rng(20260101);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % (n + 1)); };
  auto text = [&](std::size_t max) {
    std::string s(pick(max), 'a');
    unsigned mode = rng() % 4;
    for (auto& c : s) {
      switch (mode) {
        case 0: c = static_cast<char>(rng() % 32); break;                    // control bytes: 6x
        case 1: c = static_cast<char>(0x80 + rng() % 0x80); break;           // invalid UTF-8: 3x
        case 2: c = "\"\\"[rng() % 2]; break;                                  // escapes: 2x
        default: c = static_cast<char>('a' + rng() % 26); break;
      }
    }
    return s;
  };
  for (int run = 0; run < 12; ++run) {
    TempDir dir;
    std::deque<std::string> keep;  // the strings the views point into (a deque never moves them)
    auto view = [&](std::size_t max) -> std::string_view { return keep.emplace_back(text(max)); };
    {
      bstest::Session s(local_config(dir.path()));
      s.run_started({view(3000), view(3000)});
      for (int t = 0; t < 6; ++t) {
        bstest::TestInfo info;
        info.suite = view(3000);
        info.name = view(3000);
        info.type_param = view(3000);
        info.value_param = view(3000);
        info.file = view(3000);
        info.class_name = view(3000);
        for (std::size_t k = pick(20); k > 0; --k) info.tags.push_back(view(400));
        s.test_started(info);
        for (std::size_t k = pick(30); k > 0; --k) {
          bstest::Failure f;
          f.file = view(3000);
          f.message = view(40000);
          f.expression = view(3000);
          f.expanded = view(3000);
          f.macro = view(3000);
          f.section = view(3000);
          f.exception_type = view(3000);
          for (std::size_t i = pick(12); i > 0; --i) f.info.push_back(view(3000));
          s.failure(f);
        }
        for (std::size_t k = pick(40); k > 0; --k) s.property(view(400), view(3000));
        s.test_finished({rng() % 2 ? bstest::Result::failed : bstest::Result::skipped, view(6000), -1});
      }
      bstest::Failure f;
      f.message = view(40000);
      f.file = view(3000);
      f.expression = view(3000);
      s.fixture_failure(bstest::FixturePhase::global_teardown, view(3000), f);
      s.run_finished();
    }
    auto records = check_records(dir.path());
    EXPECT_EQ(records.size(), 15u) << "run " << run;
  }
}

// --- secrets -----------------------------------------------------------------------------------------

constexpr const char* kSecret = "sk-live-7f3a9c1e2b4d6f80";

// True when some record, or the kept first failure, shows the start of the secret.
void expect_no_part_of(const std::string& dir, const std::string& secret) {
  const std::string part = secret.substr(0, 6);
  for (const auto& line : bstest::testing::journal_lines(dir)) {
    EXPECT_EQ(line.find(part), std::string::npos) << "'" << part << "' shown in: " << line.substr(0, 400);
  }
}

TEST(SessionSecrets, ASecretStraddlingACutIsRedactedWhole) {
  ScopedEnv env;
  env.set("MY_API_KEY", kSecret);
  // Cuts a record makes: 2000 bytes of a failure kept for verdicts and error events, 512 of a message line.
  for (std::size_t at : {1990u, 505u}) {
    TempDir dir;
    std::string msg = std::string(at, 'm') + kSecret + " and more";
    {
      bstest::Session s(local_config(dir.path()));
      s.run_started({"unit", "1"});
      s.test_started(test_info("Leak", "Failure"));
      bstest::Failure f;
      f.message = msg;
      s.failure(f);
      s.test_finished({bstest::Result::failed, {}, -1});
      ASSERT_EQ(s.failed_tests().size(), 1u);
      EXPECT_EQ(s.failed_tests()[0].first_failure_message.find(std::string(kSecret).substr(0, 6)), std::string::npos)
          << s.failed_tests()[0].first_failure_message.substr(1900);
      s.test_started(test_info("Leak", "Skip"));
      s.test_finished({bstest::Result::skipped, msg, -1});
      s.test_not_run(test_info("Leak", "NotRun"), bstest::Result::skipped, msg);
      s.fixture_failure(bstest::FixturePhase::suite_setup, "Leak", f);
      s.run_problem(msg, false);
      s.run_finished();
    }
    expect_no_part_of(dir.path(), kSecret);
  }
}

// A fatal error a framework reports from inside its signal handler (Catch2's) is encoded without allocating,
// with a redaction of its own: no part of a secret shows, in its message or its info lines. When the
// program lives on after all (an adapter whose framework recovers), the test's record keeps it.
TEST(SessionSecrets, AFailureFromASignalHandlerIsRedactedAndKept) {
  ScopedEnv env;
  env.set("MY_API_KEY", kSecret);
  TempDir dir;
  std::string message = std::string("fatal error condition: SIGSEGV near ") + kSecret;
  std::string info = std::string(kSecret) + " in scope, twice: " + kSecret;
  {
    bstest::Session s(local_config(dir.path()));
    s.run_started({"unit", "1"});
    s.test_started(test_info("Signal", "Fatal"));
    bstest::Failure f;
    f.message = message;
    f.kind = bstest::FailureKind::fatal_error;
    f.fatal = true;
    f.info = {info};
    s.failure(f);
    s.test_finished({bstest::Result::failed, {}, -1});
    s.run_finished();
  }
  expect_no_part_of(dir.path(), kSecret);
  std::vector<Json> finished;
  for (auto& r : check_records(dir.path())) {
    if (r.str("event") == "test_finished") finished.push_back(r);
  }
  ASSERT_EQ(finished.size(), 1u);
  ASSERT_EQ(finished[0].size("test.failures"), 1u);
  EXPECT_EQ(finished[0].str("test.failures.0.kind"), "fatal_error");
  EXPECT_EQ(finished[0].str("test.failures.0.message"), "fatal error condition: SIGSEGV near [redacted]");
  EXPECT_EQ(finished[0].str("test.failures.0.info.0"), "[redacted] in scope, twice: [redacted]");
}

// An escaped exception's message, kept (cut) for its error event: a secret across that cut is redacted whole.
TEST(SessionSecrets, AnExceptionsMessageIsRedactedBeforeItIsCutForItsEvent) {
  ScopedEnv env;
  env.set("MY_API_KEY", kSecret);
  TempDir dir;
  {
    bstest::Config cfg = bstest::Config::from_env([](const char* name) -> const char* {
      return std::string(name) == "BETTERSTACK_ERRORS_DSN" ? "http://errorskey0123@127.0.0.1:1/1" : nullptr;
    });
    ASSERT_TRUE(cfg.errors.enabled());
    cfg.dir = dir.path();
    cfg.quiet = true;
    cfg.shipper_program = dir / "no-such-program";  // no companion; shipping at exit fails at once
    cfg.flush_timeout_ms = 100;
    bstest::Session s(cfg);
    s.run_started({"unit", "1"});
    s.test_started(test_info("Leak", "Throws"));
    bstest::Failure first;  // an assertion first: the event's message is the exception's own
    first.message = "expected 1, got 2";
    s.failure(first);
    bstest::Failure thrown;
    thrown.kind = bstest::FailureKind::exception;
    thrown.fatal = true;
    const std::string msg = std::string(1990, 'm') + kSecret + " and more";  // the event keeps 2000 bytes
    thrown.message = msg;
    s.failure(thrown);
    s.test_finished({bstest::Result::failed, {}, -1});
    s.run_finished();
  }
  bool event = false;
  for (const auto& line : bstest::testing::journal_lines(dir.path())) event |= line.rfind("{\"sentry\":", 0) == 0;
  EXPECT_TRUE(event) << "the exception's event was checked too";
  expect_no_part_of(dir.path(), kSecret);
}

TEST(SessionSecrets, TheBareHeartbeatTokenIsRedacted) {
  TempDir dir;
  const std::string token = "hb-token-0a1b2c3d4e5f";
  {
    bstest::Config cfg = local_config(dir.path());
    cfg.heartbeat.url = bstest::Secret("http://127.0.0.1:1/api/v1/heartbeat/" + token);
    cfg.shipper_program = dir / "no-such-program";  // no companion; shipping at exit fails at once
    cfg.flush_timeout_ms = 100;
    bstest::Session s(cfg);
    s.run_started({"unit", "1"});
    s.test_started(test_info("Echo", "Token"));
    bstest::Failure f;
    const std::string echo = "pinging with token " + token;
    f.message = echo;
    s.failure(f);
    s.property("token", token);
    s.test_finished({bstest::Result::failed, {}, -1});
    s.run_finished();
  }
  auto lines = bstest::testing::journal_lines(dir.path());
  ASSERT_FALSE(lines.empty());
  bool heartbeat_line = false;
  for (const auto& line : lines) {
    heartbeat_line |= line.rfind("{\"heartbeat\":", 0) == 0;
    EXPECT_EQ(line.find(token), std::string::npos) << line.substr(0, 400);
  }
  EXPECT_TRUE(heartbeat_line) << "the failing heartbeat's body (which lists the failure) was checked too";
}

}  // namespace
