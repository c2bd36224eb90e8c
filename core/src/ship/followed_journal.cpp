#include "ship/followed_journal.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace bstest::detail {

namespace {

// Delivered bytes at the front of a LogQueue's buffer are moved out once there are this many and no fewer
// than the pending bytes that move (or kCompactAlwaysAtBytes of them). Small, so that a steady run reuses
// the same few hundred pages: each page the buffer touches for the first time is a page fault (a few µs
// each), and the moves are of what is still pending, usually less than a batch. Never more than about two
// bytes moved per byte delivered: a backlog of many MiB (a shipper behind its writer) was moved whole after
// every MiB sent, which took a tenth of such a shipper's time.
constexpr std::size_t kCompactAtBytes = 1u << 20;
constexpr std::size_t kCompactAlwaysAtBytes = 8u << 20;

}  // namespace

// --- LogQueue ------------------------------------------------------------------------------------------

void LogQueue::push(std::string_view line, std::uint64_t start_off, std::uint64_t end_off, std::int64_t now_ms) {
  // Room for the most the buffer ever holds, asked for once (growing by doubling would copy it and touch
  // twice the pages): the cap, the delivered bytes not moved out yet, and one read (or one ring copy) of at
  // most 1 MiB beyond the cap, with room to spare for lines completed with their stack.
  if (lines_.empty() && text_.size() == 0) {
    text_.reserve(kMaxPendingBytesPerJournal + kCompactAlwaysAtBytes + (2u << 20));
  }
  lines_.push_back({text_.size(), line.size() + 1, start_off, end_off, now_ms});
  text_.put(line);
  text_.put('\n');
}

void LogQueue::pop(std::size_t n) {
  taken_ -= std::min(taken_, n);
  for (std::size_t i = 0; i < n && !lines_.empty(); ++i) {
    head_ = lines_.front().start + lines_.front().len;
    lines_.pop_front();
  }
  if (lines_.empty()) {
    text_.clear();
    head_ = 0;
  } else if (head_ > kCompactAtBytes && (head_ >= text_.size() - head_ || head_ >= kCompactAlwaysAtBytes)) {
    std::size_t keep = text_.size() - head_;
    std::memmove(text_.data(), text_.data() + head_, keep);
    text_.truncate(keep);
    for (auto& l : lines_) l.start -= head_;
    head_ = 0;
  }
}

std::string_view LogQueue::last_untaken() const {
  return lines_.size() <= taken_ ? std::string_view() : text(lines_.size() - 1);
}

void LogQueue::drop_last() {
  if (lines_.size() <= taken_) return;
  text_.truncate(lines_.back().start);
  lines_.pop_back();
  if (lines_.empty()) {
    text_.clear();
    head_ = 0;
  }
}

// --- FollowedJournal -----------------------------------------------------------------------------------

FollowedJournal::~FollowedJournal() {
  if (cursor_fd >= 0) ::close(cursor_fd);
}

bool FollowedJournal::write_cursor() {
  char buf[96];
  int n = std::snprintf(buf, sizeof buf, "bstest-cursor 1 %020llu %020llu %020llu\n",
                        static_cast<unsigned long long>(cursor.logs), static_cast<unsigned long long>(cursor.errors),
                        static_cast<unsigned long long>(cursor.heartbeat));
  if (::pwrite(cursor_fd, buf, static_cast<std::size_t>(n), 0) != n) return false;
  saved = cursor;
  return true;
}

bool FollowedJournal::read_cursor() {
  char buf[128] = {};
  ssize_t n = ::pread(cursor_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return true;  // new cursor
  unsigned long long a = 0, b = 0, c = 0;
  if (std::sscanf(buf, "bstest-cursor 1 %llu %llu %llu", &a, &b, &c) != 3) return false;
  cursor = {a, b, c};
  saved = cursor;
  return true;
}

void FollowedJournal::update_cursor(const ShipScope& scope) {
  auto before = [](const std::deque<QueuedLine>& q, std::uint64_t fallback) -> std::uint64_t {
    return q.empty() ? fallback : q.front().start_off;
  };
  // From the first line's own journal offset: a line completed with its stack is longer than in the journal.
  std::uint64_t logs_at = logs.empty() ? read_off : logs[0].start_off;
  if (scope.logs) cursor.logs = std::max(cursor.logs, logs_at);
  // Error and heartbeat lines are taken as soon as they are looked at (routed), so everything before
  // scan_off is done unless still queued. A channel not configured for its own run passes its lines by.
  if (scope.errors || scope.own_run) cursor.errors = std::max(cursor.errors, before(errors, scan_off));
  if (scope.heartbeat || scope.own_run) cursor.heartbeat = std::max(cursor.heartbeat, before(heartbeats, scan_off));
  if (cursor != saved) write_cursor();
}

bool FollowedJournal::delivered() const noexcept {
  return logs.empty() && errors.empty() && heartbeats.empty() && kept_logs == 0 && kept_errors == 0 &&
         kept_heartbeats == 0;
}

void FollowedJournal::track(std::string_view line, std::string_view ev) {
  if (ev == "test_started") {
    last_started_line.assign(line.data(), line.size());
    hang_reported = false;
  } else if (ev == "test_finished") {
    last_started_line.clear();
  } else if (ev == "run_started") {
    started = true;
    run_started_line.assign(line.data(), line.size());
  } else if (ev == "run_finished") {
    ended = true;
  } else if (ev == "run_crashed") {
    ended = true;
    crash_recorded = true;
    crash_line.assign(line.data(), line.size());
  }
}

void FollowedJournal::look_for_hang(stack::HangWatch& watch, std::int64_t now_unix_ms) {
  if (ended || closed || writer_gone || hang_reported || last_started_line.empty()) return;
  hang_reported = watch.check(path, run_started_line, last_started_line, now_unix_ms);
}

}  // namespace bstest::detail
