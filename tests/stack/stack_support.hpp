// What the stack tests share: the fixture programs (stack_fixture.cpp for GoogleTest, stack_fixture_catch2.cpp
// for Catch2, both calling stack_fixture_calls.hpp), their marked lines, and starting one until it hangs.
#pragma once

#include "process.hpp"
#include "stack/symbolize.hpp"

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace bstest::testing {

struct FixtureProgram {
  std::string framework;  // "gtest" or "catch2"
  std::string path;
  // The command line that runs its test `test` ("crash", "throw", "hang", "overflow").
  std::vector<std::string> argv(const std::string& test) const;
};
// The fixture programs of this build (Catch2's only when it was found).
std::vector<FixtureProgram> fixture_programs();
std::string PrintToString(const FixtureProgram& f);

// The line of the fixtures' sources marked `// STACK-LINE: <name>`.
int fixture_line(const std::string& name);

// The frames of `s` that are the test program's own code, innermost first.
std::vector<detail::stack::Frame> app_frames(const detail::stack::Stack& s);

// "/a/b/stack_fixture.cpp" -> "stack_fixture.cpp".
std::string base_name(const std::string& path);

// `fixture` started on its test "hang" (with `env` added, after `before_exec` ran in the child), once it
// printed READY; kill_hung() ends it.
pid_t start_hung(const FixtureProgram& fixture, const std::vector<std::pair<std::string, std::string>>& env,
                 const std::function<void()>& before_exec = {});
void kill_hung(pid_t pid);

// Whether user nobody (uid and gid 65534) can reach every path of `paths` (`mode` as access(2) takes it):
// a checkout in a private folder (mktemp -d makes it 0700) is out of its reach, and the tests that run a
// program as another user skip there, saying so.
bool nobody_can_access(const std::vector<std::string>& paths, int mode);

// Checks the three calls every stack of the fixture has: corrupt_index() at the line marked `where`, called
// from rebuild(), called from the body of `fixture`'s test `test` (at the line marked `<framework>-<test>`).
void expect_three_calls_deep(const detail::stack::Stack& s, const FixtureProgram& fixture, const std::string& where,
                             const std::string& test);

}  // namespace bstest::testing
