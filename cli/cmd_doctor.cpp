// bstest doctor: is everything set up? Checks each configured channel and says what to fix.
#include <bstest/config.hpp>
#include "ship/doctor.hpp"

#include "commands.hpp"
#include "stack/doctor_checks.hpp"

#include <cstdio>

namespace bstest::cli {

const char* const kDoctorHelp =
    "usage: bstest doctor [--send-test-event] [--binary PROGRAM]\n"
    "\n"
    "Checks the BETTERSTACK_* and BSTEST_* variables, the journal folder, the companion program, for each\n"
    "configured channel (Logs, Errors, heartbeat) that its host resolves and accepts a TLS connection, and\n"
    "whether stacks of crashes, escaped exceptions and hangs can be named here (libdw, ptrace).\n"
    "  --send-test-event   also send one log record (event \"doctor\") and one error event, to see them arrive\n"
    "                      (the heartbeat is never pinged: that would mark the monitor up)\n"
    "  --binary PROGRAM    also check that the test program PROGRAM has debug information (file and line of\n"
    "                      each frame)\n"
    "\n"
    "Exit code: 0 when nothing failed, 1 otherwise, 2 for a usage error.\n";

int cmd_doctor(const Args& args) {
  bool send = false;
  std::string binary;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kDoctorHelp, stdout);
      return kOk;
    }
    if (a == "--send-test-event") {
      send = true;
    } else if (a == "--binary" && i + 1 < args.size()) {
      binary = args[++i];
    } else {
      error("doctor", "unknown option '" + a + "' (see bstest doctor --help)");
      return kUsage;
    }
  }
  Config cfg = Config::from_env();
  bool failed = false;
  std::printf("bstest doctor\n");
  std::vector<DoctorCheck> checks = run_doctor(cfg, send);
  for (auto& c : detail::stack::stack_doctor_checks(binary)) checks.push_back(std::move(c));
  for (const auto& c : checks) {
    const char* tag = "ok  ";
    switch (c.status) {
      case DoctorCheck::Status::ok: tag = "ok  "; break;
      case DoctorCheck::Status::warning: tag = "warn"; break;
      case DoctorCheck::Status::failed:
        tag = "FAIL";
        failed = true;
        break;
      case DoctorCheck::Status::off: tag = "off "; break;
    }
    std::printf("  %s  %s: %s\n", tag, c.what.c_str(), c.detail.c_str());
  }
  return failed ? kFailed : kOk;
}

}  // namespace bstest::cli
