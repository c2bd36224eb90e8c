#include "ship/journal_follower.hpp"

#include "base/clock.hpp"
#include "journal/journal_files.hpp"
#include "journal/retention.hpp"
#include "record/record_reader.hpp"
#include "ship/dead_writer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace bstest::detail {

namespace {

// How much one read of a journal takes at most, and how many reads one pass makes of it.
constexpr std::size_t kReadBytes = 1u << 20;
constexpr int kReadsPerPass = 64;

// A test_finished record of a test that did not fail: the short record of a test whose start need not be
// sent.
bool short_result(const RecordHead& h) { return h.event == "test_finished" && h.result != "failed"; }

// Whether a log record goes to Better Stack Logs: every one, or with BSTEST_SEND=failures only what did not
// pass and the run's own records (no test_started, no result of a test that did not fail).
bool goes_to_logs(SendRecords send, const RecordHead& h) {
  return send == SendRecords::all || (h.event != "test_started" && !short_result(h));
}

// A test that did not fail is one record in Logs: its test_started goes no further when its result comes
// before any batch took the start (the journal keeps it, for crash blame and `bstest report`). A test that
// ran long enough for its start to leave (a batch leaves within BSTEST_FLUSH_INTERVAL_MS) shows it live.
void drop_unsent_start(LogQueue& q, std::string_view finished_key) {
  std::string_view last = q.last_untaken();
  if (last.empty() || event_of(last) != "test_started") return;
  if (!finished_key.empty() && finished_key == test_key_of(last)) q.drop_last();
}

}  // namespace

JournalFollower::JournalFollower(ShipContext& ctx)
    : ctx_(ctx), hangs_(ctx.dir, ctx.opt.follow ? ctx.cfg.hang_after_ms : 0, ctx.opt.symbolizer) {}

// --- discovery -----------------------------------------------------------------------------------------

void JournalFollower::discover() {
  std::string jdir = journals_in(ctx_.dir);
  std::string err;
  struct stat st {};
  if (::lstat(jdir.c_str(), &st) != 0) return;  // nothing written there yet
  if (!check_private_dir(jdir, err)) {  // another user's folder, or a link to one: never read or sent
    ctx_.problem("journal", err);
    return;
  }
  for (const std::string& name : list_journals(ctx_.dir, ctx_.opt.run_id)) {
    std::string path = jdir + "/" + name;
    if (journals_.count(path) != 0 || skipped_.count(path) != 0) continue;
    adopt(path, journal_base(name));
  }
}

void JournalFollower::adopt(const std::string& path, std::string_view base) {
  auto j = std::make_unique<FollowedJournal>();
  j->path = path;
  j->base = std::string(base);
  j->stacks = stack::SnapshotJoin(ctx_.opt.symbolizer);
  std::string err;
  if (!j->reader.open(path, err)) {
    if (errno != ENOENT) ctx_.problem("journal", err);  // a link, or a file of another user: never sent
    skipped_.insert({path, true});
    return;
  }
  // Without follow, a journal still being written belongs to whoever follows it.
  if (!ctx_.opt.follow && j->reader.writer_alive()) {
    skipped_.insert({path, true});
    return;
  }
  j->cursor_fd = open_own_file(cursor_path_of(path), O_RDWR | O_CREAT, err);
  if (j->cursor_fd < 0) {
    ctx_.problem("journal", err);
    skipped_.insert({path, true});
    return;
  }
  if (::flock(j->cursor_fd, LOCK_EX | LOCK_NB) != 0) {
    skipped_.insert({path, true});  // another shipper has it
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // removed meanwhile by the shipper that had it
  if (!j->read_cursor()) j->cursor = {};
  // Read from the start: the run's state (run_started, the test running last) comes from the whole
  // journal; lines before a channel's cursor are not sent again.
  journals_.emplace(path, std::move(j));
}

// --- reading and routing -------------------------------------------------------------------------------

void JournalFollower::read_all() {
  for (auto& [path, j] : journals_) read_journal(*j);
}

void JournalFollower::look_for_hangs() {
  if (!hangs_.on()) return;
  std::int64_t now = wall_now_ms();
  for (auto& [path, j] : journals_) j->look_for_hang(hangs_, now);
}

void JournalFollower::read_journal(FollowedJournal& j) {
  if (!j.writer_gone && !j.reader.writer_alive()) j.writer_gone = true;
  bool gone = j.writer_gone;
  // Records reach the journal file through the writer's ring: move the complete ones in first.
  std::string err;
  if (!j.ring.absorb(j.path, gone, err)) ctx_.problem("journal", err);
  // A reader caught up with the journal takes what the ring copy just wrote from its buffer, without
  // reading the file again.
  std::uint64_t copied_at = 0;
  std::string_view copied = j.ring.last_copy(copied_at);
  for (int rounds = 0; rounds < kReadsPerPass; ++rounds) {
    bool buffering = j.logs.pending_bytes() < kMaxPendingBytesPerJournal;
    // Over the memory cap, lines are only looked at (for run state), from where looking stopped.
    std::uint64_t from = buffering ? j.read_off : std::max(j.read_off, j.scan_off);
    std::uint64_t next = !copied.empty() && from == copied_at ? JournalReader::line_views_of(copied, from, lines_)
                                                              : j.reader.read_line_views(from, kReadBytes, gone, lines_);
    copied = {};
    if (next == from) break;
    read_ms_ = mono_now_ms();
    for (const JournalLine& l : lines_) route(j, l.text, l.end_off, buffering);
    release_start();
    if (buffering) j.read_off = next;
    if (j.scan_off < next) j.scan_off = next;
  }
}

void JournalFollower::route(FollowedJournal& j, std::string_view line, std::uint64_t end_off, bool buffering) {
  std::uint64_t start_off = end_off - line.size() - 1;
  bool fresh = end_off > j.scan_off;  // not seen before for run state
  LineKind kind = kind_of(line);
  // A log record's event, and a test's key and result: read once here, for everything below.
  const RecordHead head = kind == LineKind::log_record ? record_head(line) : RecordHead{};
  std::string_view ev = head.event;
  if (ctx_.opt.on_line && fresh) ctx_.opt.on_line(j.path, line);
  // A record or event that a stack snapshot named is sent with its frames (stack/snapshot_join.hpp), only
  // when it is queued to be sent (one delivered before is not named for nothing).
  std::string with_stack;
  const ShipScope& scope = ctx_.scope;
  switch (kind) {
    case LineKind::log_record: {
      j.has_records = true;
      if (fresh) j.track(line, ev);
      if (end_off <= j.cursor.logs) return;  // delivered before
      if (!goes_to_logs(ctx_.cfg.send, head)) {  // passed by: the cursor moves past it once earlier lines went
        if (fresh) ++ctx_.stats.records_not_sent;
        return;
      }
      if (!scope.logs) {
        if (fresh) ++j.kept_logs;
        return;
      }
      if (!buffering) return;  // over the memory cap: read again once earlier batches have left
      with_stack = j.stacks.complete(line);
      queue_log(j, with_stack.empty() ? line : with_stack, head, start_off, end_off, with_stack.empty());
      return;
    }
    // Error events and heartbeats are taken the first time they are seen, also past the memory cap for
    // log lines: a Logs backlog must not hold back the heartbeat or the Errors channel.
    case LineKind::error_event:
      if (!fresh || end_off <= j.cursor.errors) return;
      if (!scope.errors) {
        if (!scope.own_run) ++j.kept_errors;
        return;
      }
      // The event's JSON: what follows {"sentry": up to the closing brace.
      if (line.size() < 12) return;
      with_stack = j.stacks.complete(line);
      if (!with_stack.empty()) line = with_stack;
      j.errors.push_back({std::string(line.substr(10, line.size() - 11)), end_off, start_off});
      return;
    case LineKind::heartbeat:
      if (!fresh || end_off <= j.cursor.heartbeat) return;
      if (!scope.heartbeat) {
        if (!scope.own_run) ++j.kept_heartbeats;
        return;
      }
      j.heartbeats.push_back({std::string(line), end_off, start_off});
      return;
    case LineKind::local:
      // A stack snapshot is kept for the record or event it names (never sent itself).
      if (fresh && j.stacks.keep(line)) return;
      // The writer's "closed" marker, and when it wrote it (two local lines per journal: parsed).
      if (fresh && local_.parse(line) && local_.local() == "closed") {
        j.closed = true;
        j.closed_mono_ms = local_.integer("mono_ms", 0);
      }
      return;
    case LineKind::other:
      return;
  }
}

void JournalFollower::queue_log(FollowedJournal& j, std::string_view line, const RecordHead& head,
                                std::uint64_t start_off, std::uint64_t end_off, bool in_read) {
  if (held_.journal == &j) {
    bool its_start = short_result(head) && head.test_key == held_.test_key;
    if (its_start) held_ = HeldStart{};
    release_start();
  } else if (short_result(head)) {
    drop_unsent_start(j.logs, head.test_key);  // a start queued by an earlier read
  }
  if (head.event == "test_started" && in_read) {
    held_ = {&j, line, head.test_key, start_off, end_off};
    return;
  }
  j.logs.push(line, start_off, end_off, read_ms_);
}

void JournalFollower::release_start() {
  if (held_.journal == nullptr) return;
  held_.journal->logs.push(held_.line, held_.start_off, held_.end_off, read_ms_);
  held_ = HeldStart{};
}

// --- the end of a journal ------------------------------------------------------------------------------

void JournalFollower::close_dead_journals() {
  for (auto& [path, j] : journals_) {
    if (!j->writer_gone || j->closed) continue;
    if (j->scan_off < j->reader.file_size()) continue;  // not read to the end yet
    DeadWriterEnd end = end_of_dead_writer(*j, ctx_.opt.signal_of);
    if (end.crashed) ++ctx_.stats.runs_crashed;
    std::string err;
    int fd = open_own_file(j->path, O_WRONLY | O_APPEND, err);
    if (fd >= 0) {
      if (::write(fd, end.lines.data(), end.lines.size()) != static_cast<ssize_t>(end.lines.size())) {
        // Could not finish the journal: it stays open-ended; the next shipper tries again.
      }
      ::close(fd);
    }
  }
}

void JournalFollower::retire_delivered() {
  for (auto it = journals_.begin(); it != journals_.end();) {
    FollowedJournal& j = *it->second;
    bool at_end = j.writer_gone && j.closed && j.read_off >= j.reader.file_size();
    if (!at_end || !j.delivered()) {
      ++it;
      continue;
    }
    // Kept for `bstest report` in delivered/, the last BSTEST_KEEP_RUNS runs (journal/retention.hpp).
    retire_journal(ctx_.dir, j.path, j.has_records, ctx_.cfg.keep_runs);
    retired_ = true;
    ::unlink(cursor_path_of(j.path).c_str());
    ::unlink(ring_path_of(j.path).c_str());
    ++ctx_.stats.journals_finished;
    it = journals_.erase(it);
  }
}

void JournalFollower::finish() {
  if (retired_) prune_delivered(ctx_.dir, ctx_.cfg.keep_runs);
  ShipStats& s = ctx_.stats;
  for (auto& [path, j] : journals_) {
    j->update_cursor(ctx_.scope);
    s.records_pending += j->logs.count() + j->kept_logs;
    s.errors_pending += j->errors.size() + j->kept_errors;
    s.heartbeats_pending += j->heartbeats.size() + j->kept_heartbeats;
    count_unread(*j);
  }
  journals_.clear();
}

// Lines not taken yet (a backlog beyond the memory cap, or a journal not read to its end) are pending
// too: log records past read_off, error events and heartbeats past scan_off, each past its cursor.
void JournalFollower::count_unread(FollowedJournal& j) {
  const ShipScope& scope = ctx_.scope;
  ShipStats& s = ctx_.stats;
  // A start that a passing result will leave out (drop_unsent_start) is not counted: the last one queued,
  // then each one read here.
  std::string_view last = j.logs.last_untaken();
  std::string open_start(event_of(last) == "test_started" ? test_key_of(last) : std::string_view());
  for (std::uint64_t from = j.read_off;;) {
    std::uint64_t next = j.reader.read_line_views(from, kReadBytes, j.writer_gone, lines_);
    if (next == from) break;
    for (const JournalLine& l : lines_) {
      std::string_view line = l.text;
      std::uint64_t end_off = l.end_off;
      LineKind kind = kind_of(line);
      if (kind == LineKind::log_record) {
        const RecordHead head = record_head(line);
        if (end_off <= j.cursor.logs || !goes_to_logs(ctx_.cfg.send, head)) continue;
        if (short_result(head) && !open_start.empty() && head.test_key == open_start) s.records_pending -= 1;
        s.records_pending += 1;
        open_start.assign(head.event == "test_started" ? head.test_key : std::string_view());
      } else if (end_off <= j.scan_off) {
        continue;  // error events and heartbeats up to here were taken
      } else if (kind == LineKind::error_event) {
        s.errors_pending += end_off > j.cursor.errors && (scope.errors || !scope.own_run) ? 1 : 0;
      } else if (kind == LineKind::heartbeat) {
        s.heartbeats_pending += end_off > j.cursor.heartbeat && (scope.heartbeat || !scope.own_run) ? 1 : 0;
      }
    }
    from = next;
  }
}

// --- progress --------------------------------------------------------------------------------------------

std::uint64_t JournalFollower::looked_at() const {
  std::uint64_t n = 0;
  for (const auto& [path, j] : journals_) n += j->scan_off;
  return n;
}

std::uint64_t JournalFollower::read() const {
  std::uint64_t n = 0;
  for (const auto& [path, j] : journals_) n += j->read_off;
  return n;
}

bool JournalFollower::unread_lines_left(bool logs_sending) const {
  for (const auto& [path, j] : journals_) {
    std::uint64_t size = j->reader.file_size();
    if (j->scan_off < size || (logs_sending && j->read_off < size)) return true;
  }
  return false;
}

bool JournalFollower::all_writers_gone() {
  for (auto& [path, j] : journals_) {
    if (!j->writer_gone && j->reader.writer_alive()) return false;
    j->writer_gone = true;
  }
  return true;
}

std::int64_t JournalFollower::first_closed_mono_ms() const {
  std::int64_t first = -1;
  for (const auto& [path, j] : journals_) {
    if (j->closed_mono_ms > 0 && (first < 0 || j->closed_mono_ms < first)) first = j->closed_mono_ms;
  }
  return first;
}

}  // namespace bstest::detail
