#include "record/test_events.hpp"

#include "record/log_records.hpp"
#include "record/record_reader.hpp"

#include "base/strings.hpp"
#include "journal/crash_handler.hpp"
#include "run/exception_capture.hpp"

namespace bstest::detail {

std::string exception_value(std::string_view m) {
  constexpr std::string_view kGtest = "C++ exception with description \"";
  if (starts_with(m, kGtest)) {
    std::string_view rest = m.substr(kGtest.size());
    auto end = rest.rfind("\" thrown in ");
    return std::string(end == std::string_view::npos ? rest : rest.substr(0, end));
  }
  constexpr std::string_view kCatch2 = "unexpected exception with message: ";
  auto at = m.find(kCatch2);
  if (at != std::string_view::npos) return std::string(m.substr(at + kCatch2.size()));
  return {};
}

ErrorEvent error_event(ErrorKind kind, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                       const RunMeta& run, const CiInfo& ci, const std::string& environment) {
  ErrorEvent e;
  e.kind = kind;
  e.framework = run.framework;
  e.binary = run.binary;
  e.suite = t.suite;
  e.name = t.name;
  e.full_name = t.full_name;
  e.file = t.file;
  e.line = t.line;
  e.quarantined = t.quarantined();
  e.failure_file = t.first_failure_file;
  e.failure_line = t.first_failure_line;
  e.failure_message = t.first_failure_message;
  e.exception_type = t.exception_type;
  if (kind == ErrorKind::exception) e.exception_value = exception_value(t.first_failure_message);
  for (const auto& a : attempts) {
    e.attempts.push_back(std::to_string(a.attempt) + ":" + std::string(attempt_result(a)));
    if (a.result != Result::passed || a.crashed) e.failed_attempts.push_back(a.attempt);
  }
  e.run_id = run.run_id;
  e.run_url = ci.run_url;
  e.release = ci.commit;
  e.environment = environment;
  e.server_name = run.host;
  e.ci_provider = ci.provider;
  e.branch = ci.branch;
  e.shard_index = run.shard_index;
  e.shard_total = run.shard_total;
  return e;
}

ErrorEvent exception_event(const FailedTest& t, const EscapedException* escaped,
                           const std::vector<AttemptOutcome>& attempts, const RunMeta& run, const CiInfo& ci,
                           const EventContext& context) {
  ErrorEvent e = error_event(ErrorKind::exception, t, attempts, run, ci, context.environment);
  e.context = context;
  if (escaped == nullptr) return e;
  if (!escaped->type.empty()) e.exception_type = escaped->type;
  e.exception_value = exception_value(escaped->message);
  if (e.exception_value.empty()) e.exception_value = escaped->message;
  e.failure_file = escaped->file;
  e.failure_line = escaped->line;
  e.failure_message = escaped->message;
  if (escaped->throw_site != nullptr) {
    CodeFrame c = resolve_address(escaped->throw_site);
    EventFrame f;
    f.function = c.function.empty() ? "<throw>" : c.function;
    f.package = std::string(base_name(c.object));
    f.instruction_addr = c.address;
    f.image_addr = c.object_base;
    // Code of the test program itself is the user's; a throw inside a library (libstdc++'s
    // std::__throw_out_of_range, say) is not.
    f.in_app = c.object.empty() || base_name(c.object) == run.binary;
    e.frames.push_back(std::move(f));
  }
  return e;
}

std::string verdict_error_lines(const FailedTest& t, const std::vector<AttemptOutcome>& attempts, bool flaky,
                                const EscapedException* escaped, const RunMeta& run, const CiInfo& ci,
                                const EventContext& context) {
  std::string lines;
  if (flaky) {
    ErrorEvent e = error_event(ErrorKind::flaky, t, attempts, run, ci, context.environment);
    e.context = context;
    lines += sentry_line(e);
  } else if (escaped != nullptr || !t.exception_type.empty()) {
    lines += sentry_line(exception_event(t, escaped, attempts, run, ci, context));
  }
  for (const auto& a : attempts) {
    if (!a.crashed) continue;
    ErrorEvent e = error_event(ErrorKind::crash, t, attempts, run, ci, context.environment);
    e.context = context;
    e.crash_attempt = a.attempt;
    e.signo = a.signal;
    e.signal = a.signal > 0 ? signal_name(a.signal) : "exit";
    e.crash_reason = a.timed_out ? "timeout" : a.signal > 0 ? "signal" : "exit";
    e.exception_type.clear();
    lines += sentry_line(e);
    break;  // one crash event per test, whichever attempts crashed
  }
  return lines;
}

namespace {

// The contexts every event repeats, from the "context" member of a program's run_started record.
EventContext context_of(const Record& started) {
  EventContext c;
  JsonView ctx = started.get("context");
  c.environment = ctx.str("environment");
  c.os_name = ctx.str("os.name");
  c.os_version = ctx.str("os.version");
  c.runtime_name = ctx.str("runtime.name");
  c.runtime_version = ctx.str("runtime.version");
  c.runtime_description = ctx.str("runtime.raw_description");
  c.arch = ctx.str("device.arch");
  return c;
}

}  // namespace

std::string crash_error_line(std::string_view crash_record, std::string_view run_started_record) {
  Record d(crash_record);
  if (!d.ok()) return {};
  JsonView run = d.get("run");
  JsonView test = d.get("test");
  JsonView crash = d.get("crash");
  JsonView ci = d.get("ci");
  // A re-run's crash is one attempt of a test whose verdict (and its one crash event) is its owner's.
  if (run.int32("attempt", 1) > 1) return {};
  ErrorEvent e;
  e.kind = ErrorKind::crash;
  e.framework = run.str("framework");
  e.binary = run.str("binary");
  e.server_name = run.str("host");
  e.run_id = run.str("id");
  e.shard_index = run.int32("shard_index", -1);
  e.shard_total = run.int32("shard_total", 0);
  e.suite = test.str("suite");
  e.name = test.str("name");
  e.full_name = test.str("full_name");
  e.file = test.str("file");
  e.line = test.int32("line", 0);
  e.quarantined = test.get("quarantine").exists();
  if (JsonView f = test.get("failures")[0]; f.exists()) {
    e.failure_file = f.str("file");
    e.failure_line = f.int32("line", -1);
    e.failure_message = f.str("message");
  }
  e.signal = crash.str("signal");
  e.signo = crash.int32("signo", 0);
  e.crash_reason = crash.str("reason");
  e.exception_type = crash.str("exception.type");
  e.exception_value = crash.str("exception.value");
  e.release = ci.str("commit");
  e.run_url = ci.str("run_url");
  e.ci_provider = ci.str("provider");
  e.branch = ci.str("branch");
  e.timestamp = d.str("dt");
  if (!run_started_record.empty()) e.context = context_of(Record(run_started_record));
  e.environment = e.context.environment.empty() ? default_environment() : e.context.environment;
  return sentry_line(e);
}

}  // namespace bstest::detail
