// Where it crashed, threw or hangs, end to end: programs that report to bstest (stack_pipeline_gtest.cpp,
// stack_pipeline_catch2.cpp, each with its framework's provided main) crash, throw and hang three calls deep,
// and the records and error events that reach the local Better Stack server name the innermost frame
// (function, file, line) and its callers in order.
#include "envelopes.hpp"
#include "fake_betterstack.hpp"
#include "process.hpp"
#include "stack_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <thread>

namespace bstest::testing {
namespace {

struct Pipeline {
  std::string framework;  // "gtest" or "catch2"
  std::string path;
  // The command line that runs its case `name` ("crash", "throw", "hang", "rerun", "overflow").
  std::vector<std::string> argv(const std::string& name) const {
    if (framework == "catch2") return {path, name == "rerun" ? "crashes when run again" : name};
    static const std::map<std::string, std::string> kGtest = {
        {"crash", "Stacks.Crash"},
        {"throw", "Stacks.Throw"},
        {"hang", "Stacks.Hang"},
        {"rerun", "Stacks.CrashesWhenRunAgain"},
        {"overflow", "Stacks.Overflow"}};
    return {path, "--gtest_filter=" + kGtest.at(name)};
  }
};

void PrintTo(const Pipeline& p, std::ostream* os) { *os << p.framework; }

std::vector<Pipeline> pipelines() {
  std::vector<Pipeline> out{{"gtest", build_path("BSTEST_TEST_STACK_PIPELINE_GTEST")}};
  if (const char* catch2 = std::getenv("BSTEST_TEST_STACK_PIPELINE_CATCH2")) out.push_back({"catch2", catch2});
  return out;
}

std::string suffix_of(const std::string& s, std::size_t n) { return s.size() > n ? s.substr(s.size() - n) : s; }
bool ends_with(const std::string& s, const std::string& end) { return suffix_of(s, end.size()) == end; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The in-app frames of an event's stacktrace (Sentry's order: outermost first), innermost first.
std::vector<Json> app_frames_of(const Json& event, const std::string& frames_path) {
  std::vector<Json> out;
  const rapidjson::Value* frames = event.at(frames_path);
  if (frames == nullptr || !frames->IsArray()) return out;
  for (rapidjson::SizeType i = frames->Size(); i-- > 0;) {
    const rapidjson::Value& f = (*frames)[i];
    if (f.HasMember("in_app") && f["in_app"].GetBool()) {
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      f.Accept(w);
      out.emplace_back(std::string(sb.GetString(), sb.GetSize()));
    }
  }
  return out;
}

// The three calls: corrupt_index() at the line marked `where`, called from rebuild(), called from the test's
// own function at the line marked `body` (in `body_file`); each frame of the program itself.
void expect_three_calls(const std::vector<Json>& app, const Pipeline& p, const std::string& where,
                        const std::string& body) {
  // Only these are the program's own code: not the framework's frames around them (template functions whose
  // names start with their return type too), not bstest's provided main, not the C library.
  std::string names;
  for (const auto& f : app) {
    names += f.str("function") + " " + f.str("filename") + ":" + std::to_string(f.num("lineno")) + "\n";
  }
  ASSERT_EQ(app.size(), 3u) << names;
  EXPECT_TRUE(contains(app[0].str("function"), "corrupt_index(")) << app[0].str("function");
  EXPECT_TRUE(ends_with(app[0].str("filename"), "/tests/stack/stack_fixture_calls.hpp")) << app[0].str("filename");
  EXPECT_EQ(app[0].num("lineno"), fixture_line(where));
  EXPECT_EQ(app[0].str("package"), p.path);
  EXPECT_EQ(app[0].str("instruction_addr").rfind("0x", 0), 0u);
  EXPECT_TRUE(contains(app[1].str("function"), "rebuild(")) << app[1].str("function");
  EXPECT_EQ(app[1].num("lineno"), fixture_line("rebuild"));
  if (p.framework == "gtest") {
    EXPECT_TRUE(ends_with(app[2].str("function"), "_Test::TestBody()")) << app[2].str("function");
    EXPECT_TRUE(ends_with(app[2].str("filename"), "/stack_pipeline_gtest.cpp")) << app[2].str("filename");
  } else {
    std::string body_function = app[2].str("function");
    EXPECT_TRUE(contains(body_function, "C_A_T_C_H_T_E_S_T") || contains(body_function, "CATCH2_INTERNAL_TEST"))
        << body_function;
    EXPECT_TRUE(ends_with(app[2].str("filename"), "/stack_pipeline_catch2.cpp")) << app[2].str("filename");
  }
  EXPECT_EQ(app[2].num("lineno"), fixture_line(body));
}

// The same three calls as a record's text frames, innermost first: `function (file:line)`.
void expect_three_text_frames(const Json& record, const std::string& frames_path, const std::string& where,
                              const std::string& body) {
  std::vector<std::string> app;
  const rapidjson::Value* frames = record.at(frames_path);
  ASSERT_TRUE(frames != nullptr && frames->IsArray()) << frames_path;
  for (const auto& f : frames->GetArray()) {
    std::string text = f.GetString();
    if (contains(text, "stack_fixture_calls.hpp:") || contains(text, "stack_pipeline_")) app.push_back(text);
  }
  ASSERT_GE(app.size(), 3u);
  EXPECT_TRUE(contains(app[0], "corrupt_index(")) << app[0];
  EXPECT_TRUE(ends_with(app[0], "stack_fixture_calls.hpp:" + std::to_string(fixture_line(where)) + ")")) << app[0];
  EXPECT_TRUE(contains(app[1], "rebuild(")) << app[1];
  EXPECT_TRUE(ends_with(app[1], "stack_fixture_calls.hpp:" + std::to_string(fixture_line("rebuild")) + ")")) << app[1];
  EXPECT_TRUE(ends_with(app[2], ".cpp:" + std::to_string(fixture_line(body)) + ")")) << app[2];
  // Files are shown from the repository's root (the folder with .git above them), when there is one.
  EXPECT_TRUE(contains(app[0], "(tests/stack/stack_fixture_calls.hpp:") || contains(app[0], "(/")) << app[0];
}

class StackPipeline : public ::testing::TestWithParam<Pipeline> {
 protected:
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunSpec spec(std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> env = {}) {
    auto vars = server.env();
    vars.insert(vars.end(), env.begin(), env.end());
#if defined(__SANITIZE_THREAD__)
    // Catch2's own fatal-signal handler runs before bstest's and allocates: ThreadSanitizer would stop the
    // program there (bstest's handler, which it then calls, allocates nothing), as in tests/catch2.
    if (GetParam().framework == "catch2") {
      const char* options = std::getenv("TSAN_OPTIONS");
      vars.emplace_back("TSAN_OPTIONS", std::string(options != nullptr ? options : "") + ":report_signal_unsafe=0");
    }
#endif
    return reporting_run(dir, std::move(argv), bstest, 8000, vars);
  }
  std::vector<Json> records() { return parse_all(server.records()); }
  Json one_record(const std::string& event) {
    auto r = with_event(records(), event);
    EXPECT_EQ(r.size(), 1u) << event;
    return r.empty() ? Json("{}") : r[0];
  }
  std::string marker(const std::string& name) const { return "pipeline-" + GetParam().framework + "-" + name; }
};

INSTANTIATE_TEST_SUITE_P(Frameworks, StackPipeline, ::testing::ValuesIn(pipelines()),
                         [](const auto& info) { return info.param.framework; });

TEST_P(StackPipeline, ACrashNamesTheFaultAndItsCallers) {
  RunResult r = run(spec(GetParam().argv("crash"), {{"BSTEST_RETRIES", "0"}}));
  EXPECT_TRUE(ended_by_segv(r)) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.err;
  auto envs = envelopes_settled(server, 1);
  ASSERT_EQ(envs.size(), 1u) << r.err;
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "fatal");
  EXPECT_TRUE(ev.boolean("exception.values.0.mechanism.synthetic")) << "titled by its innermost in-app frame";
  expect_three_calls(app_frames_of(ev, "exception.values.0.stacktrace.frames"), GetParam(), "crash", marker("crash"));
  EXPECT_FALSE(ev.has("extra.stack_note")) << ev.str("extra.stack_note");
  // The module of the frames, for a symbolication later.
  bool image = false;
  for (std::size_t i = 0; i < ev.size("debug_meta.images"); ++i) {
    std::string at = "debug_meta.images." + std::to_string(i) + ".";
    if (ev.str(at + "code_file") != GetParam().path) continue;
    image = true;
    EXPECT_EQ(ev.str(at + "type"), "elf");
    EXPECT_EQ(ev.str(at + "code_id").size(), 40u) << "a GNU build-id";
  }
  EXPECT_TRUE(image);

  server.wait_for_records(1, 5000);
  Json crashed = one_record("run_crashed");
  expect_three_text_frames(crashed, "crash.frames", "crash", marker("crash"));
  EXPECT_TRUE(contains(crashed.str("message"), "while the test was running, in (anonymous namespace)::corrupt_index("))
      << crashed.str("message");
  EXPECT_FALSE(crashed.has("crash.stack_note")) << crashed.str("crash.stack_note");
}

TEST_P(StackPipeline, AnEscapedExceptionNamesTheThrowAndItsCallers) {
  RunResult r = run(spec(GetParam().argv("throw"), {{"BSTEST_RETRIES", "0"}}));
  EXPECT_TRUE(r.exit_code != 0 && r.signal == 0) << "failed (Catch2 3 exits 42), no signal: " << r.err;
  auto envs = envelopes_settled(server, 1);
  ASSERT_EQ(envs.size(), 1u) << r.err;
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "error");
  EXPECT_EQ(ev.str("exception.values.0.type"), "(anonymous namespace)::IndexCorrupted");
  EXPECT_EQ(ev.str("exception.values.0.value"), "slot 7 is gone");
  EXPECT_FALSE(ev.has("exception.values.0.mechanism.synthetic"));
  auto app = app_frames_of(ev, "exception.values.0.stacktrace.frames");
  expect_three_calls(app, GetParam(), "throw", marker("throw"));
  for (std::size_t i = 0; i < ev.size("exception.values.0.stacktrace.frames"); ++i) {
    std::string f = ev.str("exception.values.0.stacktrace.frames." + std::to_string(i) + ".function");
    EXPECT_FALSE(f.empty() || f[0] == '<') << "no placeholder frame: " << f;
    EXPECT_FALSE(contains(f, "note_throw_stack") || contains(f, "__cxa_throw")) << "the capture's own frames: " << f;
  }
}

TEST_P(StackPipeline, AHungTestIsReportedWhileItRunsAndThenFinishes) {
  RunSpec s = spec(GetParam().argv("hang"), {{"BSTEST_HANG_AFTER_MS", "1000"}, {"STACK_RELEASE", dir / "release"}});
  s.timeout_ms = 60000;
  RunResult r;
  std::thread program([&] { r = run(s); });
  // The record and the event arrive while the test still runs.
  bool arrived = false;
  for (int i = 0; i < 300 && !arrived; ++i) {
    arrived = !with_event(records(), "test_hanging").empty();
    if (!arrived) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(arrived);
  EXPECT_TRUE(with_event(records(), "test_finished").empty()) << "reported while the test runs";
  server.wait_for_envelopes(1, 10000);
  write_file(dir / "release", "");
  program.join();
  EXPECT_EQ(r.exit_code, 0) << "bstest never stops the test: it passes\n" << r.err;
  Json hang = one_record("test_hanging");
  EXPECT_EQ(hang.str("level"), "warn");
  EXPECT_EQ(hang.num("hang.after_ms"), 1000);
  EXPECT_GE(hang.num("hang.running_ms"), 1000);
  EXPECT_TRUE(contains(hang.str("message"), ": running for ")) << hang.str("message");
  EXPECT_TRUE(contains(hang.str("message"), ", in (anonymous namespace)::corrupt_index(")) << hang.str("message");
  EXPECT_FALSE(hang.str("test.full_name").empty());
  EXPECT_FALSE(hang.str("run.id").empty());
  EXPECT_FALSE(hang.has("hang.stack_note")) << hang.str("hang.stack_note");
  ASSERT_GE(hang.size("hang.threads"), 3u);
  expect_three_text_frames(hang, "hang.threads.0.frames", "hang", marker("hang"));
  int workers = 0;
  for (std::size_t i = 1; i < hang.size("hang.threads"); ++i) {
    std::string at = "hang.threads." + std::to_string(i);
    if (hang.str(at + ".name") != "index-worker") continue;
    ++workers;
    bool waits = false;
    for (std::size_t k = 0; k < hang.size(at + ".frames"); ++k) {
      std::string f = hang.str(at + ".frames." + std::to_string(k));
      waits = waits || (contains(f, "worker_waits_for_rows()") &&
                        ends_with(f, "stack_fixture_calls.hpp:" + std::to_string(fixture_line("worker")) + ")"));
    }
    EXPECT_TRUE(waits) << at;
  }
  EXPECT_EQ(workers, 2);
  // Its result as usual, once it ended.
  auto finished = with_event(records(), "test_finished");
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].str("test.result"), "passed");

  auto envs = server.envelopes();
  ASSERT_EQ(envs.size(), 1u);
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "warning");
  EXPECT_EQ(ev.str("exception.values.0.type"), "HangingTest");
  EXPECT_TRUE(contains(ev.str("exception.values.0.value"), " has been running for "))
      << ev.str("exception.values.0.value");
  EXPECT_TRUE(ev.boolean("exception.values.0.mechanism.handled"));
  EXPECT_EQ(ev.str("fingerprint.1"), "hang");
  EXPECT_EQ(ev.str("fingerprint.4"), hang.str("test.full_name"));
  expect_three_calls(app_frames_of(ev, "exception.values.0.stacktrace.frames"), GetParam(), "hang", marker("hang"));
  ASSERT_GE(ev.size("threads.values"), 3u);
  EXPECT_TRUE(ev.boolean("threads.values.0.current"));
  EXPECT_EQ(ev.num("exception.values.0.thread_id"), ev.num("threads.values.0.id"));
  std::size_t named = 0;
  for (std::size_t i = 1; i < ev.size("threads.values"); ++i) {
    std::string at = "threads.values." + std::to_string(i);
    if (ev.str(at + ".name") != "index-worker") continue;
    ++named;
    EXPECT_GT(ev.size(at + ".stacktrace.frames"), 0u);
  }
  EXPECT_EQ(named, 2u);
}

// A stack overflow: the handler runs on its alternate stack; the frames are the recursion's innermost ones (the
// window the program keeps ends before the test's own frame), and the note says where unwinding stopped.
TEST_P(StackPipeline, AStackOverflowNamesTheRecursion) {
  RunResult r = run(spec(GetParam().argv("overflow"), {{"BSTEST_RETRIES", "0"}}));
  EXPECT_TRUE(ended_by_segv(r)) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.err;
  auto envs = envelopes_settled(server, 1);
  ASSERT_EQ(envs.size(), 1u) << r.err;
  Json ev(envs[0].event);
  auto app = app_frames_of(ev, "exception.values.0.stacktrace.frames");
  ASSERT_GE(app.size(), 3u);
  // The innermost one faulted on entry (its frame did not fit); each caller at the recursive call.
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(contains(app[i].str("function"), "grow_stack(int)")) << app[i].str("function");
    if (i > 0) {
      EXPECT_EQ(app[i].num("lineno"), fixture_line("overflow"));
    }
  }
  EXPECT_TRUE(contains(ev.str("extra.stack_note"), " frames (the stack window the program kept ended)"))
      << ev.str("extra.stack_note");
}

// A test that fails, then crashes when it is run again: the crash event of its verdict (written by the
// program that re-ran it) carries the re-run's stack.
TEST_P(StackPipeline, ACrashInAReRunNamesTheFault) {
  RunResult r = run(spec(GetParam().argv("rerun"), {{"BSTEST_RETRIES", "1"}}));
  EXPECT_TRUE(r.exit_code != 0 && r.signal == 0) << "failed (Catch2 3 exits 42), no signal: " << r.err;
  auto envs = envelopes_settled(server, 1);
  ASSERT_EQ(envs.size(), 1u) << r.err;
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "fatal");
  EXPECT_TRUE(contains(ev.str("exception.values.0.value"), "(attempt 2)")) << ev.str("exception.values.0.value");
  expect_three_calls(app_frames_of(ev, "exception.values.0.stacktrace.frames"), GetParam(), "crash", marker("rerun"));
  // The re-run's own crash record has the frames too.
  bool seen = false;
  for (const auto& c : with_event(records(), "run_crashed")) {
    if (c.num("run.attempt") != 2) continue;
    seen = true;
    expect_three_text_frames(c, "crash.frames", "crash", marker("rerun"));
  }
  EXPECT_TRUE(seen);
}

// The GoogleTest program alone: the cases only it has.
class StackPipelineGtest : public ::testing::Test {
 protected:
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  std::string program = build_path("BSTEST_TEST_STACK_PIPELINE_GTEST");
  Pipeline gtest{"gtest", program};
  TempDir dir;
  FakeBetterStack server;

  RunResult run_program(const std::string& filter, std::vector<std::pair<std::string, std::string>> env = {}) {
    auto vars = server.env();
    vars.insert(vars.end(), env.begin(), env.end());
    return run(reporting_run(dir, {program, "--gtest_filter=" + filter}, bstest, 8000, vars));
  }
  // `bstest run -- <program> --gtest_filter=<filter>`.
  RunResult bstest_run(const std::string& filter, std::vector<std::pair<std::string, std::string>> env = {}) {
    RunSpec spec;
    spec.argv = {bstest, "run", "--quiet", "--", program, "--gtest_filter=" + filter};
    spec.env = server.env();
    spec.env.insert(spec.env.end(), env.begin(), env.end());
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "8000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.cwd = dir.path();
    return run(spec);
  }
  Json only_event(std::size_t n = 1) {
    auto envs = envelopes_settled(server, n);
    EXPECT_EQ(envs.size(), n);
    return envs.empty() ? Json("{}") : Json(envs[0].event);
  }
};

// A crash in SetUpTestSuite, before any test of the suite ran: outside any test, and still where.
TEST_F(StackPipelineGtest, ACrashInSuiteSetUpNamesTheFault) {
  RunResult r = run_program("CrashingSetUp.*", {{"BSTEST_RETRIES", "0"}});
  EXPECT_TRUE(ended_by_segv(r)) << r.err;
  Json ev = only_event();
  auto app = app_frames_of(ev, "exception.values.0.stacktrace.frames");
  ASSERT_GE(app.size(), 3u);
  EXPECT_TRUE(contains(app[0].str("function"), "corrupt_index(")) << app[0].str("function");
  EXPECT_EQ(app[0].num("lineno"), fixture_line("crash"));
  EXPECT_TRUE(contains(app[1].str("function"), "rebuild(")) << app[1].str("function");
  EXPECT_EQ(app[2].str("function"), "CrashingSetUp::SetUpTestSuite()");
  EXPECT_EQ(app[2].num("lineno"), fixture_line("pipeline-gtest-setup"));
  server.wait_for_records(1, 5000);
  auto records = with_event(parse_all(server.records()), "run_crashed");
  ASSERT_EQ(records.size(), 1u);
  const Json& crashed = records[0];
  EXPECT_TRUE(contains(crashed.str("message"), "outside any test, in (anonymous namespace)::corrupt_index("))
      << crashed.str("message");
}

// After the run, in a static destructor: a record and a fatal event of their own, with where. The companion
// sends them once the program is gone; under bstest run, bstest run does.
TEST_F(StackPipelineGtest, ACrashInAStaticDestructorAfterTheRunNamesTheFault) {
  for (bool wrapped : {false, true}) {
    SCOPED_TRACE(wrapped ? "under bstest run" : "with the companion");
    server.reset_received();
    std::vector<std::pair<std::string, std::string>> env = {{"STACK_CRASH_AT_EXIT", "1"}};
    RunResult r = wrapped ? bstest_run("Stacks.Passes", env) : run_program("Stacks.Passes", env);
    if (wrapped) {
      EXPECT_NE(r.exit_code, 0) << r.err;
    } else {
      EXPECT_TRUE(ended_by_segv(r)) << r.err;
    }
    Json ev = only_event();
    EXPECT_EQ(ev.str("level"), "fatal");
    EXPECT_TRUE(contains(ev.str("exception.values.0.value"), "crashed with SIGSEGV after its run finished"))
        << ev.str("exception.values.0.value");
    auto app = app_frames_of(ev, "exception.values.0.stacktrace.frames");
    ASSERT_GE(app.size(), 3u);
    EXPECT_TRUE(contains(app[0].str("function"), "corrupt_index(")) << app[0].str("function");
    EXPECT_EQ(app[0].num("lineno"), fixture_line("crash"));
    EXPECT_TRUE(contains(app[1].str("function"), "rebuild(")) << app[1].str("function");
    // Inlined into the exit handler that destroys it: named from the debug information.
    EXPECT_EQ(app[2].str("function").rfind("(anonymous namespace)::CrashesAtExit::~CrashesAtExit", 0), 0u)
        << app[2].str("function");
    EXPECT_EQ(app[2].num("lineno"), fixture_line("pipeline-gtest-exit"));
    server.wait_for_records(1, 5000);
    auto crashed = with_event(parse_all(server.records()), "run_crashed");
    ASSERT_EQ(crashed.size(), 1u);
    EXPECT_TRUE(crashed[0].boolean("crash.after_run"));
    expect_three_text_frames(crashed[0], "crash.frames", "crash", "pipeline-gtest-exit");
    EXPECT_EQ(with_event(parse_all(server.records()), "run_finished").size(), 1u) << "the run itself finished";
  }
}

// A flaky test's event: titled by its type and value, no frames for a failed assertion, each failed attempt's
// assertions as breadcrumbs; under bstest run too (the first attempt's from its journal, the re-runs' from
// their result files).
TEST_F(StackPipelineGtest, AFlakyEventHasEachFailedAttemptsAssertionsAsBreadcrumbs) {
  for (bool wrapped : {false, true}) {
    SCOPED_TRACE(wrapped ? "under bstest run" : "with the companion");
    server.reset_received();
    std::vector<std::pair<std::string, std::string>> env = {{"BSTEST_RETRIES", "2"}};
    RunResult r = wrapped ? bstest_run("Stacks.FlakyAssertions", env) : run_program("Stacks.FlakyAssertions", env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Json ev = only_event();
    EXPECT_EQ(ev.str("level"), "warning");
    EXPECT_EQ(ev.str("exception.values.0.type"), "FlakyTest");
    EXPECT_FALSE(ev.has("exception.values.0.mechanism.synthetic"));
    EXPECT_FALSE(ev.has("exception.values.0.stacktrace"));
    ASSERT_EQ(ev.size("breadcrumbs.values"), 3u);
    struct Crumb {
      int attempt;
      std::string marker;
      std::string text;
    };
    std::vector<Crumb> want = {{1, "pipeline-gtest-flaky-1", "first of two"},
                               {1, "pipeline-gtest-flaky-2", "second of two"},
                               {2, "pipeline-gtest-flaky-2", "second of two"}};
    for (std::size_t i = 0; i < want.size(); ++i) {
      std::string at = "breadcrumbs.values." + std::to_string(i) + ".";
      EXPECT_EQ(ev.num(at + "data.attempt"), want[i].attempt) << i;
      EXPECT_TRUE(ends_with(ev.str(at + "data.file"), "stack_pipeline_gtest.cpp")) << ev.str(at + "data.file");
      EXPECT_EQ(ev.num(at + "data.line"), fixture_line(want[i].marker)) << i;
      EXPECT_TRUE(contains(ev.str(at + "message"), want[i].text)) << ev.str(at + "message");
      EXPECT_EQ(ev.str(at + "category"), "assertion");
    }
  }
}

// A test that threw, then passed: its flaky event carries where the first attempt threw.
TEST_F(StackPipelineGtest, AFlakyEventOfAThrowCarriesTheThrowsStack) {
  RunResult r = run_program("Stacks.ThrowsThenPasses", {{"BSTEST_RETRIES", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Json ev = only_event();
  EXPECT_EQ(ev.str("exception.values.0.type"), "FlakyTest");
  expect_three_calls(app_frames_of(ev, "exception.values.0.stacktrace.frames"), gtest, "throw",
                     "pipeline-gtest-flaky-throw");
}

// Under bstest run the events are bstest run's (its suite's journal): the program's throw stack goes with them.
TEST_F(StackPipelineGtest, UnderBstestRunAnEscapedExceptionNamesTheThrow) {
  for (const char* retries : {"0", "1"}) {
    SCOPED_TRACE(std::string("BSTEST_RETRIES=") + retries);
    server.reset_received();
    RunResult r = bstest_run("Stacks.Throw", {{"BSTEST_RETRIES", retries}});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    Json ev = only_event();
    EXPECT_EQ(ev.str("exception.values.0.type"), "(anonymous namespace)::IndexCorrupted");
    expect_three_calls(app_frames_of(ev, "exception.values.0.stacktrace.frames"), gtest, "throw",
                       "pipeline-gtest-throw");
  }
}

// Where ptrace is refused (here: the program is not dumpable, and it and its companion run as an ordinary
// user, without CAP_SYS_PTRACE), the hang is still reported, and one line says why there are no stacks.
TEST_F(StackPipelineGtest, AHangWhoseStacksAreRefusedIsReportedWithWhy) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run the program as another user";
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
  if (!nobody_can_access({program, bstest, dir.path()}, X_OK)) {
    GTEST_SKIP() << "user nobody cannot reach the program, bstest or " << dir.path() << " (a private folder)";
  }
  auto vars = server.env();
  vars.insert(vars.end(), {{"BSTEST_HANG_AFTER_MS", "1000"}, {"STACK_RELEASE", dir / "release"},
                           {"STACK_NOT_DUMPABLE", "1"}});
  RunSpec s = reporting_run(dir,
                            {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", program,
                             "--gtest_filter=Stacks.Hang"},
                            bstest, 8000, vars);
  RunResult r;
  std::thread running([&] { r = run(s); });
  bool arrived = false;
  for (int i = 0; i < 300 && !arrived; ++i) {
    arrived = !with_event(parse_all(server.records()), "test_hanging").empty();
    if (!arrived) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.wait_for_envelopes(1, 10000);
  write_file(dir / "release", "");
  running.join();
  ASSERT_TRUE(arrived) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Json hang = with_event(parse_all(server.records()), "test_hanging")[0];
  EXPECT_EQ(hang.str("hang.stack_note").rfind("ptrace refused (", 0), 0u)
      << hang.str("hang.stack_note");
  EXPECT_TRUE(contains(hang.str("hang.stack_note"), "not dumpable")) << hang.str("hang.stack_note");
  EXPECT_EQ(hang.size("hang.threads"), 0u);
  EXPECT_FALSE(contains(hang.str("message"), ", in ")) << hang.str("message");
  auto envs = server.envelopes();
  ASSERT_EQ(envs.size(), 1u);
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("exception.values.0.type"), "HangingTest");
  EXPECT_EQ(ev.str("extra.stack_note"), hang.str("hang.stack_note"));
  EXPECT_FALSE(ev.has("exception.values.0.stacktrace"));
}

// Under bstest run, bstest run re-runs the test and writes its verdict's crash event with the re-run's stack.
TEST_F(StackPipelineGtest, UnderBstestRunACrashInAReRunNamesTheFault) {
  RunResult r = bstest_run("Stacks.CrashesWhenRunAgain", {{"BSTEST_RETRIES", "1"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  Json ev = only_event();
  EXPECT_EQ(ev.str("level"), "fatal");
  EXPECT_TRUE(contains(ev.str("exception.values.0.value"), "(attempt 2)")) << ev.str("exception.values.0.value");
  expect_three_calls(app_frames_of(ev, "exception.values.0.stacktrace.frames"), gtest, "crash", "pipeline-gtest-rerun");
}

// Without the bstest program (the test program ships its own records at its end) nothing names the stack: the
// event says so, and has no frames.
TEST_F(StackPipelineGtest, WithoutTheBstestProgramTheEventSaysItsStackWasNotNamed) {
  RunResult r = run_program("Stacks.Throw", {{"BSTEST_RETRIES", "0"}, {"BSTEST_SHIPPER", dir / "no-such-program"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  Json ev = only_event();
  EXPECT_EQ(ev.str("exception.values.0.type"), "(anonymous namespace)::IndexCorrupted");
  EXPECT_FALSE(ev.has("exception.values.0.stacktrace"));
  EXPECT_EQ(ev.str("extra.stack_note").rfind("not named: ", 0), 0u) << ev.str("extra.stack_note");
}

}  // namespace
}  // namespace bstest::testing
