// `bstest doctor`'s lines about stacks: can this machine name where a crash, an escaped exception or a hang
// happened (the symbolizer, ptrace for hung tests, and the debug information of a given test program)?
#pragma once

#include "ship/doctor.hpp"

#include <string>
#include <vector>

namespace bstest::detail::stack {

// `binary`: a test program to check for debug information ("" to skip that check).
std::vector<DoctorCheck> stack_doctor_checks(const std::string& binary);

}  // namespace bstest::detail::stack
