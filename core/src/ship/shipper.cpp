// The shipping loop: journal → route → channel → HTTP.
//
// The JournalFollower finds the journals and reads their lines into one queue per channel
// (ship/journal_follower.hpp); each channel sends its queue (ship/heartbeat_channel.hpp,
// ship/logs_channel.hpp, ship/errors_channel.hpp) and moves the journal's cursor past what was delivered.
// This file only decides when: while the writers write (follow), then until everything went or the
// deadline came (drain).
#include "ship/ship.hpp"

#include "base/clock.hpp"
#include "journal/journal_files.hpp"
#include "ship/errors_channel.hpp"
#include "ship/heartbeat_channel.hpp"
#include "ship/journal_follower.hpp"
#include "ship/logs_channel.hpp"
#include "ship/ship_context.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace bstest {

std::string journal_dir(const std::string& bstest_dir) { return detail::journals_in(bstest_dir); }

namespace detail {
namespace {

// Read in one pass, what makes the next pass start at once (about 500 records).
constexpr std::uint64_t kBusyBytesPerPass = 256u << 10;
// How often a following shipper looks for new journals (ms).
constexpr int kScanIntervalMs = 200;
// How often ShipOptions::progress is called (ms).
constexpr int kProgressIntervalMs = 1000;

class Shipper {
 public:
  Shipper(const Config& config, const ShipOptions& options)
      : ctx_(config, options), follower_(ctx_), heartbeat_(ctx_), logs_(ctx_), errors_(ctx_) {}

  ShipStats run() {
    std::int64_t follow_stopped = ctx_.opt.follow ? follow() : -1;
    std::int64_t deadline = drain_deadline(follow_stopped);
    follower_.discover();
    drain(deadline);
    logs_.settle(deadline);
    follower_.finish();
    return ctx_.stats;
  }

 private:
  // Which channels have something left to send after a pass.
  struct Pending {
    bool heartbeat = false;
    bool logs = false;
    bool errors = false;
    bool any() const noexcept { return heartbeat || logs || errors; }
  };

  // Follow mode: reads and sends while the journals are written, until the owner is done (the wake pipe
  // closed, or keep_following says so) and every writer is gone. Returns when a wrapper (keep_following)
  // stopped following, -1 otherwise.
  std::int64_t follow() {
    const ShipOptions& opt = ctx_.opt;
    std::int64_t last_scan = -kScanIntervalMs;
    std::int64_t follow_stopped = -1;
    for (;;) {
      std::int64_t t = mono_now_ms();
      bool scanned = t - last_scan >= kScanIntervalMs;
      if (scanned) {
        follower_.discover();
        last_scan = t;
      }
      std::uint64_t looked_before = follower_.looked_at();
      follower_.read_all();
      // A writer producing faster than one poll interval drains: go round again at once instead of
      // sleeping, so that the backlog left at its exit (which it waits for) stays small.
      bool busy = follower_.looked_at() - looked_before >= kBusyBytesPerPass;
      if (scanned && opt.after_pass) opt.after_pass();
      send_due(false, -1);
      report_progress(t);
      if (owner_done_ || (opt.keep_following && !opt.keep_following())) {
        if (opt.keep_following && follow_stopped < 0) follow_stopped = mono_now_ms();
        follower_.discover();
        follower_.read_all();
        if (follower_.all_writers_gone()) break;
        // A wrapper's command can leave a program running: wait for it no longer than the drain deadline.
        if (follow_stopped >= 0 && mono_now_ms() - follow_stopped >= opt.drain_deadline_ms) break;
      }
      sleep_or_wake(busy ? 0 : kPollIntervalMs);
    }
    return follow_stopped;
  }

  // Drain: nothing more will be written; deliver what is left within the deadline, counted from when the
  // writers were done (a request that was hanging then does not extend it). For a wrapper (bstest run)
  // that is when it stopped following: its suite ends long after the first program closed its journal.
  // For the companion, when the test program closed its journal (it waits for us then).
  std::int64_t drain_deadline(std::int64_t follow_stopped) const {
    const int budget = ctx_.opt.drain_deadline_ms;
    if (follow_stopped >= 0) return follow_stopped + budget;
    std::int64_t deadline = mono_now_ms() + budget;
    std::int64_t closed = ctx_.opt.follow ? follower_.first_closed_mono_ms() : -1;
    return closed > 0 ? std::min(deadline, closed + budget) : deadline;
  }

  void drain(std::int64_t deadline) {
    for (;;) {
      std::uint64_t read_before = follower_.read();
      follower_.read_all();
      follower_.close_dead_journals();
      follower_.read_all();
      Pending pending = send_due(true, deadline);
      bool more = pending.any();
      follower_.retire_delivered();
      // Lines beyond the memory cap are read once earlier batches are gone: keep going while any remain
      // and reading makes progress (now that the batches above have left, or earlier in this pass).
      if (!more && follower_.unread_lines_left(logs_.state().sending())) {
        std::uint64_t looked_before = follower_.looked_at();
        follower_.read_all();
        more = follower_.read() != read_before || follower_.looked_at() != looked_before;
      }
      if (!more) break;
      std::int64_t t = mono_now_ms();
      if (t >= deadline) break;
      std::int64_t wake = next_wake(pending);
      if (logs_.on_wire()) {
        logs_.wait(static_cast<int>(std::min<std::int64_t>(deadline - t, kPollIntervalMs)));
      } else if (wake > t) {
        if (wake >= deadline) break;  // the next try would come after the deadline
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(wake - t, kPollIntervalMs)));
      }
      report_progress(t);
    }
  }

  // Sends what is due, journal by journal.
  Pending send_due(bool draining, std::int64_t deadline) {
    Pending p;
    // Heartbeats first: one small request that says whether the suite passed, never behind log batches.
    for (auto& [path, j] : follower_.journals()) p.heartbeat |= heartbeat_.send(*j, deadline);
    for (auto& [path, j] : follower_.journals()) {
      p.logs |= logs_.send(*j, draining, deadline);
      p.errors |= errors_.send(*j, deadline);
      j->update_cursor(ctx_.scope);
    }
    return p;
  }

  // When a channel with something left to send may go next: the soonest of them (a channel waiting for a
  // long Retry-After must not hold back another one that can send now).
  std::int64_t next_wake(const Pending& p) const {
    std::int64_t t = mono_now_ms();
    std::int64_t w = -1;
    for (auto [state, pending] : {std::pair{&logs_.state(), p.logs}, std::pair{&errors_.state(), p.errors},
                                  std::pair{&heartbeat_.state(), p.heartbeat}}) {
      if (!state->sending() || !pending) continue;
      std::int64_t at = std::max(state->next_at, t + kPollIntervalMs);
      w = w < 0 ? at : std::min(w, at);
    }
    return w < 0 ? t + kPollIntervalMs : w;
  }

  // Sleeps at most `ms`; wakes early when the owner closes its end of the wake pipe or when the Logs batch
  // on the wire has its answer.
  void sleep_or_wake(int ms) {
    const int wake_fd = ctx_.opt.wake_fd;
    pollfd p[2];
    nfds_t n = 0;
    if (wake_fd >= 0 && !owner_done_) p[n++] = {wake_fd, POLLIN, 0};
    if (logs_.ready_fd() >= 0) p[n++] = {logs_.ready_fd(), POLLIN, 0};
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return;
    }
    int rc = ::poll(p, n, ms);
    if (rc > 0 && p[0].fd == wake_fd && (p[0].revents & (POLLIN | POLLHUP)) != 0) {
      char buf[64];
      ssize_t got = ::read(wake_fd, buf, sizeof buf);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) owner_done_ = true;
    }
  }

  void report_progress(std::int64_t now) {
    if (!ctx_.opt.progress || now - last_progress_ < kProgressIntervalMs) return;
    ctx_.opt.progress(ctx_.stats);
    last_progress_ = now;
  }

  ShipContext ctx_;
  JournalFollower follower_;
  HeartbeatChannel heartbeat_;
  LogsChannel logs_;
  ErrorsChannel errors_;
  std::int64_t last_progress_ = mono_now_ms();
  bool owner_done_ = false;  // the owner closed its end of the wake pipe
};

}  // namespace
}  // namespace detail

ShipStats ship(const Config& config, const ShipOptions& options) {
  detail::Shipper s(config, options);
  return s.run();
}

}  // namespace bstest
