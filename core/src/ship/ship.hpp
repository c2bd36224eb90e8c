// The shipper: reads journals and delivers them to Better Stack (Logs, Errors, heartbeat).
//
// Used by the `bstest` command (ship, run, flush) and, when the companion cannot be started, by a test
// program at the end of its run. It never runs inside a test program while tests run.
//
// Delivery is at least once with no duplicates from us in normal operation: how far each journal was
// accepted is kept next to it (a ".cursor" file), a journal whose every record was accepted is removed,
// and only one shipper at a time works on a journal (a lock on its cursor file).
#pragma once

#include <bstest/config.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bstest {

namespace detail::stack {
struct Symbolizer;
}

struct ShipStats {
  std::uint64_t records_sent = 0;      // log records accepted by Better Stack Logs
  std::uint64_t batches_sent = 0;
  std::uint64_t bytes_sent = 0;        // compressed bytes of accepted batches
  std::uint64_t bytes_uncompressed = 0;
  std::uint64_t errors_sent = 0;       // Sentry events accepted by Better Stack Errors
  std::uint64_t errors_dropped = 0;    // events refused for good (HTTP error, Sentry rules)
  std::uint64_t heartbeats_sent = 0;
  // Left in journals for a later `bstest flush`: not delivered, or for a channel not configured here.
  std::uint64_t records_pending = 0;   // log records
  std::uint64_t errors_pending = 0;
  std::uint64_t heartbeats_pending = 0;
  std::uint64_t records_dropped = 0;   // single records too large to send (replaced by a note)
  std::uint64_t records_rejected = 0;  // records in batches refused as unreadable (406), kept in rejected/
  std::uint64_t records_not_sent = 0;  // records of tests that passed, left in the journal (BSTEST_SEND=failures)
  std::uint64_t journals_finished = 0; // journals fully delivered and removed
  std::uint64_t runs_crashed = 0;      // journals whose writer died without finishing (reported as crashes)
  std::vector<std::string> problems;   // one line per distinct fault ("Better Stack Logs: connection refused")
  bool complete() const noexcept {
    return records_pending == 0 && errors_pending == 0 && heartbeats_pending == 0;
  }
};

struct ShipOptions {
  std::string dir;     // journal folder; empty: Config::dir
  // Only journals of this run; empty: every journal in the folder. With a run id the shipper ships that
  // run with the run's own configuration (the companion, bstest run, a test program at exit): the error
  // events and heartbeats of a channel not configured here were not meant to be sent and are passed by.
  // Without one (bstest flush) they are kept, and counted as pending, until a shipper can send them.
  // Log records are always kept until Better Stack Logs takes them.
  std::string run_id;
  // Follow journals while they are written. Without it, ship what finished journals hold and stop.
  bool follow = false;
  // Follow mode ends when this returns false (for the companion: the owner closed its end of a pipe;
  // for bstest run: the command exited) and every followed journal's writer is gone.
  std::function<bool()> keep_following;
  // Read end of a pipe whose other end the owner holds: the shipper sleeps on it and wakes at once when
  // the owner closes it. -1: sleep on a timer only.
  int wake_fd = -1;
  // After following ends (or at once without follow): how long to keep trying to deliver.
  int drain_deadline_ms = 5000;
  // Every line read from a journal (records and local lines), for callers that keep a ledger of the run.
  std::function<void(const std::string& journal, std::string_view line)> on_line;
  // Follow mode: called after each pass that looked for new journals and read every journal to its end
  // (from the shipper's thread). Two calls after a writer finished mean its lines were all seen.
  std::function<void()> after_pass;
  // The signal that ended process `pid` (0: not known), for a test program that died without recording
  // why: its crash record and event name the signal. Asked once following ended; `bstest run` knows it for
  // the command it started.
  std::function<int(long pid)> signal_of;
  // Called with each new fault ("Better Stack Logs: connection refused") as it happens.
  std::function<void(const std::string&)> on_problem;
  // Called about once a second while shipping.
  std::function<void(const ShipStats&)> progress;
  // How the bstest program names stacks (docs/stacks.md), set by the bstest program: the frames of a crash
  // or an escaped exception are added to its record and event before they are sent, and in follow mode a
  // test running longer than Config::hang_after_ms is reported with its program's stacks. Null (a test
  // program shipping its own records at exit): they are sent without frames and say why.
  const detail::stack::Symbolizer* symbolizer = nullptr;
};

ShipStats ship(const Config& config, const ShipOptions& options);

// One line for stderr: "bstest: 200 records sent to Better Stack Logs in 1 batch" or why not.
std::string ship_summary_line(const ShipStats& stats, const Config& config);

// The folder that holds journals inside a bstest folder.
std::string journal_dir(const std::string& bstest_dir);

}  // namespace bstest
