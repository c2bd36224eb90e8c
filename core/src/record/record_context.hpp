// What every log record of one writer shares: its id prefix and sequence, the clock, the "run" object and
// the "ci" object. The last two do not change during a run, so they are rendered once and copied into each
// record: a record then costs a few memcpy calls plus the escaping of the test's own strings.
#pragma once

#include "base/clock.hpp"
#include "env/ci.hpp"
#include "record/json.hpp"
#include "record/json_writer.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace bstest::detail {

// The "run" object of every record of a test program's run.
struct RunMeta {
  std::string run_id;
  std::string framework;
  std::string framework_version;
  std::string binary;
  std::string host;
  long pid = 0;
  int shard_index = -1;
  int shard_total = 0;
  int iteration = 0;
  bool has_random_seed = false;
  std::uint64_t random_seed = 0;
  int attempt = 1;
  std::string bstest_version;
};

// Opens a record whose id is not a writer's sequence (written by the shipper for a program, or a note):
// {"id":<id>,"dt":<now>  (level, event and the rest follow).
void begin_record_with_id(JsonWriter& w, std::string_view id);

class RecordContext {
 public:
  // `id_prefix` makes record ids unique across processes (the journal's own random id).
  void set_id_prefix(std::string id_prefix);
  void set_run(const RunMeta& run);
  void set_ci(const CiInfo& ci);
  const RunMeta& run() const noexcept { return run_; }
  std::uint64_t records() const noexcept { return seq_; }

  // Opens a log record: {"id":…,"dt":…,"level":…,"event":…  (its message and the rest follow). `dt` is the
  // wall-clock time of the monotonic reading `at_mono_ns` (a test's start or end), or of now when it is < 0.
  void begin(JsonWriter& w, std::string_view level, std::string_view event, std::int64_t at_mono_ns = -1);
  // "run":{…} and "ci":{…} (empty outside CI), as members.
  std::string_view run_members() const noexcept { return run_members_; }
  // The run's short form, for a test's records that did not fail: what a query filters on ("id", "binary",
  // "attempt", and "iteration" in a repeated run); run_started and run_finished carry the rest.
  std::string_view short_run_members() const noexcept { return short_run_members_; }
  std::string_view ci_members() const noexcept { return ci_members_; }

  // For a record written without a JsonWriter's clock (the crash record, in a signal handler).
  const std::string& id_prefix() const noexcept { return id_prefix_; }
  std::uint64_t next_seq() noexcept {
    bump_seq();
    return seq_;
  }

 private:
  // Counts one more record: seq_, and its decimal text, carried along (cheaper than formatting it each time).
  void bump_seq() noexcept;

  std::string id_prefix_;
  std::string id_head_;  // "id":"<id_prefix>-  (a record's first bytes after its brace)
  std::uint64_t seq_ = 0;
  char seq_text_[kMaxUintChars] = {'0'};
  std::size_t seq_len_ = 1;
  RunMeta run_;
  std::string run_members_;
  std::string short_run_members_;
  std::string ci_members_;
  TimestampCache clock_;
  WallFromMono wall_;
};

}  // namespace bstest::detail
