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

HangWatch::Watched* HangWatch::find(const std::string& path) {
  if (last_ == nullptr || last_->first != path) {
    auto it = journals_.find(path);
    last_ = it == journals_.end() ? nullptr : &*it;
  }
  return last_ == nullptr ? nullptr : &last_->second;
}

void HangWatch::forget(const std::string& path) {
  if (last_ != nullptr && last_->first == path) last_ = nullptr;
  journals_.erase(path);
}

void HangWatch::on_line(const std::string& path, std::string_view line, std::string_view ev) {
  if (after_ms_ <= 0) return;
  if (ev.empty()) {
    if (starts_with(line, "{\"local\":\"closed\"")) forget(path);
    return;
  }
  if (ev == "test_started") {
    Watched* w = find(path);
    if (w == nullptr) return;
    w->test_started.assign(line.data(), line.size());
    w->reported = false;
  } else if (ev == "test_finished") {
    if (Watched* w = find(path)) w->test_started.clear();
  } else if (ev == "run_started") {
    Watched& w = journals_[path];
    w.run_started.assign(line.data(), line.size());
    w.pid = static_cast<long>(Record(line).integer("run.pid"));
  } else if (ev == "run_finished" || ev == "run_crashed") {
    forget(path);
  }
}

int HangWatch::check(std::int64_t now_unix_ms) {
  if (after_ms_ <= 0) return 0;
  int reported = 0;
  for (auto it = journals_.begin(); it != journals_.end();) {
    Watched& w = it->second;
    // The start is read here, not per line: most tests end long before a check would need it.
    std::int64_t since_ms = w.test_started.empty() || w.reported ? -1 : parse_timestamp_ms(dt_of(w.test_started));
    if (since_ms < 0 || w.pid <= 0 || now_unix_ms - since_ms < after_ms_) {
      ++it;
      continue;
    }
    // A program that is gone (killed without a word) is not hanging: its end is the shipper's to tell.
    JournalReader reader;
    std::string error;
    if (!reader.open(it->first, error) || !reader.writer_alive()) {
      if (last_ == &*it) last_ = nullptr;
      it = journals_.erase(it);
      continue;
    }
    report(it->first, w, now_unix_ms - since_ms);
    w.reported = true;
    ++reported;
    ++it;
  }
  return reported;
}

void HangWatch::report(const std::string& path, const Watched& w, std::int64_t running_ms) {
  (void)path;
  LiveStacks live = read_threads(symbolizer_, w.pid);
  Record run(w.run_started);
  Record test(w.test_started);
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

  ErrorEvent e = hang_event(w.run_started, w.test_started);
  e.running_ms = running_ms;
  e.hang_after_ms = after_ms_;
  if (main != nullptr) e.stack = event_stack(*main);
  e.stack.note = note;
  // Every thread, but the stacks of the first kEventThreadStacks only: an event stays far below Sentry's 1 MB.
  for (const auto& t : live.threads) {
    bool with_frames = e.threads.size() < kEventThreadStacks;
    std::vector<EventFrame> frames = with_frames ? event_frames(t) : std::vector<EventFrame>();
    e.threads.push_back({t.tid, t.thread_name, t.tid == w.pid, std::move(frames)});
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
