// Stacks with names: unwinding and symbolizing, in the `bstest` program only.
//
// From a snapshot line that a test process wrote (capture.hpp), or from a live process over ptrace (a hung
// test), elfutils' libdwfl unwinds with the modules' call frame information and names each frame from the
// modules' debug information: demangled function, source file and line, inlined calls as frames of their
// own. Debug information is found in the module itself, by build-id under /usr/lib/debug/.build-id, or by
// .gnu_debuglink next to the module or under /usr/lib/debug; never over the network (debuginfod).
//
// This is the only part of bstest that links libdw: it is its own library, linked into the `bstest` program
// and bstest's own tests, never into the libraries that test programs link.
//
// Where the machine forbids something (no debug information, a stripped module, a module rebuilt since the
// snapshot, ptrace refused), the frames still come, with addresses and modules only, and `problem` says why
// in one line.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail::stack {

struct Frame {
  std::uint64_t address = 0;      // instruction_addr: the faulting instruction, or a return address
  std::string module;             // the module's path (Sentry's `package`); empty when no module holds it
  std::uint64_t module_base = 0;  // the module's load bias
  std::string function;           // demangled; empty when unknown
  std::string file;               // source file as the debug information names it; empty when unknown
  int line = 0;                   // 0 when unknown
  bool in_app = false;            // the test program's own code (not the C/C++ runtime, the test framework, bstest)
  bool inlined = false;           // a call that the compiler inlined into the next frame
};

// A module that frames are in: its path, load bias and GNU build-id (hex; empty when unknown).
struct StackModule {
  std::string path;
  std::uint64_t bias = 0;
  std::string build_id;
};

struct Stack {
  long tid = 0;
  std::string thread_name;     // live stacks: the thread's name (/proc/PID/task/TID/comm)
  std::vector<Frame> frames;   // innermost first: frames[0] is where it crashed, threw or waits
  std::vector<StackModule> modules;  // the modules the frames are in, each once
  std::string problem;         // one line: why the frames are incomplete or unnamed; empty when all is well
};

// At most this many frames per stack (the innermost ones).
constexpr std::size_t kMaxFrames = 64;

// Unwinds and names a snapshot line (`{"local":"stack",...}`). On a line that is not one, the result has no
// frames and `problem` says what is wrong with it.
Stack symbolize_snapshot(std::string_view line, std::size_t max_frames = kMaxFrames);

// The stacks of every thread of the live process `pid`, stopped one thread at a time with ptrace and let go
// at once (the process goes on). `problem` (one line) says why there are none or why some are incomplete:
// ptrace refused (Yama's ptrace_scope, a container, a non-dumpable process), the process gone.
struct LiveStacks {
  std::vector<Stack> threads;  // the main thread first
  std::string problem;
};
LiveStacks capture_live(pid_t pid, std::size_t max_frames = kMaxFrames);

// Why ptrace on `pid` is refused here, in one line (`error` is the errno of the refusal).
std::string ptrace_refusal(pid_t pid, int error);

// libdw's version, e.g. "0.188".
std::string libdw_version();

}  // namespace bstest::detail::stack
