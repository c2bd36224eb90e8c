#include "ship/dead_writer.hpp"

#include "record/log_records.hpp"
#include "record/record_reader.hpp"
#include "record/test_events.hpp"

namespace bstest::detail {

namespace {

// A run_crashed record, and its error event, for the program of `j` that ended without a word: its run and
// CI from its run_started record, the test from its last test_started record.
std::string synthesize_crash(const FollowedJournal& j, const std::function<int(long pid)>& signal_of) {
  Record started(j.run_started_line);
  Record test;
  bool has_test = !j.last_started_line.empty() && test.parse(j.last_started_line) && test.get("test").is_object();
  JsonView run = started.get("run");
  EndedFacts f;
  std::string journal_id(j.base.substr(j.base.rfind('.') + 1));
  f.journal_id = journal_id;
  std::string run_json = run.is_object() ? run.json() : std::string();
  f.run_json = run_json;
  std::string ci_json = started.get("ci").json();
  f.ci_json = ci_json;
  std::string test_json = has_test ? test.get("test").json() : std::string();
  // The test object's members: its JSON without the braces.
  if (test_json.size() >= 2) f.test_members = std::string_view(test_json).substr(1, test_json.size() - 2);
  f.full_name = has_test ? test.view("test.full_name") : std::string_view();
  // Whoever started the program may have seen the signal that ended it (bstest run, for its command).
  std::int64_t pid = run.is_object() ? run.integer("pid") : 0;
  if (pid > 0 && signal_of) f.signo = signal_of(static_cast<long>(pid));
  Buf line;
  write_run_ended(line, f);
  std::string text = line.str();
  text += crash_error_line(std::string_view(text).substr(0, text.size() - 1), j.run_started_line);
  return text;
}

}  // namespace

DeadWriterEnd end_of_dead_writer(const FollowedJournal& j, const std::function<int(long pid)>& signal_of) {
  DeadWriterEnd end;
  // Its own crash record (the signal handler wrote it, then nothing more), or one made here from the last
  // test it started.
  if (j.crash_recorded) {
    end.lines += crash_error_line(j.crash_line, j.run_started_line);
    end.crashed = true;
  } else if (j.started) {
    end.lines += synthesize_crash(j, signal_of);
    end.crashed = true;
  }
  Buf closed;
  write_closed_line(closed, -1, true);
  end.lines += closed.view();
  return end;
}

}  // namespace bstest::detail
