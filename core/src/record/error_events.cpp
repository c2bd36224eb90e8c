#include <bstest/version.hpp>

#include "env/ci.hpp"
#include "base/ids.hpp"
#include "base/strings.hpp"
#include "record/error_events.hpp"
#include "record/json_writer.hpp"
#include "record/limits.hpp"


#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>

namespace bstest::detail {

namespace {

void tag(JsonWriter& w, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  // Sentry drops a tag value over 200 characters or with a newline: cut it without the truncation note
  // (which would pass 200), not inside a character, and turn newlines into spaces.
  std::string v(value.substr(0, utf8_cut(value, kMaxTagBytes)));
  for (char& c : v) {
    if (c == '\n') c = ' ';
  }
  w.string(key, v);
}

std::string compiler_name() {
#if defined(__clang__)
  return "clang";
#elif defined(__GNUC__)
  return "gcc";
#else
  return "c++";
#endif
}

std::string compiler_version() {
#if defined(__clang__)
  return std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
         std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
  return std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." + std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

std::string stdlib_name() {
#if defined(_LIBCPP_VERSION)
  return "libc++ " + std::to_string(_LIBCPP_VERSION);
#elif defined(__GLIBCXX__)
  return "libstdc++ " + std::to_string(__GLIBCXX__);
#else
  return "unknown";
#endif
}

void put_frame(JsonWriter& w, std::string_view function, std::string_view file, int line) {
  w.begin_object();
  w.string("function", function, kMaxNameBytes);
  if (!file.empty()) {
    w.string("filename", file, kMaxNameBytes);
    w.string("abs_path", file, kMaxNameBytes);
  }
  if (line > 0) w.integer("lineno", line);
  w.boolean("in_app", true);
  w.end_object();
}

void put_hex(JsonWriter& w, std::string_view key, std::uintptr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  w.word(key, buf);
}

void put_frame(JsonWriter& w, const EventFrame& f) {
  w.begin_object();
  w.string("function", f.function.empty() ? std::string_view("<unknown>") : std::string_view(f.function), kMaxNameBytes);
  if (!f.filename.empty()) w.string("filename", f.filename, kMaxNameBytes);
  if (f.lineno > 0) w.integer("lineno", f.lineno);
  if (!f.package.empty()) w.string("package", f.package, kMaxNameBytes);
  if (f.instruction_addr != 0) put_hex(w, "instruction_addr", f.instruction_addr);
  if (f.image_addr != 0) put_hex(w, "image_addr", f.image_addr);
  w.boolean("in_app", f.in_app);
  w.end_object();
}

std::string location(std::string_view file, int line) {
  if (file.empty()) return {};
  return std::string(file) + (line > 0 ? ":" + std::to_string(line) : std::string());
}

}  // namespace

std::string default_environment() {
  const char* configured = std::getenv("BSTEST_ENVIRONMENT");
  return environment_name(detect_ci(), configured != nullptr ? configured : "");
}

EventContext this_process_context(const std::string& environment) {
  EventContext c;
  c.environment = environment;
  utsname u{};
  ::uname(&u);
  c.os_name = u.sysname;
  c.os_version = u.release;
  c.arch = u.machine;
  c.runtime_name = compiler_name();
  c.runtime_version = compiler_version();
  c.runtime_description = compiler_name() + " " + compiler_version() + ", " + stdlib_name();
  return c;
}

namespace {

void put_contexts(JsonWriter& w, const EventContext& c) {
  w.begin_object("os");
  w.string("name", c.os_name, kMaxNameBytes);
  w.string("version", c.os_version, kMaxNameBytes);
  w.end_object();
  w.begin_object("runtime");
  w.string("name", c.runtime_name, kMaxNameBytes);
  w.string("version", c.runtime_version, kMaxNameBytes);
  w.string("raw_description", c.runtime_description, kMaxNameBytes);
  w.end_object();
  w.begin_object("device");
  w.string("arch", c.arch, kMaxNameBytes);
  w.end_object();
}

// What Sentry groups and titles an event by: the exception's type and value, and how it was caught.
struct EventException {
  std::string kind;   // the fingerprint's and the `kind` tag's word: flaky, exception, crash
  std::string type;
  std::string value;
  const char* mechanism = "bstest";
  bool handled = false;
  bool synthetic = true;
};

// A test that failed, then passed on a later attempt (or in a later iteration of a repeated run).
EventException flaky_exception(const ErrorEvent& e) {
  EventException x{"flaky", "FlakyTest", {}, "bstest", true, true};
  if (e.failed_iteration >= 0) {
    x.value = e.full_name + " failed in iteration " + std::to_string(e.failed_iteration) + " and passed in iteration " +
              std::to_string(e.passed_iteration) + " of a repeated run (--gtest_repeat)";
  } else {
    x.value = e.full_name + " failed on attempt";
    if (e.failed_attempts.size() > 1) x.value += "s";
    for (std::size_t i = 0; i < e.failed_attempts.size(); ++i) {
      x.value += (i == 0 ? " " : ", ") + std::to_string(e.failed_attempts[i]);
    }
    x.value += " and then passed";
  }
  if (!e.failure_message.empty()) {
    std::string where = location(e.failure_file, e.failure_line);
    x.value += ": " + (where.empty() ? std::string() : where + ": ") + e.failure_message;
  }
  return x;
}

// An exception that escaped a test: its C++ type and what().
EventException escaped_exception(const ErrorEvent& e) {
  EventException x{"exception", e.exception_type.empty() ? std::string("UncaughtException") : e.exception_type,
                   {}, "bstest", false, false};
  x.value = !e.exception_value.empty()   ? e.exception_value
            : !e.failure_message.empty() ? e.failure_message
                                         : "an exception escaped " + e.full_name;
  return x;
}

// The test program (or a re-run) died: a signal, exit() during a test, a kill, a time-out.
EventException crash_exception(const ErrorEvent& e) {
  EventException x{"crash", e.signal.empty() || e.signal == "unknown" ? std::string("Crash") : e.signal, {},
                   e.signo > 0 ? "signalhandler" : "bstest", false, true};
  std::string attempt = e.crash_attempt > 1 ? " (attempt " + std::to_string(e.crash_attempt) + ")" : std::string();
  std::string who = e.full_name.empty() ? std::string("the test program") : e.full_name;
  if (e.crash_reason == "exit") {
    x.value = (e.full_name.empty() ? "the test program called exit()" : e.full_name + " called exit() during the test") +
              attempt;
  } else if (e.crash_reason == "ended") {
    x.value = who + ": the test program ended without finishing its run (killed, or crashed without a handler)";
  } else if (e.crash_reason == "timeout") {
    x.value = who + " did not end within the re-run time limit (BSTEST_RERUN_TIMEOUT_MS)" + attempt +
              (e.signal.empty() ? std::string() : " and was stopped with " + e.signal);
  } else {
    x.value = who + " crashed with " + e.signal + attempt;
  }
  if (!e.exception_type.empty()) {
    // An exception nobody caught ended it (std::terminate, then SIGABRT): name the exception.
    x.value = who + ": uncaught " + e.exception_type + (e.exception_value.empty() ? "" : ": " + e.exception_value) + " (" +
              e.signal + ")";
    x.type = e.exception_type;
  }
  return x;
}

void put_exception(JsonWriter& w, const ErrorEvent& e, const EventException& x) {
  w.begin_object("exception");
  w.begin_array("values");
  w.begin_object();
  w.string("type", x.type, kMaxNameBytes);
  w.string("value", x.value, kMaxEventValueBytes);
  w.begin_object("mechanism");
  w.word("type", x.mechanism);
  w.boolean("handled", x.handled);
  w.boolean("synthetic", x.synthetic);
  if (e.kind == ErrorKind::crash && e.signo > 0) {
    w.begin_object("meta");
    w.begin_object("signal");
    w.integer("number", e.signo);
    w.string("name", e.signal);
    w.end_object();
    w.end_object();
  }
  w.end_object();
  // Frames, oldest first: the test's definition, then the failing assertion, then what is known beyond.
  w.begin_object("stacktrace");
  w.begin_array("frames");
  put_frame(w, e.full_name.empty() ? std::string_view("<test program>") : std::string_view(e.full_name), e.file, e.line);
  if (!e.failure_file.empty() && (e.failure_file != e.file || e.failure_line != e.line)) {
    // For an exception, the framework only knows the last assertion it saw before the exception (Catch2).
    put_frame(w, e.kind == ErrorKind::exception ? "<last assertion before the exception>" : "<assertion>",
              e.failure_file, e.failure_line);
  }
  for (const auto& f : e.frames) put_frame(w, f);
  w.end_array();
  w.end_object();
  w.end_object();
  w.end_array();
  w.end_object();
}

void put_tags(JsonWriter& w, const ErrorEvent& e, const EventException& x) {
  w.begin_object("tags");
  tag(w, "kind", x.kind);
  tag(w, "framework", e.framework);
  tag(w, "binary", e.binary);
  tag(w, "suite", e.suite);
  tag(w, "test", e.full_name);
  tag(w, "ci", e.ci_provider);
  tag(w, "branch", e.branch);
  if (e.shard_total > 0) tag(w, "shard", std::to_string(e.shard_index) + "/" + std::to_string(e.shard_total));
  if (e.kind == ErrorKind::crash) tag(w, "signal", e.signal);
  if (e.quarantined) tag(w, "quarantined", "true");
  w.end_object();
}

void put_extra(JsonWriter& w, const ErrorEvent& e) {
  w.begin_object("extra");
  w.string("run_id", e.run_id);
  if (!e.run_url.empty()) w.string("run_url", e.run_url, kMaxNameBytes);
  if (!e.attempts.empty()) {
    w.begin_array("attempts");
    for (const auto& a : e.attempts) w.element(a);
    w.end_array();
  }
  if (e.failed_iteration >= 0) {
    w.begin_object("iterations");
    w.integer("failed", e.failed_iteration);
    w.integer("passed", e.passed_iteration);
    w.end_object();
  }
  std::string where = location(e.failure_file, e.failure_line);
  if (!where.empty()) w.string("failure_location", where, kMaxNameBytes);
  if (!e.failure_message.empty() && e.kind != ErrorKind::exception) {
    w.string("failure_message", e.failure_message, kMaxEventValueBytes);
  }
  w.end_object();
}

}  // namespace

void put_event_context(JsonWriter& w, const EventContext& c) {
  w.begin_object("context");
  w.string("environment", c.environment, kMaxNameBytes);
  put_contexts(w, c);
  w.end_object();
}

std::string sentry_event_json(const ErrorEvent& e) {
  EventException x = e.kind == ErrorKind::flaky       ? flaky_exception(e)
                     : e.kind == ErrorKind::exception ? escaped_exception(e)
                                                      : crash_exception(e);
  Buf b;
  JsonWriter w(b);
  w.begin_object();
  w.word("event_id", random_hex(16));
  if (e.timestamp.empty()) {
    char ts[kTimestampLength];
    WallTime now = wall_now();
    format_timestamp(ts, now.seconds, now.microseconds);
    w.word("timestamp", std::string_view(ts, kTimestampLength));
  } else {
    w.string("timestamp", e.timestamp);
  }
  w.word("platform", "native");
  w.word("logger", "bstest");
  w.word("level", e.kind == ErrorKind::flaky ? "warning" : e.kind == ErrorKind::exception ? "error" : "fatal");
  w.string("transaction", e.full_name, kMaxNameBytes);
  if (!e.release.empty()) w.string("release", e.release, kMaxNameBytes);
  w.string("environment", e.environment.empty() ? std::string("local") : e.environment, kMaxNameBytes);
  if (!e.server_name.empty()) w.string("server_name", e.server_name, kMaxNameBytes);
  w.begin_object("sdk");
  w.word("name", "bstest");
  w.word("version", BSTEST_VERSION);
  w.end_object();
  put_exception(w, e, x);
  // Grouping: one issue per test and kind, across runs and nights.
  w.begin_array("fingerprint");
  w.element("bstest");
  w.element(x.kind);
  w.element(e.framework, kMaxNameBytes);
  w.element(e.binary, kMaxNameBytes);
  w.element(e.full_name, kMaxNameBytes);
  w.end_array();
  put_tags(w, e, x);
  w.begin_object("contexts");
  put_contexts(w, e.context.os_name.empty() ? this_process_context(e.environment) : e.context);
  w.end_object();
  put_extra(w, e);
  w.end_object();
  return b.str();
}

std::string sentry_line(const ErrorEvent& e) { return "{\"sentry\":" + sentry_event_json(e) + "}\n"; }

std::string make_envelope(std::string_view event_json) {
  std::string_view id;
  constexpr std::string_view kIdKey = "{\"event_id\":\"";
  if (event_json.compare(0, kIdKey.size(), kIdKey) == 0 && event_json.size() > kIdKey.size() + 32 &&
      event_json[kIdKey.size() + 32] == '"') {
    // Copied into the header as is: only a real id (32 lowercase hex digits), never arbitrary bytes.
    std::string_view candidate = event_json.substr(kIdKey.size(), 32);
    bool hex = true;
    for (char c : candidate) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (hex) id = candidate;
  }
  std::string env;
  env.reserve(event_json.size() + 256);
  env += "{\"event_id\":\"";
  env += id.empty() ? random_hex(16) : std::string(id);
  env += "\",\"sent_at\":\"";
  char ts[kTimestampLength];
  WallTime now = wall_now();
  format_timestamp(ts, now.seconds, now.microseconds);
  env.append(ts, kTimestampLength);
  env += "\",\"sdk\":{\"name\":\"bstest\",\"version\":\"" BSTEST_VERSION "\"}}\n";
  env += "{\"type\":\"event\",\"length\":";
  env += std::to_string(event_json.size());
  env += ",\"content_type\":\"application/json\"}\n";
  env.append(event_json.data(), event_json.size());
  env += '\n';
  return env;
}

}  // namespace bstest::detail
