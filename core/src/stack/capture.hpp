// The raw stack of a thread, taken inside the test process, to be unwound and symbolized elsewhere.
//
// The test process never reads debug information: where a crash, an escaped exception or a hang happened
// is worked out by the `bstest` program (core/src/stack/symbolize.hpp). What the test process keeps is what
// an unwinder needs: the thread's registers, a bounded window of its stack memory from the stack pointer up,
// and the map of loaded modules (each one's path, load bias and GNU build-id). That is one journal line,
//
//   {"local":"stack","v":1,"kind":"crash","signo":11,"pid":4242,"tid":4242,"arch":"x86_64","skip":0,
//    "regs":{"0":"55d0c1a2b3c4",...,"16":"55d0c1a2b3c4"},"stack_at":"7ffd5e3c1a40","stack":"<base64>",
//    "modules":[{"path":"/build/tests/stack_fixture","bias":"55d0c1a00000","build_id":"9f1c..."},...]}
//
// `for` (optional) is the id of the log record or error event the stack belongs to; `regs` maps DWARF
// register numbers to hex values (only the known ones); `stack` is the window's bytes from `stack_at` in
// base64 (the stack pointer; after a stack overflow, the first readable page above it); `skip` counts the
// innermost frames that belong to the capture itself (the __cxa_throw interposition); `note` (optional) is
// one line on why the data is incomplete. It never leaves the machine.
//
// Two ways in:
//   - a signal handler: write_crash_stack() from the handler's ucontext (async-signal-safe, no allocation,
//     at most kCrashWindowBytes of stack read with reads that fail instead of faulting);
//   - a `throw`: the __cxa_throw interposition (run/exception_capture.cpp) copies the registers and the top of
//     the stack into a per-thread buffer when throw stacks are on; the Session turns them into a line from
//     the framework's catch block (throw_stack_line()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace bstest::detail::stack {

#if defined(__x86_64__)
#define BSTEST_STACK_CAPTURE 1
constexpr const char* kArch = "x86_64";
constexpr int kRegisterCount = 17;  // DWARF: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, 16 = the return address
constexpr int kPcRegister = 16;
constexpr int kSpRegister = 7;
#else
constexpr const char* kArch = "unsupported";
constexpr int kRegisterCount = 1;
constexpr int kPcRegister = 0;
constexpr int kSpRegister = 0;
#endif

// The stack window a crash keeps: enough for the frames of a test framework and the test (a frame is
// rarely over a few hundred bytes), 44 KiB once in base64.
constexpr std::size_t kCrashWindowBytes = 32u << 10;
// A throw copies less: it is on the test's hot path (tests throw on purpose).
constexpr std::size_t kThrowWindowBytes = 12u << 10;
// Modules listed in a line at most, and the room a line needs with them.
constexpr std::size_t kMaxModules = 512;
constexpr std::size_t kCrashLineCapacity = 128u << 10;

struct Registers {
  std::uint64_t value[kRegisterCount] = {};
  std::uint32_t known = 0;  // bit i: value[i] is known
};

// The registers of the interrupted thread, from a SA_SIGINFO handler's third argument. False when this
// architecture is not supported.
bool registers_from_ucontext(const void* ucontext, Registers& out) noexcept;

// Copies up to `n` bytes at `address` into `out`, stopping at the first byte that cannot be read; returns
// how many were copied. Never faults: process_vm_readv on this process, or, where that is refused (some
// container profiles), write() into a pipe, which fails with EFAULT instead of faulting. Async-signal-safe.
std::size_t read_memory(std::uintptr_t address, void* out, std::size_t n) noexcept;
// The pipe way alone (tested on its own).
std::size_t read_memory_through_pipe(std::uintptr_t address, void* out, std::size_t n) noexcept;

// The snapshot line of the calling thread, which a signal interrupted: registers from `ucontext`, at most
// kCrashWindowBytes of its stack, the modules. Into `out` (capacity `cap`, kCrashLineCapacity is enough);
// returns the line's length including '\n', 0 when it did not fit. Async-signal-safe.
// `for_id`: the id of the record the snapshot belongs to (written into the line as "for"), or nullptr.
std::size_t write_crash_stack(char* out, std::size_t cap, int signo, const void* ucontext,
                              const char* for_id = nullptr) noexcept;

// Throw stacks: off until turned on (the Session turns them on at run start). Turning them on costs each
// `throw` on any thread a copy of the top of its stack (kThrowWindowBytes at most).
void enable_throw_stacks(bool on) noexcept;
bool throw_stacks_enabled() noexcept;
// Called by the __cxa_throw interposition (never inlined: it expects exactly one frame, that interposition,
// between itself and the throwing function).
void note_throw_stack() noexcept;
// The snapshot line of the calling thread's last throw (kind "throw"); empty when none was taken (throw
// stacks off, or this thread has not thrown since they were turned on).
std::string throw_stack_line(const std::string& for_id = {});
// Forgets the calling thread's last throw (so a later failure is not matched with an old throw).
void clear_throw_stack() noexcept;

// The id a snapshot line belongs to (its "for"); "" when it names none or is no snapshot line.
std::string_view snapshot_target(std::string_view line) noexcept;
// The snapshot line `line` belonging to `for_id` instead: a snapshot copied into the journal of the event
// it now belongs to (a re-run's crash, a program's throw under bstest run). `for_id` holds only letters,
// digits and '-'; `line` comes back as it was when it is no snapshot line or `for_id` is not such an id.
// Either way it ends in a newline.
std::string snapshot_for(std::string_view line, std::string_view for_id);

// Lets `tracer` read this process's stacks with ptrace while it hangs: under Yama's ptrace_scope=1 only an
// ancestor may, unless the process names its tracer (prctl PR_SET_PTRACER). True when allowed (also when
// Yama is not there: then the usual same-user rule applies).
bool allow_tracer(pid_t tracer) noexcept;

}  // namespace bstest::detail::stack
