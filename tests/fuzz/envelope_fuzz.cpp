// Fuzz target: Better Stack Errors events and their envelopes (sentry_event_json, sentry_line,
// make_envelope, crash_error_line).
//
// Input: the first byte picks the mode, the rest is its data.
//   'c'   crash_error_line on the rest as a run_crashed record (any bytes), then the envelope the shipper
//         makes of the resulting line
//   'C'   the same with the rest expanded first (0xFE C B: (C + 1) * 1024 copies of byte B), for records
//         past the caps or deeply nested
//   'm'   make_envelope on the rest as event text (any bytes: the shipper passes whatever follows
//         {"sentry": in a journal line)
//   else  an ErrorEvent built from the rest with libFuzzer's FuzzedDataProvider, then its event JSON,
//         journal line and envelope
//
// Checks: the event JSON is one line (no newline, carriage return or NUL) that parses strictly as an object
// with a 32-hex event_id, and its tags follow Sentry's rules (at most 200 characters, no newline); the
// envelope is a header line (JSON, 32-hex event_id, equal to the event's), an item header line (JSON,
// type "event", `length` exactly the payload's bytes), exactly that payload and a final "\n", with no
// carriage return; crash_error_line never crashes, and gives a {"sentry":...} line for every JSON object
// but a re-run's (run.attempt > 1: its owner reports the crash).
#include "record/error_events.hpp"
#include "record/test_events.hpp"

#include "fuzz_common.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using bstest::detail::ErrorEvent;
using bstest::detail::ErrorKind;

namespace {

constexpr std::string_view kIdPrefix = "{\"event_id\":\"";

// An event as Better Stack Errors reads it: `text` is its JSON, `d` that JSON parsed. Returns its event_id.
std::string check_event(std::string_view text, const rapidjson::Value& d) {
  const std::string ctx(text.substr(0, 2000));
  // One journal line, and make_envelope finds the id at the start.
  FUZZ_CHECK(text.find_first_of(std::string_view("\n\r\0", 3)) == std::string_view::npos, ctx);
  FUZZ_CHECK(text.compare(0, kIdPrefix.size(), kIdPrefix) == 0, ctx);
  FUZZ_CHECK(d.IsObject(), ctx);
  FUZZ_CHECK(d.HasMember("event_id") && d["event_id"].IsString(), ctx);
  const std::string id(fuzz::str(d["event_id"]));
  FUZZ_CHECK(fuzz::is_lower_hex(id, 32), ctx);
  FUZZ_CHECK(text.compare(kIdPrefix.size(), 32, id) == 0 && text[kIdPrefix.size() + 32] == '"', ctx);
  FUZZ_CHECK(d.HasMember("timestamp") && d["timestamp"].IsString(), ctx);
  FUZZ_CHECK(d.HasMember("exception") && d["exception"].IsObject() && d["exception"].HasMember("values"), ctx);
  const auto& values = d["exception"]["values"];
  FUZZ_CHECK(values.IsArray() && values.Size() == 1 && values[0].IsObject(), ctx);
  FUZZ_CHECK(values[0].HasMember("type") && values[0]["type"].IsString(), ctx);
  FUZZ_CHECK(values[0].HasMember("value") && values[0]["value"].IsString(), ctx);
  // Sentry: "Tag values have a maximum length of 200 characters and they cannot contain the newline".
  FUZZ_CHECK(d.HasMember("tags") && d["tags"].IsObject(), ctx);
  for (const auto& m : d["tags"].GetObject()) {
    FUZZ_CHECK(m.value.IsString(), ctx);
    const std::string_view v = fuzz::str(m.value);
    FUZZ_CHECK(fuzz::utf8_length(v) <= 200, std::string(fuzz::str(m.name)) + " tag: " + std::string(v));
    FUZZ_CHECK(v.find('\n') == std::string_view::npos, std::string(fuzz::str(m.name)) + " tag: " + std::string(v));
  }
  return id;
}

// An envelope around `payload`: header line, item header line, exactly the payload, a final newline.
// `event_id` is the payload's id when it is a checked event (then no carriage return anywhere).
void check_envelope(std::string_view env, std::string_view payload, const std::string& event_id) {
  const std::string ctx(env.substr(0, 2000));
  const std::size_t nl1 = env.find('\n');
  FUZZ_CHECK(nl1 != std::string_view::npos, ctx);
  const std::string_view header = env.substr(0, nl1);
  FUZZ_CHECK(header.find('\r') == std::string_view::npos, ctx);
  rapidjson::Document h;
  FUZZ_CHECK(fuzz::parse_strict(h, header), fuzz::parse_error(h) + ": " + std::string(header));
  FUZZ_CHECK(h.IsObject() && h.HasMember("event_id") && h["event_id"].IsString(), ctx);
  const std::string id(fuzz::str(h["event_id"]));
  FUZZ_CHECK(fuzz::is_lower_hex(id, 32), std::string(header));

  const std::size_t nl2 = env.find('\n', nl1 + 1);
  FUZZ_CHECK(nl2 != std::string_view::npos, ctx);
  const std::string_view item = env.substr(nl1 + 1, nl2 - nl1 - 1);
  FUZZ_CHECK(item.find('\r') == std::string_view::npos, ctx);
  rapidjson::Document i;
  FUZZ_CHECK(fuzz::parse_strict(i, item), fuzz::parse_error(i) + ": " + std::string(item));
  FUZZ_CHECK(i.IsObject() && i.HasMember("type") && i["type"].IsString() && fuzz::str(i["type"]) == "event", ctx);
  FUZZ_CHECK(i.HasMember("length") && i["length"].IsUint64(), ctx);
  const std::uint64_t length = i["length"].GetUint64();
  FUZZ_CHECK(length == payload.size(), std::string(item));
  FUZZ_CHECK(env.size() - (nl2 + 1) == length + 1, ctx);  // exactly the payload, then the final newline
  FUZZ_CHECK(env.substr(nl2 + 1, length) == payload, ctx);
  FUZZ_CHECK(env.back() == '\n', ctx);

  if (!event_id.empty()) {
    FUZZ_CHECK(env.find('\r') == std::string_view::npos, ctx);
    FUZZ_CHECK(id == event_id, ctx);
  } else if (payload.compare(0, kIdPrefix.size(), kIdPrefix) == 0 && payload.size() > kIdPrefix.size() + 32 &&
             payload[kIdPrefix.size() + 32] == '"' &&
             fuzz::is_lower_hex(payload.substr(kIdPrefix.size(), 32), 32)) {
    FUZZ_CHECK(id == payload.substr(kIdPrefix.size(), 32), ctx);  // the event's own id is kept
  }
}

// A {"sentry":<event>}\n journal line, checked the way the shipper takes it apart.
void check_sentry_line(std::string_view line) {
  const std::string ctx(line.substr(0, 2000));
  const std::string_view prefix = "{\"sentry\":";
  FUZZ_CHECK(line.size() > prefix.size() + 2 && line.compare(0, prefix.size(), prefix) == 0, ctx);
  FUZZ_CHECK(line.substr(line.size() - 2) == "}\n", ctx);
  FUZZ_CHECK(line.find('\n') == line.size() - 1, ctx);
  rapidjson::Document d;
  FUZZ_CHECK(fuzz::parse_strict(d, line.substr(0, line.size() - 1)), fuzz::parse_error(d) + ": " + ctx);
  FUZZ_CHECK(d.IsObject() && d.MemberCount() == 1 && d.HasMember("sentry"), ctx);
  const std::string_view event = line.substr(prefix.size(), line.size() - 1 - prefix.size() - 1);
  const std::string id = check_event(event, d["sentry"]);
  check_envelope(bstest::detail::make_envelope(event), event, id);
}

std::string consume_text(FuzzedDataProvider& in, unsigned max_repeat = 1) {
  std::string s = in.ConsumeRandomLengthString(512);
  if (max_repeat > 1) {
    unsigned repeat = in.ConsumeIntegralInRange<unsigned>(1, max_repeat);
    std::string r;
    for (unsigned k = 0; k < repeat; ++k) r += s;
    return r;
  }
  return s;
}

// Usually one of `known`, sometimes anything.
std::string pick(FuzzedDataProvider& in, std::initializer_list<const char*> known) {
  if (in.ConsumeBool()) return consume_text(in);
  return *(known.begin() + in.ConsumeIntegralInRange<std::size_t>(0, known.size() - 1));
}

void check_built_event(FuzzedDataProvider& in) {
  ErrorEvent e;
  e.kind = static_cast<ErrorKind>(in.ConsumeIntegralInRange<int>(0, 2));
  e.framework = pick(in, {"googletest", "catch2"});
  e.binary = consume_text(in);
  e.suite = consume_text(in, 4);
  e.name = consume_text(in, 4);
  e.full_name = in.ConsumeBool() ? e.suite + "." + e.name : consume_text(in, 8);
  e.file = consume_text(in, 8);
  e.line = in.ConsumeIntegral<int>();
  e.failure_file = in.ConsumeBool() ? e.file : consume_text(in, 8);
  e.failure_line = in.ConsumeIntegral<int>();
  e.failure_message = consume_text(in, 20);  // past the 8000-byte value cap
  e.exception_type = consume_text(in, 4);
  e.signal = pick(in, {"SIGSEGV", "SIGABRT", "exit", "unknown", ""});
  e.signo = in.ConsumeIntegral<int>();
  e.crash_reason = pick(in, {"signal", "exit", "ended"});
  const std::size_t attempts = in.ConsumeIntegralInRange<std::size_t>(0, 4);
  for (std::size_t k = 0; k < attempts; ++k) {
    e.attempts.push_back(consume_text(in));
    e.failed_attempts.push_back(in.ConsumeIntegral<int>());
  }
  e.run_id = consume_text(in);
  e.run_url = consume_text(in);
  e.release = consume_text(in);
  e.environment = pick(in, {"nightly", "ci", "local"});
  e.server_name = consume_text(in, 4);
  e.ci_provider = pick(in, {"github", "gitlab", ""});
  e.branch = consume_text(in, 4);
  e.shard_index = in.ConsumeIntegral<int>();
  e.shard_total = in.ConsumeIntegral<int>();
  e.timestamp = in.ConsumeBool() ? std::string() : consume_text(in);

  const std::string json = bstest::detail::sentry_event_json(e);
  rapidjson::Document d;
  FUZZ_CHECK(fuzz::parse_strict(d, json), fuzz::parse_error(d) + ": " + json.substr(0, 2000));
  const std::string id = check_event(json, d);
  check_envelope(bstest::detail::make_envelope(json), json, id);
  // The journal line around the same event (with a fresh id) is what the shipper reads.
  const std::string line = bstest::detail::sentry_line(e);
  const std::string_view prefix = "{\"sentry\":";
  FUZZ_CHECK(line.size() == prefix.size() + json.size() + 2 && line.compare(0, prefix.size(), prefix) == 0 &&
                 line.substr(line.size() - 2) == "}\n",
             line.substr(0, 2000));
  if (!e.timestamp.empty()) {  // otherwise the time differs too
    const std::size_t after_id = kIdPrefix.size() + 32;
    FUZZ_CHECK(line.compare(prefix.size() + after_id, json.size() - after_id, json, after_id) == 0,
               line.substr(0, 2000));
  }
}

bool is_rerun_record(std::string_view record) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(record.data(), record.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("run") || !d["run"].IsObject()) return false;
  const auto& run = d["run"];
  return run.HasMember("attempt") && run["attempt"].IsInt() && run["attempt"].GetInt() > 1;
}

void check_crash_line(std::string_view record) {
  const std::string line = bstest::detail::crash_error_line(record);
  if (fuzz::is_json_object(record) && !is_rerun_record(record)) {
    FUZZ_CHECK(!line.empty(), std::string(record.substr(0, 2000)));
  }
  if (!line.empty()) check_sentry_line(line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0]) {
    case 'c':
      check_crash_line(rest);
      break;
    case 'C':
      check_crash_line(fuzz::expand(rest, 512u << 10));
      break;
    case 'm':
      check_envelope(bstest::detail::make_envelope(rest), rest, std::string());
      break;
    default: {
      FuzzedDataProvider in(data + 1, size - 1);
      check_built_event(in);
      break;
    }
  }
  return 0;
}
