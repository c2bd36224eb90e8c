#include "stack/hang_watch.hpp"

#include "base/ids.hpp"
#include "base/strings.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"
#include "record/error_events.hpp"
#include "record/json_edit.hpp"
#include "record/log_records.hpp"
#include "record/record_reader.hpp"
#include "record/test_events.hpp"
#include "stack/render.hpp"

namespace bstest::detail::stack {

namespace {

constexpr std::size_t kEventThreadStacks = 16;

// A member of a parsed record as JSON text ("" when missing); `members_only`: without its braces.
std::string json_of(const Record& r, std::string_view path, bool members_only = false) {
  JsonView v = r.get(path);
  if (!v.is_object()) return {};
  std::string text = json_text(*v.raw());
  return members_only ? text.substr(1, text.size() - 2) : text;
}

// The program's threads, read from outside; the problem says why they are missing.
LiveStacks read_threads(const Symbolizer* symbolizer, long pid) {
  if (symbolizer != nullptr && symbolizer->live != nullptr) {
    return symbolizer->live(static_cast<pid_t>(pid), kMaxFrames);
  }
  LiveStacks none;
  none.problem = "not read: the records are shipped by the test program itself (the bstest program was not "
                 "found), and only the bstest program reads stacks";
  return none;
}

}  // namespace

bool HangWatch::check(const std::string& path, std::string_view run_started, std::string_view test_started,
                      std::int64_t now_unix_ms) {
  if (after_ms_ <= 0 || run_started.empty() || test_started.empty()) return false;
  std::int64_t since_ms = parse_timestamp_ms(dt_of(test_started));
  if (since_ms < 0 || now_unix_ms - since_ms < after_ms_) return false;
  long pid = static_cast<long>(Record(run_started).integer("run.pid"));
  if (pid <= 0) return false;
  // A program that is gone (killed without a word) is not hanging: its end is the shipper's to tell.
  JournalReader reader;
  std::string error;
  if (!reader.open(path, error) || !reader.writer_alive()) return false;
  report(pid, run_started, test_started, now_unix_ms - since_ms);
  return true;
}

void HangWatch::report(long pid, std::string_view run_started, std::string_view test_started,
                       std::int64_t running_ms) {
  LiveStacks live = read_threads(symbolizer_, pid);
  Record run(run_started);
  Record test(test_started);
  const Stack* main = live.threads.empty() ? nullptr : &live.threads.front();
  std::string root = main != nullptr ? source_root_of(*main) : std::string();
  std::string note = live.problem;
  if (main != nullptr && !main->problem.empty()) note += (note.empty() ? "" : "; ") + main->problem;

  std::vector<HangThread> threads;
  for (const auto& t : live.threads) threads.push_back({t.tid, t.thread_name, frame_texts(t, root)});
  std::string id = test.str("id") + "-hanging";
  std::string run_json = json_of(run, "run");
  std::string ci_json = json_of(run, "ci");
  std::string test_members = json_of(test, "test", true);
  std::string full_name = test.str("test.full_name");
  std::string where = main != nullptr ? where_text(*main, root) : std::string();
  HangFacts f;
  f.id = id;
  f.run_json = run_json;
  f.ci_json = ci_json;
  f.test_members = test_members;
  f.full_name = full_name;
  f.after_ms = after_ms_;
  f.running_ms = running_ms;
  f.threads = &threads;
  f.where = where;
  f.note = note;
  Buf lines;
  write_test_hanging(lines, f);

  ErrorEvent e = hang_event(run_started, test_started);
  e.running_ms = running_ms;
  e.hang_after_ms = after_ms_;
  if (main != nullptr) e.stack = event_stack(*main);
  e.stack.note = note;
  // Every thread, but the stacks of the first kEventThreadStacks only: an event stays far below Sentry's 1 MB.
  for (const auto& t : live.threads) {
    bool with_frames = e.threads.size() < kEventThreadStacks;
    std::vector<EventFrame> frames = with_frames ? event_frames(t) : std::vector<EventFrame>();
    e.threads.push_back({t.tid, t.thread_name, t.tid == pid, std::move(frames)});
  }
  std::string text = lines.str() + sentry_line(e);
  std::string error;
  write_journal(run.str("run.id"), text, error);
}

bool HangWatch::write_journal(const std::string& run_id, const std::string& lines, std::string& error) {
  JournalWriter journal;
  if (run_id.empty() ||
      !open_new_journal(journal, dir_, run_id, random_hex(6), JournalWriter::kRingBytes / 2, error)) {
    return false;
  }
  bool ok = journal.append(lines.data(), lines.size());
  Buf closed;
  write_closed_line(closed);
  ok = journal.append(closed.data(), closed.size()) && ok;
  journal.close();
  return ok;
}

}  // namespace bstest::detail::stack
