// bstest doctor: is everything set up? Checks each configured channel and says what to fix.
#include <bstest/config.hpp>
#include <bstest/doctor.hpp>

#include "commands.hpp"

#include <cstdio>

namespace bstest::cli {

const char* const kDoctorHelp =
    "usage: bstest doctor [--send-test-event]\n"
    "\n"
    "Checks the BETTERSTACK_* and BSTEST_* variables, the journal folder, the companion program, and for each\n"
    "configured channel (Logs, Errors, heartbeat) that its host resolves and accepts a TLS connection.\n"
    "  --send-test-event   also send one log record (event \"doctor\") and one error event, to see them arrive\n"
    "                      (the heartbeat is never pinged: that would mark the monitor up)\n"
    "\n"
    "Exit code: 0 when nothing failed, 1 otherwise, 2 for a usage error.\n";

int cmd_doctor(const Args& args) {
  bool send = false;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kDoctorHelp, stdout);
      return kOk;
    }
    if (a == "--send-test-event") {
      send = true;
    } else {
      error("doctor", "unknown option '" + a + "' (see bstest doctor --help)");
      return kUsage;
    }
  }
  Config cfg = Config::from_env();
  bool failed = false;
  std::printf("bstest doctor\n");
  for (const auto& c : run_doctor(cfg, send)) {
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
