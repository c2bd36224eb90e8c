#include "stack_support.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace bstest::testing {

int fixture_line(const std::string& name) {
  std::istringstream in(read_file(build_path("BSTEST_TEST_STACK_FIXTURE_SOURCE")));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.size() >= name.size() + 15 && line.compare(line.size() - name.size(), name.size(), name) == 0 &&
        line.find("// STACK-LINE: " + name) != std::string::npos) {
      return n;
    }
  }
  ADD_FAILURE() << "no STACK-LINE: " << name << " in the fixture";
  return -1;
}

std::vector<detail::stack::Frame> app_frames(const detail::stack::Stack& s) {
  std::vector<detail::stack::Frame> out;
  for (const auto& f : s.frames) {
    if (f.in_app) out.push_back(f);
  }
  return out;
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

pid_t start_hung(const std::vector<std::pair<std::string, std::string>>& env, const std::function<void()>& before_exec) {
  int out[2];
  if (::pipe(out) != 0) return -1;
  std::string fixture = build_path("BSTEST_TEST_STACK_FIXTURE");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    if (before_exec) before_exec();
    ::execl(fixture.c_str(), fixture.c_str(), "--gtest_filter=Stacks.Hang", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[256];
  ssize_t n;
  while (text.find("READY") == std::string::npos && (n = ::read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  if (text.find("READY") == std::string::npos) {
    ADD_FAILURE() << "the fixture did not get to its hang: " << text;
    kill_hung(pid);
    return -1;
  }
  return pid;
}

void kill_hung(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

void expect_three_calls_deep(const detail::stack::Stack& s, const std::string& where, const std::string& test,
                             const std::string& body) {
  auto app = app_frames(s);
  ASSERT_GE(app.size(), 3u) << "problem: " << s.problem;
  EXPECT_NE(app[0].function.find("corrupt_index("), std::string::npos) << app[0].function;
  EXPECT_EQ(base_name(app[0].file), "stack_fixture.cpp");
  EXPECT_EQ(app[0].line, fixture_line(where));
  EXPECT_NE(app[1].function.find("rebuild("), std::string::npos) << app[1].function;
  EXPECT_EQ(app[1].line, fixture_line("rebuild"));
  EXPECT_EQ(app[2].function, "Stacks_" + test + "_Test::TestBody()");
  EXPECT_EQ(app[2].line, fixture_line(body));
  for (const auto& f : app) {
    EXPECT_NE(f.address, 0u);
    EXPECT_EQ(f.module, build_path("BSTEST_TEST_STACK_FIXTURE")) << f.function;
  }
}

}  // namespace bstest::testing
