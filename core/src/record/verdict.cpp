#include "record/verdict.hpp"

namespace bstest::detail {

void encode_verdict(LogEncoder& enc, Buf& out, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                    bool flaky) {
  enc.begin(out, flaky ? "warn" : "error", flaky ? "test_flaky" : "test_failed");
  out.put('"');
  out.put(flaky ? "FLAKY " : "FAILED ");
  put_json_chars(out, t.full_name, kMaxNameBytes);
  int passed_at = 0;
  for (const auto& a : attempts) {
    if (a.result == Result::passed && !a.crashed && passed_at == 0) passed_at = a.attempt;
  }
  out.put(flaky ? " (failed, then passed on attempt " : " (failed all ");
  out.put_int(flaky ? passed_at : static_cast<int>(attempts.size()));
  out.put(flaky ? ")" : " attempts)");
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
  out.put(",\"result\":\"");
  out.put(flaky ? "flaky" : "failed");
  out.put("\",\"attempts\":[");
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    if (i) out.put(',');
    out.put("{\"attempt\":");
    out.put_int(attempts[i].attempt);
    out.put(",\"result\":\"");
    out.put(attempts[i].crashed ? std::string_view("crashed") : to_string(attempts[i].result));
    out.put("\"}");
  }
  out.put("]");
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
  for (const auto& a : attempts) {
    e.attempts.push_back(std::to_string(a.attempt) + ":" + (a.crashed ? std::string("crashed") : std::string(to_string(a.result))));
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

}  // namespace bstest::detail
