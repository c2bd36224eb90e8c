// What the stack tests share: the fixture (stack_fixture.cpp), its marked lines, and starting it until it
// hangs.
#pragma once

#include "process.hpp"
#include "stack/symbolize.hpp"

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace bstest::testing {

// The line of stack_fixture.cpp marked `// STACK-LINE: <name>`.
int fixture_line(const std::string& name);

// The frames of `s` that are the test program's own code, innermost first.
std::vector<detail::stack::Frame> app_frames(const detail::stack::Stack& s);

// "/a/b/stack_fixture.cpp" -> "stack_fixture.cpp".
std::string base_name(const std::string& path);

// The fixture started as Stacks.Hang (with `env` added, after `before_exec` ran in the child), once it
// printed READY; kill_hung() ends it.
pid_t start_hung(const std::vector<std::pair<std::string, std::string>>& env, const std::function<void()>& before_exec = {});
void kill_hung(pid_t pid);

// Checks the three calls every stack of the fixture has: corrupt_index() at the line marked `where`, called
// from rebuild(), called from the test body of `test` at the line marked `body`.
void expect_three_calls_deep(const detail::stack::Stack& s, const std::string& where, const std::string& test,
                             const std::string& body);

}  // namespace bstest::testing
