// bstest ship: deliver the journals of one run while it is written (the companion a test program starts),
// or of every finished run in a folder.
#include <bstest/config.hpp>
#include <bstest/ship.hpp>

#include "commands.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

namespace bstest::cli {

const char* const kShipHelp =
    "usage: bstest ship [--run ID] [--dir DIR] [--follow] [--deadline-ms N]\n"
    "                   [--companion --wake-fd N --notify-fd N]\n"
    "\n"
    "Sends the records of journals in DIR (default: BSTEST_DIR or .bstest) to Better Stack.\n"
    "  --run ID          only the journals of run ID\n"
    "  --follow          keep reading journals while their writers run\n"
    "  --deadline-ms N   once nothing more is written, keep trying for at most N ms\n"
    "                    (default BSTEST_FLUSH_TIMEOUT_MS, 5000)\n"
    "  --companion       started by a test program: follow run ID until the program closes --wake-fd,\n"
    "                    then write the summary line to --notify-fd\n"
    "\n"
    "Exit code: 0 when everything was delivered, 1 when something is left (kept for `bstest flush`), 2 for a\n"
    "usage error.\n";

int cmd_ship(const Args& args) {
  Config cfg = Config::from_env();
  ShipOptions opt;
  int deadline = cfg.flush_timeout_ms;
  int wake_fd = -1;
  int notify_fd = -1;
  bool companion = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) {
        error("ship", a + " needs a value");
        return false;
      }
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kShipHelp, stdout);
      return kOk;
    } else if (a == "--run") {
      if (!value(opt.run_id)) return kUsage;
    } else if (a == "--dir") {
      if (!value(v)) return kUsage;
      cfg.dir = v;
    } else if (a == "--follow") {
      opt.follow = true;
    } else if (a == "--companion") {
      companion = true;
    } else if (a == "--deadline-ms" || a == "--wake-fd" || a == "--notify-fd") {
      if (!value(v)) return kUsage;
      int n = 0;
      if (!parse_int(v, n)) {
        error("ship", a + " needs a whole number, got '" + v + "'");
        return kUsage;
      }
      (a == "--deadline-ms" ? deadline : a == "--wake-fd" ? wake_fd : notify_fd) = n;
    } else {
      error("ship", "unknown option '" + a + "' (see bstest ship --help)");
      return kUsage;
    }
  }
  opt.dir = cfg.dir;
  opt.drain_deadline_ms = deadline;
  if (companion) {
    if (opt.run_id.empty() || wake_fd < 0) {
      error("ship", "--companion needs --run and --wake-fd");
      return kUsage;
    }
    // The test program starts us with every signal blocked (no handler of its own may run in the copy of
    // it that starts us): take the default mask back.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    opt.follow = true;
    opt.wake_fd = wake_fd;
    if (notify_fd >= 0) {
      opt.on_problem = [notify_fd](const std::string& problem) {
        std::string line = "problem: " + problem + "\n";
        ssize_t rc = ::write(notify_fd, line.data(), line.size());
        (void)rc;
      };
    }
  }
  opt.symbolizer = stack_symbolizer();
  ShipStats stats = ship(cfg, opt);
  std::string line = ship_summary_line(stats, cfg) + "\n";
  if (notify_fd >= 0) {
    ssize_t rc = ::write(notify_fd, line.data(), line.size());
    (void)rc;
    ::close(notify_fd);
  } else {
    std::fputs(line.c_str(), stderr);
  }
  return stats.complete() ? kOk : kFailed;
}

}  // namespace bstest::cli
