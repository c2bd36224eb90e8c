// The one reader of journal lines: what kind a line is, a log record's event from its head, and a parsed
// record with typed getters by dotted path.
//
// Every line of a journal is one JSON object whose first key says its kind (docs/records.md, "What is not
// sent"): a log record `{"id":...`, an error event `{"sentry":...`, a heartbeat decision `{"heartbeat":...`,
// local bookkeeping `{"local":...`. Lines come from files that a crash may have torn or a person edited:
// nothing here trusts them. Parsing is iterative (RAPIDJSON_PARSE_DEFAULT_FLAGS, set for the whole
// project), so nesting cannot overflow the stack; a getter on a missing path or a value of another type
// gives its fallback, never an exception.
#pragma once

#include "base/strings.hpp"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

struct RunMeta;

enum class LineKind : std::uint8_t {
  log_record,   // {"id":...      sent to Better Stack Logs
  error_event,  // {"sentry":...  sent to Better Stack Errors
  heartbeat,    // {"heartbeat":... the heartbeat decision
  local,        // {"local":...   never leaves the machine (the process, the closed marker)
  other,        // anything else: blank, torn or foreign
};

// By the line's first key only; no parsing.
LineKind kind_of(std::string_view line) noexcept;

// The "event" of a log record ("test_finished"), found in its head (the keys before it, id, dt and level,
// are short) without parsing the record; "" when the line is not a log record or has none there.
std::string_view event_of(std::string_view line) noexcept;

// The "dt" of a log record (its time, "2026-12-06T21:50:44.123456Z"), found in its head without parsing
// the record; "" when the line has none there.
std::string_view dt_of(std::string_view line) noexcept;

// The result of a test_finished record ("passed", "failed", ...) without parsing the record: the first
// "result" after "test":{ (its identity comes before it, its properties, which may use the same key, after
// it). "" when there is none.
std::string_view test_result_of(std::string_view line) noexcept;

// What names the test of a test_started or test_finished record, without parsing it: the text from
// "test":{ to the end of its "full_name" (the identity starts with the suite and the full name, so a test's
// records share it). "" when the line has none.
std::string_view test_key_of(std::string_view line) noexcept;

// What the shipper routes a log record by, read from its head in one pass: its event, and for a
// test_started or test_finished record the test's key (test_key_of) and, finished, its result
// (test_result_of). Each is "" when the record has none; the same as the three functions above give.
struct RecordHead {
  std::string_view event;
  std::string_view test_key;
  std::string_view result;
};
RecordHead record_head(std::string_view line) noexcept;

// A read-only view of one value inside a parsed record (or of nothing). Cheap to copy; valid while the
// Record it came from lives and is not parsed again.
class JsonView {
 public:
  JsonView() = default;
  explicit JsonView(const rapidjson::Value* value) noexcept : v_(value) {}

  bool exists() const noexcept { return v_ != nullptr; }
  bool is_object() const noexcept { return v_ != nullptr && v_->IsObject(); }
  bool is_array() const noexcept { return v_ != nullptr && v_->IsArray(); }
  bool is_string() const noexcept { return v_ != nullptr && v_->IsString(); }
  bool is_number() const noexcept { return v_ != nullptr && v_->IsNumber(); }

  // The value at a dotted path ("test.full_name"): each part is an object member. An empty path is this
  // value. A key that itself holds a dot (a property "a.b") is reached with member().
  JsonView get(std::string_view path) const noexcept;
  // The member `key` of this object, taken whole.
  JsonView member(std::string_view key) const noexcept;

  // The value at `path` as text, a view into the record; `fallback` when missing or not a string.
  std::string_view view(std::string_view path = {}, std::string_view fallback = {}) const noexcept;
  // The same, copied.
  std::string str(std::string_view path = {}, std::string_view fallback = {}) const;
  // A number (integer or not); `fallback` when missing or not a number.
  double num(std::string_view path = {}, double fallback = 0) const noexcept;
  // A whole number that fits in 64 bits; `fallback` otherwise (also for 1.5).
  std::int64_t integer(std::string_view path = {}, std::int64_t fallback = 0) const noexcept;
  // A whole number that fits in an int (a line, an attempt, a signal); `fallback` otherwise.
  int int32(std::string_view path = {}, int fallback = 0) const noexcept;
  // A whole number from 0 to 2^64 - 1 (a random seed), or nothing.
  bool is_uint64() const noexcept { return v_ != nullptr && v_->IsUint64(); }
  std::uint64_t uint64(std::string_view path = {}, std::uint64_t fallback = 0) const noexcept;
  bool boolean(std::string_view path = {}, bool fallback = false) const noexcept;

  // An array's length; 0 when `path` is missing or not an array.
  std::size_t size(std::string_view path = {}) const noexcept;
  // Element `i` of this array (nothing when out of range or not an array).
  JsonView operator[](std::size_t i) const noexcept;
  // The strings of the array at `path` ("test.tags"); elements of other types are passed by.
  std::vector<std::string> strings(std::string_view path = {}) const;

  // Calls f(name, value) for each member of this object, in order (nothing when not an object).
  template <class F>
  void each_member(F&& f) const {
    if (!is_object()) return;
    for (const auto& m : v_->GetObject()) {
      f(std::string_view(m.name.GetString(), m.name.GetStringLength()), JsonView(&m.value));
    }
  }

  // This value as compact JSON text, to be written again as it was read ("" for nothing).
  std::string json() const;

  const rapidjson::Value* raw() const noexcept { return v_; }

 private:
  const rapidjson::Value* v_ = nullptr;
};

// One parsed journal line. Reusable, and meant to be reused when reading many lines: parse() replaces what
// it held, in memory it keeps (a record of up to about 16 KiB of values allocates nothing).
class Record {
 public:
  Record();
  explicit Record(std::string_view line);
  ~Record();
  Record(const Record&) = delete;
  Record& operator=(const Record&) = delete;
  Record(Record&&) noexcept;
  Record& operator=(Record&&) noexcept;

  // True when `line` (a trailing newline is allowed) is one JSON object.
  bool parse(std::string_view line);
  bool ok() const noexcept { return root_ != nullptr; }

  // The whole record (nothing when it did not parse), and the getters of JsonView on it.
  JsonView root() const noexcept { return JsonView(root_); }
  JsonView get(std::string_view path) const noexcept { return root().get(path); }
  bool has(std::string_view path) const noexcept { return get(path).exists(); }
  std::string_view view(std::string_view path, std::string_view fallback = {}) const noexcept {
    return root().view(path, fallback);
  }
  std::string str(std::string_view path, std::string_view fallback = {}) const { return root().str(path, fallback); }
  double num(std::string_view path, double fallback = 0) const noexcept { return root().num(path, fallback); }
  std::int64_t integer(std::string_view path, std::int64_t fallback = 0) const noexcept {
    return root().integer(path, fallback);
  }
  int int32(std::string_view path, int fallback = 0) const noexcept { return root().int32(path, fallback); }
  bool boolean(std::string_view path, bool fallback = false) const noexcept { return root().boolean(path, fallback); }
  std::size_t size(std::string_view path) const noexcept { return root().size(path); }
  std::vector<std::string> strings(std::string_view path) const { return root().strings(path); }

  // A log record's "event" ("" otherwise).
  std::string_view event() const noexcept { return view("event"); }
  // A local line's kind: "process", "closed" ("" otherwise).
  std::string_view local() const noexcept { return view("local"); }

 private:
  struct State;
  std::unique_ptr<State> state_;
  const rapidjson::Value* root_ = nullptr;
};

// The "run" object of a record (record/record_context.hpp writes it), read back.
RunMeta run_meta_of(JsonView run);

}  // namespace bstest::detail
