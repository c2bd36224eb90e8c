#include "stack/snapshot_join.hpp"

#include "base/quiet_thread.hpp"
#include "base/strings.hpp"
#include "record/error_events.hpp"
#include "record/log_records.hpp"
#include "record/record_reader.hpp"
#include "stack/capture.hpp"
#include "stack/render.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace bstest::detail::stack {

namespace {

constexpr std::string_view kSnapshotHead = "{\"local\":\"stack\",";
constexpr std::string_view kRecordHead = "{\"id\":\"";
constexpr std::string_view kEventHead = "{\"sentry\":";

// A quoted value that our own writers put there, found by its key ("" when absent); ids hold no escapes.
std::string_view plain_value(std::string_view text, std::string_view key_with_quote) {
  std::size_t at = text.find(key_with_quote);
  if (at == std::string_view::npos) return {};
  std::size_t start = at + key_with_quote.size();
  std::size_t end = text.find('"', start);
  return end == std::string_view::npos ? std::string_view() : text.substr(start, end - start);
}

std::string_view record_id(std::string_view record) {
  if (!starts_with(record, kRecordHead)) return {};
  std::size_t end = record.find('"', kRecordHead.size());
  if (end == std::string_view::npos) return {};
  return record.substr(kRecordHead.size(), end - kRecordHead.size());
}

}  // namespace

Stack name_within(const Symbolizer& symbolizer, std::string_view snapshot_line, int budget_ms) {
  struct Job {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::string line;
    Stack result;
  };
  auto job = std::make_shared<Job>();
  job->line.assign(snapshot_line.data(), snapshot_line.size());
  auto name = symbolizer.snapshot;
  // Its own thread, so that a module whose debug information takes too long to read cannot hold back the
  // records behind it: past the budget, it finishes alone and its result is dropped.
  quiet_thread("bstest-stack", [job, name] {
    Stack s = name(job->line, kMaxFrames);
    std::lock_guard<std::mutex> lock(job->mu);
    job->result = std::move(s);
    job->done = true;
    job->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(job->mu);
  if (job->cv.wait_for(lock, std::chrono::milliseconds(budget_ms), [&] { return job->done; })) {
    return std::move(job->result);
  }
  Stack late;
  late.problem = "the stack was not named within " + std::to_string(budget_ms / 1000) +
                 " s (reading the debug information took too long): sent without frames";
  return late;
}

bool SnapshotJoin::keep(std::string_view line) {
  if (!starts_with(line, kSnapshotHead)) return false;
  std::string_view id = snapshot_target(line);
  if (id.empty()) return true;  // it names nothing: nothing will need it
  if (by_id_.size() >= kMaxWaitingSnapshots) {
    auto oldest = by_id_.begin();
    for (auto it = by_id_.begin(); it != by_id_.end(); ++it) {
      if (it->second.order < oldest->second.order) oldest = it;
    }
    by_id_.erase(oldest);
  }
  Named& n = by_id_[std::string(id)];
  n.line.assign(line.data(), line.size());
  n.stack.reset();
  n.order = next_order_++;
  return true;
}

const Stack* SnapshotJoin::stack_for(std::string_view id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  Named& n = it->second;
  if (n.stack == nullptr) {
    Stack s;
    if (symbolizer_ != nullptr && symbolizer_->snapshot != nullptr) {
      s = name_within(*symbolizer_, n.line, kSymbolizeBudgetMs);
    } else {
      s.problem = "not named: the records were shipped by the test program itself (the bstest program was not "
                  "found), and only the bstest program names stacks; `bstest flush` would not help either: "
                  "install bstest or set BSTEST_SHIPPER";
    }
    n.stack = std::make_shared<const Stack>(std::move(s));
    n.line.clear();
    n.line.shrink_to_fit();
  }
  return n.stack.get();
}

std::string SnapshotJoin::complete(std::string_view line) {
  if (by_id_.empty()) return {};
  if (starts_with(line, kRecordHead)) {
    if (event_of(line) != "run_crashed") return {};
    const Stack* s = stack_for(record_id(line));
    if (s == nullptr) return {};
    std::string root = source_root_of(*s);
    StackText text{frame_texts(*s, root), where_text(*s, root), s->problem};
    std::string out = crash_record_with_stack(line, text);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  if (!starts_with(line, kEventHead) || line.size() < kEventHead.size() + 2) return {};
  std::string_view event = line.substr(kEventHead.size(), line.size() - kEventHead.size() - 1);
  const Stack* s = stack_for(event_id_of(event));
  // A crash event made from a run_crashed record: that record's stack.
  if (s == nullptr) s = stack_for(plain_value(event, "\"crash_record\":\""));
  if (s == nullptr) return {};
  return std::string(kEventHead) + event_with_stack(event, event_stack(*s)) + "}";
}

}  // namespace bstest::detail::stack
