#include "stack_support.hpp"

#include <gtest/gtest.h>

#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace bstest::testing {

std::vector<std::string> FixtureProgram::argv(const std::string& test) const {
  if (framework == "catch2") return {path, test};
  std::string name = test;
  name[0] = static_cast<char>(name[0] - 'a' + 'A');
  return {path, "--gtest_filter=Stacks." + name};
}

std::vector<FixtureProgram> fixture_programs() {
  std::vector<FixtureProgram> out{{"gtest", build_path("BSTEST_TEST_STACK_FIXTURE")}};
  if (const char* catch2 = std::getenv("BSTEST_TEST_STACK_FIXTURE_CATCH2")) out.push_back({"catch2", catch2});
  return out;
}

std::string PrintToString(const FixtureProgram& f) { return f.framework; }

int fixture_line(const std::string& name) {
  std::string dir = build_path("BSTEST_TEST_STACK_SOURCES");
  for (const char* file : {"stack_fixture_calls.hpp", "stack_fixture.cpp", "stack_fixture_catch2.cpp",
                           "stack_pipeline_gtest.cpp", "stack_pipeline_catch2.cpp"}) {
    std::istringstream in(read_file(dir + "/" + file));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::string marker = "// STACK-LINE: " + name;
      if (line.size() >= marker.size() && line.compare(line.size() - marker.size(), marker.size(), marker) == 0) return n;
    }
  }
  ADD_FAILURE() << "no STACK-LINE: " << name << " in the fixtures";
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

pid_t start_hung(const FixtureProgram& fixture, const std::vector<std::pair<std::string, std::string>>& env,
                 const std::function<void()>& before_exec) {
  int out[2];
  if (::pipe(out) != 0) return -1;
  std::vector<std::string> args = fixture.argv("hang");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    if (before_exec) before_exec();
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[256];
  ssize_t n;
  while (text.find("READY") == std::string::npos && (n = ::read(out[0], buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  if (text.find("READY") == std::string::npos) {
    ADD_FAILURE() << "the fixture did not get to its hang: " << text;
    kill_hung(pid);
    return -1;
  }
  return pid;
}

bool nobody_can_access(const std::vector<std::string>& paths, int mode) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    for (const auto& p : paths) {
      if (::access(p.c_str(), mode) != 0) ::_exit(1);
    }
    ::_exit(0);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void kill_hung(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

void expect_three_calls_deep(const detail::stack::Stack& s, const FixtureProgram& fixture, const std::string& where,
                             const std::string& test) {
  auto app = app_frames(s);
  ASSERT_GE(app.size(), 3u) << "problem: " << s.problem;
  EXPECT_NE(app[0].function.find("corrupt_index("), std::string::npos) << app[0].function;
  // Absolute (the compilation folder joined and tidied): "/src/tests/stack/stack_fixture_calls.hpp".
  const std::string suffix = "/tests/stack/stack_fixture_calls.hpp";
  EXPECT_TRUE(app[0].file.size() > suffix.size() && app[0].file[0] == '/' &&
              app[0].file.compare(app[0].file.size() - suffix.size(), suffix.size(), suffix) == 0)
      << app[0].file;
  EXPECT_EQ(app[0].file.find("/../"), std::string::npos) << app[0].file;
  EXPECT_EQ(app[0].line, fixture_line(where));
  EXPECT_NE(app[1].function.find("rebuild("), std::string::npos) << app[1].function;
  EXPECT_EQ(app[1].line, fixture_line("rebuild"));
  if (fixture.framework == "gtest") {
    std::string name = test;
    name[0] = static_cast<char>(name[0] - 'a' + 'A');
    EXPECT_EQ(app[2].function, "Stacks_" + name + "_Test::TestBody()");
    EXPECT_EQ(base_name(app[2].file), "stack_fixture.cpp");
  } else {  // the function TEST_CASE defines: C_A_T_C_H_T_E_S_T_0() (v2.13), CATCH2_INTERNAL_TEST_0() (v3)
    EXPECT_TRUE(app[2].function.find("C_A_T_C_H_T_E_S_T") != std::string::npos ||
                app[2].function.find("CATCH2_INTERNAL_TEST") != std::string::npos)
        << app[2].function;
    EXPECT_EQ(base_name(app[2].file), "stack_fixture_catch2.cpp");
  }
  EXPECT_EQ(app[2].line, fixture_line(fixture.framework + "-" + test));
  for (const auto& f : app) {
    EXPECT_NE(f.address, 0u);
    EXPECT_EQ(f.module, fixture.path) << f.function;
  }
}

}  // namespace bstest::testing
