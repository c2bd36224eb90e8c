#include "report/run_report.hpp"

#include "record/record_context.hpp"
#include "record/record_reader.hpp"
#include "report/report_journals.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <unordered_map>

namespace bstest::report {

using detail::event_of;
using detail::JsonView;
using detail::Record;

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::passed: return "passed";
    case Verdict::failed: return "failed";
    case Verdict::flaky: return "flaky";
    case Verdict::skipped: return "skipped";
    case Verdict::disabled: return "disabled";
    case Verdict::crashed: return "crashed";
  }
  return "failed";
}

std::string run_link(const std::string& link_template, const std::string& run_id) {
  std::string out = link_template;
  constexpr std::string_view kSlot = "{run_id}";
  for (auto at = out.find(kSlot); at != std::string::npos; at = out.find(kSlot, at + run_id.size())) {
    out.replace(at, kSlot.size(), run_id);
  }
  return out;
}

namespace {

// Which test of its program a record is about: the full name and the tags (Catch2 runs two test cases of
// one name when their tags differ), as FailedTest::key() has it.
std::string test_key(JsonView test) {
  std::string k = test.str("full_name");
  for (const auto& t : test.strings("tags")) {
    k += '\0';
    k += t;
  }
  return k;
}

Failure failure_of(JsonView f) {
  Failure out;
  out.file = f.str("file");
  out.line = static_cast<int>(f.integer("line", -1));
  out.message = f.str("message");
  out.kind = f.str("kind");
  out.exception_type = f.str("exception_type");
  out.fatal = f.boolean("fatal");
  return out;
}

// The failures that count (Catch2's [!mayfail] failures do not fail the test).
std::vector<Failure> failures_of(JsonView test) {
  std::vector<Failure> out;
  JsonView fs = test.get("failures");
  for (std::size_t i = 0, n = fs.size(); i < n; ++i) {
    if (!fs[i].boolean("allowed")) out.push_back(failure_of(fs[i]));
  }
  return out;
}

Verdict verdict_of(std::string_view result, bool ran) {
  if (result == "passed") return Verdict::passed;
  if (result == "skipped") return Verdict::skipped;
  if (result == "disabled" || (!ran && result != "failed")) return Verdict::disabled;
  return Verdict::failed;
}

// Over --gtest_repeat iterations a test keeps its worst result.
int weight(Verdict v) {
  switch (v) {
    case Verdict::crashed: return 5;
    case Verdict::failed: return 4;
    case Verdict::flaky: return 3;
    case Verdict::passed: return 2;
    case Verdict::skipped: return 1;
    case Verdict::disabled: return 0;
  }
  return 0;
}

TestCase identity_of(JsonView t) {
  TestCase tc;
  tc.suite = t.str("suite");
  tc.name = t.str("name");
  tc.full_name = t.str("full_name");
  tc.type_param = t.str("type_param");
  tc.value_param = t.str("value_param");
  tc.file = t.str("file");
  tc.line = static_cast<int>(t.integer("line"));
  tc.tags = t.strings("tags");
  tc.quarantine_until = t.str("quarantine.until");
  tc.quarantine_reason = t.str("quarantine.reason");
  tc.quarantine_link = t.str("quarantine.link");
  return tc;
}

// A verdict after re-runs (test_flaky, test_failed), by the program that ran the test first.
struct VerdictRecord {
  std::string program;  // binary + '\n' + pid
  std::string key;
  bool flaky = false;
  std::vector<Attempt> attempts;
  std::vector<Failure> failures;
  std::string repeat;   // flaky within one --gtest_repeat run: its iterations
};

struct JournalState {
  enum class Role { unknown, program, rerun, suite } role = Role::unknown;
  Program program;
  int attempt = 1;
  std::string last_started;  // its last test_started record, until that test finished
  std::unordered_map<std::string, std::size_t> test_index;
};

class Builder {
 public:
  explicit Builder(RunReport& out) : out_(out) {}

  void line(JournalState& j, std::string_view line) {
    std::string_view ev = event_of(line);
    if (ev.empty()) return;
    if (ev == "test_started") {
      j.last_started.assign(line.data(), line.size());
      return;
    }
    if (!rec_.parse(line)) return;
    note_times(rec_);
    if (ev == "test_finished") {
      if (j.role == JournalState::Role::program) finished(j.program, j, rec_.get("test"));
      if (j.role == JournalState::Role::rerun) rerun_attempt(j, rec_.get("test"), nullptr);
      j.last_started.clear();
    } else if (ev == "run_started") {
      run_started(j, rec_);
    } else if (ev == "suite_started") {
      j.role = JournalState::Role::suite;
      out_.suite = true;
      meta(rec_);
    } else if (ev == "run_finished") {
      j.program.finished = true;
      j.program.duration_ms = rec_.num("summary.duration_ms");
      results_[&j] = rec_.str("summary.result");
    } else if (ev == "run_crashed") {
      crashed(j, rec_);
    } else if (ev == "fixture_failed") {
      std::string where = rec_.str("fixture.phase");
      if (std::string suite = rec_.str("fixture.suite"); !suite.empty()) where += " of " + suite;
      j.program.outside.push_back({where, failure_of(rec_.get("failure"))});
    } else if (ev == "run_problem") {
      if (rec_.boolean("problem.fails_run")) j.program.outside.push_back({"run", {{}, -1, rec_.str("message"), {}, {}, false}});
    } else if (ev == "test_flaky" || ev == "test_failed") {
      verdict(rec_, ev == "test_flaky");
    } else if (ev == "suite_finished") {
      out_.passed = rec_.view("summary.result") == "passed";
      out_.exit_code = static_cast<int>(rec_.integer("summary.exit_code", -1));
      out_.duration_ms = rec_.num("summary.duration_ms");
      suite_finished_ = true;
    }
  }

  // Once every journal was read: crashes without a word, verdicts after re-runs, counts.
  void finish(std::vector<std::unique_ptr<JournalState>>& journals, const std::vector<bool>& alive);

 private:
  void note_times(const Record& r) {
    std::string_view dt = r.view("dt");
    if (dt.empty()) return;
    if (out_.started_at.empty() || dt < out_.started_at) out_.started_at = std::string(dt);
    if (dt > out_.finished_at) out_.finished_at = std::string(dt);
  }

  void meta(const Record& r) {
    if (out_.bstest_version.empty()) out_.bstest_version = r.str("run.bstest_version");
    if (out_.host.empty()) out_.host = r.str("run.host");
    JsonView ci = r.get("ci");
    if (!out_.ci.is_ci() && ci.is_object()) {
      out_.ci.provider = ci.str("provider");
      out_.ci.run_id = ci.str("run_id");
      out_.ci.run_attempt = ci.str("run_attempt");
      out_.ci.run_url = ci.str("run_url");
      out_.ci.workflow = ci.str("workflow");
      out_.ci.job = ci.str("job");
      out_.ci.commit = ci.str("commit");
      out_.ci.branch = ci.str("branch");
      out_.ci.repository = ci.str("repository");
      out_.ci.event = ci.str("event");
    }
  }

  void run_started(JournalState& j, const Record& r) {
    detail::RunMeta run = detail::run_meta_of(r.get("run"));
    j.attempt = run.attempt;
    j.role = j.attempt > 1 ? JournalState::Role::rerun : JournalState::Role::program;
    Program& p = j.program;
    p.binary = std::move(run.binary);
    p.framework = std::move(run.framework);
    p.framework_version = std::move(run.framework_version);
    p.host = std::move(run.host);
    p.pid = run.pid;
    p.started_at = r.str("dt");
    p.shard_index = run.shard_index;
    p.shard_total = run.shard_total;
    meta(r);
  }

  TestCase& test_of(Program& p, JournalState& j, JsonView t, bool* seen = nullptr) {
    auto [it, fresh] = j.test_index.try_emplace(test_key(t), p.tests.size());
    // A passing test's result carries only its suite, full name and tags: the rest of its identity (name,
    // parameters, file, line) is in the test_started record before it.
    if (fresh) p.tests.push_back(t.get("name").exists() || !started_.parse(j.last_started) ? identity_of(t)
                                                                                   : identity_of(started_.get("test")));
    if (seen != nullptr) *seen = !fresh;
    return p.tests[it->second];
  }

  void finished(Program& p, JournalState& j, JsonView t) {
    bool seen = false;
    TestCase& tc = test_of(p, j, t, &seen);
    Verdict v = verdict_of(t.view("result"), t.boolean("ran", true));
    double ms = t.num("duration_ms");
    tc.duration_ms = seen ? tc.duration_ms + ms : ms;
    if (!seen || weight(v) > weight(tc.verdict)) {
      tc.verdict = v;
      tc.skip_reason = t.str("skip_reason");
      tc.failures = failures_of(t);
    }
    if (std::string rerun = t.str("rerun"); !rerun.empty()) tc.note = "not re-run: " + rerun;
    t.get("properties").each_member([&](std::string_view k, JsonView val) {
      for (const auto& kv : tc.properties) {
        if (kv.first == k) return;
      }
      tc.properties.emplace_back(std::string(k), val.str());
    });
  }

  // A test of a re-run (attempt 2, 3, ...): kept to fill in the verdict's attempts.
  void rerun_attempt(JournalState& j, JsonView t, const Record* crash) {
    Attempt a;
    a.attempt = j.attempt;
    a.result = crash != nullptr ? "crashed" : t.str("result");
    a.signal = crash != nullptr ? crash->str("crash.signal") : std::string();
    a.duration_ms = t.num("duration_ms", crash != nullptr ? -1 : 0);
    a.failures = failures_of(t);
    reruns_[j.program.binary + '\n' + test_key(t) + '\n' + std::to_string(j.attempt)] = std::move(a);
  }

  void crashed(JournalState& j, const Record& r) {
    JsonView t = r.get("test");
    if (j.role == JournalState::Role::rerun) {
      if (t.is_object()) rerun_attempt(j, t, &r);
      return;
    }
    Program& p = j.program;
    p.crashed = true;
    p.crash_reason = r.str("crash.reason");
    p.crash_signal = r.str("crash.signal");
    if (p.crash_signal == "unknown") p.crash_signal.clear();
    p.crash_message = r.str("message");
    if (std::string type = r.str("crash.exception.type"); !type.empty()) {
      p.crash_exception = type + ": " + r.str("crash.exception.value");
    }
    if (!t.is_object()) return;
    TestCase& tc = test_of(p, j, t);
    tc.verdict = Verdict::crashed;
    tc.failures = failures_of(t);
    tc.crash = !p.crash_signal.empty() ? p.crash_signal : p.crash_reason == "exit" ? "exit() inside the test" : "killed";
    p.crashed_test = tc.full_name;
    j.last_started.clear();
  }

  void verdict(const Record& r, bool flaky) {
    VerdictRecord v;
    v.program = r.str("run.binary") + '\n' + std::to_string(r.integer("run.pid"));
    JsonView t = r.get("test");
    v.key = test_key(t);
    v.flaky = flaky;
    JsonView as = t.get("attempts");
    for (std::size_t i = 0, n = as.size(); i < n; ++i) {
      Attempt a;
      a.attempt = static_cast<int>(as[i].integer("attempt", static_cast<std::int64_t>(i) + 1));
      a.result = as[i].str("result");
      a.signal = as[i].str("signal");
      v.attempts.push_back(std::move(a));
    }
    v.failures = failures_of(t);
    if (t.get("repeat").is_object()) {
      v.repeat = "failed in iteration " + std::to_string(t.integer("repeat.failed_iteration")) + ", passed in iteration " +
                 std::to_string(t.integer("repeat.passed_iteration"));
    }
    verdicts_.push_back(std::move(v));
  }

  void apply(const VerdictRecord& v, std::map<std::string, Program*>& programs);

  RunReport& out_;
  Record rec_;
  Record started_;  // the test_started record of a test whose result is short
  bool suite_finished_ = false;
  std::map<const JournalState*, std::string> results_;  // run_finished's summary.result
  std::unordered_map<std::string, Attempt> reruns_;
  std::vector<VerdictRecord> verdicts_;
};

void Builder::apply(const VerdictRecord& v, std::map<std::string, Program*>& programs) {
  auto p = programs.find(v.program);
  if (p == programs.end()) return;
  Program& prog = *p->second;
  TestCase* tc = nullptr;
  for (auto& t : prog.tests) {
    std::string key = t.full_name;
    for (const auto& tag : t.tags) key += '\0' + tag;
    if (key == v.key) {
      tc = &t;
      break;
    }
  }
  if (tc == nullptr || tc->verdict == Verdict::crashed) return;
  tc->verdict = v.flaky ? Verdict::flaky : Verdict::failed;
  if (tc->failures.empty()) tc->failures = v.failures;
  if (!v.repeat.empty()) tc->note = "flaky within one repeated run: " + v.repeat;
  tc->attempts = v.attempts;
  for (auto& a : tc->attempts) {
    if (a.attempt == 1) {
      a.duration_ms = tc->duration_ms;
      a.failures = tc->failures;
      continue;
    }
    auto found = reruns_.find(prog.binary + '\n' + v.key + '\n' + std::to_string(a.attempt));
    if (found == reruns_.end()) continue;
    a.duration_ms = found->second.duration_ms;
    a.failures = found->second.failures;
    if (a.signal.empty()) a.signal = found->second.signal;
  }
}

void Builder::finish(std::vector<std::unique_ptr<JournalState>>& journals, const std::vector<bool>& alive) {
  std::map<std::string, Program*> by_identity;
  bool all_passed = true;
  for (std::size_t i = 0; i < journals.size(); ++i) {
    JournalState& j = *journals[i];
    if (j.role != JournalState::Role::program) continue;
    Program& p = j.program;
    if (!p.finished && !p.crashed) {
      p.running = alive[i];
      p.crashed = !alive[i];
      if (p.crashed) p.crash_reason = "ended";
    }
    // A program that died without a word: blame the test it had started and not finished.
    if (p.crashed && !j.last_started.empty() && rec_.parse(j.last_started)) {
      TestCase& tc = test_of(p, j, rec_.get("test"));
      tc.verdict = Verdict::crashed;
      tc.crash = p.crash_signal.empty() ? "killed" : p.crash_signal;
      p.crashed_test = tc.full_name;
    }
    auto r = results_.find(&j);
    all_passed = all_passed && !p.crashed && !p.running && r != results_.end() && r->second == "passed";
    out_.running = out_.running || p.running;
    by_identity[p.binary + '\n' + std::to_string(p.pid)] = &p;
  }
  for (const auto& v : verdicts_) apply(v, by_identity);
  for (auto& j : journals) {
    if (j->role == JournalState::Role::program) out_.programs.push_back(std::move(j->program));
  }
  std::stable_sort(out_.programs.begin(), out_.programs.end(),
                   [](const Program& a, const Program& b) { return a.started_at < b.started_at; });
  Counts& c = out_.counts;
  double longest = 0;
  for (const auto& p : out_.programs) {
    c.crashed_programs += p.crashed ? 1 : 0;
    c.outside_failures += p.outside.size();
    longest = std::max(longest, p.duration_ms);
    for (const auto& t : p.tests) {
      ++c.total;
      bool failing = t.verdict == Verdict::failed || t.verdict == Verdict::crashed;
      if (failing && !t.quarantine_until.empty()) ++c.quarantined;
      switch (t.verdict) {
        case Verdict::passed: ++c.passed; break;
        case Verdict::failed: ++c.failed; break;
        case Verdict::flaky: ++c.flaky; break;
        case Verdict::skipped: ++c.skipped; break;
        case Verdict::disabled: ++c.disabled; break;
        case Verdict::crashed: ++c.crashed; break;
      }
    }
  }
  if (!suite_finished_) {
    out_.passed = all_passed && !out_.programs.empty();
    out_.duration_ms = longest;
  }
}

}  // namespace

std::vector<std::string> known_runs(const std::string& bstest_dir) {
  std::map<std::string, std::int64_t> newest;
  for (const auto& f : list_report_journals(bstest_dir)) {
    std::int64_t& t = newest[f.run_id];
    t = std::max(t, f.mtime_ns);
  }
  std::vector<std::pair<std::int64_t, std::string>> order;
  for (const auto& [id, t] : newest) order.emplace_back(t, id);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<std::string> out;
  for (auto& o : order) out.push_back(std::move(o.second));
  return out;
}

std::string latest_run(const std::string& bstest_dir, std::string& error) {
  std::vector<std::string> runs = known_runs(bstest_dir);
  if (runs.empty()) {
    error = "no run in " + bstest_dir + " (no journal in journal/ or delivered/): run tests with bstest first, or name "
            "the folder that BSTEST_DIR was";
    return {};
  }
  return runs.front();
}

bool load_run(const std::string& bstest_dir, const std::string& run_id, RunReport& out, std::string& error) {
  out = RunReport();
  out.run_id = run_id;
  std::vector<std::unique_ptr<JournalState>> journals;
  std::vector<bool> alive;
  Builder b(out);
  for (const auto& f : list_report_journals(bstest_dir)) {
    if (f.run_id != run_id) continue;
    auto j = std::make_unique<JournalState>();
    bool writer_alive = false;
    std::string err;
    if (!read_report_journal(f, [&](std::string_view line) { b.line(*j, line); }, writer_alive, err)) continue;
    journals.push_back(std::move(j));
    alive.push_back(writer_alive);
  }
  if (journals.empty()) {
    std::vector<std::string> runs = known_runs(bstest_dir);
    error = "no journal of run '" + run_id + "' in " + bstest_dir;
    if (runs.empty()) {
      error += " (it has no run at all)";
    } else {
      error += "; runs there, newest first: ";
      for (std::size_t i = 0; i < runs.size() && i < 5; ++i) error += (i ? ", " : "") + runs[i];
    }
    return false;
  }
  b.finish(journals, alive);
  // bstest run's own journal alone (its command ran no program that uses bstest) is still a report: of a
  // suite that failed with no test.
  if (out.programs.empty() && !out.suite) {
    error = "run '" + run_id + "' has no test program records in " + bstest_dir +
            " (did its programs link bstest? a run's journals may also have been removed: see BSTEST_KEEP_RUNS)";
    return false;
  }
  return true;
}

}  // namespace bstest::report
