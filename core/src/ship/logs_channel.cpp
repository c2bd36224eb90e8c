#include "ship/logs_channel.hpp"

#include "base/clock.hpp"
#include "base/ids.hpp"
#include "journal/journal.hpp"
#include "record/log_records.hpp"
#include "record/record_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bstest::detail {

namespace {

constexpr const char* kChannel = "Better Stack Logs";
// A single record answered 413 this many times in a row is too large for the server and replaced by a
// note. Ours are at most 100 KiB, far below Better Stack's 10 MiB record limit, so one 413 for it is more
// likely a passing fault than the truth.
constexpr int kTooLargeAloneTries = 3;

}  // namespace

LogsChannel::LogsChannel(ShipContext& ctx) : ctx_(ctx), sender_(make_curl_client(ctx.cfg)) {
  state_.enabled = ctx.scope.logs;
  batch_limit_ = ctx.cfg.max_batch_records;
}

std::size_t LogsChannel::sendable(const FollowedJournal& j, std::int64_t now) const {
  const std::size_t n = j.logs.count();
  if (n == 0 || j.logs.taken() >= n || j.closed || j.writer_gone) return n;
  if (now - j.logs[n - 1].read_ms >= ctx_.cfg.flush_interval_ms) return n;
  return event_of(j.logs.text(n - 1)) == "test_started" ? n - 1 : n;
}

LogsChannel::Batch LogsChannel::make_batch(FollowedJournal& j, std::size_t first) const {
  Batch b;
  b.journal = &j;
  b.first = first;
  std::size_t limit = std::max<std::size_t>(1, batch_limit_);
  const std::size_t end = sendable(j, mono_now_ms());
  while (first + b.n < end && b.n < limit) {
    std::size_t len = j.logs[first + b.n].len;
    if (b.n > 0 && b.bytes + len > ctx_.cfg.max_batch_bytes) break;
    b.bytes += len;
    ++b.n;
  }
  j.logs.take(first + b.n);
  b.request = logs_request(ctx_.cfg.logs, j.logs.slice(first, b.bytes), gzip_);
  return b;
}

bool LogsChannel::batch_due(const FollowedJournal& j, std::size_t first, bool draining, std::int64_t now) const {
  const std::size_t end = sendable(j, now);
  if (first >= end) return false;
  std::size_t records = end - first;
  const Config& cfg = ctx_.cfg;
  return draining || j.writer_gone || records >= cfg.max_batch_records || j.logs.bytes_from(first) >= cfg.max_batch_bytes ||
         now - j.logs[first].read_ms >= cfg.flush_interval_ms;
}

bool LogsChannel::send(FollowedJournal& j, bool draining, std::int64_t deadline) {
  if (!state_.sending()) return false;
  if (on_wire() && sender_.done()) take_answer(deadline);
  if (state_.stopped) return false;
  std::int64_t t = mono_now_ms();
  if (on_wire()) {
    // Busy: compress the next batch meanwhile, if it is j's and due.
    if (on_wire_.journal == &j && ahead_.journal == nullptr && batch_due(j, on_wire_.n, draining, t)) {
      ahead_ = make_batch(j, on_wire_.n);
    }
    return true;
  }
  if (j.logs.empty()) return false;
  if (t < state_.next_at) return true;
  if (!batch_due(j, 0, draining, t)) return true;
  if (deadline > 0 && t >= deadline) return true;
  if (ahead_.journal == &j && ahead_.first == 0) {
    on_wire_ = std::move(ahead_);
  } else {
    on_wire_ = make_batch(j, 0);
  }
  ahead_ = Batch{};
  sender_.start(std::move(on_wire_.request), ctx_.request_timeout(deadline));
  if (batch_due(j, on_wire_.n, draining, t)) ahead_ = make_batch(j, on_wire_.n);
  return true;
}

void LogsChannel::settle(std::int64_t deadline) {
  if (!on_wire()) return;
  int wait = deadline > 0 ? static_cast<int>(std::max<std::int64_t>(deadline - mono_now_ms(), 0)) + 1000 : -1;
  if (sender_.wait(wait)) take_answer(deadline);
}

void LogsChannel::take_answer(std::int64_t deadline) {
  Batch b = std::move(on_wire_);
  on_wire_ = Batch{};
  HttpResponse resp = sender_.take(&b.request);
  FollowedJournal& j = *b.journal;
  if (gzip_ && (resp.status == 406 || resp.status == 415)) {
    // Better Stack documents no Content-Encoding for Logs: a server that refuses gzip gets this batch
    // again uncompressed on the next pass, and every batch after it. Nothing is set aside for it.
    gzip_ = false;
    ahead_ = Batch{};
    ctx_.problem(kChannel, "HTTP " + std::to_string(resp.status) + " for a gzip body: sent uncompressed since");
    return;
  }
  Outcome o = classify_logs(resp, state_.attempt + 1, ctx_.random01(), wall_now().seconds);
  std::int64_t t = mono_now_ms();
  // Only an accepted or set-aside batch leaves its lines in place for the one compressed ahead.
  if (o.verdict != Verdict::sent && o.verdict != Verdict::reject) ahead_ = Batch{};
  switch (o.verdict) {
    case Verdict::sent:
      ctx_.stats.records_sent += b.n;
      ctx_.stats.batches_sent += 1;
      ctx_.stats.bytes_sent += b.request.body.size();
      ctx_.stats.bytes_uncompressed += b.bytes;
      state_.attempt = 0;
      refused_alone_ = 0;
      batch_limit_ = std::min(ctx_.cfg.max_batch_records, batch_limit_ * 2);
      j.logs.pop(b.n);
      break;
    case Verdict::split:
      answered_too_large(b, t, deadline);
      break;
    case Verdict::retry:
      state_.attempt += 1;
      state_.next_at = t + o.delay_ms;
      ctx_.problem(kChannel, o.reason);
      break;
    case Verdict::stop_channel:
    case Verdict::give_up:
      state_.stopped = true;
      ctx_.problem(kChannel, o.reason);
      break;
    case Verdict::reject:
      answered_unreadable(b, o.reason);
      break;
  }
  // The batch compressed ahead started right after the one that left: it is at the front now.
  if (ahead_.journal != nullptr) ahead_.first = 0;
  j.update_cursor(ctx_.scope);
}

// 413: smaller batches; a single record refused alone, again after a while, then replaced by a note.
void LogsChannel::answered_too_large(const Batch& b, std::int64_t now, std::int64_t deadline) {
  if (b.n > 1) {
    ctx_.problem(kChannel, "HTTP 413 (request too large): batches split");
    batch_limit_ = std::max<std::size_t>(1, b.n / 2);
    return;
  }
  if (++refused_alone_ < kTooLargeAloneTries) {
    ctx_.problem(kChannel, "HTTP 413 (request too large) for a single record: retried");
    state_.attempt += 1;
    state_.next_at = now + backoff_ms(state_.attempt, ctx_.random01());
    return;
  }
  refused_alone_ = 0;
  send_too_large_note(b.journal->logs.slice(0, b.bytes), deadline);
  b.journal->logs.pop(1);
}

// 406 (or another 4xx for the batch itself): set aside, never retried.
void LogsChannel::answered_unreadable(const Batch& b, const std::string& reason) {
  FollowedJournal& j = *b.journal;
  std::string err;
  if (!set_aside(j, j.logs.slice(0, b.bytes), err)) {
    // Not kept in rejected/: it stays in the journal (the next flush tries again), and Logs stops here
    // rather than refusing batch after batch with nowhere to put them.
    ahead_ = Batch{};
    state_.stopped = true;
    ctx_.problem(kChannel, reason + "; the batch could not be set aside (" + err +
                               "): Logs stopped, its records kept for `bstest flush`");
    return;
  }
  ctx_.stats.records_rejected += b.n;
  ctx_.problem(kChannel, reason + "; the batch was set aside in " + ctx_.dir + "/rejected/");
  j.logs.pop(b.n);
}

void LogsChannel::send_too_large_note(std::string_view record, std::int64_t deadline) {
  ++ctx_.stats.records_dropped;
  Buf note;
  write_record_dropped(note, Record(record).view("id"), event_of(record), record.size());
  HttpResponse resp = ctx_.client().send(logs_request(ctx_.cfg.logs, note.view(), gzip_), ctx_.request_timeout(deadline));
  if (resp.status >= 200 && resp.status < 300) ++ctx_.stats.records_sent;
  ctx_.problem(kChannel, "a record too large to send was replaced by a note (HTTP 413)");
}

bool LogsChannel::set_aside(const FollowedJournal& j, std::string_view body, std::string& error) const {
  std::string rdir = ctx_.dir + "/rejected";
  if (!make_private_dir(rdir, error)) return false;
  std::string path = rdir + "/" + j.base + "." + std::to_string(j.read_off) + "." + random_hex(4) + ".ndjson";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot create a file in " + rdir + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) && ::fsync(fd) == 0;
  if (!ok) error = "cannot write " + path + ": " + std::strerror(errno);
  ::close(fd);
  if (!ok) ::unlink(path.c_str());
  return ok;
}

}  // namespace bstest::detail
