// The Better Stack Logs channel: log records leave in NDJSON batches (gzip), by count, size or age, one
// batch on the wire at a time on the sender's own thread (ship/async_sender.hpp). While one is out and the
// server reads it, the shipper's thread goes on reading journals and compresses the next batch.
//
// The lines of the batch on the wire, then of the one compressed ahead, are the first ones of their
// journal's LogQueue; they leave it (and the cursor moves past them) only once Better Stack took them.
// Answers (ship/retry_policy.cpp): 413 halves the batches, and a single record refused alone several times
// is replaced by a note (record_dropped); 406 or 415 for a gzip body sends it again uncompressed, and every
// batch after it; 406 otherwise sets the batch aside in <BSTEST_DIR>/rejected/; a bad token or quota stops
// the channel for the run, with every record kept for `bstest flush`.
#pragma once

#include "ship/async_sender.hpp"
#include "ship/followed_journal.hpp"
#include "ship/http.hpp"
#include "ship/ship_context.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bstest::detail {

class LogsChannel {
 public:
  explicit LogsChannel(ShipContext& ctx);

  // Sends what is due of j's records (draining: all of them, now); true while some are left.
  bool send(FollowedJournal& j, bool draining, std::int64_t deadline);
  // Waits for the batch on the wire, at most until `deadline` (its request ends by then: it was started
  // with a time-out within it), and takes its answer. For the end of a run: its records either went, or
  // stay for `bstest flush`.
  void settle(std::int64_t deadline);

  const ChannelState& state() const noexcept { return state_; }
  // A batch is on the wire.
  bool on_wire() const noexcept { return on_wire_.journal != nullptr; }
  // Waits at most `ms` for the answer to the batch on the wire.
  void wait(int ms) const { sender_.wait(ms); }
  // Readable once the batch on the wire has its answer (-1: none), for poll().
  int ready_fd() const noexcept { return on_wire() ? sender_.ready_fd() : -1; }

 private:
  struct Batch {
    FollowedJournal* journal = nullptr;
    std::size_t first = 0;  // index in journal->logs
    std::size_t n = 0;      // records
    std::size_t bytes = 0;  // uncompressed
    HttpRequest request;
  };

  // How many of j's lines a batch may take now: all, but a test_started at the end that is younger than
  // BSTEST_FLUSH_INTERVAL_MS while its program still runs: when the test's result comes first and the test
  // did not fail, the start is not sent at all (ship/journal_follower.cpp).
  std::size_t sendable(const FollowedJournal& j, std::int64_t now) const;
  // The next batch of `j` from its line `first`: by count, size and the 413 limit.
  Batch make_batch(FollowedJournal& j, std::size_t first) const;
  // Whether j's records from line `first` on should leave now (a batch is full, old enough, or the end).
  bool batch_due(const FollowedJournal& j, std::size_t first, bool draining, std::int64_t now) const;
  // The answer to the batch on the wire.
  void take_answer(std::int64_t deadline);
  void answered_too_large(const Batch& b, std::int64_t now, std::int64_t deadline);
  void answered_unreadable(const Batch& b, const std::string& reason);
  void send_too_large_note(std::string_view record, std::int64_t deadline);
  // Writes a refused batch to <dir>/rejected/ (whole, and synced); false with `error` when it could not be
  // kept there, and then nothing of it is left behind.
  bool set_aside(const FollowedJournal& j, std::string_view body, std::string& error) const;

  ShipContext& ctx_;
  ChannelState state_;
  std::size_t batch_limit_ = 0;  // records per batch (shrinks after 413)
  int refused_alone_ = 0;        // 413s in a row for a batch of one record
  bool gzip_ = true;             // false once the server refused a gzip body (406, 415)
  AsyncSender sender_;
  Batch on_wire_;  // the batch sender_ is sending (journal == nullptr: none)
  Batch ahead_;    // the next one, compressed while on_wire_ is out
};

}  // namespace bstest::detail
