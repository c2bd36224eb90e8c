// bstest: the command-line tool. `bstest help` lists the commands.
#include "run/child_process.hpp"
#include <bstest/version.hpp>

#include "commands.hpp"

#include "base/clock.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bstest::cli {

void error(const std::string& cmd, const std::string& message) {
  std::fprintf(stderr, "bstest %s: %s\n", cmd.c_str(), message.c_str());
}

bool parse_int(const std::string& text, int& out) {
  if (text.empty() || text.size() > 9) return false;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

ProgressLine::ProgressLine(std::string prefix) : prefix_(std::move(prefix)), tty_(::isatty(2) == 1) {}

void ProgressLine::start() { start_ms_.store(detail::mono_now_ms()); }

void ProgressLine::update(const ShipStats& s) {
  std::int64_t started = start_ms_.load();
  if (started < 0 || detail::mono_now_ms() - started < 1000) return;
  if (shown_ && !tty_) return;
  std::fprintf(stderr, "%s%s: sending... %llu records sent so far%s", tty_ ? "\r" : "", prefix_.c_str(),
               static_cast<unsigned long long>(s.records_sent), tty_ ? "" : "\n");
  shown_ = true;
}

void ProgressLine::finish() {
  if (shown_ && tty_) std::fputs("\n", stderr);
  shown_ = false;
}

namespace {

const char* kUsageText =
    "usage: bstest <command> [options]\n"
    "\n"
    "Commands:\n"
    "  run         run a test command as one suite: ship live, re-run failures, heartbeat\n"
    "  flush       send what earlier runs could not (offline, killed, quota)\n"
    "  heartbeat   send one heartbeat ping (or decide one for a sharded run)\n"
    "  doctor      check the configuration and each Better Stack channel\n"
    "  report      write a run's report: JUnit XML, an HTML page, a Markdown job summary\n"
    "  quarantine  known-broken tests that do not fail the run until a date: add, list, check\n"
    "  ship        ship journals (started by test programs; rarely run by hand)\n"
    "  version     print the version\n"
    "  help        this text; `bstest help <command>` or `bstest <command> --help` for a command's options\n"
    "\n"
    "Exit codes: 0 ok, 1 failed (command failed or not everything was delivered), 2 usage error.\n";

}  // namespace
}  // namespace bstest::cli

int main(int argc, char** argv) {
  using namespace bstest::cli;
  // A closed connection must not kill us; the programs we start get the disposition we were started with.
  bstest::ignore_for_this_process_only(SIGPIPE);
#if defined(__GLIBC__)
  // Shipping allocates and frees buffers of a few MiB (reads of the journal, batches, gzip output). By
  // default glibc maps each such buffer fresh and unmaps it when freed, and the first touch of a fresh page
  // costs far more than the copy into it (about 15 us per 4 KiB page on the virtual machines we measured).
  // Keep freed memory in the heap for reuse instead: the peak is the same, the page faults are gone.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
  if (argc < 2) {
    std::fputs(kUsageText, stderr);
    return kUsage;
  }
  std::string cmd = argv[1];
  Args args(argv + 2, argv + argc);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    const char* text = kUsageText;
    if (!args.empty()) {
      const std::string& of = args[0];
      text = of == "run" ? kRunHelp
             : of == "flush" ? kFlushHelp
             : of == "heartbeat" ? kHeartbeatHelp
             : of == "doctor" ? kDoctorHelp
             : of == "report" ? kReportHelp
             : of == "quarantine" ? kQuarantineHelp
             : of == "ship" ? kShipHelp
             : nullptr;
      if (text == nullptr) {
        std::fprintf(stderr, "bstest: unknown command '%s'\n\n%s", of.c_str(), kUsageText);
        return kUsage;
      }
    }
    std::fputs(text, stdout);
    return kOk;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("bstest %s\n", BSTEST_VERSION);
    return kOk;
  }
  if (cmd == "ship") return cmd_ship(args);
  if (cmd == "run") return cmd_run(args);
  if (cmd == "flush") return cmd_flush(args);
  if (cmd == "heartbeat") return cmd_heartbeat(args);
  if (cmd == "doctor") return cmd_doctor(args);
  if (cmd == "report") return cmd_report(args);
  if (cmd == "quarantine") return cmd_quarantine(args);
  std::fprintf(stderr, "bstest: unknown command '%s'\n\n%s", cmd.c_str(), kUsageText);
  return kUsage;
}
