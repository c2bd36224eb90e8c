#include "record/test_events.hpp"

#include "record/log_records.hpp"

#include "base/strings.hpp"
#include "journal/crash_handler.hpp"
#include "run/exception_capture.hpp"

#include <rapidjson/document.h>

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
std::string str(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}
int num(const rapidjson::Value& obj, const char* key, int fallback) {
  if (!obj.IsObject()) return fallback;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsInt()) return fallback;
  return it->value.GetInt();
}

EventContext context_of(const rapidjson::Value& started) {
  EventContext c;
  if (!started.IsObject() || !started.HasMember("context")) return c;
  const rapidjson::Value& ctx = started["context"];
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  auto obj = [&](const char* key) -> const rapidjson::Value& {
    return ctx.IsObject() && ctx.HasMember(key) ? ctx[key] : kEmpty;
  };
  c.environment = str(ctx, "environment");
  c.os_name = str(obj("os"), "name");
  c.os_version = str(obj("os"), "version");
  c.runtime_name = str(obj("runtime"), "name");
  c.runtime_version = str(obj("runtime"), "version");
  c.runtime_description = str(obj("runtime"), "raw_description");
  c.arch = str(obj("device"), "arch");
  return c;
}

}  // namespace

std::string crash_error_line(std::string_view crash_record, std::string_view run_started_record) {
  rapidjson::Document d;
  // No recursion: deep nesting cannot overflow the stack.
  d.Parse<rapidjson::kParseIterativeFlag>(crash_record.data(), crash_record.size());
  if (d.HasParseError() || !d.IsObject()) return {};
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  const rapidjson::Value& run = d.HasMember("run") ? d["run"] : kEmpty;
  const rapidjson::Value& test = d.HasMember("test") ? d["test"] : kEmpty;
  const rapidjson::Value& crash = d.HasMember("crash") ? d["crash"] : kEmpty;
  const rapidjson::Value& ci = d.HasMember("ci") ? d["ci"] : kEmpty;
  // A re-run's crash is one attempt of a test whose verdict (and its one crash event) is its owner's.
  if (num(run, "attempt", 1) > 1) return {};
  ErrorEvent e;
  e.kind = ErrorKind::crash;
  e.framework = str(run, "framework");
  e.binary = str(run, "binary");
  e.server_name = str(run, "host");
  e.run_id = str(run, "id");
  e.shard_index = num(run, "shard_index", -1);
  e.shard_total = num(run, "shard_total", 0);
  e.suite = str(test, "suite");
  e.name = str(test, "name");
  e.full_name = str(test, "full_name");
  e.file = str(test, "file");
  e.line = num(test, "line", 0);
  e.quarantined = test.IsObject() && test.HasMember("quarantine");
  if (test.IsObject() && test.HasMember("failures") && test["failures"].IsArray() && !test["failures"].Empty()) {
    const auto& f = test["failures"][0];
    e.failure_file = str(f, "file");
    e.failure_line = num(f, "line", -1);
    e.failure_message = str(f, "message");
  }
  e.signal = str(crash, "signal");
  e.signo = num(crash, "signo", 0);
  e.crash_reason = str(crash, "reason");
  if (crash.IsObject() && crash.HasMember("exception")) {
    e.exception_type = str(crash["exception"], "type");
    e.exception_value = str(crash["exception"], "value");
  }
  e.release = str(ci, "commit");
  e.run_url = str(ci, "run_url");
  e.ci_provider = str(ci, "provider");
  e.branch = str(ci, "branch");
  e.timestamp = str(d, "dt");
  if (!run_started_record.empty()) {
    rapidjson::Document started;
    started.Parse<rapidjson::kParseIterativeFlag>(run_started_record.data(), run_started_record.size());
    if (!started.HasParseError()) e.context = context_of(started);
  }
  e.environment = e.context.environment.empty() ? default_environment() : e.context.environment;
  return sentry_line(e);
}

}  // namespace bstest::detail
