// The shipper loop: discover journals, read complete lines, route them to their channel, send batches,
// judge answers, remember progress.
//
// Journal lines come in four kinds, told apart by their first key:
//   {"id":…}         a log record          -> Better Stack Logs (NDJSON batches)
//   {"sentry":{…}}   an error event        -> Better Stack Errors (one envelope each)
//   {"heartbeat":…}  the suite's verdict   -> the Uptime heartbeat URL
//   {"local":…}      bookkeeping (argv for re-runs, the "closed" marker); never sent
// Each channel has its own cursor: the journal offset before which all of its lines were delivered.
#include <bstest/ship.hpp>
#include <bstest/version.hpp>

#include "base/ids.hpp"
#include "journal/crash_handler.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"
#include "journal/retention.hpp"
#include "record/error_events.hpp"
#include "record/json.hpp"
#include "record/log_records.hpp"
#include "record/test_events.hpp"
#include "ship/async_sender.hpp"
#include "ship/http.hpp"
#include "stack/hang_watch.hpp"
#include "stack/snapshot_join.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <thread>

namespace bstest {

std::string journal_dir(const std::string& bstest_dir) { return detail::journals_in(bstest_dir); }

namespace detail {
namespace {

constexpr std::size_t kMaxPendingBytesPerJournal = 16u << 20;
constexpr int kPollIntervalMs = 50;
// Read in one pass, what makes the next pass start at once (about 500 records).
constexpr std::uint64_t kBusyBytesPerPass = 256u << 10;
constexpr int kScanIntervalMs = 200;
// A single record answered 413 this many times in a row is too large for the server and replaced by a
// note. Ours are at most 100 KiB, far below Better Stack's 10 MiB record limit, so one 413 for it is more
// likely a passing fault than the truth.
constexpr int kTooLargeAloneTries = 3;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool starts_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.compare(0, p.size(), p) == 0; }

// The "event" of a log record, found in its head without parsing the whole record.
std::string_view event_of(std::string_view line) {
  std::string_view head = line.substr(0, 160);
  auto at = head.find(",\"event\":\"");
  if (at == std::string_view::npos) return {};
  head = head.substr(at + 10);
  auto end = head.find('"');
  return end == std::string_view::npos ? std::string_view() : head.substr(0, end);
}

struct LineRef {
  std::size_t start;       // in the journal's pending buffer
  std::size_t len;         // including '\n' (a record completed with its stack is longer than in the journal)
  std::uint64_t end_off;   // journal offset just after the line
  std::int64_t read_ms;    // when the shipper read it (a batch leaves when its oldest line is old enough)
  std::uint64_t start_off; // journal offset of the line
};

struct Item {
  std::string text;
  std::uint64_t end_off;
  std::uint64_t start_off;
};

struct Cursor {
  std::uint64_t logs = 0;
  std::uint64_t errors = 0;
  std::uint64_t heartbeat = 0;
};

struct Journal {
  std::string path;
  std::string base;  // file name without ".journal"
  int cursor_fd = -1;
  JournalReader reader;
  Cursor cursor;
  Cursor saved;
  std::uint64_t read_off = 0;  // lines before this are routed (or skipped as delivered)
  std::uint64_t scan_off = 0;  // lines before this were looked at for run state

  Buf logs;
  std::deque<LineRef> log_lines;
  std::size_t logs_head = 0;
  std::deque<Item> errors;
  std::deque<Item> heartbeats;

  bool started = false;
  bool closed = false;
  bool crash_recorded = false;
  bool writer_gone = false;
  bool owner_role = true;
  bool has_records = false;  // log records (not only a heartbeat): kept for `bstest report` once delivered
  // Lines past a channel's cursor that this shipper cannot send because the channel is not configured
  // here: the journal is kept for a `bstest flush` that can.
  std::uint64_t kept_logs = 0;
  std::uint64_t kept_errors = 0;
  std::uint64_t kept_heartbeats = 0;
  std::int64_t closed_mono_ms = 0;  // when the writer closed it (CLOCK_MONOTONIC), 0 if unknown
  std::string run_started_line;
  std::string last_started_line;
  std::string crash_line;  // the run_crashed record the test program wrote itself (signal handler)
  stack::SnapshotJoin stacks{nullptr};  // its stack snapshots, until the record or event they name is sent

  ~Journal() {
    if (cursor_fd >= 0) ::close(cursor_fd);
  }
  std::size_t pending_log_bytes() const { return logs.size() - logs_head; }
};

struct Channel {
  bool enabled = false;
  bool stopped = false;
  int attempt = 0;
  std::int64_t next_at = 0;
  std::size_t batch_limit = 0;  // logs: records per batch (shrinks after 413)
  int refused_alone = 0;        // logs: 413s in a row for a batch of one record
  bool pending = false;         // something was left to send after the last send_due
};

bool write_cursor(Journal& j) {
  char buf[96];
  int n = std::snprintf(buf, sizeof buf, "bstest-cursor 1 %020llu %020llu %020llu\n",
                        static_cast<unsigned long long>(j.cursor.logs), static_cast<unsigned long long>(j.cursor.errors),
                        static_cast<unsigned long long>(j.cursor.heartbeat));
  if (::pwrite(j.cursor_fd, buf, static_cast<std::size_t>(n), 0) != n) return false;
  j.saved = j.cursor;
  return true;
}

bool read_cursor(Journal& j) {
  char buf[128] = {};
  ssize_t n = ::pread(j.cursor_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return true;  // new cursor
  unsigned long long a = 0, b = 0, c = 0;
  if (std::sscanf(buf, "bstest-cursor 1 %llu %llu %llu", &a, &b, &c) != 3) return false;
  j.cursor = {a, b, c};
  j.saved = j.cursor;
  return true;
}

class Shipper {
 public:
  Shipper(const Config& config, const ShipOptions& options)
      : cfg_(config),
        opt_(options),
        client_(make_curl_client(config)),
        logs_sender_(make_curl_client(config)),
        rng_(std::random_device{}()),
        hang_(options.dir.empty() ? config.dir : options.dir, options.follow ? config.hang_after_ms : 0,
              options.symbolizer) {
    dir_ = opt_.dir.empty() ? cfg_.dir : opt_.dir;
    logs_.enabled = cfg_.logs.enabled();
    errors_.enabled = cfg_.errors.enabled();
    heartbeat_.enabled = cfg_.heartbeat.enabled();
    logs_.batch_limit = cfg_.max_batch_records;
    own_run_ = !opt_.run_id.empty();
  }

  ShipStats run() {
    std::int64_t last_scan = -kScanIntervalMs;
    std::int64_t last_progress = now_ms();
    bool following = opt_.follow;
    std::int64_t follow_stopped = -1;  // when a wrapper (keep_following) stopped following
    if (following) {
      for (;;) {
        std::int64_t t = now_ms();
        bool scanned = t - last_scan >= kScanIntervalMs;
        if (scanned) {
          scan();
          last_scan = t;
        }
        std::uint64_t looked_before = total_looked_at();
        read_all();
        hang_.check(wall_now_ms());
        // A writer producing faster than one poll interval drains: go round again at once instead of
        // sleeping, so that the backlog left at its exit (which it waits for) stays small.
        bool busy = total_looked_at() - looked_before >= kBusyBytesPerPass;
        if (scanned && opt_.after_pass) opt_.after_pass();
        send_due(false, -1);
        if (opt_.progress && t - last_progress >= 1000) {
          opt_.progress(stats_);
          last_progress = t;
        }
        bool owner_done = owner_done_ || (opt_.keep_following && !opt_.keep_following());
        if (owner_done) {
          if (opt_.keep_following && follow_stopped < 0) follow_stopped = now_ms();
          scan();
          read_all();
          if (all_writers_gone()) break;
          // A wrapper's command can leave a program running: wait for it no longer than the drain deadline.
          if (follow_stopped >= 0 && now_ms() - follow_stopped >= opt_.drain_deadline_ms) break;
        }
        sleep_or_wake(busy ? 0 : kPollIntervalMs);
      }
    }
    // Drain: nothing more will be written; deliver what is left within the deadline, counted from when
    // the writers were done (a request that was hanging then does not extend it). For a wrapper (bstest
    // run) that is when it stopped following: its suite ends long after the first program closed its
    // journal. For the companion, when the test program closed its journal (it waits for us then).
    std::int64_t deadline = now_ms() + opt_.drain_deadline_ms;
    if (follow_stopped >= 0) {
      deadline = follow_stopped + opt_.drain_deadline_ms;
    } else if (opt_.follow) {
      for (const auto& [path, j] : journals_) {
        if (j->closed_mono_ms > 0) deadline = std::min(deadline, j->closed_mono_ms + opt_.drain_deadline_ms);
      }
    }
    scan();
    for (;;) {
      std::uint64_t read_before = total_read();
      read_all();
      finalize_dead_journals();
      read_all();
      bool more = send_due(true, deadline);
      remove_finished();
      // Lines beyond the memory cap are read once earlier batches are gone: keep going while any remain
      // and reading makes progress (now that the batches above have left, or earlier in this pass).
      if (!more && unread_lines_left()) {
        std::uint64_t looked_before = total_looked_at();
        read_all();
        more = total_read() != read_before || total_looked_at() != looked_before;
      }
      if (!more) break;
      std::int64_t t = now_ms();
      if (t >= deadline) break;
      std::int64_t wake = next_wake();
      if (on_wire_.journal != nullptr) {
        logs_sender_.wait(static_cast<int>(std::min<std::int64_t>(deadline - t, 50)));
      } else if (wake > t) {
        if (wake >= deadline) break;  // the next try would come after the deadline
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(wake - t, 50)));
      }
      if (opt_.progress && t - last_progress >= 1000) {
        opt_.progress(stats_);
        last_progress = t;
      }
    }
    settle_logs(deadline);
    finish();
    return stats_;
  }

 private:
  // --- discovery -------------------------------------------------------------------------------------

  void scan() {
    std::string jdir = journal_dir(dir_);
    std::string err;
    struct stat st {};
    if (::lstat(jdir.c_str(), &st) != 0) return;  // nothing written there yet
    if (!check_private_dir(jdir, err)) {  // another user's folder, or a link to one: never read or sent
      problem("journal", err);
      return;
    }
    DIR* d = ::opendir(jdir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() <= 8 || name.compare(name.size() - 8, 8, ".journal") != 0) continue;
      if (!opt_.run_id.empty() && !starts_with(name, opt_.run_id + ".")) continue;
      names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string path = jdir + "/" + name;
      if (journals_.count(path) != 0 || skipped_.count(path) != 0) continue;
      adopt(path, name.substr(0, name.size() - 8));
    }
  }

  void adopt(const std::string& path, const std::string& base) {
    auto j = std::make_unique<Journal>();
    j->path = path;
    j->base = base;
    j->stacks = stack::SnapshotJoin(opt_.symbolizer);
    std::string err;
    if (!j->reader.open(path, err)) {
      if (errno != ENOENT) problem("journal", err);  // a link, or a file of another user: never sent
      skipped_.insert({path, true});
      return;
    }
    // Without follow, a journal still being written belongs to whoever follows it.
    if (!opt_.follow && j->reader.writer_alive()) {
      skipped_.insert({path, true});
      return;
    }
    std::string cursor_path = journal_dir(dir_) + "/" + base + ".cursor";
    j->cursor_fd = open_own_file(cursor_path, O_RDWR | O_CREAT, err);
    if (j->cursor_fd < 0) {
      problem("journal", err);
      skipped_.insert({path, true});
      return;
    }
    if (::flock(j->cursor_fd, LOCK_EX | LOCK_NB) != 0) {
      skipped_.insert({path, true});  // another shipper has it
      return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;  // removed meanwhile by the shipper that had it
    if (!read_cursor(*j)) j->cursor = {};
    // Read from the start: the run's state (run_started, the test running last) comes from the whole
    // journal; lines before a channel's cursor are not sent again.
    journals_.emplace(path, std::move(j));
  }

  // --- reading ---------------------------------------------------------------------------------------

  void read_all() {
    for (auto& [path, j] : journals_) read_journal(*j);
  }

  void read_journal(Journal& j) {
    if (!j.writer_gone && !j.reader.writer_alive()) j.writer_gone = true;
    bool gone = j.writer_gone;
    // Records reach the journal file through the writer's ring: move the complete ones in first.
    std::string err;
    if (!absorb_ring(j.path, gone, err)) problem("journal", err);
    for (int rounds = 0; rounds < 64; ++rounds) {
      bool buffering = j.pending_log_bytes() < kMaxPendingBytesPerJournal;
      // Over the memory cap, lines are only looked at (for run state), from where looking stopped.
      std::uint64_t from = buffering ? j.read_off : std::max(j.read_off, j.scan_off);
      chunk_.clear();
      ends_.clear();
      std::uint64_t next = j.reader.read_lines(from, chunk_, 1u << 20, gone, &ends_);
      if (next == from) break;
      std::string_view all = chunk_.view();
      std::size_t pos = 0;
      for (std::uint64_t end_off : ends_) {
        std::size_t nl = all.find('\n', pos);
        route(j, all.substr(pos, nl - pos), end_off, buffering);
        pos = nl + 1;
      }
      if (buffering) j.read_off = next;
      if (j.scan_off < next) j.scan_off = next;
    }
  }

  void route(Journal& j, std::string_view line, std::uint64_t end_off, bool buffering) {
    std::uint64_t start_off = end_off - line.size() - 1;
    bool fresh = end_off > j.scan_off;  // not seen before for run state
    if (opt_.on_line && fresh) opt_.on_line(j.path, line);
    if (fresh) hang_.on_line(j.path, line);
    // A stack snapshot is kept for the record or event it names, which gets its frames (never sent itself).
    if (fresh && j.stacks.keep(line)) return;
    std::string with_stack;  // a record or event that a snapshot named, with its frames (what is sent)
    if (starts_with(line, "{\"id\":")) {
      j.has_records = true;
      if (fresh) track(j, line);
      if (end_off <= j.cursor.logs) return;  // delivered before
      if (!logs_.enabled) {
        if (fresh) ++j.kept_logs;
        return;
      }
      if (!buffering) return;  // over the memory cap: read again once earlier batches have left
      // Room for the most the buffer ever holds (the cap, one read beyond it, the 8 MiB sent before a
      // compaction), asked for once: growing by doubling would copy it and touch twice the pages.
      if (j.log_lines.empty() && j.logs.size() == 0) j.logs.reserve(kMaxPendingBytesPerJournal + (10u << 20));
      with_stack = j.stacks.complete(line);
      if (!with_stack.empty()) line = with_stack;
      j.log_lines.push_back({j.logs.size(), line.size() + 1, end_off, now_ms(), start_off});
      j.logs.put(line);
      j.logs.put('\n');
      return;
    }
    // Error events and heartbeats are taken the first time they are seen, also past the memory cap for
    // log lines: a Logs backlog must not hold back the heartbeat or the Errors channel.
    if (starts_with(line, "{\"sentry\":")) {
      if (!fresh || end_off <= j.cursor.errors) return;
      if (!errors_.enabled) {
        if (!own_run_) ++j.kept_errors;
        return;
      }
      if (line.size() < 12) return;
      with_stack = j.stacks.complete(line);
      if (!with_stack.empty()) line = with_stack;
      j.errors.push_back({std::string(line.substr(10, line.size() - 11)), end_off, start_off});
      return;
    }
    if (starts_with(line, "{\"heartbeat\":")) {
      if (!fresh || end_off <= j.cursor.heartbeat) return;
      if (!heartbeat_.enabled) {
        if (!own_run_) ++j.kept_heartbeats;
        return;
      }
      j.heartbeats.push_back({std::string(line), end_off, start_off});
      return;
    }
    if (starts_with(line, "{\"local\":") && fresh) {
      if (line.find("\"closed\"") != std::string_view::npos) {
        j.closed = true;
        auto at = line.find("\"mono_ms\":");
        if (at != std::string_view::npos) j.closed_mono_ms = std::atoll(std::string(line.substr(at + 10, 24)).c_str());
      }
      if (line.find("\"role\":\"child\"") != std::string_view::npos) j.owner_role = false;
    }
  }

  void track(Journal& j, std::string_view line) {
    std::string_view ev = event_of(line);
    if (ev == "test_started") {
      j.last_started_line.assign(line.data(), line.size());
    } else if (ev == "test_finished") {
      j.last_started_line.clear();
    } else if (ev == "run_started") {
      j.started = true;
      j.run_started_line.assign(line.data(), line.size());
    } else if (ev == "run_crashed") {
      j.crash_recorded = true;
      j.crash_line.assign(line.data(), line.size());
    }
  }

  // --- the end of a journal whose writer died ----------------------------------------------------------

  void finalize_dead_journals() {
    for (auto& [path, j] : journals_) {
      if (!j->writer_gone || j->closed) continue;
      if (j->scan_off < j->reader.file_size()) continue;  // not read to the end yet
      // The writer died without closing its journal: report the crash (its own record, or one made here
      // from the last test it started) as an error event too, then close the journal.
      std::string extra;
      if (j->crash_recorded) {
        extra += crash_error_line(j->crash_line, j->run_started_line);
        ++stats_.runs_crashed;
      } else if (j->started) {
        extra += synthesize_crash(*j);
        ++stats_.runs_crashed;
      }
      Buf closed;
      write_closed_line(closed, -1, true);
      extra += closed.view();
      std::string err;
      int fd = open_own_file(j->path, O_WRONLY | O_APPEND, err);
      if (fd >= 0) {
        if (::write(fd, extra.data(), extra.size()) != static_cast<ssize_t>(extra.size())) {
          // Could not finish the journal: it stays open-ended; the next shipper tries again.
        }
        ::close(fd);
      }
    }
  }

  std::string synthesize_crash(Journal& j) {
    rapidjson::Document started;
    started.Parse(j.run_started_line.data(), j.run_started_line.size());
    rapidjson::Document test;
    bool has_test = !j.last_started_line.empty();
    if (has_test) test.Parse(j.last_started_line.data(), j.last_started_line.size());
    if (has_test && (test.HasParseError() || !test.IsObject() || !test.HasMember("test") || !test["test"].IsObject())) {
      has_test = false;
    }
    bool has_run = !started.HasParseError() && started.IsObject() && started.HasMember("run") && started["run"].IsObject();
    auto json_of = [](const rapidjson::Value& v) {
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      v.Accept(w);
      return std::string(sb.GetString(), sb.GetSize());
    };
    EndedFacts f;
    std::string journal_id(j.base.substr(j.base.rfind('.') + 1));
    f.journal_id = journal_id;
    std::string run_json = has_run ? json_of(started["run"]) : std::string();
    f.run_json = run_json;
    std::string ci_json = !started.HasParseError() && started.IsObject() && started.HasMember("ci") ? json_of(started["ci"])
                                                                                                     : std::string();
    f.ci_json = ci_json;
    std::string test_json = has_test ? json_of(test["test"]) : std::string();
    // The test object's members: its JSON without the braces.
    if (test_json.size() >= 2) f.test_members = std::string_view(test_json).substr(1, test_json.size() - 2);
    std::string full_name = has_test && test["test"].HasMember("full_name") && test["test"]["full_name"].IsString()
                                ? test["test"]["full_name"].GetString()
                                : std::string();
    f.full_name = full_name;
    // Whoever started the program may have seen the signal that ended it (bstest run, for its command).
    if (has_run && opt_.signal_of && started["run"].HasMember("pid") && started["run"]["pid"].IsInt64()) {
      f.signo = opt_.signal_of(static_cast<long>(started["run"]["pid"].GetInt64()));
    }
    Buf line;
    write_run_ended(line, f);
    std::string text = line.str();
    text += crash_error_line(std::string_view(text).substr(0, text.size() - 1), j.run_started_line);
    return text;
  }

  // --- sending ---------------------------------------------------------------------------------------

  // Sends what is due; returns true while something is left to deliver.
  bool send_due(bool draining, std::int64_t deadline) {
    heartbeat_.pending = logs_.pending = errors_.pending = false;
    // Heartbeats first: one small request that says whether the suite passed, never behind log batches.
    for (auto& [path, jp] : journals_) heartbeat_.pending |= send_heartbeats(*jp, deadline);
    for (auto& [path, jp] : journals_) {
      Journal& j = *jp;
      logs_.pending |= send_logs(j, draining, deadline);
      errors_.pending |= send_errors(j, deadline);
      update_cursor(j);
    }
    return heartbeat_.pending || logs_.pending || errors_.pending;
  }

  int request_timeout(std::int64_t deadline) const {
    int t = cfg_.request_timeout_ms;
    if (deadline > 0) t = static_cast<int>(std::min<std::int64_t>(t, std::max<std::int64_t>(deadline - now_ms(), 1)));
    return t;
  }

  double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  void problem(const std::string& channel, const std::string& reason) {
    std::string line = channel + ": " + reason;
    if (std::find(stats_.problems.begin(), stats_.problems.end(), line) == stats_.problems.end()) {
      stats_.problems.push_back(line);
      if (opt_.on_problem) opt_.on_problem(line);
    }
  }

  // Logs batches leave one at a time on logs_sender_'s thread: while one is on the wire (and the server
  // reads it), this thread goes on reading journals and compresses the next batch. The lines of the batch
  // on the wire, then of the one compressed ahead, are the first ones of their journal's log_lines; they
  // leave log_lines (and the cursor moves past them) only once Better Stack took them.
  struct Batch {
    Journal* journal = nullptr;
    std::size_t first = 0;  // index in journal->log_lines
    std::size_t n = 0;      // records
    std::size_t bytes = 0;  // uncompressed
    HttpRequest request;
  };

  // The next batch of `j` from log_lines[first]: by count, size and the 413 limit.
  Batch make_batch(Journal& j, std::size_t first) const {
    Batch b;
    b.journal = &j;
    b.first = first;
    std::size_t limit = std::max<std::size_t>(1, logs_.batch_limit);
    while (first + b.n < j.log_lines.size() && b.n < limit) {
      std::size_t len = j.log_lines[first + b.n].len;
      if (b.n > 0 && b.bytes + len > cfg_.max_batch_bytes) break;
      b.bytes += len;
      ++b.n;
    }
    b.request = logs_request(cfg_.logs, batch_text(j, first, b.bytes));
    return b;
  }

  static std::string_view batch_text(const Journal& j, std::size_t first, std::size_t bytes) {
    return std::string_view(j.logs.data() + j.log_lines[first].start, bytes);
  }

  // Whether j's records from log_lines[first] should leave now (a batch is full, old enough, or the end).
  bool batch_due(const Journal& j, std::size_t first, bool draining, std::int64_t t) const {
    if (first >= j.log_lines.size()) return false;
    std::size_t records = j.log_lines.size() - first;
    std::size_t bytes = j.logs.size() - j.log_lines[first].start;
    return draining || j.writer_gone || records >= cfg_.max_batch_records || bytes >= cfg_.max_batch_bytes ||
           t - j.log_lines[first].read_ms >= cfg_.flush_interval_ms;
  }

  // Sends what is due of j's records; true while some are left.
  bool send_logs(Journal& j, bool draining, std::int64_t deadline) {
    if (!logs_.enabled || logs_.stopped) return false;
    if (on_wire_.journal != nullptr && logs_sender_.done()) take_logs_answer(deadline);
    if (logs_.stopped) return false;
    std::int64_t t = now_ms();
    if (on_wire_.journal != nullptr) {
      // Busy: compress the next batch meanwhile, if it is j's and due.
      if (on_wire_.journal == &j && ahead_.journal == nullptr && batch_due(j, on_wire_.n, draining, t)) {
        ahead_ = make_batch(j, on_wire_.n);
      }
      return true;
    }
    if (j.log_lines.empty()) return false;
    if (t < logs_.next_at) return true;
    if (!batch_due(j, 0, draining, t)) return true;
    if (deadline > 0 && t >= deadline) return true;
    if (ahead_.journal == &j && ahead_.first == 0) {
      on_wire_ = std::move(ahead_);
    } else {
      on_wire_ = make_batch(j, 0);
    }
    ahead_ = Batch{};
    logs_sender_.start(std::move(on_wire_.request), request_timeout(deadline));
    if (batch_due(j, on_wire_.n, draining, t)) ahead_ = make_batch(j, on_wire_.n);
    return true;
  }

  // Waits for the batch on the wire, at most until `deadline` (its request ends by then: it was started
  // with a time-out within it), and takes its answer. For the end of a run: its records either went, or
  // stay for `bstest flush`.
  void settle_logs(std::int64_t deadline) {
    if (on_wire_.journal == nullptr) return;
    int wait = deadline > 0 ? static_cast<int>(std::max<std::int64_t>(deadline - now_ms(), 0)) + 1000 : -1;
    if (logs_sender_.wait(wait)) take_logs_answer(deadline);
  }

  // The answer to the batch on the wire.
  void take_logs_answer(std::int64_t deadline) {
    Batch b = std::move(on_wire_);
    on_wire_ = Batch{};
    HttpResponse resp = logs_sender_.take(&b.request);
    Journal& j = *b.journal;
    Outcome o = classify_logs(resp, logs_.attempt + 1, random01(), wall_now().seconds);
    std::int64_t t = now_ms();
    // Only an accepted or set-aside batch leaves its lines in place for the one compressed ahead.
    if (o.verdict != Verdict::sent && o.verdict != Verdict::reject) ahead_ = Batch{};
    switch (o.verdict) {
      case Verdict::sent:
        stats_.records_sent += b.n;
        stats_.batches_sent += 1;
        stats_.bytes_sent += b.request.body.size();
        stats_.bytes_uncompressed += b.bytes;
        logs_.attempt = 0;
        logs_.refused_alone = 0;
        logs_.batch_limit = std::min(cfg_.max_batch_records, logs_.batch_limit * 2);
        pop_logs(j, b.n);
        break;
      case Verdict::split:
        if (b.n > 1) {
          problem("Better Stack Logs", "HTTP 413 (request too large): batches split");
          logs_.batch_limit = std::max<std::size_t>(1, b.n / 2);
          break;
        }
        if (++logs_.refused_alone < kTooLargeAloneTries) {
          problem("Better Stack Logs", "HTTP 413 (request too large) for a single record: retried");
          logs_.attempt += 1;
          logs_.next_at = t + backoff_ms(logs_.attempt, random01());
          break;
        }
        logs_.refused_alone = 0;
        send_too_large_note(j, batch_text(j, 0, b.bytes), deadline);
        pop_logs(j, 1);
        break;
      case Verdict::retry:
        logs_.attempt += 1;
        logs_.next_at = t + o.delay_ms;
        problem("Better Stack Logs", o.reason);
        break;
      case Verdict::stop_channel:
      case Verdict::give_up:
        logs_.stopped = true;
        problem("Better Stack Logs", o.reason);
        break;
      case Verdict::reject: {
        std::string err;
        if (!set_aside(j, batch_text(j, 0, b.bytes), err)) {
          // Not kept in rejected/: it stays in the journal (the next flush tries again), and Logs stops
          // here rather than refusing batch after batch with nowhere to put them.
          ahead_ = Batch{};
          logs_.stopped = true;
          problem("Better Stack Logs", o.reason + "; the batch could not be set aside (" + err +
                                           "): Logs stopped, its records kept for `bstest flush`");
          break;
        }
        stats_.records_rejected += b.n;
        problem("Better Stack Logs", o.reason + "; the batch was set aside in " + dir_ + "/rejected/");
        pop_logs(j, b.n);
        break;
      }
    }
    // The batch compressed ahead started right after the one that left: it is at the front now.
    if (ahead_.journal != nullptr) ahead_.first = 0;
    update_cursor(j);
  }

  void pop_logs(Journal& j, std::size_t n) {
    for (std::size_t i = 0; i < n && !j.log_lines.empty(); ++i) {
      j.logs_head = j.log_lines.front().start + j.log_lines.front().len;
      j.log_lines.pop_front();
    }
    if (j.log_lines.empty()) {
      j.logs.clear();
      j.logs_head = 0;
    } else {
      if (j.logs_head > (8u << 20)) {  // compact
        std::size_t keep = j.logs.size() - j.logs_head;
        std::memmove(j.logs.data(), j.logs.data() + j.logs_head, keep);
        j.logs.truncate(keep);
        for (auto& l : j.log_lines) l.start -= j.logs_head;
        j.logs_head = 0;
      }
    }
  }

  void send_too_large_note(Journal& j, std::string_view record, std::int64_t deadline) {
    ++stats_.records_dropped;
    rapidjson::Document d;
    d.Parse(record.data(), record.size() - 1);
    std::string id = !d.HasParseError() && d.IsObject() && d.HasMember("id") && d["id"].IsString() ? d["id"].GetString() : "";
    Buf note;
    write_record_dropped(note, id, event_of(record), record.size());
    HttpResponse resp = client_->send(logs_request(cfg_.logs, note.view()), request_timeout(deadline));
    if (resp.status >= 200 && resp.status < 300) ++stats_.records_sent;
    problem("Better Stack Logs", "a record too large to send was replaced by a note (HTTP 413)");
    (void)j;
  }

  // Writes a refused batch to <dir>/rejected/ (whole, and synced); false with `error` when it could not be
  // kept there, and then nothing of it is left behind.
  bool set_aside(Journal& j, std::string_view body, std::string& error) {
    std::string rdir = dir_ + "/rejected";
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

  bool send_errors(Journal& j, std::int64_t deadline) {
    if (!errors_.enabled || errors_.stopped) return false;
    while (!j.errors.empty()) {
      std::int64_t t = now_ms();
      if (t < errors_.next_at) return true;
      if (deadline > 0 && t >= deadline) return true;
      if (load_rate_limit()) {
        problem("Better Stack Errors", "rate limited (X-Sentry-Rate-Limits or 429); events wait until the limit ends");
        return true;
      }
      std::string envelope = make_envelope(j.errors.front().text);
      HttpResponse resp = client_->send(envelope_request(cfg_.errors, envelope), request_timeout(deadline));
      Outcome o = classify_errors(resp, errors_.attempt + 1, random01(), wall_now().seconds);
      bool answered = resp.transport_error == 0 && resp.status != 0;
      switch (o.verdict) {
        case Verdict::sent:
          ++stats_.errors_sent;
          errors_.attempt = 0;
          if (o.delay_ms > 0) remember_rate_limit(o.delay_ms);
          j.errors.pop_front();
          break;
        case Verdict::retry:
          errors_.attempt += 1;
          if (answered) {
            remember_rate_limit(o.delay_ms);  // 429
          } else {
            errors_.next_at = now_ms() + o.delay_ms;
          }
          problem("Better Stack Errors", o.reason);
          return true;
        case Verdict::stop_channel:
          errors_.stopped = true;
          problem("Better Stack Errors", o.reason);
          return false;
        case Verdict::split:
        case Verdict::reject:
        case Verdict::give_up:
          ++stats_.errors_dropped;
          if (o.delay_ms > 0) remember_rate_limit(o.delay_ms);
          problem("Better Stack Errors", o.reason + " (event not sent; Sentry rules say not to retry)");
          j.errors.pop_front();
          break;
      }
      update_cursor(j);
    }
    return false;
  }

  // A Sentry rate limit holds for every shipper of this folder (the companions of a suite's programs,
  // `bstest flush` later): its end is kept in a small file, as wall-clock milliseconds.
  std::string rate_limit_path() const { return dir_ + "/errors-rate-limited-until"; }

  static std::int64_t wall_ms() {
    WallTime w = wall_now();
    return static_cast<std::int64_t>(w.seconds) * 1000 + w.microseconds / 1000;
  }

  void remember_rate_limit(int delay_ms) {
    errors_.next_at = now_ms() + delay_ms;
    std::string path = rate_limit_path();
    std::string tmp = path + "." + random_hex(4) + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return;
    std::string text = std::to_string(wall_ms() + delay_ms) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
  }

  // True while a limit another shipper (or an earlier run) learnt still holds; errors_.next_at is then its end.
  bool load_rate_limit() {
    // Only a regular file of ours: a link is not followed, and a FIFO planted in a shared folder must not
    // hang the shipper (open_own_file opens without blocking, then refuses it).
    std::string err;
    int fd = open_own_file(rate_limit_path(), O_RDONLY, err);
    if (fd < 0) return false;
    char buf[32] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return false;
    long long until = std::atoll(buf);
    std::int64_t left = until - wall_ms();
    if (left <= 0) return false;
    errors_.next_at = now_ms() + left;
    return true;
  }

  bool send_heartbeats(Journal& j, std::int64_t deadline) {
    if (!heartbeat_.enabled || heartbeat_.stopped) return false;
    while (!j.heartbeats.empty()) {
      std::int64_t t = now_ms();
      if (t < heartbeat_.next_at) return true;
      if (deadline > 0 && t >= deadline) return true;
      rapidjson::Document d;
      const std::string& text = j.heartbeats.front().text;
      d.Parse(text.data(), text.size());
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("heartbeat") || !d["heartbeat"].IsObject()) {
        j.heartbeats.pop_front();
        continue;
      }
      const auto& hb = d["heartbeat"];
      bool success = hb.HasMember("success") && hb["success"].IsBool() && hb["success"].GetBool();
      int exit_code = hb.HasMember("exit_code") && hb["exit_code"].IsInt() ? hb["exit_code"].GetInt() : -1;
      std::string body = hb.HasMember("body") && hb["body"].IsString()
                             ? std::string(hb["body"].GetString(), hb["body"].GetStringLength())
                             : std::string();
      HttpResponse resp =
          client_->send(heartbeat_request(cfg_.heartbeat, success, exit_code, body), request_timeout(deadline));
      Outcome o = classify_heartbeat(resp, heartbeat_.attempt + 1, random01(), wall_now().seconds);
      switch (o.verdict) {
        case Verdict::sent:
          ++stats_.heartbeats_sent;
          heartbeat_.attempt = 0;
          j.heartbeats.pop_front();
          break;
        case Verdict::retry:
          // Again until the deadline: what is not sent by then is kept for `bstest flush`.
          heartbeat_.attempt += 1;
          problem("Better Stack heartbeat", o.reason);
          heartbeat_.next_at = now_ms() + o.delay_ms;
          return true;
        default:
          problem("Better Stack heartbeat", o.reason + " (ping not sent)");
          j.heartbeats.pop_front();
          break;
      }
      update_cursor(j);
    }
    return false;
  }

  void update_cursor(Journal& j) {
    auto before = [&](const auto& q, std::uint64_t fallback) -> std::uint64_t {
      return q.empty() ? fallback : q.front().start_off;
    };
    std::uint64_t logs_at = j.log_lines.empty() ? j.read_off : j.log_lines.front().start_off;
    if (logs_.enabled) j.cursor.logs = std::max(j.cursor.logs, logs_at);
    // Error and heartbeat lines are taken as soon as they are looked at (route), so everything before
    // scan_off is done unless still queued. A channel not configured for its own run passes its lines by.
    if (errors_.enabled || own_run_) j.cursor.errors = std::max(j.cursor.errors, before(j.errors, j.scan_off));
    if (heartbeat_.enabled || own_run_) {
      j.cursor.heartbeat = std::max(j.cursor.heartbeat, before(j.heartbeats, j.scan_off));
    }
    if (j.cursor.logs != j.saved.logs || j.cursor.errors != j.saved.errors || j.cursor.heartbeat != j.saved.heartbeat) {
      write_cursor(j);
    }
  }

  // --- the end ---------------------------------------------------------------------------------------

  std::uint64_t total_looked_at() const {
    std::uint64_t n = 0;
    for (const auto& [path, j] : journals_) n += j->scan_off;
    return n;
  }

  std::uint64_t total_read() const {
    std::uint64_t n = 0;
    for (const auto& [path, j] : journals_) n += j->read_off;
    return n;
  }

  // Lines left to buffer (log records beyond the memory cap) or to look at (error events, heartbeats).
  bool unread_lines_left() {
    bool logs = logs_.enabled && !logs_.stopped;
    for (const auto& [path, j] : journals_) {
      std::uint64_t size = j->reader.file_size();
      if (j->scan_off < size || (logs && j->read_off < size)) return true;
    }
    return false;
  }

  bool all_writers_gone() {
    for (auto& [path, j] : journals_) {
      if (!j->writer_gone && j->reader.writer_alive()) return false;
      j->writer_gone = true;
    }
    return true;
  }

  // Done when every channel delivered its lines, including those of channels not configured here.
  bool delivered(const Journal& j) const {
    return j.log_lines.empty() && j.errors.empty() && j.heartbeats.empty() && j.kept_logs == 0 && j.kept_errors == 0 &&
           j.kept_heartbeats == 0;
  }

  void remove_finished() {
    for (auto it = journals_.begin(); it != journals_.end();) {
      Journal& j = *it->second;
      bool at_end = j.writer_gone && j.closed && j.read_off >= j.reader.file_size();
      if (at_end && delivered(j)) {
        std::string cursor_path = journal_dir(dir_) + "/" + j.base + ".cursor";
        // Kept for `bstest report` in delivered/, the last BSTEST_KEEP_RUNS runs (journal/retention.hpp).
        retire_journal(dir_, j.path, j.has_records, cfg_.keep_runs);
        retired_ = true;
        ::unlink(cursor_path.c_str());
        ::unlink(ring_path_of(j.path).c_str());
        ++stats_.journals_finished;
        it = journals_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // When a channel with something left to send may go next: the soonest of them (a channel waiting for a
  // long Retry-After must not hold back another one that can send now).
  std::int64_t next_wake() const {
    std::int64_t t = now_ms();
    std::int64_t w = -1;
    for (const Channel* c : {&logs_, &errors_, &heartbeat_}) {
      if (!c->enabled || c->stopped || !c->pending) continue;
      std::int64_t at = std::max(c->next_at, t + kPollIntervalMs);
      w = w < 0 ? at : std::min(w, at);
    }
    return w < 0 ? t + kPollIntervalMs : w;
  }

  // Sleeps at most `ms`; wakes early when the owner closes its end of the wake pipe or when the Logs batch
  // on the wire has its answer.
  void sleep_or_wake(int ms) {
    pollfd p[2];
    nfds_t n = 0;
    if (opt_.wake_fd >= 0 && !owner_done_) p[n++] = {opt_.wake_fd, POLLIN, 0};
    bool on_wire = on_wire_.journal != nullptr && logs_sender_.ready_fd() >= 0;
    if (on_wire) p[n++] = {logs_sender_.ready_fd(), POLLIN, 0};
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return;
    }
    int rc = ::poll(p, n, ms);
    if (rc > 0 && p[0].fd == opt_.wake_fd && (p[0].revents & (POLLIN | POLLHUP)) != 0) {
      char buf[64];
      ssize_t got = ::read(opt_.wake_fd, buf, sizeof buf);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) owner_done_ = true;
    }
  }

  void finish() {
    if (retired_) prune_delivered(dir_, cfg_.keep_runs);
    for (auto& [path, j] : journals_) {
      update_cursor(*j);
      stats_.records_pending += j->log_lines.size() + j->kept_logs;
      stats_.errors_pending += j->errors.size() + j->kept_errors;
      stats_.heartbeats_pending += j->heartbeats.size() + j->kept_heartbeats;
      count_unread(*j);
    }
    journals_.clear();
  }

  // Lines not taken yet (a backlog beyond the memory cap, or a journal not read to its end) are pending
  // too: log records past read_off, error events and heartbeats past scan_off, each past its cursor.
  void count_unread(Journal& j) {
    for (std::uint64_t from = j.read_off;;) {
      chunk_.clear();
      ends_.clear();
      std::uint64_t next = j.reader.read_lines(from, chunk_, 1u << 20, j.writer_gone, &ends_);
      if (next == from) break;
      std::string_view all = chunk_.view();
      std::size_t pos = 0;
      for (std::uint64_t end_off : ends_) {
        std::string_view line = all.substr(pos);
        pos = all.find('\n', pos) + 1;
        if (starts_with(line, "{\"id\":")) {
          stats_.records_pending += end_off > j.cursor.logs ? 1 : 0;
        } else if (end_off <= j.scan_off) {
          continue;  // error events and heartbeats up to here were taken
        } else if (starts_with(line, "{\"sentry\":")) {
          stats_.errors_pending += end_off > j.cursor.errors && (errors_.enabled || !own_run_) ? 1 : 0;
        } else if (starts_with(line, "{\"heartbeat\":")) {
          stats_.heartbeats_pending += end_off > j.cursor.heartbeat && (heartbeat_.enabled || !own_run_) ? 1 : 0;
        }
      }
      from = next;
    }
  }

  const Config& cfg_;
  const ShipOptions& opt_;
  std::string dir_;
  std::unique_ptr<HttpClient> client_;  // Errors, heartbeat, notes: on this thread
  AsyncSender logs_sender_;             // Logs batches: on its own thread, one at a time
  Batch on_wire_;                       // the batch logs_sender_ is sending (journal == nullptr: none)
  Batch ahead_;                         // the next one, compressed while on_wire_ is out
  std::mt19937_64 rng_;
  std::map<std::string, std::unique_ptr<Journal>> journals_;
  std::map<std::string, bool> skipped_;
  Channel logs_, errors_, heartbeat_;
  ShipStats stats_;
  Buf chunk_;
  std::vector<std::uint64_t> ends_;
  bool owner_done_ = false;
  bool retired_ = false;  // a delivered journal was moved to delivered/ (or removed)
  // Shipping one run with that run's own configuration (the companion, bstest run, the test program at
  // exit): error events and heartbeats of a channel not configured here were not meant to be sent.
  bool own_run_ = false;
  stack::HangWatch hang_;  // following: tests that run longer than BSTEST_HANG_AFTER_MS
};

}  // namespace
}  // namespace detail

ShipStats ship(const Config& config, const ShipOptions& options) {
  detail::Shipper s(config, options);
  return s.run();
}

std::string ship_summary_line(const ShipStats& s, const Config& config) {
  std::string line = "bstest: ";
  auto plural = [](std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::vector<std::string> parts;
  if (config.logs.enabled()) {
    parts.push_back(plural(s.records_sent, "record", "records") + " sent to Better Stack Logs in " +
                    plural(s.batches_sent, "batch", "batches"));
  }
  if (config.errors.enabled() && (s.errors_sent + s.errors_pending + s.errors_dropped) > 0) {
    parts.push_back(plural(s.errors_sent, "error event", "error events") + " sent to Better Stack Errors");
  }
  if (config.heartbeat.enabled() && s.heartbeats_sent > 0) parts.push_back("heartbeat sent");
  for (std::size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : "") + parts[i];
  if (s.records_dropped > 0) line += "; " + plural(s.records_dropped, "record", "records") + " too large, dropped";
  if (s.records_rejected > 0) line += "; " + plural(s.records_rejected, "record", "records") + " rejected (kept in rejected/)";
  if (s.errors_dropped > 0) line += "; " + plural(s.errors_dropped, "error event", "error events") + " refused";
  if (!s.complete()) {
    line += "; not yet sent: ";
    std::vector<std::string> left;
    std::vector<std::string> variables;  // of the channels that are not configured here
    if (s.records_pending) {
      left.push_back(plural(s.records_pending, "record", "records"));
      if (!config.logs.enabled()) variables.push_back("BETTERSTACK_SOURCE_TOKEN and BETTERSTACK_INGEST_HOST");
    }
    if (s.errors_pending) {
      left.push_back(plural(s.errors_pending, "error event", "error events"));
      if (!config.errors.enabled()) variables.push_back("BETTERSTACK_ERRORS_DSN");
    }
    if (s.heartbeats_pending) {
      left.push_back(s.heartbeats_pending == 1 ? std::string("the heartbeat") : plural(s.heartbeats_pending, "", "heartbeats"));
      if (!config.heartbeat.enabled()) variables.push_back("BETTERSTACK_UPTIME_HEARTBEAT_URL");
    }
    for (std::size_t i = 0; i < left.size(); ++i) line += (i ? ", " : "") + left[i];
    line += ", kept in " + config.dir + " for `bstest flush`";
    if (!variables.empty()) {
      line += " (set ";
      for (std::size_t i = 0; i < variables.size(); ++i) line += (i ? ", " : "") + variables[i];
      line += " to send them)";
    }
  }
  if (!s.problems.empty()) {
    // Delivered in the end: say what was overcome. Not delivered: say why.
    line += s.complete() && s.records_dropped == 0 && s.records_rejected == 0 && s.errors_dropped == 0 ? " (retried after: "
                                                                                                          : " (";
    for (std::size_t i = 0; i < s.problems.size() && i < 3; ++i) line += (i ? "; " : "") + s.problems[i];
    line += ")";
  }
  return line;
}

}  // namespace bstest
