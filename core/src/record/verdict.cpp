#include "record/verdict.hpp"

#include "journal/crash_handler.hpp"
#include "run/exception_capture.hpp"

namespace bstest::detail {

namespace {

std::string_view attempt_result(const AttemptOutcome& a) {
  if (a.timed_out) return "timed_out";
  return a.crashed ? std::string_view("crashed") : to_string(a.result);
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

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

void encode_verdict(LogEncoder& enc, Buf& out, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                    bool flaky, const RepeatFlake* repeat) {
  enc.begin(out, flaky ? "warn" : "error", flaky ? "test_flaky" : "test_failed");
  out.put('"');
  out.put(flaky ? "FLAKY " : "FAILED ");
  put_json_chars(out, t.full_name, kMaxNameBytes);
  int passed_at = 0;
  for (const auto& a : attempts) {
    if (a.result == Result::passed && !a.crashed && passed_at == 0) passed_at = a.attempt;
  }
  if (repeat != nullptr) {
    out.put(" (failed in iteration ");
    out.put_int(repeat->failed_iteration);
    out.put(", passed in iteration ");
    out.put_int(repeat->passed_iteration);
    out.put(" of --gtest_repeat)");
  } else {
    out.put(flaky ? " (failed, then passed on attempt " : " (failed all ");
    out.put_int(flaky ? passed_at : static_cast<int>(attempts.size()));
    out.put(flaky ? ")" : " attempts)");
  }
  if (!t.first_failure_message.empty()) {
    out.put(": ");
    if (!t.first_failure_file.empty()) {
      put_json_chars(out, t.first_failure_file, kMaxNameBytes);
      out.put(':');
      out.put_int(t.first_failure_line);
      out.put(": ");
    }
    put_json_chars(out, first_line(t.first_failure_message, kMaxSummaryLineBytes));
  }
  out.put('"');
  enc.put_run(out);
  out.put(",\"test\":{\"suite\":");
  put_json_string(out, t.suite, kMaxNameBytes);
  out.put(",\"name\":");
  put_json_string(out, t.name, kMaxNameBytes);
  out.put(",\"full_name\":");
  put_json_string(out, t.full_name, kMaxNameBytes);
  if (!t.file.empty()) {
    out.put(",\"file\":");
    put_json_string(out, t.file, kMaxNameBytes);
    out.put(",\"line\":");
    out.put_int(t.line);
  }
  if (!t.tags.empty()) {  // Catch2: test cases of the same name are told apart by their tags
    out.put(",\"tags\":[");
    for (std::size_t i = 0; i < t.tags.size(); ++i) {
      if (i) out.put(',');
      put_json_string(out, t.tags[i], kMaxNameBytes);
    }
    out.put(']');
  }
  out.put(",\"result\":\"");
  out.put(flaky ? "flaky" : "failed");
  out.put("\",\"attempts\":[");
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    if (i) out.put(',');
    out.put("{\"attempt\":");
    out.put_int(attempts[i].attempt);
    out.put(",\"result\":\"");
    out.put(attempt_result(attempts[i]));
    out.put('"');
    if (attempts[i].signal > 0) {
      out.put(",\"signal\":\"");
      out.put(signal_name(attempts[i].signal));
      out.put('"');
    }
    out.put('}');
  }
  out.put("]");
  if (repeat != nullptr) {
    out.put(",\"repeat\":{\"failed_iteration\":");
    out.put_int(repeat->failed_iteration);
    out.put(",\"passed_iteration\":");
    out.put_int(repeat->passed_iteration);
    out.put('}');
  }
  if (!t.first_failure_message.empty()) {
    out.put(",\"failures\":[{");
    if (!t.first_failure_file.empty()) {
      out.put("\"file\":");
      put_json_string(out, t.first_failure_file, kMaxNameBytes);
      out.put(",\"line\":");
      out.put_int(t.first_failure_line);
      out.put(',');
    }
    out.put("\"message\":");
    put_json_string(out, t.first_failure_message, kMaxMessageBytes);
    out.put("}]");
  }
  out.put('}');
  enc.put_ci(out);
  LogEncoder::end(out);
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
    f.package = base_name(c.object);
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

}  // namespace bstest::detail
