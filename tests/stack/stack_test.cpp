// Stacks of a crash, an escaped exception and a hang, three calls deep in a real test program
// (stack_fixture.cpp): taken inside it the way bstest takes them, unwound and named here, in another process.
#include "record/error_events.hpp"
#include "stack/capture.hpp"
#include "stack/render.hpp"
#include "stack/symbolize.hpp"
#include "stack_support.hpp"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace bstest::testing {
namespace {

namespace stack = detail::stack;

RunResult run_argv(std::vector<std::string> argv) {
  RunSpec spec;
  spec.argv = std::move(argv);
  return run(spec);
}

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif

// Runs `argv` (a fixture's test) with its snapshots going to a file; returns its first snapshot line.
std::string snapshot_of(const TempDir& dir, std::vector<std::string> argv, RunResult& r) {
  RunSpec spec;
  spec.env = {{"STACK_OUT", dir / "stack"}};
  // Catch2's own SIGSEGV handler runs before the fixture's and allocates: ThreadSanitizer would stop the
  // program there (our handler, which it then calls, allocates nothing).
  if (kThreadSanitizer && argv.size() == 2 && argv[1] == "crash") {
    const char* options = std::getenv("TSAN_OPTIONS");
    spec.env.emplace_back("TSAN_OPTIONS", std::string(options != nullptr ? options : "") + ":report_signal_unsafe=0");
  }
  spec.argv = std::move(argv);
  r = run(spec);
  std::vector<std::string> lines = lines_of(read_file(dir / "stack"));
  return lines.empty() ? std::string() : lines.front();
}

FixtureProgram gtest_fixture() { return fixture_programs().front(); }

// The crash, throw and hang tests run with each framework's fixture.
class Stacks : public ::testing::TestWithParam<FixtureProgram> {};
INSTANTIATE_TEST_SUITE_P(Frameworks, Stacks, ::testing::ValuesIn(fixture_programs()),
                         [](const auto& info) { return info.param.framework; });

TEST_P(Stacks, CrashNamesTheFaultingLineAndItsCallers) {
  TempDir dir;
  RunResult r;
  std::string line = snapshot_of(dir, GetParam().argv("crash"), r);
  EXPECT_TRUE(ended_by_segv(r)) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.err;
  ASSERT_FALSE(line.empty()) << r.out << r.err;
  EXPECT_LT(line.size(), stack::kCrashLineCapacity);

  stack::Stack s = stack::symbolize_snapshot(line);
  EXPECT_EQ(s.problem, "");
  ASSERT_FALSE(s.frames.empty());
  EXPECT_TRUE(s.frames[0].in_app) << "the innermost frame is the faulting instruction: " << s.frames[0].function;
  expect_three_calls_deep(s, GetParam(), "crash", "crash");
  // Below the test body: the framework's frames, not the program's own code.
  const std::string framework = GetParam().framework == "gtest" ? "testing::" : "Catch::";
  bool seen = false;
  for (const auto& f : s.frames) seen = seen || (f.function.rfind(framework, 0) == 0 && !f.in_app);
  EXPECT_TRUE(seen) << stack::stack_text(s, 16384);
}

// What the fatal event will carry: the frames through bstest's Sentry event encoder.
TEST(CrashStack, SentryOrderIsOutermostFirst) {
  TempDir dir;
  RunResult r;
  stack::Stack s = stack::symbolize_snapshot(snapshot_of(dir, gtest_fixture().argv("crash"), r));
  detail::ErrorEvent e;
  e.kind = detail::ErrorKind::crash;
  e.full_name = "Stacks.Crash";
  e.stack = stack::event_stack(s);
  Json j(detail::sentry_event_json(e));
  ASSERT_TRUE(j.ok());
  const rapidjson::Value& frames = j.doc()["exception"]["values"][0]["stacktrace"]["frames"];
  rapidjson::SizeType n = frames.Size();
  ASSERT_GE(n, 4u);
  const rapidjson::Value& last = frames[n - 1];
  EXPECT_NE(std::string(last["function"].GetString()).find("corrupt_index("), std::string::npos);
  EXPECT_EQ(std::string(last["filename"].GetString()).substr(std::string(last["filename"].GetString()).rfind('/') + 1),
            "stack_fixture_calls.hpp");
  EXPECT_EQ(last["lineno"].GetInt(), fixture_line("crash"));
  EXPECT_TRUE(last["in_app"].GetBool());
  EXPECT_EQ(last["package"].GetString(), build_path("BSTEST_TEST_STACK_FIXTURE"));
  EXPECT_EQ(std::string(last["instruction_addr"].GetString()).rfind("0x", 0), 0u);
  EXPECT_NE(std::string(frames[n - 2]["function"].GetString()).find("rebuild("), std::string::npos);
  EXPECT_EQ(std::string(frames[n - 3]["function"].GetString()), "Stacks_Crash_Test::TestBody()");
  EXPECT_FALSE(frames[0]["in_app"].GetBool()) << "the outermost frame of the stack is the C runtime's start";
  EXPECT_TRUE(j.doc()["exception"]["values"][0]["mechanism"]["synthetic"].GetBool())
      << "a crash with real frames is titled by its innermost in-app frame";

  std::string text = stack::stack_text(s, 4096);
  EXPECT_NE(text.substr(0, text.find('\n')).find("corrupt_index("), std::string::npos) << text;
  EXPECT_NE(text.find("stack_fixture_calls.hpp:" + std::to_string(fixture_line("crash")) + ")"), std::string::npos) << text;
}

TEST_P(Stacks, ThrowNamesTheThrowAndItsCallers) {
  TempDir dir;
  RunResult r;
  std::string line = snapshot_of(dir, GetParam().argv("throw"), r);
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.signal, 0) << r.err;
  ASSERT_FALSE(line.empty()) << r.out << r.err;
  EXPECT_NE(line.find("\"kind\":\"throw\""), std::string::npos);
  stack::Stack s = stack::symbolize_snapshot(line);
  EXPECT_EQ(s.problem, "");
  ASSERT_FALSE(s.frames.empty());
  EXPECT_NE(s.frames[0].function.find("corrupt_index("), std::string::npos)
      << "the capture's own frames are skipped: " << s.frames[0].function;
  expect_three_calls_deep(s, GetParam(), "throw", "throw");
}

__attribute__((noinline)) void throw_here() {
  throw std::runtime_error("here");  // the test below looks for this function
}

TEST(ThrowStack, OffUntilTurnedOnAndPerThread) {
  stack::enable_throw_stacks(false);
  stack::clear_throw_stack();
  try {
    throw_here();
  } catch (const std::exception&) {
  }
  EXPECT_EQ(stack::throw_stack_line(), "");
  stack::enable_throw_stacks(true);
  try {
    throw_here();
  } catch (const std::exception&) {
  }
  std::string line = stack::throw_stack_line("4c0ffee-7");
  stack::enable_throw_stacks(false);
  ASSERT_FALSE(line.empty());
  Json j(line);
  EXPECT_EQ(j.str("for"), "4c0ffee-7") << "the record it belongs to";
  stack::Stack s = stack::symbolize_snapshot(line);
  ASSERT_FALSE(s.frames.empty()) << s.problem;
  EXPECT_NE(s.frames[0].function.find("throw_here"), std::string::npos) << s.frames[0].function;
  stack::clear_throw_stack();
  EXPECT_EQ(stack::throw_stack_line(), "");
}

TEST_P(Stacks, HangAllThreadsFromOutside) {
  pid_t pid = start_hung(GetParam(), {});
  ASSERT_GT(pid, 0);
  // READY comes just before the loop the test hangs in: until the main thread is in it, look again.
  stack::LiveStacks live;
  for (int i = 0; i < 100; ++i) {
    live = stack::capture_live(pid);
    auto app = live.threads.empty() ? std::vector<stack::Frame>() : app_frames(live.threads[0]);
    if (!app.empty() && app[0].line == fixture_line("hang")) break;
    ::usleep(20000);
  }
  kill_hung(pid);
  EXPECT_EQ(live.problem, "");
  ASSERT_GE(live.threads.size(), 3u) << live.problem;  // ThreadSanitizer adds a thread of its own
  EXPECT_EQ(live.threads[0].tid, pid) << "the main thread first";
  expect_three_calls_deep(live.threads[0], GetParam(), "hang", "hang");
  EXPECT_FALSE(live.threads[0].frames[0].in_app) << "it waits in the C library: " << live.threads[0].frames[0].function;
  int workers = 0;
  for (std::size_t i = 1; i < live.threads.size(); ++i) {
    const stack::Stack& t = live.threads[i];
    if (t.thread_name != "index-worker") continue;
    ++workers;
    auto app = app_frames(t);
    ASSERT_FALSE(app.empty()) << t.problem;
    auto waits = std::find_if(app.begin(), app.end(), [](const stack::Frame& f) {
      return f.function == "(anonymous namespace)::worker_waits_for_rows()";
    });
    ASSERT_NE(waits, app.end()) << stack::stack_text(t, 8192);
    EXPECT_EQ(waits->line, fixture_line("worker"));
  }
  EXPECT_EQ(workers, 2);
}

TEST(HangStacks, AProcessThatIsGoneSaysSo) {
  stack::LiveStacks live = stack::capture_live(999999999);
  EXPECT_TRUE(live.threads.empty());
  EXPECT_NE(live.problem.find("process 999999999"), std::string::npos) << live.problem;
}

// After a stack overflow the stack pointer is in the guard page: the window starts above it, and holds the
// innermost frames (the callers beyond the window are left out, and the line says so).
TEST(CrashStack, StackOverflowKeepsTheInnermostFrames) {
  TempDir dir;
  RunResult r;
  std::string line = snapshot_of(dir, gtest_fixture().argv("overflow"), r);
  EXPECT_TRUE(ended_by_segv(r)) << "exit " << r.exit_code << " signal " << r.signal;
  ASSERT_FALSE(line.empty()) << r.err;
  stack::Stack s = stack::symbolize_snapshot(line);
  ASSERT_GE(s.frames.size(), 10u) << s.problem;
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_NE(s.frames[i].function.find("grow_stack("), std::string::npos) << i << ": " << s.frames[i].function;
  }
  EXPECT_EQ(s.frames[1].line, fixture_line("overflow"));
  EXPECT_NE(s.problem.find(" frames (the stack window the program kept ended)"), std::string::npos) << s.problem;
}

// A crash in a thread the test started: that thread's stack, down to where the thread began.
TEST(CrashStack, InAThreadOfTheTest) {
  TempDir dir;
  RunResult r;
  std::string line = snapshot_of(dir, {gtest_fixture().path, "--gtest_filter=Stacks.CrashInThread"}, r);
  EXPECT_TRUE(ended_by_segv(r)) << "exit " << r.exit_code << " signal " << r.signal;
  ASSERT_FALSE(line.empty()) << r.err;
  Json j(line);
  EXPECT_NE(j.num("tid"), j.num("pid"));
  stack::Stack s = stack::symbolize_snapshot(line);
  EXPECT_EQ(s.problem, "");
  EXPECT_EQ(s.tid, j.num("tid"));
  auto app = app_frames(s);
  ASSERT_GE(app.size(), 3u) << stack::stack_text(s, 8192);
  EXPECT_NE(app[0].function.find("corrupt_index("), std::string::npos);
  EXPECT_EQ(app[0].line, fixture_line("crash"));
  EXPECT_EQ(app[1].line, fixture_line("rebuild"));
  EXPECT_EQ(app[2].function.rfind("Stacks_CrashInThread_Test::TestBody()::", 0), 0u) << app[2].function;
  EXPECT_EQ(app[2].line, fixture_line("gtest-crash-in-thread"));
  EXPECT_NE(s.frames.back().function.find("clone"), std::string::npos)
      << "the thread's first frame: " << s.frames.back().function;
}

// A program without a symbol table or debug information: the frames still come (the unwind tables stay
// in a stripped program), with addresses and the module, and one line says why they have no names.
TEST(CrashStack, StrippedProgramGivesAddressesAndSaysWhy) {
  TempDir dir;
  std::string copy = dir / "stripped_fixture";
  RunResult s = run_argv(
      {"sh", "-c", "cp \"$0\" \"$1\" && strip --strip-all \"$1\"", build_path("BSTEST_TEST_STACK_FIXTURE"), copy});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  RunResult r;
  stack::Stack st = stack::symbolize_snapshot(snapshot_of(dir, {copy, "--gtest_filter=Stacks.Crash"}, r));
  ASSERT_GE(st.frames.size(), 3u) << st.problem;
  EXPECT_EQ(st.frames[0].module, copy);
  EXPECT_EQ(st.frames[0].function, "");
  EXPECT_EQ(st.frames[0].line, 0);
  EXPECT_EQ(st.problem, "no debug information in " + copy +
                            " (built without -g, or stripped without a separate debug file): functions from its "
                            "symbol table at best, no files or lines");
  EXPECT_NE(stack::frame_text(st.frames[0]).find("(stripped_fixture+0x"), std::string::npos)
      << stack::frame_text(st.frames[0]);
}

// The program was rebuilt (or replaced) between the crash and the symbolizing: its frames are not named
// from the wrong file.
TEST(CrashStack, ARebuiltProgramIsNotTrusted) {
  TempDir dir;
  std::string copy = dir / "fixture";
  RunResult c = run_argv({"cp", build_path("BSTEST_TEST_STACK_FIXTURE"), copy});
  ASSERT_EQ(c.exit_code, 0);
  RunResult r;
  std::string line = snapshot_of(dir, {copy, "--gtest_filter=Stacks.Crash"}, r);
  ASSERT_FALSE(line.empty());
  c = run_argv({"cp", build_path("BSTEST_TEST_DRIVER"), copy});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  stack::Stack st = stack::symbolize_snapshot(line);
  EXPECT_NE(st.problem.find(copy + " changed since it ran (another build-id): its frames have addresses only"),
            std::string::npos)
      << st.problem;
  ASSERT_FALSE(st.frames.empty()) << st.problem;
  EXPECT_EQ(st.frames[0].function, "");
  EXPECT_EQ(st.frames[0].module, "");
  EXPECT_NE(st.frames[0].address, 0u);
}

// `bstest doctor` says whether stacks work here, and whether a given program has debug information.
TEST(Doctor, SaysWhetherStacksCanBeNamed) {
  TempDir dir;
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  std::string fixture = gtest_fixture().path;
  RunSpec spec;
  spec.env = {{"BSTEST_DIR", dir / "bs"}};
  spec.argv = {bstest, "doctor", "--binary", fixture};
  RunResult good = run(spec);
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("  ok    stacks: elfutils libdw 0."), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("  ok    debug information of " + fixture +
                          ": found: frames get functions, files and lines; it has a build-id"),
            std::string::npos)
      << good.out;

  std::string copy = dir / "stripped";
  ASSERT_EQ(run_argv({"sh", "-c", "cp \"$0\" \"$1\" && strip --strip-all \"$1\"", fixture, copy}).exit_code, 0);
  spec.argv = {bstest, "doctor", "--binary", copy};
  RunResult stripped = run(spec);
  EXPECT_EQ(stripped.exit_code, 0) << "a warning is not a failure";
  EXPECT_NE(stripped.out.find("  warn  debug information of " + copy + ": none, and no symbol table (stripped)"),
            std::string::npos)
      << stripped.out;

  spec.argv = {bstest, "doctor", "--binary", dir / "missing"};
  RunResult missing = run(spec);
  EXPECT_EQ(missing.exit_code, 1);
  std::string line = "  FAIL  debug information of " + dir / "missing" + ": cannot read it (No such file or directory)";
  EXPECT_NE(missing.out.find(line), std::string::npos) << missing.out;
}

TEST(SnapshotLine, SomethingElseSaysWhat) {
  EXPECT_EQ(stack::symbolize_snapshot("{\"local\":\"closed\"}").problem, "not a stack snapshot line");
  EXPECT_EQ(stack::symbolize_snapshot("garbage").problem, "not a stack snapshot line");
}

// Reading memory for a crash never faults: it stops at the first page that cannot be read, both ways.
TEST(ReadMemory, StopsAtAnUnreadablePage) {
  long page = ::sysconf(_SC_PAGESIZE);
  auto* mem = static_cast<char*>(::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(mem, MAP_FAILED);
  std::memset(mem, 'x', 2 * page);
  ASSERT_EQ(::mprotect(mem + page, page, PROT_NONE), 0);
  std::string out(3 * page, '\0');
  auto at = reinterpret_cast<std::uintptr_t>(mem) + 100;
  EXPECT_EQ(stack::read_memory(at, &out[0], out.size()), static_cast<std::size_t>(page - 100));
  EXPECT_EQ(out.substr(0, 3), "xxx");
  EXPECT_EQ(stack::read_memory_through_pipe(at, &out[0], out.size()), static_cast<std::size_t>(page - 100));
  EXPECT_EQ(stack::read_memory(0, &out[0], 16), 0u);
  EXPECT_EQ(stack::read_memory_through_pipe(0, &out[0], 16), 0u);
  ::munmap(mem, 2 * page);
}

}  // namespace
}  // namespace bstest::testing
