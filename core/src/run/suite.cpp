#include <bstest/ship.hpp>
#include <bstest/suite.hpp>
#include <bstest/version.hpp>

#include "base/ids.hpp"
#include "base/process.hpp"
#include "env/ci.hpp"
#include "journal/crash_handler.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"
#include "record/error_events.hpp"
#include "record/json.hpp"
#include "record/log_records.hpp"
#include "record/test_events.hpp"
#include "run/exit_status.hpp"
#include "stack/capture.hpp"

#include <rapidjson/document.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

namespace bstest {

namespace {

// Throw stacks of escaped exceptions kept for the events of a suite, at most (about 16 KiB each).
constexpr std::size_t kMaxStacksKept = 200;

std::string_view event_of(std::string_view line) {
  std::string_view head = line.substr(0, 160);
  auto at = head.find(",\"event\":\"");
  if (at == std::string_view::npos) return {};
  head = head.substr(at + 10);
  return head.substr(0, head.find('"'));
}

std::string str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                     : std::string();
}

// v[key], or null when v is not an object or has no such member.
const rapidjson::Value& member(const rapidjson::Value& v, const char* key) {
  static const rapidjson::Value null;
  if (!v.IsObject()) return null;
  auto it = v.FindMember(key);
  return it != v.MemberEnd() ? it->value : null;
}

long long num(const rapidjson::Value& v, const char* key, long long fallback) {
  if (!v.IsObject()) return fallback;
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : fallback;
}

detail::RunMeta meta_of(const rapidjson::Value& run) {
  detail::RunMeta m;
  m.run_id = str(run, "id");
  m.framework = str(run, "framework");
  m.framework_version = str(run, "framework_version");
  m.binary = str(run, "binary");
  m.host = str(run, "host");
  m.pid = static_cast<long>(num(run, "pid", 0));
  m.shard_index = static_cast<int>(num(run, "shard_index", -1));
  m.shard_total = static_cast<int>(num(run, "shard_total", 0));
  m.iteration = static_cast<int>(num(run, "iteration", 0));
  if (run.IsObject() && run.HasMember("random_seed") && run["random_seed"].IsUint64()) {
    m.has_random_seed = true;
    m.random_seed = run["random_seed"].GetUint64();
  }
  m.attempt = static_cast<int>(num(run, "attempt", 1));
  m.bstest_version = str(run, "bstest_version");
  return m;
}

constexpr std::size_t kMaxJournaledBody = 64u << 10;

}  // namespace

bool any_test_ran(const Counts& c) noexcept { return c.passed + c.failed + c.crashed > 0; }

bool is_sharded(int shard_total) noexcept { return shard_total > 1; }

std::string make_run_id() { return detail::make_run_id(); }

std::string queue_heartbeat(const Config& config, bool success, int exit_code, const std::string& body,
                            std::string& error) {
  std::string run_id = make_run_id() + "-hb";
  detail::JournalWriter journal;
  if (!detail::open_new_journal(journal, config.dir, run_id, detail::random_hex(6), detail::JournalWriter::kRingBytes / 2,
                                error)) {
    return {};
  }
  detail::Buf b;
  // The 10 kB limit of the ping is applied once, when it is sent (heartbeat_request); this only keeps a huge
  // --body-file out of the journal.
  detail::write_heartbeat_line(b, success, exit_code, body, kMaxJournaledBody);
  detail::write_closed_line(b);
  journal.append(b.data(), b.size());
  journal.close();
  return run_id;
}

// -------------------------------------------------------------------------------------------------------
// SuiteLedger

struct SuiteLedger::State {
  std::map<std::string, ProgramRun> by_journal;
  std::map<std::string, std::string> running;  // journal -> its last test_started record, until it finished
  std::map<std::string, std::string> thrown;   // journal -> the stack of the running test's escaped exception
  std::size_t stacks_kept = 0;
  std::map<std::string, std::uint64_t> fixture_records;  // journal -> fixture_failed records seen
  std::vector<std::string> order;
};

SuiteLedger::SuiteLedger() : state_(std::make_unique<State>()) {}
SuiteLedger::~SuiteLedger() = default;

void SuiteLedger::on_line(const std::string& journal, std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = state_->by_journal.try_emplace(journal);
  ProgramRun& p = it->second;
  if (fresh) {
    p.journal = journal;
    state_->order.push_back(journal);
  }
  if (line.rfind("{\"local\":\"process\"", 0) == 0) {
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    if (d.HasParseError() || !d.IsObject()) return;
    p.target.exe = str(d, "exe");
    p.target.cwd = str(d, "cwd");
    if (d.HasMember("argv") && d["argv"].IsArray()) {
      for (const auto& a : d["argv"].GetArray()) {
        if (a.IsString()) p.target.argv.emplace_back(a.GetString(), a.GetStringLength());
      }
    }
    // Its environment, for re-runs (secrets by name only: their values come from bstest run's own).
    if (d.HasMember("env") && d["env"].IsArray()) {
      p.target.has_env = true;
      for (const auto& a : d["env"].GetArray()) {
        if (a.IsString()) p.target.env.emplace_back(a.GetString(), a.GetStringLength());
      }
    }
    if (d.HasMember("env_inherited") && d["env_inherited"].IsArray()) {
      for (const auto& a : d["env_inherited"].GetArray()) {
        if (a.IsString()) p.target.env_inherited.emplace_back(a.GetString(), a.GetStringLength());
      }
    }
    return;
  }
  // The stack of a throw that escaped the running test: its program wrote it just before the failure.
  if (line.rfind("{\"local\":\"stack\",", 0) == 0 && line.find("\"kind\":\"throw\"") < 64) {
    if (state_->stacks_kept < kMaxStacksKept) state_->thrown[journal].assign(line.data(), line.size());
    return;
  }
  if (line.rfind("{\"id\":", 0) != 0) return;
  std::string_view ev = event_of(line);
  if (ev == "test_started") {
    state_->running[journal].assign(line.data(), line.size());
    state_->thrown.erase(journal);
    return;
  }
  if (ev == "test_finished") {
    state_->running.erase(journal);
    std::string thrown_stack;
    if (auto it = state_->thrown.find(journal); it != state_->thrown.end()) {
      thrown_stack = std::move(it->second);
      state_->thrown.erase(it);
    }
    // The record's own "result" is the first one after "test":{ (property values come later).
    auto test_at = line.find(",\"test\":{");
    auto res_at = test_at == std::string_view::npos ? test_at : line.find(",\"result\":\"", test_at);
    if (res_at == std::string_view::npos) return;
    std::string_view r = line.substr(res_at + 11);
    r = r.substr(0, r.find('"'));
    ++p.counts.total;
    if (r == "passed") ++p.counts.passed;
    if (r == "skipped") ++p.counts.skipped;
    if (r == "disabled") ++p.counts.disabled;
    if (r != "failed") return;
    ++p.counts.failed;
    if (p.failed.size() >= 1000) return;
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("test")) return;
    const auto& t = d["test"];
    FailedTest f;
    f.suite = str(t, "suite");
    f.name = str(t, "name");
    f.full_name = str(t, "full_name");
    f.file = str(t, "file");
    f.line = static_cast<int>(num(t, "line", 0));
    f.disabled = t.HasMember("disabled") && t["disabled"].IsBool() && t["disabled"].GetBool();
    f.iteration = static_cast<int>(num(member(d, "run"), "iteration", 0));
    if (t.HasMember("tags") && t["tags"].IsArray()) {
      for (const auto& tag : t["tags"].GetArray()) {
        if (tag.IsString()) f.tags.emplace_back(tag.GetString(), tag.GetStringLength());
      }
    }
    // Its first failure, and its first uncaught exception (as the Session keeps them for a single program).
    bool first = true;
    bool thrown = false;
    if (t.HasMember("failures") && t["failures"].IsArray()) {
      for (const auto& fl : t["failures"].GetArray()) {
        if (fl.HasMember("allowed") && fl["allowed"].IsBool() && fl["allowed"].GetBool()) continue;
        if (first) {
          first = false;
          f.first_failure_file = str(fl, "file");
          f.first_failure_line = static_cast<int>(num(fl, "line", -1));
          f.first_failure_message = str(fl, "message").substr(0, 2000);
          f.exception_type = str(fl, "exception_type");
        }
        if (!thrown && str(fl, "kind") == "exception") {
          thrown = true;
          bool kept = p.exceptions
                          .emplace(f.key(), TestException{str(fl, "exception_type"), str(fl, "message").substr(0, 2000),
                                                          str(fl, "file"), static_cast<int>(num(fl, "line", -1)),
                                                          std::move(thrown_stack)})
                          .second;
          if (kept && !p.exceptions[f.key()].stack_line.empty()) ++state_->stacks_kept;
        }
        if (thrown) break;
      }
    }
    p.failed.push_back(std::move(f));
    return;
  }
  if (ev == "run_started" || ev == "run_finished" || ev == "run_crashed" || ev == "fixture_failed") {
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    if (d.HasParseError() || !d.IsObject()) return;
    if (ev == "run_started") {
      p.started = true;
      p.run_record.assign(line.data(), line.size());
      p.started_at = str(d, "dt");
      detail::RunMeta m = meta_of(member(d, "run"));
      p.binary = m.binary;
      p.framework = m.framework;
      p.attempt = m.attempt;
      p.pid = m.pid;
      p.shard_index = m.shard_index;
      p.shard_total = m.shard_total;
      p.target.framework = m.framework;
      p.target.has_random_seed = m.has_random_seed;
      p.target.random_seed = m.random_seed;
    } else if (ev == "run_finished") {
      p.finished = true;
      if (d.HasMember("summary") && d["summary"].IsObject()) {
        const auto& s = d["summary"];
        if (s.HasMember("duration_ms") && s["duration_ms"].IsNumber()) p.duration_ms = s["duration_ms"].GetDouble();
        p.counts.fixture_failures = static_cast<std::uint64_t>(num(s, "fixture_failures", 0));
      }
    } else if (ev == "run_crashed") {
      p.crashed = true;
      p.crashed_test = str(member(d, "test"), "full_name");
      p.crash_signal = str(member(d, "crash"), "signal");
    } else {  // fixture_failed
      ++state_->fixture_records[journal];
      if (p.fixture_failures.size() >= 20) return;
      std::string where = str(member(d, "fixture"), "phase");
      std::string suite = str(member(d, "fixture"), "suite");
      if (!suite.empty()) where += " of " + suite;
      const rapidjson::Value& f = member(d, "failure");
      std::string file = str(f, "file");
      if (!file.empty()) where += ": " + file + ":" + std::to_string(num(f, "line", 0));
      p.fixture_failures.push_back({where, str(f, "message").substr(0, 2000)});
    }
  }
}

std::vector<ProgramRun> SuiteLedger::programs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ProgramRun> out;
  for (const auto& j : state_->order) {
    const ProgramRun& p = state_->by_journal.at(j);
    if (!p.started || p.attempt != 1 || p.framework == "suite") continue;
    ProgramRun copy = p;
    if (!copy.finished) copy.crashed = true;
    if (copy.crashed) copy.counts.crashed = 1;
    // A program that died without a word: blame the test it had started and not finished.
    auto running = state_->running.find(j);
    if (copy.crashed && copy.crashed_test.empty() && running != state_->running.end()) {
      rapidjson::Document d;
      d.Parse(running->second.data(), running->second.size());
      if (!d.HasParseError()) copy.crashed_test = str(member(d, "test"), "full_name");
    }
    // Failures outside tests that it recorded before it died count as well as those its summary counted.
    auto fx = state_->fixture_records.find(j);
    if (fx != state_->fixture_records.end()) copy.counts.fixture_failures = std::max(copy.counts.fixture_failures, fx->second);
    out.push_back(std::move(copy));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ProgramRun& a, const ProgramRun& b) { return a.started_at < b.started_at; });
  return out;
}

std::vector<ProgramRun> read_suite(const std::string& bstest_dir, const std::string& run_id, int wait_ms,
                                   long command_pid, int command_signal) {
  struct Open {
    detail::JournalReader reader;
    std::uint64_t offset = 0;
    bool gone = false;
  };
  std::string jdir = journal_dir(bstest_dir);
  std::map<std::string, std::unique_ptr<Open>> journals;
  SuiteLedger ledger;
  detail::Buf chunk;
  // Reads every journal of the run from where the last pass stopped; true when no writer is left.
  auto pass = [&] {
    if (DIR* d = ::opendir(jdir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() <= 8 || name.compare(name.size() - 8, 8, ".journal") != 0) continue;
        if (name.compare(0, run_id.size() + 1, run_id + ".") != 0) continue;
        std::string path = jdir + "/" + name;
        if (journals.count(path) != 0) continue;
        auto j = std::make_unique<Open>();
        std::string err;
        if (j->reader.open(path, err)) journals.emplace(path, std::move(j));
      }
      ::closedir(d);
    }
    bool all_gone = true;
    for (auto& [path, j] : journals) {
      if (!j->gone && !j->reader.writer_alive()) j->gone = true;
      // Records reach the journal file through the writer's ring: move the complete ones in first.
      std::string err;
      detail::absorb_ring(path, j->gone, err);
      for (;;) {
        chunk.clear();
        std::uint64_t next = j->reader.read_lines(j->offset, chunk, 1u << 20, j->gone);
        if (next == j->offset) break;
        std::string_view all = chunk.view();
        for (std::size_t pos = 0; pos < all.size();) {
          std::size_t nl = all.find('\n', pos);
          if (nl == std::string_view::npos) nl = all.size();
          ledger.on_line(path, all.substr(pos, nl - pos));
          pos = nl + 1;
        }
        j->offset = next;
      }
      all_gone = all_gone && j->gone;
    }
    return all_gone;
  };
  std::vector<ProgramRun> programs;
  for (int waited = 0;; waited += 50) {
    bool gone = pass();
    programs = ledger.programs();
    // Only test programs that have not finished are waited for (the wrapper's own journal stays open).
    bool waiting = false;
    for (const auto& p : programs) {
      waiting = waiting || (!p.finished && !journals.at(p.journal)->gone);
    }
    if (gone || !waiting || waited >= wait_ms) break;
    ::usleep(50 * 1000);
  }
  // What each program's main returned, noted in the run's folder; read once.
  for (auto& p : programs) {
    std::string path = detail::exit_status_path(bstest_dir, p.journal);
    detail::ExitStatus st = detail::read_exit_status(path);
    p.returned = st.returned;
    p.exit_completed = st.completed;
    ::unlink(path.c_str());
  }
  if (command_pid > 0 && command_signal > 0) {
    for (auto& p : programs) {
      if (p.pid == command_pid && p.crashed && (p.crash_signal.empty() || p.crash_signal == "unknown")) {
        p.crash_signal = detail::signal_name(command_signal);
      }
    }
  }
  return programs;
}

// -------------------------------------------------------------------------------------------------------
// SuiteWriter

struct SuiteWriter::Impl {
  Config cfg;
  std::string run_id;
  detail::JournalWriter journal;
  detail::RecordContext enc;
  detail::RunMeta suite_meta;
  detail::CiInfo ci;
  detail::Buf rec;
  bool open = false;

  void append() {
    if (open) journal.append(rec.data(), rec.size());
  }
  void append(const std::string& s) {
    if (open) journal.append(s.data(), s.size());
  }
};

SuiteWriter::SuiteWriter(const Config& config, std::string run_id) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = config;
  impl_->run_id = std::move(run_id);
}

SuiteWriter::~SuiteWriter() { close(); }

bool SuiteWriter::open(std::string& error) {
  Impl& m = *impl_;
  std::string jid = detail::random_hex(6);
  if (!detail::open_new_journal(m.journal, m.cfg.dir, m.run_id, jid, detail::JournalWriter::kRingBytes / 2, error)) {
    return false;
  }
  m.open = true;
  m.ci = detail::detect_ci();
  m.enc.set_id_prefix(jid);
  m.suite_meta.run_id = m.run_id;
  m.suite_meta.framework = "suite";
  m.suite_meta.binary = "bstest run";
  m.suite_meta.host = detail::host_name();
  m.suite_meta.pid = ::getpid();
  m.suite_meta.bstest_version = BSTEST_VERSION;
  m.enc.set_run(m.suite_meta);
  m.enc.set_ci(m.ci);
  m.rec.clear();
  detail::write_suite_started(m.enc, m.rec);
  detail::ProcessFacts process;
  process.role = "suite";
  detail::write_process_line(m.rec, process);
  m.append();
  return true;
}

namespace {

// The program's run, as its run_started record has it (the suite's when that cannot be read).
detail::RunMeta run_of(const ProgramRun& program, const detail::RunMeta& fallback) {
  rapidjson::Document d;
  d.Parse(program.run_record.data(), program.run_record.size());
  return !d.HasParseError() && d.IsObject() && d.HasMember("run") ? meta_of(d["run"]) : fallback;
}

// The test's first uncaught exception, if one escaped it (nullptr otherwise); `out` holds it.
const detail::EscapedException* escaped_of(const ProgramRun& program, const FailedTest& test,
                                           detail::EscapedException& out) {
  auto it = program.exceptions.find(test.key());
  if (it == program.exceptions.end()) return nullptr;
  out.type = it->second.type;
  out.message = it->second.message;
  out.file = it->second.file;
  out.line = it->second.line;
  // The stack of its throw is in the program's journal: copied into ours, before the event it names.
  out.stack_line = it->second.stack_line;
  out.event_id = std::string(detail::stack::snapshot_target(out.stack_line));
  if (out.event_id.size() != 32) out.stack_line.clear();
  return &out;
}

}  // namespace

void SuiteWriter::verdict(const ProgramRun& program, const FailedTest& test, const std::vector<AttemptOutcome>& attempts,
                          bool flaky) {
  Impl& m = *impl_;
  detail::RunMeta meta = run_of(program, m.suite_meta);
  m.enc.set_run(meta);
  m.rec.clear();
  detail::write_verdict(m.enc, m.rec, test, attempts, flaky);
  m.append();
  detail::EventContext context = detail::this_process_context(detail::environment_name(m.ci, m.cfg.environment));
  detail::EscapedException escaped;
  m.append(detail::verdict_error_lines(test, attempts, flaky, escaped_of(program, test, escaped), meta, m.ci, context));
  m.enc.set_run(m.suite_meta);
}

void SuiteWriter::exception(const ProgramRun& program, const FailedTest& test) {
  Impl& m = *impl_;
  detail::EscapedException escaped;
  const detail::EscapedException* e = escaped_of(program, test, escaped);
  if (e == nullptr) return;
  detail::EventContext context = detail::this_process_context(detail::environment_name(m.ci, m.cfg.environment));
  std::vector<AttemptOutcome> one = {{1, Result::failed, false}};
  if (!e->stack_line.empty()) m.append(detail::stack::snapshot_for(e->stack_line, e->event_id));
  m.append(detail::sentry_line(detail::exception_event(test, e, one, run_of(program, m.suite_meta), m.ci, context)));
}

void SuiteWriter::suite_finished(const SuiteSummary& s) {
  Impl& m = *impl_;
  m.rec.clear();
  detail::write_suite_finished(m.enc, m.rec, s);
  m.append();
}

void SuiteWriter::close() {
  Impl& m = *impl_;
  if (!m.open) return;
  m.rec.clear();
  detail::write_closed_line(m.rec);
  m.append();
  m.journal.close();
  m.open = false;
}

}  // namespace bstest
