// The symbolizer of a bstest built without elfutils' libdw (the `stacks` option off, or libdw-dev missing):
// stacks keep their snapshot lines, and every result says why it has no frames.
#include "stack/doctor_checks.hpp"
#include "stack/symbolize.hpp"

namespace bstest::detail::stack {

namespace {
const char* const kOff = "this bstest was built without elfutils' libdw (libdw-dev), so it cannot name stacks";
}

Stack symbolize_snapshot(std::string_view, std::size_t) {
  Stack s;
  s.problem = kOff;
  return s;
}

LiveStacks capture_live(pid_t, std::size_t) {
  LiveStacks l;
  l.problem = kOff;
  return l;
}

std::string ptrace_refusal(pid_t, int) { return kOff; }

std::string libdw_version() { return {}; }

std::vector<DoctorCheck> stack_doctor_checks(const std::string&) {
  return {{DoctorCheck::Status::warning, "stacks", std::string(kOff) + ": rebuild with libdw-dev installed"}};
}

}  // namespace bstest::detail::stack
