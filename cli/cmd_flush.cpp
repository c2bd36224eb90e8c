// bstest flush [DIR]: sends what earlier runs left behind (offline, killed, quota reached) and says what it
// sent.
#include <bstest/config.hpp>
#include "ship/ship.hpp"

#include "commands.hpp"

#include "journal/journal_files.hpp"

#include <cstdio>

namespace bstest::cli {

const char* const kFlushHelp =
    "usage: bstest flush [DIR] [--deadline-ms N]\n"
    "\n"
    "Sends the records, error events and heartbeats that earlier runs kept in DIR (default: BSTEST_DIR or\n"
    ".bstest) because they could not be sent then. Journals still being written by a running test program are\n"
    "left to it. Uses the same BETTERSTACK_* variables as the tests.\n"
    "  --deadline-ms N   give up after N ms (default 30000); what is left stays for the next flush\n"
    "\n"
    "Exit code: 0 when everything was delivered, 1 when something is left, 2 for a usage error.\n";

namespace {

int count_journals(const std::string& dir) { return static_cast<int>(detail::list_journals(dir).size()); }
}  // namespace

int cmd_flush(const Args& args) {
  Config cfg = Config::from_env();
  int deadline = 30000;
  bool dir_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kFlushHelp, stdout);
      return kOk;
    } else if (a == "--deadline-ms") {
      if (i + 1 >= args.size() || !parse_int(args[++i], deadline)) {
        error("flush", "--deadline-ms needs a whole number");
        return kUsage;
      }
    } else if (!a.empty() && a[0] == '-') {
      error("flush", "unknown option '" + a + "' (see bstest flush --help)");
      return kUsage;
    } else if (dir_given) {
      error("flush", "one folder at a time: '" + cfg.dir + "' and '" + a + "' (see bstest flush --help)");
      return kUsage;
    } else {
      cfg.dir = a;
      dir_given = true;
    }
  }
  for (const auto& p : cfg.problems) std::fprintf(stderr, "bstest: %s\n", p.c_str());
  int journals = count_journals(cfg.dir);
  if (journals == 0) {
    std::fprintf(stderr, "bstest flush: nothing to send in %s\n", cfg.dir.c_str());
    return kOk;
  }
  if (!cfg.logs.enabled() && !cfg.errors.enabled() && !cfg.heartbeat.enabled()) {
    error("flush", std::to_string(journals) + " journal(s) in " + cfg.dir +
                       " but nowhere to send them: set BETTERSTACK_SOURCE_TOKEN and BETTERSTACK_INGEST_HOST "
                       "(and BETTERSTACK_ERRORS_DSN, BETTERSTACK_UPTIME_HEARTBEAT_URL) first");
    return kFailed;
  }
  ShipOptions opt;
  opt.dir = cfg.dir;
  opt.drain_deadline_ms = deadline;
  ProgressLine progress("bstest flush");
  progress.start();
  opt.progress = [&progress](const ShipStats& s) { progress.update(s); };
  ShipStats stats = ship(cfg, opt);
  progress.finish();
  std::fprintf(stderr, "%s\n", ship_summary_line(stats, cfg).c_str());
  return stats.complete() ? kOk : kFailed;
}

}  // namespace bstest::cli
