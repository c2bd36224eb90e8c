// Hung-test stacks across users and permissions: a tracer that is not the program's ancestor, running as
// an ordinary user (root may ptrace anything, so these tests need root to become that user, and SKIP
// otherwise). The program names its tracer (prctl PR_SET_PTRACER, what Yama's ptrace_scope=1 asks for), or
// forbids everyone (not dumpable): then the refusal says why, in one line.
#include "stack/symbolize.hpp"
#include "stack_support.hpp"

#include <gtest/gtest.h>

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace bstest::testing {
namespace {

namespace stack = detail::stack;

constexpr uid_t kNobody = 65534;

void become_nobody() {
  if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(126);
}

// A process of its own (not an ancestor of the program), running as nobody, that waits for the pid of the
// program, takes its stacks and sends back the problem line and the main thread's frames.
class Tracer {
 public:
  Tracer() {
    int hang_line = fixture_line("hang");
    if (::pipe(to_) != 0 || ::pipe(from_) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      become_nobody();
      pid_t target = 0;
      if (::read(to_[0], &target, sizeof target) != sizeof target) ::_exit(1);
      // READY comes just before the loop the test hangs in: until the main thread is in it, look again.
      stack::LiveStacks live;
      for (int i = 0; i < 100; ++i) {
        live = stack::capture_live(target);
        auto app = live.threads.empty() ? std::vector<stack::Frame>() : app_frames(live.threads[0]);
        if (!live.problem.empty() || (!app.empty() && app[0].line == hang_line)) break;
        ::usleep(20000);
      }
      std::ostringstream out;
      out << live.problem << '\n';
      if (!live.threads.empty()) {
        for (const auto& f : live.threads[0].frames) {
          out << f.in_app << '\t' << f.function << '\t' << f.file << '\t' << f.line << '\t' << f.module << '\t'
              << f.address << '\n';
        }
      }
      std::string text = out.str();
      if (::write(from_[1], text.data(), text.size()) != static_cast<ssize_t>(text.size())) ::_exit(1);
      ::_exit(0);
    }
    ::close(to_[0]);
    ::close(from_[1]);
  }
  pid_t pid() const { return pid_; }

  // Takes the stacks of `target`; the main thread's frames in `main`.
  std::string stacks_of(pid_t target, stack::Stack& main) {
    if (::write(to_[1], &target, sizeof target) != sizeof target) return "cannot reach the tracer";
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(from_[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    ::waitpid(pid_, nullptr, 0);
    std::istringstream in(text);
    std::string problem;
    std::getline(in, problem);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      stack::Frame f;
      std::string app, lineno, address;
      std::getline(fields, app, '\t');
      std::getline(fields, f.function, '\t');
      std::getline(fields, f.file, '\t');
      std::getline(fields, lineno, '\t');
      std::getline(fields, f.module, '\t');
      std::getline(fields, address, '\t');
      f.in_app = app == "1";
      f.line = std::atoi(lineno.c_str());
      f.address = std::strtoull(address.c_str(), nullptr, 10);
      main.frames.push_back(f);
    }
    return problem;
  }
  ~Tracer() {
    ::close(to_[1]);
    ::close(from_[0]);
  }

 private:
  int to_[2] = {-1, -1};
  int from_[2] = {-1, -1};
  pid_t pid_ = -1;
};

int yama_scope() {
  std::ifstream in("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  return in >> scope ? scope : -1;
}

#define NEEDS_ROOT()                                                                                 \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run the program and its tracer as another user"; \
  if (!nobody_can_access({fixture_programs().front().path}, X_OK))                                     \
  GTEST_SKIP() << "user nobody cannot reach " << fixture_programs().front().path << " (a private folder)"

TEST(PtraceAcrossProcesses, ANamedTracerReadsTheStacks) {
  NEEDS_ROOT();
  Tracer tracer;
  ASSERT_GT(tracer.pid(), 0);
  pid_t pid = start_hung(fixture_programs().front(), {{"STACK_TRACER", std::to_string(tracer.pid())}}, become_nobody);
  ASSERT_GT(pid, 0);
  stack::Stack main;
  std::string problem = tracer.stacks_of(pid, main);
  kill_hung(pid);
  EXPECT_EQ(problem, "");
  expect_three_calls_deep(main, fixture_programs().front(), "hang", "hang");
}

TEST(PtraceAcrossProcesses, ARefusalSaysWhyInOneLine) {
  NEEDS_ROOT();
  Tracer tracer;
  ASSERT_GT(tracer.pid(), 0);
  pid_t pid = start_hung(fixture_programs().front(), {{"STACK_NOT_DUMPABLE", "1"}}, become_nobody);
  ASSERT_GT(pid, 0);
  stack::Stack main;
  std::string problem = tracer.stacks_of(pid, main);
  kill_hung(pid);
  EXPECT_TRUE(main.frames.empty());
  EXPECT_EQ(problem.rfind("ptrace refused (Permission denied): ", 0) == 0 ||
                problem.rfind("ptrace refused (Operation not permitted): ", 0) == 0,
            true)
      << problem;
  EXPECT_EQ(problem.find('\n'), std::string::npos);
  if (yama_scope() == 1) {
    EXPECT_NE(problem.find("prctl(PR_SET_PTRACER)"), std::string::npos) << problem;
  } else {
    EXPECT_NE(problem.find("not dumpable"), std::string::npos) << problem;
  }
}

}  // namespace
}  // namespace bstest::testing
