#include <bstest/version.hpp>

#include "env/ci.hpp"
#include "record/envelope.hpp"
#include "record/json.hpp"
#include "record/log_encoder.hpp"

#include <rapidjson/document.h>

#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>

namespace bstest::detail {

namespace {

constexpr std::size_t kMaxValueBytes = 8000;  // Sentry shows messages up to 8192 characters
constexpr std::size_t kMaxTagBytes = 190;     // tag values must stay under 200 characters

void key_string(Buf& b, const char* key, std::string_view value, std::size_t cap = kMaxNameBytes) {
  b.put(',');
  put_key(b, key);
  put_json_string(b, value, cap);
}

void tag(Buf& b, bool& first, const char* key, std::string_view value) {
  if (value.empty()) return;
  if (!first) b.put(',');
  first = false;
  put_key(b, key);
  // Sentry drops a tag value over 200 characters or with a newline: cut it without the truncation note
  // (which would pass 200), not inside a character, and turn newlines into spaces.
  std::size_t cut = value.size();
  if (cut > kMaxTagBytes) {
    cut = kMaxTagBytes;
    for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80; ++k) --cut;
  }
  std::string v(value.substr(0, cut));
  for (char& c : v) {
    if (c == '\n') c = ' ';
  }
  put_json_string(b, v);
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

void put_frame(Buf& b, std::string_view function, std::string_view file, int line) {
  b.put("{\"function\":");
  put_json_string(b, function, kMaxNameBytes);
  if (!file.empty()) {
    b.put(",\"filename\":");
    put_json_string(b, file, kMaxNameBytes);
    b.put(",\"abs_path\":");
    put_json_string(b, file, kMaxNameBytes);
  }
  if (line > 0) {
    b.put(",\"lineno\":");
    b.put_int(line);
  }
  b.put(",\"in_app\":true}");
}

void put_hex(Buf& b, const char* key, std::uintptr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  b.put(",\"");
  b.put(key);
  b.put("\":\"");
  b.put(buf);
  b.put('"');
}

void put_frame(Buf& b, const EventFrame& f) {
  b.put("{\"function\":");
  put_json_string(b, f.function.empty() ? std::string_view("<unknown>") : std::string_view(f.function), kMaxNameBytes);
  if (!f.filename.empty()) {
    b.put(",\"filename\":");
    put_json_string(b, f.filename, kMaxNameBytes);
  }
  if (f.lineno > 0) {
    b.put(",\"lineno\":");
    b.put_int(f.lineno);
  }
  if (!f.package.empty()) {
    b.put(",\"package\":");
    put_json_string(b, f.package, kMaxNameBytes);
  }
  if (f.instruction_addr != 0) put_hex(b, "instruction_addr", f.instruction_addr);
  if (f.image_addr != 0) put_hex(b, "image_addr", f.image_addr);
  b.put(",\"in_app\":");
  b.put(f.in_app ? "true}" : "false}");
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
void put_contexts_body(Buf& b, const EventContext& c) {
  b.put("\"os\":{\"name\":");
  put_json_string(b, c.os_name, kMaxNameBytes);
  b.put(",\"version\":");
  put_json_string(b, c.os_version, kMaxNameBytes);
  b.put("},\"runtime\":{\"name\":");
  put_json_string(b, c.runtime_name, kMaxNameBytes);
  b.put(",\"version\":");
  put_json_string(b, c.runtime_version, kMaxNameBytes);
  b.put(",\"raw_description\":");
  put_json_string(b, c.runtime_description, kMaxNameBytes);
  b.put("},\"device\":{\"arch\":");
  put_json_string(b, c.arch, kMaxNameBytes);
  b.put('}');
}
}  // namespace

void put_context(Buf& out, const EventContext& c) {
  out.put(",\"context\":{\"environment\":");
  put_json_string(out, c.environment, kMaxNameBytes);
  out.put(',');
  put_contexts_body(out, c);
  out.put('}');
}

std::string sentry_event_json(const ErrorEvent& e) {
  Buf b;
  std::string event_id = random_hex(16);
  b.put("{\"event_id\":\"");
  b.put(event_id);
  b.put("\",\"timestamp\":");
  if (e.timestamp.empty()) {
    char ts[kTimestampLength];
    WallTime now = wall_now();
    format_timestamp(ts, now.seconds, now.microseconds);
    put_json_string(b, std::string_view(ts, kTimestampLength));
  } else {
    put_json_string(b, e.timestamp);
  }
  b.put(",\"platform\":\"native\",\"logger\":\"bstest\"");
  const char* level = e.kind == ErrorKind::flaky ? "warning" : e.kind == ErrorKind::exception ? "error" : "fatal";
  b.put(",\"level\":\"");
  b.put(level);
  b.put('"');
  key_string(b, "transaction", e.full_name);
  if (!e.release.empty()) key_string(b, "release", e.release);
  const EventContext context = e.context.os_name.empty() ? this_process_context(e.environment) : e.context;
  key_string(b, "environment", e.environment.empty() ? std::string("local") : e.environment);
  if (!e.server_name.empty()) key_string(b, "server_name", e.server_name);
  b.put(",\"sdk\":{\"name\":\"bstest\",\"version\":\"" BSTEST_VERSION "\"}");

  // What happened, as the exception Sentry groups and shows.
  std::string type;
  std::string value;
  std::string where = location(e.failure_file, e.failure_line);
  const char* kind_name = "flaky";
  std::string attempt_note = e.crash_attempt > 1 ? " (attempt " + std::to_string(e.crash_attempt) + ")" : std::string();
  std::string who = e.full_name.empty() ? std::string("the test program") : e.full_name;
  switch (e.kind) {
    case ErrorKind::flaky: {
      type = "FlakyTest";
      if (e.failed_iteration >= 0) {
        value = e.full_name + " failed in iteration " + std::to_string(e.failed_iteration) + " and passed in iteration " +
                std::to_string(e.passed_iteration) + " of a repeated run (--gtest_repeat)";
      } else {
        value = e.full_name + " failed on attempt";
        if (e.failed_attempts.size() > 1) value += "s";
        for (std::size_t i = 0; i < e.failed_attempts.size(); ++i) {
          value += (i == 0 ? " " : ", ") + std::to_string(e.failed_attempts[i]);
        }
        value += " and then passed";
      }
      if (!e.failure_message.empty()) {
        value += ": " + (where.empty() ? std::string() : where + ": ") + e.failure_message;
      }
      break;
    }
    case ErrorKind::exception:
      kind_name = "exception";
      type = e.exception_type.empty() ? std::string("UncaughtException") : e.exception_type;
      value = !e.exception_value.empty() ? e.exception_value
                                         : !e.failure_message.empty() ? e.failure_message : "an exception escaped " + e.full_name;
      break;
    case ErrorKind::crash:
      kind_name = "crash";
      type = e.signal.empty() || e.signal == "unknown" ? std::string("Crash") : e.signal;
      if (e.crash_reason == "exit") {
        value = e.full_name.empty() ? "the test program called exit()" : e.full_name + " called exit() during the test";
        value += attempt_note;
      } else if (e.crash_reason == "ended") {
        value = who + ": the test program ended without finishing its run (killed, or crashed without a handler)";
      } else if (e.crash_reason == "timeout") {
        value = who + " did not end within the re-run time limit (BSTEST_RERUN_TIMEOUT_MS)" + attempt_note +
                (e.signal.empty() ? std::string() : " and was stopped with " + e.signal);
      } else {
        value = who + " crashed with " + e.signal + attempt_note;
      }
      if (!e.exception_type.empty()) {
        // An exception nobody caught ended it (std::terminate, then SIGABRT): name the exception.
        value = who + ": uncaught " + e.exception_type + (e.exception_value.empty() ? "" : ": " + e.exception_value) +
                " (" + e.signal + ")";
        type = e.exception_type;
      }
      break;
  }
  b.put(",\"exception\":{\"values\":[{\"type\":");
  put_json_string(b, type, kMaxNameBytes);
  b.put(",\"value\":");
  put_json_string(b, value, kMaxValueBytes);
  b.put(",\"mechanism\":{\"type\":\"");
  b.put(e.kind == ErrorKind::crash && e.signo > 0 ? "signalhandler" : "bstest");
  b.put("\",\"handled\":");
  b.put(e.kind == ErrorKind::flaky ? "true" : "false");
  b.put(",\"synthetic\":");
  b.put(e.kind == ErrorKind::exception ? "false" : "true");
  if (e.kind == ErrorKind::crash && e.signo > 0) {
    b.put(",\"meta\":{\"signal\":{\"number\":");
    b.put_int(e.signo);
    b.put(",\"name\":");
    put_json_string(b, e.signal);
    b.put("}}");
  }
  b.put('}');
  // Frames, oldest first: the test's definition, then the failing assertion.
  b.put(",\"stacktrace\":{\"frames\":[");
  put_frame(b, e.full_name.empty() ? std::string_view("<test program>") : std::string_view(e.full_name), e.file, e.line);
  if (!e.failure_file.empty() && (e.failure_file != e.file || e.failure_line != e.line)) {
    // For an exception, the framework only knows the last assertion it saw before the exception (Catch2).
    b.put(',');
    put_frame(b, e.kind == ErrorKind::exception ? "<last assertion before the exception>" : "<assertion>", e.failure_file,
              e.failure_line);
  }
  for (const auto& f : e.frames) {
    b.put(',');
    put_frame(b, f);
  }
  b.put("]}}]}");

  // Grouping: one issue per test and kind, across runs and nights.
  b.put(",\"fingerprint\":[\"bstest\",");
  put_json_string(b, kind_name);
  b.put(',');
  put_json_string(b, e.framework, kMaxNameBytes);
  b.put(',');
  put_json_string(b, e.binary, kMaxNameBytes);
  b.put(',');
  put_json_string(b, e.full_name, kMaxNameBytes);
  b.put(']');

  b.put(",\"tags\":{");
  bool first = true;
  tag(b, first, "kind", kind_name);
  tag(b, first, "framework", e.framework);
  tag(b, first, "binary", e.binary);
  tag(b, first, "suite", e.suite);
  tag(b, first, "test", e.full_name);
  tag(b, first, "ci", e.ci_provider);
  tag(b, first, "branch", e.branch);
  if (e.shard_total > 0) tag(b, first, "shard", std::to_string(e.shard_index) + "/" + std::to_string(e.shard_total));
  if (e.kind == ErrorKind::crash) tag(b, first, "signal", e.signal);
  b.put('}');

  b.put(",\"contexts\":{");
  put_contexts_body(b, context);
  b.put('}');

  b.put(",\"extra\":{\"run_id\":");
  put_json_string(b, e.run_id);
  if (!e.run_url.empty()) key_string(b, "run_url", e.run_url);
  if (!e.attempts.empty()) {
    b.put(",\"attempts\":[");
    for (std::size_t i = 0; i < e.attempts.size(); ++i) {
      if (i) b.put(',');
      put_json_string(b, e.attempts[i]);
    }
    b.put(']');
  }
  if (e.failed_iteration >= 0) {
    b.put(",\"iterations\":{\"failed\":");
    b.put_int(e.failed_iteration);
    b.put(",\"passed\":");
    b.put_int(e.passed_iteration);
    b.put('}');
  }
  if (!where.empty()) key_string(b, "failure_location", where);
  if (!e.failure_message.empty() && e.kind != ErrorKind::exception) {
    key_string(b, "failure_message", e.failure_message, kMaxValueBytes);
  }
  b.put("}}");
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
