// What the snapshot and the live unwinders share: a libdwfl session that finds debug information only on
// this machine, and the naming of one unwound address as frames (inlined calls included).
#pragma once

#include "stack/symbolize.hpp"

#include <elfutils/libdwfl.h>

#include <memory>
#include <string>
#include <vector>

namespace bstest::detail::stack {

struct DwflEnd {
  void operator()(Dwfl* d) const noexcept { dwfl_end(d); }
};
using DwflPtr = std::unique_ptr<Dwfl, DwflEnd>;

// A session whose modules are reported from files (`live`: found from /proc/PID/maps).
DwflPtr open_dwfl(bool live);

// One unwound address: `pc` as libdwfl gives it, `activation` false for a return address (then the call
// is at pc - 1). Appends its frames, innermost first: the inlined calls at that address, then the function.
void name_frames(Dwfl* dwfl, Dwarf_Addr pc, bool activation, std::vector<Frame>& out);

// Sets each frame's in_app: code of `program` (the test program's path) or of a library that is not part of
// the system, and not the C++ runtime, the test frameworks or bstest.
void mark_in_app(std::vector<Frame>& frames, const std::string& program);

// One line on the modules of `frames` that have no debug information (empty when all have): their frames
// have functions from the symbol table at best, and no file or line.
std::string missing_debug_info(Dwfl* dwfl, const std::vector<Frame>& frames);

// A module's GNU build-id in hex ("" when it has none).
std::string module_build_id(Dwfl_Module* mod);
// The modules `s`'s frames are in, each once, with their build-ids (Stack::modules).
void note_modules(Dwfl* dwfl, Stack& s);

// The last libdwfl error as text.
std::string dwfl_error();

}  // namespace bstest::detail::stack
