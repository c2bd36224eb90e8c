// bstest::Session: the run's state, its records, and the hand-off to the shipper.
#include <bstest/rerun.hpp>
#include <bstest/session.hpp>
#include <bstest/ship.hpp>
#include <bstest/suite.hpp>
#include <bstest/version.hpp>

#include "env/ci.hpp"
#include "journal/crash_handler.hpp"
#include "journal/journal.hpp"
#include "record/envelope.hpp"
#include "record/json.hpp"
#include "record/log_encoder.hpp"
#include "record/verdict.hpp"
#include "run/exception_capture.hpp"
#include "run/exit_status.hpp"
#include "ship/companion.hpp"

#include <rapidjson/document.h>

#include <cxxabi.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace bstest {
namespace detail {

namespace {

// Set in the child of a fork(): a Session must not write there (it would write into its parent's
// journal mapping). GoogleTest's "fast" death tests are such children.
std::atomic<bool> g_forked_child{false};
std::once_flag g_atfork_once;

constexpr std::size_t kMaxFailedTestsKept = 1000;
constexpr std::size_t kMaxFirstFailureBytes = 2000;  // of a failed test's first failure, kept for verdicts
constexpr std::size_t kMinFailureRoom = 2048;        // left of the failures' cap, to keep one more

// How many of the entries of a list (each ending at `ends[i]` bytes, separators included) fit in `room`.
std::size_t fitting(const std::vector<std::size_t>& ends, std::size_t room) {
  return static_cast<std::size_t>(std::upper_bound(ends.begin(), ends.end(), room) - ends.begin());
}

// The tags member of a test identity (`,"tags":[...]`, always its last), "" when it has none. A quote inside
// a JSON string is escaped, so only the member itself matches.
std::string_view tags_member(std::string_view identity) {
  auto at = identity.find(",\"tags\":[");
  return at == std::string_view::npos ? std::string_view() : identity.substr(at);
}

std::vector<std::string> tags_in(std::string_view member) {
  std::vector<std::string> tags;
  if (member.empty()) return tags;
  std::string object = "{" + std::string(member.substr(1)) + "}";
  rapidjson::Document d;
  d.Parse(object.data(), object.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("tags") || !d["tags"].IsArray()) return tags;
  for (const auto& t : d["tags"].GetArray()) {
    if (t.IsString()) tags.emplace_back(t.GetString(), t.GetStringLength());
  }
  return tags;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < lo || n > hi) return fallback;
  return static_cast<int>(n);
}

bool valid_run_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

std::string new_run_id() {
  WallTime now = wall_now();
  char ts[kTimestampLength];
  format_timestamp(ts, now.seconds, 0);
  // "2026-11-25T17:06:05" -> "20261125T170605Z"
  std::string id;
  for (int i = 0; i < 19; ++i) {
    if (ts[i] != '-' && ts[i] != ':') id += ts[i];
  }
  return id + "Z-" + random_hex(4);
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

std::vector<std::string> self_argv() {
  std::vector<std::string> argv;
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return argv;
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    argv.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void say(const std::string& line) {
  std::string l = line + "\n";
  ssize_t rc = ::write(2, l.data(), l.size());
  (void)rc;
}

}  // namespace

class SessionImpl {
 public:
  explicit SessionImpl(Config config) : cfg_(std::move(config)) {
    std::call_once(g_atfork_once, [] { ::pthread_atfork(nullptr, nullptr, &SessionImpl::on_fork_child); });
    created_pid_ = ::getpid();
  }

  ~SessionImpl() {
    if (this == g_active.load()) {
      if (started_ && !finished_ && owns_process()) end_early("the reporter was destroyed before the run finished");
      g_active.store(nullptr);
    }
    if (!owns_process()) {
      journal_.abandon();
      companion_.abandon();
    }
  }

  // A Session only ever acts in the process that started its run. fork() sets the flag in the child
  // (pthread_atfork), so this costs a load, not a system call.
  bool owns_process() const noexcept { return !g_forked_child.load(std::memory_order_relaxed); }
  bool recording() const noexcept { return started_ && !finished_ && !g_forked_child.load(std::memory_order_relaxed); }

  // ------------------------------------------------------------------------------------------------
  void run_started(const RunInfo& run) {
    if (started_ || !cfg_.enabled || g_forked_child.load() || ::getpid() != created_pid_) return;
    started_ = true;
    pid_ = ::getpid();
    start_ns_ = mono_now_ns();
    child_ = env_or("BSTEST_ROLE", "") == "child";
    attempt_ = env_int("BSTEST_ATTEMPT", 1, 1, 1000);
    run_id_ = env_or("BSTEST_RUN_ID", "");
    result_file_ = env_or("BSTEST_RESULT_FILE", "");
    if (!valid_run_id(run_id_)) run_id_ = new_run_id();
    ci_ = detect_ci();

    RunMeta meta;
    meta.run_id = run_id_;
    meta.framework = std::string(run.framework);
    meta.framework_version = std::string(run.framework_version);
    exe_ = self_exe();
    meta.binary = base_name(exe_.empty() ? std::string("test") : exe_);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    meta.host = host;
    meta.pid = static_cast<long>(pid_);
    meta.shard_index = run.shard_index;
    meta.shard_total = run.shard_total;
    if (meta.shard_total <= 0) {
      int total = env_int("BSTEST_SHARD_TOTAL", 0, 0, 1 << 20);
      int index = env_int("BSTEST_SHARD_INDEX", -1, 0, 1 << 20);
      if (total > 0 && index >= 0 && index < total) {
        meta.shard_total = total;
        meta.shard_index = index;
      }
    }
    meta.has_random_seed = run.has_random_seed;
    meta.random_seed = run.random_seed;
    meta.attempt = attempt_;
    meta.bstest_version = BSTEST_VERSION;
    sharded_ = is_sharded(meta.shard_total);
    journal_id_ = random_hex(6);
    enc_.set_id_prefix(journal_id_);
    enc_.set_run(meta);
    enc_.set_ci(ci_);

    redactor_.collect_from_environment(cfg_.redact);
    redactor_.add(cfg_.logs.token.reveal());
    redactor_.add(cfg_.errors.key.reveal());
    redactor_.add(cfg_.heartbeat.url.reveal());
    // The URL's last path segment is the heartbeat's token: a test that prints it alone is redacted too.
    const std::string& hb = cfg_.heartbeat.url.reveal();
    redactor_.add(hb.substr(hb.rfind('/') + 1));

    if (!child_) {
      for (const auto& p : cfg_.problems) say("bstest: " + p);
    }

    // Where the program started, once: re-runs start there, and a relative BSTEST_DIR means the same folder
    // for everything (journal, ring, re-runs, the shipping at exit) even after a test changed directory.
    start_dir_ = current_directory();
    cfg_.dir = absolute_path(cfg_.dir, start_dir_);

    std::string err;
    std::string jdir = journal_dir(cfg_.dir);
    std::string journal_path = jdir + "/" + run_id_ + "." + std::to_string(pid_) + "." + journal_id_ + ".journal";
    // Someone else empties our ring while we run (the companion, or bstest run): let it fill before we do.
    bool shipped_by_another = child_ || cfg_.logs.enabled() || cfg_.errors.enabled() || cfg_.heartbeat.enabled();
    std::size_t self_drain_at = shipped_by_another ? JournalWriter::kRingBytes : JournalWriter::kRingBytes / 2;
    if (!make_private_dir(jdir, err) || !journal_.open(journal_path, err, self_drain_at)) {
      say("bstest: cannot keep records in " + cfg_.dir + " (" + err +
          "); this run is not recorded. Set BSTEST_DIR to a writable folder.");
      journal_failed_ = true;
    }
    // A program of `bstest run`'s command (not a re-run): what its main returns, for bstest run to compare
    // with the exit status it sees.
    if (child_ && result_file_.empty() && !journal_failed_) note_exit_status(cfg_.dir, journal_path);

    rec_.clear();
    enc_.begin(rec_, "info", "run_started");
    rec_.put("\"START ");
    put_json_chars(rec_, meta.binary, kMaxNameBytes);
    rec_.put(" (");
    put_json_chars(rec_, meta.framework, kMaxNameBytes);
    if (!meta.framework_version.empty()) {
      rec_.put(' ');
      put_json_chars(rec_, meta.framework_version, kMaxNameBytes);
    }
    if (attempt_ > 1) {
      rec_.put(", attempt ");
      rec_.put_int(attempt_);
    }
    rec_.put(")\"");
    enc_.put_run(rec_);
    enc_.put_ci(rec_);
    // Where the run happens, for error events built later and elsewhere (a crash found by `bstest flush`).
    context_ = this_process_context(environment_name(ci_, cfg_.environment));
    put_context(rec_, context_);
    LogEncoder::end(rec_);
    run_started_record_.assign(rec_.data(), rec_.size() - 1);
    append();

    // Local bookkeeping for re-runs: never sent.
    rec_.clear();
    rec_.put("{\"local\":\"process\",\"role\":\"");
    rec_.put(child_ ? "child" : "owner");
    rec_.put("\",\"exe\":");
    put_json_string(rec_, exe_);
    rec_.put(",\"cwd\":");
    put_json_string(rec_, start_dir_);
    rec_.put(",\"argv\":[");
    auto argv = self_argv();
    for (std::size_t i = 0; i < argv.size(); ++i) {
      if (i) rec_.put(',');
      put_json_string(rec_, argv[i]);
    }
    // Its environment, so that `bstest run` re-runs a test as it ran (meson test env:, ctest ENVIRONMENT,
    // a wrapper script's exports). Secret-looking variables only by name: their values come from the
    // re-running process's own environment, never written here.
    rec_.put("],\"env\":[");
    std::string inherited;
    bool first_env = true;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view kv(*e);
      std::string_view name = kv.substr(0, kv.find('='));
      if (Redactor::name_looks_secret(name, cfg_.redact)) {
        if (!inherited.empty()) inherited += '\n';
        inherited.append(name.data(), name.size());
        continue;
      }
      if (!first_env) rec_.put(',');
      first_env = false;
      put_json_string(rec_, kv);
    }
    rec_.put("],\"env_inherited\":[");
    for (std::size_t at = 0, n = 0; at < inherited.size(); ++n) {
      std::size_t end = inherited.find('\n', at);
      if (end == std::string::npos) end = inherited.size();
      if (n) rec_.put(',');
      put_json_string(rec_, std::string_view(inherited).substr(at, end - at));
      at = end + 1;
    }
    rec_.put("]}\n");
    append();

    g_active.store(this);
    if (!journal_failed_) {
      signal_failure_.reserve(kSignalFailureBytes);
      signal_scratch_.reset(new char[LogEncoder::kSignalScratchBytes]);
      install_terminate_capture();
      install_crash_handlers(&journal_, &SessionImpl::render_crash);
      std::atexit(&SessionImpl::on_exit);
    }

    bool any_channel = cfg_.logs.enabled() || cfg_.errors.enabled() || cfg_.heartbeat.enabled();
    if (!child_ && any_channel && !journal_failed_) {
      std::string why;
      if (!companion_.start(cfg_, run_id_, why)) companion_problem_ = why;
    }
  }

  void iteration_started(int iteration, bool has_seed, std::uint64_t seed) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    iteration_ = iteration;
    RunMeta meta = enc_.run();
    meta.iteration = iteration;
    meta.has_random_seed = has_seed;
    meta.random_seed = seed;
    enc_.set_run(meta);
  }

  // ------------------------------------------------------------------------------------------------
  void test_started(const TestInfo& t) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    updating_.store(true, std::memory_order_relaxed);
    std::string_view full = full_name_of(t);
    ident_.clear();
    name_at_ = LogEncoder::put_test_identity(ident_, t, full, name_len_);
    suite_.assign(t.suite.data(), t.suite.size());
    name_.assign(t.name.data(), t.name.size());
    full_name_.assign(full.data(), full.size());
    file_.assign(t.file.data(), t.file.size());
    line_ = t.line;
    disabled_test_ = t.name.substr(0, 9) == "DISABLED_" || t.suite.substr(0, 9) == "DISABLED_";
    failures_.clear();
    failure_ends_.clear();
    failure_count_ = 0;
    failures_omitted_ = 0;
    signal_failure_set_.store(false, std::memory_order_relaxed);
    first_failure_ = FailedTest{};
    has_first_failure_ = false;
    has_escaped_ = false;
    properties_.clear();
    property_ends_.clear();
    properties_omitted_ = 0;
    in_test_.store(true, std::memory_order_relaxed);
    updating_.store(false, std::memory_order_release);
    test_start_ns_ = mono_now_ns();

    rec_.clear();
    enc_.begin(rec_, "info", "test_started");
    rec_.put("\"START ");
    rec_.put(std::string_view(ident_.data() + name_at_, name_len_));
    rec_.put('"');
    enc_.put_run(rec_);
    rec_.put(",\"test\":{", 9);
    rec_.put(ident_.view());
    rec_.put("}}\n", 3);
    append();
  }

  void failure(const Failure& failure) {
    if (!recording()) return;
    if (failure.kind == FailureKind::fatal_error) {
      failure_from_signal(failure);
      return;
    }
    // Frameworks report an escaped exception from inside their catch block: its type is still known to
    // the C++ runtime there, though neither framework keeps it, and __cxa_throw saw where it came from.
    Failure f = failure;
    std::string type;
    void* throw_site = nullptr;
    if (f.kind == FailureKind::exception) {
      const std::type_info* current = abi::__cxa_current_exception_type();
      ThrowSite site = last_throw_on_this_thread();
      if (current != nullptr && site.type == current) throw_site = site.where;
      if (f.exception_type.empty() && current != nullptr) {
        type = detail::demangled(*current);
        f.exception_type = type;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (in_test_.load(std::memory_order_relaxed)) {
        add_failure(f);
        if (f.kind == FailureKind::exception && !f.allowed && !has_escaped_) note_escaped(f, throw_site);
        return;
      }
    }
    fixture_failure(FixturePhase::run, {}, f);
  }

  // A fatal error, reported from inside a signal handler (Catch2's): no lock (the crashing thread may hold
  // ours), no allocation (the signal may have come from inside malloc). The failure is encoded into space
  // reserved at run start, and the crash record that follows carries it as the test's last failure.
  void failure_from_signal(const Failure& f) noexcept {
    if (!in_test_.load(std::memory_order_relaxed) || signal_failure_.data() == nullptr) return;
    if (signal_failure_set_.load(std::memory_order_acquire)) return;  // the first one is the crash
    signal_failure_.clear();
    LogEncoder::put_failure_from_signal(signal_failure_, f, redactor_, signal_scratch_.get(), kSignalFailureBytes);
    signal_failure_set_.store(true, std::memory_order_release);
  }

  // The program lived on after a failure from a signal handler (an adapter whose framework recovers): the
  // test's record keeps it with its other failures (called under mu_).
  void keep_failure_from_signal() {
    if (!signal_failure_set_.exchange(false)) return;
    ++failure_count_;
    if (failures_.size() + signal_failure_.size() + 1 > kMaxFailuresBytes) {
      ++failures_omitted_;
      return;
    }
    updating_.store(true, std::memory_order_relaxed);
    if (!failures_.empty()) failures_.put(',');
    failures_.put(signal_failure_.view());
    failure_ends_.push_back(failures_.size());
    updating_.store(false, std::memory_order_release);
  }

  // The test's first escaped exception, whatever failed before it (called under mu_).
  void note_escaped(const Failure& f, void* throw_site) {
    has_escaped_ = true;
    escaped_.type.assign(f.exception_type.data(), f.exception_type.size());
    // Redacted before the cut (as the first failure's message): a secret across the cut is still found.
    escaped_.message = sanitize_utf8(redacted_head(f.message, kMaxFirstFailureBytes, redactor_));
    escaped_.file.assign(f.file.data(), f.file.size());
    escaped_.line = f.line;
    escaped_.throw_site = throw_site;
  }

  void add_failure(const Failure& f) {
    ++failure_count_;
    if (!has_first_failure_ && !f.allowed) {
      has_first_failure_ = true;
      first_failure_.first_failure_file.assign(f.file.data(), f.file.size());
      first_failure_.first_failure_line = f.line;
      first_failure_.first_failure_message = sanitize_utf8(redacted_head(f.message, kMaxFirstFailureBytes, redactor_));
      first_failure_.exception_type.assign(f.exception_type.data(), f.exception_type.size());
    }
    // Each failure gets what is left of the failures' cap (cut harder when it would not fit); once too
    // little is left, the rest are only counted.
    std::size_t room = failures_.size() + kMinFailureRoom <= kMaxFailuresBytes ? kMaxFailuresBytes - failures_.size() - 1 : 0;
    if (room == 0) {
      ++failures_omitted_;
      return;
    }
    updating_.store(true, std::memory_order_relaxed);
    if (!failures_.empty()) failures_.put(',');
    LogEncoder::put_failure(failures_, f, redactor_, room);
    failure_ends_.push_back(failures_.size());
    updating_.store(false, std::memory_order_release);
  }

  void property(std::string_view key, std::string_view value) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t before = properties_.size();
    if (!properties_.empty()) properties_.put(',');
    put_redacted_string(properties_, key, 256, redactor_);
    properties_.put(':');
    put_redacted_string(properties_, value, 2048, redactor_);
    if (properties_.size() > kMaxPropertiesBytes) {  // does not fit: counted, not kept
      properties_.truncate(before);
      ++properties_omitted_;
      return;
    }
    property_ends_.push_back(properties_.size());
  }

  void test_finished(const TestEnd& end) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!in_test_.load(std::memory_order_relaxed)) return;
    keep_failure_from_signal();
    double ms = end.duration_ms >= 0 ? end.duration_ms : static_cast<double>(mono_now_ns() - test_start_ns_) / 1e6;
    Result r = end.result;
    bool flaky_by_repeat = track_repeat(r);
    if (r == Result::failed && !flaky_by_repeat) remember_failed();
    if (!result_file_.empty()) results_.push_back({full_name_, std::string(tags_member(ident_.view())), to_string(r)});

    rec_.clear();
    enc_.begin(rec_, r == Result::failed ? "error" : "info", "test_finished");
    put_outcome_message(r, ms, end.skip_reason);
    enc_.put_run(rec_);
    rec_.put(",\"test\":{", 9);
    rec_.put(ident_.view());
    rec_.put(",\"result\":\"", 11);
    rec_.put(to_string(r));
    rec_.put("\",\"duration_ms\":", 16);
    rec_.put_ms(ms);
    if (!end.skip_reason.empty()) {
      rec_.put(",\"skip_reason\":");
      put_redacted_string(rec_, end.skip_reason, kMaxMessageBytes / 4, redactor_);
    }
    if (r == Result::failed && disabled_test_) rec_.put(",\"disabled\":true");
    if (!child_ && attempt_ == 1 && r == Result::failed && !rerun_owner_) {
      rec_.put(cfg_.retries <= 0 ? ",\"rerun\":\"re-runs are off (BSTEST_RETRIES=0)\""
                                 : ",\"rerun\":\"not possible: no re-run owner (link bstest-gtest-main / bstest-catch2-main "
                                   "or use `bstest run`)\"");
    }
    const std::size_t at_failures = rec_.size();
    put_finished_tail(failure_ends_.size(), property_ends_.size());
    if (rec_.size() > kMaxRecordBytes) {
      // Too large for one record: keep the failures and properties that fit, from the first, and say how
      // many were left out. Everything before them is small enough on its own (log_encoder.hpp).
      rec_.truncate(at_failures);
      std::size_t tail = 128 + enc_.ci_fragment_view().size();  // the brackets, counts and ci around them
      std::size_t room = kMaxRecordBytes - std::min(kMaxRecordBytes, at_failures + tail);
      std::size_t failures = fitting(failure_ends_, room);
      room -= failures == 0 ? 0 : failure_ends_[failures - 1];
      put_finished_tail(failures, fitting(property_ends_, room));
    }
    append();
    in_test_.store(false, std::memory_order_relaxed);

    // Without a re-run owner the verdict is final now: an uncaught exception is an error event (once per
    // test, whatever the iterations of a repeated run).
    if (r == Result::failed && !rerun_owner_ && !child_ && has_escaped_) {
      FailedTest t = current_failed();
      if (exception_reported_.insert(t.key()).second) {
        append_error_lines(sentry_line(exception_event(t, &escaped_, {}, enc_.run(), ci_, context_)));
      }
    }
    if (pending_repeat_flake_) {
      pending_repeat_flake_ = false;
      repeat_flaky_verdict(repeat_flake_test_, repeat_flake_);
    }
  }

  void test_not_run(const TestInfo& t, Result result, std::string_view reason) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (iteration_ == 0) count(result);  // a repeated run counts each test once
    Buf ident;
    std::size_t len = 0;
    std::size_t at = LogEncoder::put_test_identity(ident, t, full_name_of(t), len);
    rec_.clear();
    enc_.begin(rec_, "info", "test_finished");
    rec_.put('"');
    rec_.put(result == Result::disabled ? "DISABLED " : "NOT RUN ");
    rec_.put(std::string_view(ident.data() + at, len));
    if (!reason.empty()) {
      rec_.put(": ");
      put_json_chars(rec_, redacted_head(reason, kMaxSummaryLineBytes, redactor_, true));
    }
    rec_.put('"');
    enc_.put_run(rec_);
    rec_.put(",\"test\":{");
    rec_.put(ident.view());
    rec_.put(",\"result\":\"");
    rec_.put(to_string(result));
    rec_.put("\",\"duration_ms\":0.000,\"ran\":false");
    if (!reason.empty()) {
      rec_.put(",\"skip_reason\":");
      put_redacted_string(rec_, reason, kMaxMessageBytes / 4, redactor_);
    }
    rec_.put('}');
    enc_.put_ci(rec_);
    LogEncoder::end(rec_);
    append();
  }

  void fixture_failure(FixturePhase phase, std::string_view scope, const Failure& f) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.fixture_failures;
    rec_.clear();
    enc_.begin(rec_, f.allowed ? "warn" : "error", "fixture_failed");
    rec_.put("\"FAILED outside any test (");
    rec_.put(to_string(phase));
    if (!scope.empty()) {
      rec_.put(" of ");
      put_json_chars(rec_, scope, kMaxNameBytes);
    }
    rec_.put(")");
    if (!f.file.empty()) {
      rec_.put(": ");
      put_json_chars(rec_, f.file, kMaxSummaryLineBytes);
      if (f.line >= 0) {
        rec_.put(':');
        rec_.put_int(f.line);
      }
    }
    std::string msg = redacted_head(f.message, kMaxSummaryLineBytes, redactor_, true);
    if (!msg.empty()) {
      rec_.put(": ");
      put_json_chars(rec_, msg);
    }
    rec_.put('"');
    enc_.put_run(rec_);
    rec_.put(",\"fixture\":{\"phase\":\"");
    rec_.put(to_string(phase));
    rec_.put('"');
    if (!scope.empty()) {
      rec_.put(",\"suite\":");
      put_json_string(rec_, scope, kMaxNameBytes);
    }
    rec_.put("},\"failure\":");
    // The failure gets what the record's cap leaves (the ci object and the closing brace follow).
    std::size_t used = rec_.size() + enc_.ci_fragment_view().size() + 8;
    LogEncoder::put_failure(rec_, f, redactor_, kMaxRecordBytes - std::min(kMaxRecordBytes, used));
    enc_.put_ci(rec_);
    LogEncoder::end(rec_);
    append();
    if (fixture_failures_kept_.size() < 20) {
      fixture_failures_kept_.push_back(std::string(to_string(phase)) + (scope.empty() ? "" : " of " + std::string(scope)) +
                                       ": " + sanitize_utf8(msg));
    }
  }

  void run_problem(std::string_view message, bool fails_run) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (fails_run) run_failed_ = true;
    rec_.clear();
    enc_.begin(rec_, fails_run ? "error" : "warn", "run_problem");
    put_redacted_string(rec_, message, kMaxSummaryLineBytes, redactor_);
    enc_.put_run(rec_);
    rec_.put(",\"problem\":{\"fails_run\":");
    rec_.put(fails_run ? "true" : "false");
    rec_.put('}');
    enc_.put_ci(rec_);
    LogEncoder::end(rec_);
    append();
  }

  // ------------------------------------------------------------------------------------------------
  // Verdicts after re-runs (owners of the exit code).

  void test_flaky(const FailedTest& t, const std::vector<AttemptOutcome>& attempts) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!verdict_given_.insert(t.key()).second) return;  // one verdict per test
    ++counts_.flaky;
    if (counts_.failed > 0) --counts_.failed;
    ++counts_.passed;
    flaky_keys_.push_back(t.key());
    write_verdict(t, attempts, true);
    append_error_lines(verdict_error_lines(t, attempts, true, escaped_of(t.key()), enc_.run(), ci_, context_));
  }

  void test_failed_every_attempt(const FailedTest& t, const std::vector<AttemptOutcome>& attempts) {
    if (!recording()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!verdict_given_.insert(t.key()).second) return;
    write_verdict(t, attempts, false);
    append_error_lines(verdict_error_lines(t, attempts, false, escaped_of(t.key()), enc_.run(), ci_, context_));
  }

  const EscapedException* escaped_of(const std::string& key) const {
    auto it = escaped_by_test_.find(key);
    return it == escaped_by_test_.end() ? nullptr : &it->second;
  }

  // Flaky within one repeated run: its verdict and flaky event now, never one per iteration, none from a
  // re-run or a wrapped binary (their owner decides).
  void repeat_flaky_verdict(const FailedTest& t, const RepeatFlake& flake) {
    flaky_keys_.push_back(t.key());
    verdict_given_.insert(t.key());
    if (child_) return;
    std::vector<AttemptOutcome> attempts = {{attempt_, Result::failed, false}};
    rec_.clear();
    encode_verdict(enc_, rec_, t, attempts, true, &flake);
    append();
    ErrorEvent e = error_event(ErrorKind::flaky, t, attempts, enc_.run(), ci_, context_.environment);
    e.context = context_;
    e.failed_iteration = flake.failed_iteration;
    e.passed_iteration = flake.passed_iteration;
    append_error_lines(sentry_line(e));
  }

  void write_verdict(const FailedTest& t, const std::vector<AttemptOutcome>& attempts, bool flaky) {
    rec_.clear();
    encode_verdict(enc_, rec_, t, attempts, flaky);
    append();
  }

  // ------------------------------------------------------------------------------------------------
  void run_finished() {
    if (!started_ || finished_ || !owns_process()) return;
    std::unique_lock<std::mutex> lock(mu_);
    double ms = static_cast<double>(mono_now_ns() - start_ns_) / 1e6;
    bool ok = passed_locked();
    rec_.clear();
    enc_.begin(rec_, ok ? "info" : "error", "run_finished");
    rec_.put('"');
    rec_.put(ok ? "PASSED " : "FAILED ");
    put_json_chars(rec_, enc_.run().binary, kMaxNameBytes);
    rec_.put(": ");
    rec_.put(counts_text());
    rec_.put(" (");
    rec_.put_ms(ms);
    rec_.put(" ms)\"");
    enc_.put_run(rec_);
    rec_.put(",\"summary\":{\"result\":\"");
    rec_.put(ok ? "passed" : "failed");
    rec_.put("\",\"total\":");
    rec_.put_uint(counts_.total);
    rec_.put(",\"passed\":");
    rec_.put_uint(counts_.passed);
    rec_.put(",\"failed\":");
    rec_.put_uint(counts_.failed);
    rec_.put(",\"skipped\":");
    rec_.put_uint(counts_.skipped);
    rec_.put(",\"disabled\":");
    rec_.put_uint(counts_.disabled);
    rec_.put(",\"flaky\":");
    rec_.put_uint(counts_.flaky);
    rec_.put(",\"crashed\":");
    rec_.put_uint(counts_.crashed);
    rec_.put(",\"fixture_failures\":");
    rec_.put_uint(counts_.fixture_failures);
    rec_.put(",\"duration_ms\":");
    rec_.put_ms(ms);
    rec_.put(",\"records\":");
    rec_.put_uint(enc_.records());
    rec_.put(",\"records_dropped\":");
    rec_.put_uint(counts_.records_dropped);
    rec_.put('}');
    enc_.put_ci(rec_);
    LogEncoder::end(rec_);
    append();
    write_heartbeat_decision(ok);
    lock.unlock();
    close_and_ship(counts_line(ok));
  }

  // The end of a run that did not reach run_finished (exit() in a test, a destroyed reporter).
  void end_early(const char* why) {
    if (!started_ || finished_) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (claim_crash_record()) {
        static char buf[kCrashRecordCapacity];
        std::size_t n = render_crash_into(buf, sizeof buf, 0);
        if (n > 0) {
          append_raw(buf, n);
          std::string err = crash_error_line(std::string_view(buf, n - 1), run_started_record_);
          if (!err.empty()) append_raw(err.data(), err.size());
        }
        ++counts_.crashed;
        finished_crash_ = true;
      }
      write_heartbeat_decision(false);
    }
    close_and_ship(std::string("bstest: the run ended early: ") + why);
  }

  // Ends the run: closes the journal, waits for (or does) the shipping, prints the one summary line:
  // `outcome` ("bstest: PASSED prog: 3 tests, 3 passed"), then what became of the records.
  void close_and_ship(const std::string& outcome) {
    finished_ = true;
    write_result_file();
    // The companion's drain deadline counts from this moment (CLOCK_MONOTONIC is shared by processes).
    Buf closed;
    closed.put("{\"local\":\"closed\",\"mono_ms\":");
    closed.put_int(mono_now_ns() / 1000000);
    closed.put("}\n");
    append_raw(closed.data(), closed.size());
    journal_.close();  // first: the crash handler still guards the ring while it is emptied
    uninstall_crash_handlers();
    bool any_channel = cfg_.logs.enabled() || cfg_.errors.enabled() || cfg_.heartbeat.enabled();
    if (child_) return;  // a wrapped binary or a re-run: whoever owns the suite ships and reports
    std::string shipping;  // without the "bstest: " of the shipper's own line
    if (companion_.running()) {
      std::string summary, problem;
      if (companion_.finish(cfg_.flush_timeout_ms, summary, problem) && !summary.empty()) {
        shipping = without_prefix(summary);
      } else {
        shipping = "not everything was sent within BSTEST_FLUSH_TIMEOUT_MS=" + std::to_string(cfg_.flush_timeout_ms) +
                   " ms; what was not sent is kept in " + cfg_.dir + " for `bstest flush`" +
                   (problem.empty() ? std::string() : " (" + problem + ")");
      }
    } else if (any_channel && !journal_failed_) {
      // No companion: ship now, in this process, within the deadline. The last test has run, so the
      // threads libcurl may start here (its resolver) cannot meet a death test's fork (docs/reliability.md).
      ShipOptions opt;
      opt.run_id = run_id_;
      opt.drain_deadline_ms = cfg_.flush_timeout_ms;
      ShipStats stats = ship(cfg_, opt);
      shipping = without_prefix(ship_summary_line(stats, cfg_));
      if (!companion_problem_.empty()) shipping += " [shipped at exit: " + companion_problem_ + "]";
    } else if (!journal_failed_) {
      bool bad_variable = std::any_of(cfg_.problems.begin(), cfg_.problems.end(),
                                      [](const std::string& p) { return p.rfind("BETTERSTACK_", 0) == 0; });
      shipping = std::to_string(enc_.records()) + " records kept in " + journal_dir(cfg_.dir) +
                 (bad_variable ? " (Better Stack is off: see the problem above); to send them, fix it"
                               : " (no Better Stack variables set); to send them, set BETTERSTACK_SOURCE_TOKEN and "
                                 "BETTERSTACK_INGEST_HOST") +
                 ", then run `bstest flush " + cfg_.dir + "`";
    }
    if (counts_.records_dropped > 0) {
      shipping += std::string(shipping.empty() ? "" : "; ") + std::to_string(counts_.records_dropped) +
                  (counts_.records_dropped == 1 ? " record" : " records") + " lost (the journal could not be written)";
    }
    if (cfg_.quiet && cfg_.problems.empty()) return;
    say(shipping.empty() ? outcome : outcome + "; " + shipping);
  }

  static std::string without_prefix(const std::string& line) {
    const std::string prefix = "bstest: ";
    return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : line;
  }

  // ------------------------------------------------------------------------------------------------
  // Reading

  const Counts& counts() const { return counts_; }
  const std::vector<FailedTest>& failed_tests() const { return failed_; }
  bool passed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return passed_locked();
  }
  bool passed_locked() const {
    bool flaky_fail = cfg_.flaky_fails && counts_.flaky > 0;
    return counts_.failed == 0 && counts_.crashed == 0 && counts_.fixture_failures == 0 && !run_failed_ && !flaky_fail;
  }
  const Config& config() const { return cfg_; }
  const std::string& run_id() const { return run_id_; }
  int attempt() const { return attempt_; }
  const std::string& framework() const { return enc_.run().framework; }
  const std::string& start_directory() const { return start_dir_; }
  bool owns_suite() const { return started_ && !child_; }
  bool has_random_seed() const { return enc_.run().has_random_seed; }
  std::uint64_t random_seed() const { return enc_.run().random_seed; }
  void set_rerun_owner(bool v) { rerun_owner_ = v; }
  bool active() const { return started_ && !journal_failed_ && cfg_.enabled; }

 private:
  std::string_view full_name_of(const TestInfo& t) {
    if (!t.full_name.empty()) return t.full_name;
    scratch_name_.assign(t.suite.data(), t.suite.size());
    if (!scratch_name_.empty()) scratch_name_ += '.';
    scratch_name_.append(t.name.data(), t.name.size());
    return scratch_name_;
  }

  void count(Result r) {
    ++counts_.total;
    switch (r) {
      case Result::passed: ++counts_.passed; break;
      case Result::failed: ++counts_.failed; break;
      case Result::skipped: ++counts_.skipped; break;
      case Result::disabled: ++counts_.disabled; break;
    }
  }

  FailedTest current_failed() const {
    FailedTest f = first_failure_;
    f.suite = suite_;
    f.name = name_;
    f.full_name = full_name_;
    f.file = file_;
    f.line = line_;
    f.iteration = iteration_;
    f.disabled = disabled_test_;
    f.tags = tags_in(tags_member(ident_.view()));
    return f;
  }

  void remember_failed() {
    if (!has_escaped_ && failed_.size() >= kMaxFailedTestsKept) return;
    FailedTest f = current_failed();
    if (has_escaped_) escaped_by_test_.emplace(f.key(), escaped_);
    if (failed_.size() < kMaxFailedTestsKept) failed_.push_back(std::move(f));
  }

  // A repeated run (--gtest_repeat) counts each test once, in its first iteration; a later iteration changes
  // the count only when the test turns failed (it was skipped before) or flaky (it passed in one iteration
  // and failed in another). Returns true when this test is flaky that way: it is not re-run, and its
  // verdict is written after this test_finished record (pending_repeat_flake_).
  bool track_repeat(Result r) {
    if (iteration_ == 0) {
      count(r);
      if (r == Result::failed) repeat_[full_name_].failed_iteration = 0;
      if (r == Result::skipped) skipped_first_.insert(full_name_);
      return false;
    }
    if (repeat_.empty() && skipped_first_.empty() && r != Result::failed) return false;
    auto it = repeat_.find(full_name_);
    if (it != repeat_.end() && it->second.flaky) return true;
    bool was_skipped = skipped_first_.count(full_name_) != 0;
    if (r == Result::failed) {
      if (it != repeat_.end()) return false;  // failed before too
      RepeatState& s = repeat_[full_name_];
      s.failed_iteration = iteration_;
      if (was_skipped) {  // skipped, now failed: failed until it passes
        skipped_first_.erase(full_name_);
        if (counts_.skipped > 0) --counts_.skipped;
        ++counts_.failed;
        return false;
      }
      // Passed in every earlier iteration: flaky (and still counted as passed).
      s.flaky = true;
      ++counts_.flaky;
      pending_repeat_flake_ = true;
      repeat_flake_ = {iteration_, 0};
      repeat_flake_test_ = current_failed();
      return true;
    }
    if (r == Result::passed && was_skipped && it == repeat_.end()) {
      skipped_first_.erase(full_name_);
      if (counts_.skipped > 0) --counts_.skipped;
      ++counts_.passed;
      return false;
    }
    if (r != Result::passed || it == repeat_.end()) return false;
    // Failed in an earlier iteration, passed now: flaky; it is no longer a failed test to re-run.
    it->second.flaky = true;
    ++counts_.flaky;
    if (counts_.failed > 0) --counts_.failed;
    ++counts_.passed;
    pending_repeat_flake_ = true;
    repeat_flake_ = {it->second.failed_iteration, iteration_};
    repeat_flake_test_ = current_failed();
    for (auto f = failed_.begin(); f != failed_.end();) {
      if (f->full_name != full_name_) {
        ++f;
        continue;
      }
      if (f->iteration == it->second.failed_iteration) repeat_flake_test_ = *f;
      f = failed_.erase(f);
    }
    return true;
  }

  // The end of a test_finished record: the first `failures` failures and `properties` properties (and how
  // many were left out), then the ci object.
  void put_finished_tail(std::size_t failures, std::size_t properties) {
    if (failure_count_ > 0) {
      rec_.put(",\"failures\":[", 13);
      rec_.put(failures_.view().substr(0, failures == 0 ? 0 : failure_ends_[failures - 1]));
      rec_.put(']');
      std::size_t omitted = failures_omitted_ + failure_ends_.size() - failures;
      if (omitted > 0) {
        rec_.put(",\"failures_omitted\":");
        rec_.put_uint(omitted);
      }
    }
    if (properties > 0) {
      rec_.put(",\"properties\":{");
      rec_.put(properties_.view().substr(0, property_ends_[properties - 1]));
      rec_.put('}');
    }
    std::size_t omitted = properties_omitted_ + property_ends_.size() - properties;
    if (omitted > 0) {
      rec_.put(",\"properties_omitted\":");
      rec_.put_uint(omitted);
    }
    rec_.put('}');
    enc_.put_ci(rec_);
    LogEncoder::end(rec_);
  }

  void put_outcome_message(Result r, double ms, std::string_view skip_reason) {
    rec_.put('"');
    switch (r) {
      case Result::passed: rec_.put("PASSED "); break;
      case Result::failed: rec_.put("FAILED "); break;
      case Result::skipped: rec_.put("SKIPPED "); break;
      case Result::disabled: rec_.put("DISABLED "); break;
    }
    rec_.put(std::string_view(ident_.data() + name_at_, name_len_));
    rec_.put(" (");
    rec_.put_ms(ms);
    rec_.put(" ms)");
    if (r == Result::failed && has_first_failure_) {
      rec_.put(": ");
      if (!first_failure_.first_failure_file.empty()) {
        put_json_chars(rec_, first_failure_.first_failure_file, kMaxSummaryLineBytes);
        if (first_failure_.first_failure_line >= 0) {
          rec_.put(':');
          rec_.put_int(first_failure_.first_failure_line);
        }
        rec_.put(": ");
      }
      put_json_chars(rec_, first_line(first_failure_.first_failure_message, kMaxSummaryLineBytes));
    } else if (r == Result::skipped && !skip_reason.empty()) {
      rec_.put(": ");
      put_json_chars(rec_, redacted_head(skip_reason, kMaxSummaryLineBytes, redactor_, true));
    }
    rec_.put('"');
  }

  void append_error_lines(const std::string& lines) {
    if (!lines.empty()) append_raw(lines.data(), lines.size());
  }

  void write_heartbeat_decision(bool ok) {
    // Only the suite's owner decides: not a wrapped binary or re-run child, not a shard.
    if (child_ || sharded_) return;
    if (!ok && !cfg_.heartbeat_on_failure) return;
    bool ran = any_test_ran(counts_);
    Buf b;
    b.put("{\"heartbeat\":{\"success\":");
    bool success = ok && ran;
    b.put(success ? "true" : "false");
    if (!success) {
      // The program's exit code when its owner told us (0 too: a run can fail with exit code 0 when no test
      // ran); -1 when unknown. The ping goes to /<code> for a non-zero code, /fail otherwise.
      b.put(",\"exit_code\":");
      b.put_int(exit_code_ >= 0 ? exit_code_ : -1);
      b.put(",\"body\":");
      // Cut to 10 kB once, when it is sent (heartbeat_request), on a character boundary.
      put_json_string(b, failure_report(ran), kMaxMessageBytes);
    }
    b.put("}}\n");
    append_raw(b.data(), b.size());
  }

  std::string failure_report(bool ran) const {
    std::string body = enc_.run().binary + ": " + counts_text() + "\n";
    if (!ran) body += "no test ran\n";
    for (const auto& f : fixture_failures_kept_) body += "outside any test: " + f + "\n";
    std::size_t shown = 0;
    for (const auto& f : failed_) {
      if (std::find(flaky_keys_.begin(), flaky_keys_.end(), f.key()) != flaky_keys_.end()) continue;
      if (++shown > 20) break;
      body += "FAILED " + f.full_name;
      if (!f.first_failure_file.empty()) body += " " + f.first_failure_file + ":" + std::to_string(f.first_failure_line);
      if (!f.first_failure_message.empty()) body += ": " + std::string(first_line(f.first_failure_message, 300));
      body += "\n";
      if (body.size() > 9000) break;
    }
    return body;
  }

  // For the process that re-runs us: each test's result, one JSON object per line.
  void write_result_file() {
    if (result_file_.empty()) return;
    int fd = ::open(result_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return;
    Buf b;
    for (const auto& r : results_) {
      b.put("{\"full_name\":");
      put_json_string(b, r.full_name);
      b.put(r.tags);
      b.put(",\"result\":\"");
      b.put(r.result);
      b.put("\"}\n");
    }
    if (in_test_.load() && finished_crash_) {
      b.put("{\"full_name\":");
      put_json_string(b, full_name_);
      b.put(tags_member(ident_.view()));
      b.put(",\"result\":\"crashed\"}\n");
    }
    ssize_t rc = ::write(fd, b.data(), b.size());
    (void)rc;
    ::close(fd);
  }

  std::string counts_text() const {
    std::string s = std::to_string(counts_.total) + (counts_.total == 1 ? " test" : " tests");
    auto part = [&](std::uint64_t n, const char* what) {
      if (n > 0) s += ", " + std::to_string(n) + " " + what;
    };
    part(counts_.passed, "passed");
    part(counts_.failed, "failed");
    part(counts_.flaky, "flaky");
    part(counts_.crashed, "crashed");
    part(counts_.skipped, "skipped");
    part(counts_.disabled, "disabled");
    if (counts_.fixture_failures > 0) {
      s += ", " + std::to_string(counts_.fixture_failures) + " failure" + (counts_.fixture_failures == 1 ? "" : "s") +
           " outside tests";
    }
    return s;
  }

  std::string counts_line(bool ok) const {
    return std::string("bstest: ") + (ok ? "PASSED " : "FAILED ") + enc_.run().binary + ": " + counts_text();
  }

  void append() { append_raw(rec_.data(), rec_.size()); }

  void append_raw(const char* data, std::size_t n) {
    if (journal_failed_ || !journal_.append(data, n)) {
      if (std::string_view(data, n).rfind("{\"id\":", 0) == 0) ++counts_.records_dropped;  // log records only
      if (!journal_failed_ && journal_.failed() && !warned_write_) {
        warned_write_ = true;
        say("bstest: cannot write to the journal (" + journal_.last_error() +
            "); later records of this run are lost. Free space in " + cfg_.dir + " or set BSTEST_DIR.");
      }
    } else if (!warned_ring_ && journal_.ring_failed()) {
      warned_ring_ = true;
      say("bstest: the file system refused a page of the journal's ring in " + cfg_.dir +
          " (out of space?); records are written to the journal file directly from now on.");
    }
  }

  // --- crash record, async-signal-safe -----------------------------------------------------------------

  static std::size_t render_crash(char* out, std::size_t cap, int signo) {
    SessionImpl* s = g_active.load();
    if (s == nullptr) return 0;
    return s->render_crash_into(out, cap, signo);
  }

  std::size_t render_crash_into(char* out, std::size_t cap, int signo) {
    std::size_t n = 0;
    bool ok = true;
    auto put = [&](const char* p, std::size_t len) {
      if (!ok || n + len > cap) {
        ok = false;
        return;
      }
      std::memcpy(out + n, p, len);
      n += len;
    };
    auto puts = [&](const char* p) { put(p, std::strlen(p)); };
    char num[24];
    puts("{\"id\":\"");
    put(enc_.id_prefix().data(), enc_.id_prefix().size());
    puts("-");
    put(num, format_uint(num, enc_.next_seq()));
    puts("\",\"dt\":\"");
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    char tsbuf[kTimestampLength];
    format_timestamp(tsbuf, ts.tv_sec, ts.tv_nsec / 1000);
    put(tsbuf, kTimestampLength);
    puts("\",\"level\":\"error\",\"event\":\"run_crashed\",\"message\":\"CRASHED");
    bool in_test = in_test_.load(std::memory_order_relaxed) && !updating_.load(std::memory_order_acquire);
    if (in_test) {
      puts(" ");
      put(ident_.data() + name_at_, name_len_);
    }
    puts(": ");
    puts(signo == 0 ? "exit() was called" : signal_name(signo));
    if (signo != 0) {
      puts(" (");
      puts(signal_description(signo));
      puts(")");
    }
    puts(in_test ? " while the test was running\"" : " outside any test\"");
    const std::string& run = enc_.run_fragment_view();
    put(run.data(), run.size());
    if (in_test) {
      puts(",\"test\":{");
      put(ident_.data(), ident_.size());
      puts(",\"result\":\"failed\"");
      // The failure a framework reported from its own signal handler (Catch2's fatal error), last.
      std::string_view last = signal_failure_set_.load(std::memory_order_acquire) ? signal_failure_.view() : "";
      if (!failure_ends_.empty() || !last.empty()) {
        // The failures that fit in a record (the crash object, with an uncaught exception's type and
        // what() when std::terminate ran, and the ci object follow), the others counted.
        const TerminateNote& pending = terminate_note();
        std::size_t used = n + 256 + enc_.ci_fragment_view().size();
        if (signo == SIGABRT && pending.set.load()) used += std::strlen(pending.type_json) + std::strlen(pending.what_json);
        if (used + last.size() + 1 > kMaxRecordBytes) last = {};
        used += last.size() + 1;
        std::size_t keep = fitting(failure_ends_, kMaxRecordBytes - std::min(kMaxRecordBytes, used));
        puts(",\"failures\":[");
        if (keep > 0) put(failures_.data(), failure_ends_[keep - 1]);
        if (keep > 0 && !last.empty()) puts(",");
        put(last.data(), last.size());
        puts("]");
        std::size_t omitted = failures_omitted_ + failure_ends_.size() - keep;
        if (omitted > 0) {
          puts(",\"failures_omitted\":");
          put(num, format_uint(num, omitted));
        }
      }
      puts("}");
    }
    puts(",\"crash\":{\"reason\":\"");
    puts(signo == 0 ? "exit" : "signal");
    puts("\",\"signal\":\"");
    puts(signal_name(signo));
    puts("\",\"signo\":");
    put(num, format_uint(num, static_cast<std::uint64_t>(signo)));
    const TerminateNote& note = terminate_note();
    if (ok && signo == SIGABRT && note.set.load()) {  // std::terminate with an exception nobody caught
      std::size_t before = n;
      puts(",\"exception\":{\"type\":\"");
      puts(note.type_json);
      puts("\",\"value\":\"");
      puts(note.what_json);
      puts("\"}");
      if (!ok) {
        ok = true;
        n = before;
      }
    }
    puts("}");
    const std::string& ci = enc_.ci_fragment_view();
    put(ci.data(), ci.size());
    puts("}\n");
    return ok ? n : 0;
  }

  // In the child of a fork(): it must not write into its parent's journal, and must not keep what tells
  // the shipper that the run is still going: the journal's lock and the companion's wake pipe (a child
  // that lingers, a daemon the test started, would keep the exit waiting for the whole flush time-out).
  // Only close() and munmap() here: the parent may have had threads.
  static void on_fork_child() {
    g_forked_child.store(true, std::memory_order_relaxed);
    if (SessionImpl* s = g_active.load(); s != nullptr) {
      s->journal_.abandon();
      s->companion_.abandon();
    }
  }

  static void on_exit() {
    SessionImpl* s = g_active.load();
    if (s == nullptr || !s->started_ || s->finished_ || g_forked_child.load() || ::getpid() != s->pid_) return;
    s->end_early("exit() was called before the run finished");
  }

 public:
  static std::atomic<SessionImpl*> g_active;
  int exit_code_ = -1;

 private:
  Config cfg_;
  mutable std::mutex mu_;
  pid_t created_pid_ = 0;
  pid_t pid_ = 0;
  bool started_ = false;
  bool finished_ = false;
  bool child_ = false;
  bool sharded_ = false;
  bool rerun_owner_ = false;
  bool journal_failed_ = false;
  bool warned_write_ = false;
  // A failure reported from inside a signal handler, encoded into space reserved at run start.
  static constexpr std::size_t kSignalFailureBytes = 64u << 10;
  Buf signal_failure_;
  std::unique_ptr<char[]> signal_scratch_;
  std::atomic<bool> signal_failure_set_{false};
  bool warned_ring_ = false;
  bool run_failed_ = false;
  int attempt_ = 1;
  int iteration_ = 0;
  std::int64_t start_ns_ = 0;
  std::string run_id_;
  std::string journal_id_;
  std::string exe_;
  std::string start_dir_;  // the working directory at run start
  std::string companion_problem_;
  std::string result_file_;
  // For the result file of a re-run: each test's full name, tags member (`,"tags":[...]` or "") and result.
  struct TestResult {
    std::string full_name;
    std::string tags;
    std::string_view result;
  };
  std::vector<TestResult> results_;
  bool finished_crash_ = false;
  CiInfo ci_;
  JournalWriter journal_;
  LogEncoder enc_;
  Redactor redactor_;
  Companion companion_;
  Buf rec_{4096};

  // The running test.
  std::atomic<bool> in_test_{false};
  std::atomic<bool> updating_{false};
  Buf ident_{1024};
  std::size_t name_at_ = 0;
  std::size_t name_len_ = 0;
  std::string suite_, name_, full_name_, file_, scratch_name_;
  int line_ = 0;
  bool disabled_test_ = false;
  std::int64_t test_start_ns_ = 0;
  Buf failures_;
  std::vector<std::size_t> failure_ends_;  // where each failure in failures_ ends
  std::size_t failure_count_ = 0;
  std::size_t failures_omitted_ = 0;
  bool has_first_failure_ = false;
  FailedTest first_failure_;
  bool has_escaped_ = false;
  EscapedException escaped_;
  Buf properties_;
  std::vector<std::size_t> property_ends_;
  std::size_t properties_omitted_ = 0;

  Counts counts_;
  std::vector<FailedTest> failed_;
  std::vector<std::string> flaky_keys_;  // FailedTest::key() of the flaky tests
  std::vector<std::string> fixture_failures_kept_;
  std::unordered_map<std::string, EscapedException> escaped_by_test_;  // failed tests an exception escaped
  std::unordered_set<std::string> exception_reported_;
  std::unordered_set<std::string> verdict_given_;
  EventContext context_;
  std::string run_started_record_;
  // --gtest_repeat: tests that failed in some iteration, and tests skipped in the first.
  struct RepeatState {
    int failed_iteration = 0;
    bool flaky = false;
  };
  std::unordered_map<std::string, RepeatState> repeat_;
  std::unordered_set<std::string> skipped_first_;
  bool pending_repeat_flake_ = false;
  RepeatFlake repeat_flake_;
  FailedTest repeat_flake_test_;
};

std::atomic<SessionImpl*> SessionImpl::g_active{nullptr};

}  // namespace detail

// -----------------------------------------------------------------------------------------------------
// The public face: every call is noexcept and guarded.

#define BSTEST_GUARD(body) \
  try {                    \
    body;                  \
  } catch (...) {          \
  }

Session::Session(Config config) : impl_(std::make_unique<detail::SessionImpl>(std::move(config))) {}
Session::~Session() = default;

void Session::run_started(const RunInfo& run) noexcept { BSTEST_GUARD(impl_->run_started(run)) }
void Session::iteration_started(int i, bool has_seed, std::uint64_t seed) noexcept {
  BSTEST_GUARD(impl_->iteration_started(i, has_seed, seed))
}
void Session::test_started(const TestInfo& t) noexcept { BSTEST_GUARD(impl_->test_started(t)) }
void Session::failure(const Failure& f) noexcept { BSTEST_GUARD(impl_->failure(f)) }
void Session::property(std::string_view k, std::string_view v) noexcept { BSTEST_GUARD(impl_->property(k, v)) }
void Session::test_finished(const TestEnd& e) noexcept { BSTEST_GUARD(impl_->test_finished(e)) }
void Session::test_not_run(const TestInfo& t, Result r, std::string_view reason) noexcept {
  BSTEST_GUARD(impl_->test_not_run(t, r, reason))
}
void Session::fixture_failure(FixturePhase p, std::string_view scope, const Failure& f) noexcept {
  BSTEST_GUARD(impl_->fixture_failure(p, scope, f))
}
void Session::run_problem(std::string_view message, bool fails_run) noexcept {
  BSTEST_GUARD(impl_->run_problem(message, fails_run))
}
void Session::test_flaky(const FailedTest& t, const std::vector<AttemptOutcome>& a) noexcept {
  BSTEST_GUARD(impl_->test_flaky(t, a))
}
void Session::test_failed_every_attempt(const FailedTest& t, const std::vector<AttemptOutcome>& a) noexcept {
  BSTEST_GUARD(impl_->test_failed_every_attempt(t, a))
}
void Session::set_rerun_owner(bool owner) noexcept { impl_->set_rerun_owner(owner); }
void Session::set_exit_code(int code) noexcept { impl_->exit_code_ = code; }
void Session::run_finished() noexcept { BSTEST_GUARD(impl_->run_finished()) }

bool Session::active() const noexcept { return impl_->active(); }
bool Session::in_owner_process() const noexcept { return impl_->owns_process(); }
const Counts& Session::counts() const noexcept { return impl_->counts(); }
const std::vector<FailedTest>& Session::failed_tests() const noexcept { return impl_->failed_tests(); }
bool Session::passed() const noexcept {
  try {
    return impl_->passed();
  } catch (...) {
    return false;
  }
}
const Config& Session::config() const noexcept { return impl_->config(); }
const std::string& Session::run_id() const noexcept { return impl_->run_id(); }
int Session::attempt() const noexcept { return impl_->attempt(); }
const std::string& Session::framework() const noexcept { return impl_->framework(); }
const std::string& Session::start_directory() const noexcept { return impl_->start_directory(); }
bool Session::owns_suite() const noexcept { return impl_->owns_suite(); }
bool Session::has_random_seed() const noexcept { return impl_->has_random_seed(); }
std::uint64_t Session::random_seed() const noexcept { return impl_->random_seed(); }

}  // namespace bstest
