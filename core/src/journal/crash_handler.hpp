// The last record of a crashing test process, and the raw stack of the thread that crashed.
//
// Installed by the Session at run start on the signals that end a test program (faults, abort, and the
// termination signals a CI time-out sends). The handler runs on an alternate stack with the other crash
// signals blocked, does only async-signal-safe work (a render callback that copies pre-rendered bytes into
// a static buffer, then one copy into the journal), and hands the signal on unchanged, so the process ends
// exactly as it would have without bstest, and every handler before ours sees what it would have seen:
// - a fault of the instruction (SIGSEGV, SIGBUS, SIGFPE, SIGILL with si_code > 0): recorded, then the
//   previous disposition is restored and the handler returns; the instruction faults again, into that
//   disposition, with the kernel's own siginfo_t and context (as Breakpad and crashpad do);
// - a signal someone sent (kill, raise, abort()): to the default action, re-raised after the record; to a
//   handler of the program's own, called directly with the original siginfo_t and context. SIGINT,
//   SIGTERM, SIGHUP and SIGQUIT are recorded only when they end the process (default action, or a
//   handler that hands them on to it), never when a handler takes them and the program goes on.
// A second thread that crashes meanwhile waits for the first. The handlers stay installed after the run (a
// crash in a static destructor is recorded too: record_crashes_after_run); a handler that was installed after
// ours and hands a signal back to us reaches the disposition we replaced, never ours again.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

namespace bstest::detail {

class JournalWriter;

// Renders the crash record for `signo` into `out` (capacity `cap`); returns its length, 0 for none.
// Called inside the signal handler: must be async-signal-safe.
using CrashRenderFn = std::size_t (*)(char* out, std::size_t cap, int signo);

// Installs the handlers for this process. A later call (a new run, after an earlier one finished) only gives
// them that run's journal and renderer.
void install_crash_handlers(JournalWriter* journal, CrashRenderFn render) noexcept;
// Marks the crash as recorded (someone else wrote the record, e.g. Catch2's fatal-error path), so the
// handler only chains.
bool claim_crash_record() noexcept;
// Writes the crash record now, from a signal context or not. With the handler's `ucontext`, the stack
// snapshot of the interrupted thread first (stack/capture.hpp), naming the record. Returns false when a
// crash record was already written.
bool write_crash_record(int signo, const void* ucontext = nullptr) noexcept;

// After the run (its journal closed): a static destructor or an exit handler may still crash. From now on a
// crash's record and stack go into a new journal file at `journal_path`, written with open() and write(), and
// `render` renders the record (without the Session, which may be gone by then). install_crash_handlers
// ends it.
void record_crashes_after_run(const std::string& journal_path, CrashRenderFn render) noexcept;

// Also writes the crash's stack snapshot into the file `path` (a re-run's: whoever re-runs the test reads it
// for the crash event of its verdict). Call after install_crash_handlers; "" stops it.
void keep_crash_stack_in(const std::string& path) noexcept;

// The journal's ring mapping [begin, begin + length) of file `fd`: a SIGBUS there (the file system could not
// give a page its blocks) is not a crash; the page is replaced by a private copy and `*failed` is set.
void guard_ring_mapping(char* begin, std::size_t length, int fd, std::atomic<bool>* failed) noexcept;
// Before that mapping goes away.
void unguard_ring_mapping(const char* begin) noexcept;

// Name and description of a signal, async-signal-safe: "SIGSEGV", "segmentation fault".
const char* signal_name(int signo) noexcept;
const char* signal_description(int signo) noexcept;

// The buffer the handler renders into.
constexpr std::size_t kCrashRecordCapacity = 192u << 10;

}  // namespace bstest::detail
