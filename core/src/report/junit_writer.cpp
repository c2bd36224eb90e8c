// JUnit XML as CI tools read it: the Ant/Jenkins elements (testsuites, testsuite, properties, testcase,
// failure, error, skipped) and Maven Surefire's re-run elements (flakyFailure, rerunFailure, each with a
// stackTrace). docs/junit.xsd holds exactly what is written here.
#include "report/text.hpp"
#include "report/writers.hpp"

#include <map>

namespace bstest::report {

namespace {

constexpr std::size_t kMessageAttributeBytes = 500;
constexpr std::size_t kElementTextBytes = 64u << 10;

void attr(std::string& out, const char* name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  put_xml(out, value, true);
  out += '"';
}

void attr(std::string& out, const char* name, std::uint64_t value) { attr(out, name, std::to_string(value)); }

// "2026-12-06T14:21:54" from "2026-12-06T14:21:54.228368Z": the form the Ant schema's timestamp takes (UTC).
std::string timestamp(const std::string& dt) { return dt.size() >= 19 ? dt.substr(0, 19) : std::string(); }

std::string failure_text(const std::vector<Failure>& failures) {
  std::string text;
  for (const auto& f : failures) {
    if (!text.empty()) text += "\n\n";
    std::string at = where(f.file, f.line);
    if (!at.empty()) text += at + "\n";
    if (!f.exception_type.empty()) text += "exception " + f.exception_type + "\n";
    text += f.message;
  }
  return capped(text, kElementTextBytes);
}

std::string headline(const std::vector<Failure>& failures, const std::string& fallback) {
  if (failures.empty()) return fallback;
  const Failure& f = failures.front();
  std::string at = where(f.file, f.line);
  return first_line((at.empty() ? std::string() : at + ": ") + first_line(f.message, kMessageAttributeBytes),
                    kMessageAttributeBytes);
}

std::string kind_of(const std::vector<Failure>& failures) {
  if (failures.empty()) return "failure";
  const Failure& f = failures.front();
  return !f.exception_type.empty() ? f.exception_type : f.kind.empty() ? std::string("assertion") : f.kind;
}

// <flakyFailure>, <rerunFailure>: message and type, the failure text in <stackTrace>.
void rerun_element(std::string& out, const char* element, const Attempt& a) {
  std::string how = a.result == "failed" ? std::string() : a.result + (a.signal.empty() ? "" : " (" + a.signal + ")");
  out += "      <";
  out += element;
  attr(out, "message", "attempt " + std::to_string(a.attempt) + ": " +
                           headline(a.failures, how.empty() ? std::string("failed") : how));
  attr(out, "type", a.failures.empty() && !how.empty() ? how : kind_of(a.failures));
  out += "><stackTrace>";
  put_xml(out, failure_text(a.failures), false);
  out += "</stackTrace></";
  out += element;
  out += ">\n";
}

void properties(std::string& out, const TestCase& t) {
  std::vector<std::pair<std::string, std::string>> props = t.properties;
  if (!t.tags.empty()) {
    std::string tags;
    for (const auto& tag : t.tags) tags += "[" + tag + "]";
    props.emplace_back("tags", tags);
  }
  if (!t.type_param.empty()) props.emplace_back("type_param", t.type_param);
  if (!t.value_param.empty()) props.emplace_back("value_param", t.value_param);
  if (!t.note.empty()) props.emplace_back("bstest.note", t.note);
  if (!t.quarantine_until.empty()) props.emplace_back("bstest.quarantine", quarantine_line(t));
  if (props.empty()) return;
  out += "      <properties>\n";
  for (const auto& [k, v] : props) {
    out += "        <property";
    attr(out, "name", k);
    attr(out, "value", v);
    out += "/>\n";
  }
  out += "      </properties>\n";
}

void testcase(std::string& out, const TestCase& t, const std::string& classname, const Program& p) {
  out += "    <testcase";
  const std::string& name = t.name.empty() ? t.full_name : t.name;
  attr(out, "name", name.empty() ? std::string("(unnamed)") : name);
  attr(out, "classname", classname);
  attr(out, "time", seconds(t.duration_ms));
  if (!t.file.empty()) attr(out, "file", t.file);
  if (t.line > 0) attr(out, "line", std::to_string(t.line));
  out += ">\n";
  properties(out, t);
  switch (t.verdict) {
    case Verdict::passed: break;
    case Verdict::skipped:
    case Verdict::disabled:
      out += "      <skipped";
      attr(out, "message", (t.verdict == Verdict::disabled ? "disabled: " : "") + t.skip_reason);
      out += "/>\n";
      break;
    case Verdict::failed:
      out += "      <failure";
      attr(out, "message", headline(t.failures, "failed"));
      attr(out, "type", kind_of(t.failures));
      out += ">";
      put_xml(out, failure_text(t.failures), false);
      out += "</failure>\n";
      for (const auto& a : t.attempts) {
        if (a.attempt > 1) rerun_element(out, "rerunFailure", a);
      }
      break;
    case Verdict::flaky:
      for (const auto& a : t.attempts) {
        if (a.result != "passed") rerun_element(out, "flakyFailure", a);
      }
      if (t.attempts.empty()) rerun_element(out, "flakyFailure", {1, "failed", {}, t.duration_ms, t.failures});
      break;
    case Verdict::crashed: {
      std::string msg = "crashed (" + t.crash + ") while the test was running";
      std::string text = failure_text(t.failures);
      if (!p.crash_exception.empty()) text = "uncaught exception " + p.crash_exception + (text.empty() ? "" : "\n\n" + text);
      out += "      <error";
      attr(out, "message", msg);
      attr(out, "type", t.crash);
      out += ">";
      put_xml(out, text.empty() ? p.crash_message : text, false);
      out += "</error>\n";
      break;
    }
  }
  out += "    </testcase>\n";
}

// A failure that belongs to no test (a set-up, a crash after the tests): a testcase of its own, so that
// every CI tool shows it.
void outside_case(std::string& out, const std::string& name, const std::string& classname, const char* element,
                  const std::string& type, const std::string& message, const std::string& text) {
  out += "    <testcase";
  attr(out, "name", name);
  attr(out, "classname", classname);
  attr(out, "time", "0.000");
  out += ">\n      <";
  out += element;
  attr(out, "message", first_line(message, kMessageAttributeBytes));
  attr(out, "type", type);
  out += ">";
  put_xml(out, capped(text, kElementTextBytes), false);
  out += "</";
  out += element;
  out += ">\n    </testcase>\n";
}

struct Tally {
  std::uint64_t tests = 0, failures = 0, errors = 0, skipped = 0, disabled = 0;
  double ms = 0;
  void add(Verdict v, double duration_ms) {
    ++tests;
    ms += duration_ms;
    failures += v == Verdict::failed ? 1 : 0;
    errors += v == Verdict::crashed ? 1 : 0;
    skipped += v == Verdict::skipped || v == Verdict::disabled ? 1 : 0;
    disabled += v == Verdict::disabled ? 1 : 0;
  }
};

void suite_open(std::string& out, const std::string& name, const Tally& n, const Program& p, const RunReport& r) {
  out += "  <testsuite";
  attr(out, "name", name);
  attr(out, "tests", n.tests);
  attr(out, "failures", n.failures);
  attr(out, "errors", n.errors);
  attr(out, "skipped", n.skipped);
  attr(out, "disabled", n.disabled);
  attr(out, "time", seconds(n.ms));
  if (std::string ts = timestamp(p.started_at); !ts.empty()) attr(out, "timestamp", ts);
  if (!p.host.empty()) attr(out, "hostname", p.host);
  out += ">\n    <properties>\n";
  std::vector<std::pair<const char*, std::string>> props = {
      {"bstest.run_id", r.run_id}, {"bstest.program", p.binary}, {"bstest.framework", p.framework},
      {"bstest.framework_version", p.framework_version}, {"bstest.pid", std::to_string(p.pid)},
      {"ci.provider", r.ci.provider}, {"ci.run_url", r.ci.run_url}, {"ci.commit", r.ci.commit},
      {"ci.branch", r.ci.branch}, {"bstest.link", r.link}};
  for (const auto& [k, v] : props) {
    if (v.empty()) continue;
    out += "      <property";
    attr(out, "name", k);
    attr(out, "value", v);
    out += "/>\n";
  }
  out += "    </properties>\n";
}

void program(std::string& out, const Program& p, const RunReport& r) {
  const std::string program_name = p.binary.empty() ? std::string("(program)") : p.binary;
  // The program's tests by suite, in the order the suites first ran.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const TestCase*>> by_suite;
  for (const auto& t : p.tests) {
    auto& v = by_suite[t.suite];
    if (v.empty()) order.push_back(t.suite);
    v.push_back(&t);
  }
  for (const auto& suite : order) {
    std::string classname = suite.empty() ? program_name : program_name + "." + suite;
    Tally n;
    for (const TestCase* t : by_suite[suite]) n.add(t->verdict, t->duration_ms);
    suite_open(out, classname, n, p, r);
    for (const TestCase* t : by_suite[suite]) testcase(out, *t, classname, p);
    out += "  </testsuite>\n";
  }
  bool lone_crash = p.crashed && p.crashed_test.empty();
  if (p.outside.empty() && !lone_crash) return;
  Tally n;
  for (std::size_t i = 0; i < p.outside.size(); ++i) n.add(Verdict::failed, 0);
  if (lone_crash) n.add(Verdict::crashed, 0);
  suite_open(out, program_name, n, p, r);
  for (const auto& o : p.outside) {
    std::string text = failure_text({o.failure});
    outside_case(out, "(" + o.where + ")", program_name, "failure", o.failure.kind.empty() ? "failure" : o.failure.kind,
                 "failed outside any test (" + o.where + "): " + first_line(o.failure.message, 300), text);
  }
  if (lone_crash) {
    std::string how = p.crash_signal.empty() ? p.crash_reason : p.crash_signal;
    std::string text = p.crash_message + (p.crash_exception.empty() ? "" : "\nuncaught exception " + p.crash_exception);
    outside_case(out, "(program crashed)", program_name, "error", how.empty() ? "crash" : how,
                 p.crash_message.empty() ? "the program ended without finishing its run" : p.crash_message, text);
  }
  out += "  </testsuite>\n";
}

}  // namespace

std::string junit_xml(const RunReport& r) {
  std::string out;
  out.reserve(256 + r.counts.total * 200);
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites";
  std::uint64_t lone_crashes = 0;
  for (const auto& p : r.programs) lone_crashes += p.crashed && p.crashed_test.empty() ? 1 : 0;
  attr(out, "name", "bstest " + r.run_id);
  attr(out, "tests", r.counts.total + r.counts.outside_failures + lone_crashes);
  attr(out, "failures", r.counts.failed + r.counts.outside_failures);
  attr(out, "errors", r.counts.crashed + lone_crashes);
  attr(out, "skipped", r.counts.skipped + r.counts.disabled);
  attr(out, "disabled", r.counts.disabled);
  attr(out, "time", seconds(r.duration_ms));
  if (std::string ts = timestamp(r.started_at); !ts.empty()) attr(out, "timestamp", ts);
  out += ">\n";
  for (const auto& p : r.programs) program(out, p, r);
  out += "</testsuites>\n";
  return out;
}

}  // namespace bstest::report
