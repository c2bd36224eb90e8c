#include "record/record_context.hpp"

#include "record/limits.hpp"

#include <cstring>

namespace bstest::detail {

namespace {

void put_run(JsonWriter& w, const RunMeta& run, std::size_t cap) {
  w.begin_object("run");
  w.string("id", run.run_id, cap);
  w.string("framework", run.framework, cap);
  if (!run.framework_version.empty()) w.string("framework_version", run.framework_version, cap);
  w.string("binary", run.binary, cap);
  w.string("host", run.host, cap);
  w.integer("pid", run.pid);
  if (run.shard_total > 0) {
    w.integer("shard_index", run.shard_index);
    w.integer("shard_total", run.shard_total);
  }
  w.integer("iteration", run.iteration);
  if (run.has_random_seed) w.uinteger("random_seed", run.random_seed);
  w.integer("attempt", run.attempt);
  w.string("bstest_version", run.bstest_version, cap);
  w.end_object();
}

void put_short_run(JsonWriter& w, const RunMeta& run, std::size_t cap) {
  w.begin_object("run");
  w.string("id", run.run_id, cap);
  w.string("binary", run.binary, cap);
  w.integer("attempt", run.attempt);
  if (run.iteration > 0) w.integer("iteration", run.iteration);
  w.end_object();
}

void put_ci(JsonWriter& w, const CiInfo& ci, std::size_t cap) {
  w.begin_object("ci");
  w.string("provider", ci.provider, cap);
  auto field = [&](std::string_view key, const std::string& v) {
    if (!v.empty()) w.string(key, v, cap);
  };
  field("run_id", ci.run_id);
  field("run_attempt", ci.run_attempt);
  field("run_url", ci.run_url);
  field("workflow", ci.workflow);
  field("job", ci.job);
  field("commit", ci.commit);
  field("branch", ci.branch);
  field("repository", ci.repository);
  field("event", ci.event);
  w.end_object();
}

// Rendered with every string at `kMaxNameBytes`, or at `kCompactNameBytes` when that is larger than `limit`.
template <typename Render>
std::string members_within(std::size_t limit, Render render) {
  Buf b;
  JsonWriter w(b);
  w.begin_members();
  render(w, kMaxNameBytes);
  if (b.size() > limit) {
    b.clear();
    JsonWriter compact(b);
    compact.begin_members();
    render(compact, kCompactNameBytes);
  }
  return b.str();
}

}  // namespace

void RecordContext::set_run(const RunMeta& run) {
  run_ = run;
  run_members_ = members_within(kMaxRunFragmentBytes, [&](JsonWriter& w, std::size_t cap) { put_run(w, run, cap); });
  short_run_members_ =
      members_within(kMaxRunFragmentBytes, [&](JsonWriter& w, std::size_t cap) { put_short_run(w, run, cap); });
}

void RecordContext::set_ci(const CiInfo& ci) {
  ci_members_.clear();
  if (!ci.is_ci()) return;
  ci_members_ = members_within(kMaxCiFragmentBytes, [&](JsonWriter& w, std::size_t cap) { put_ci(w, ci, cap); });
}

void RecordContext::set_id_prefix(std::string id_prefix) {
  id_prefix_ = std::move(id_prefix);
  id_head_ = "\"id\":\"" + id_prefix_ + "-";
}

namespace {
char* put_chars(char* p, std::string_view s) noexcept {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
}  // namespace

void RecordContext::bump_seq() noexcept {
  ++seq_;
  for (std::size_t i = seq_len_; i > 0; --i) {
    if (seq_text_[i - 1] != '9') {
      ++seq_text_[i - 1];
      return;
    }
    seq_text_[i - 1] = '0';
  }
  // All nines: one digit more (kMaxUintChars digits hold every 64-bit count).
  if (seq_len_ == kMaxUintChars) return;
  std::memmove(seq_text_ + 1, seq_text_, seq_len_);
  seq_text_[0] = '1';
  ++seq_len_;
}

// Every record opens with the same four members, written here in one go rather than member by member: with
// the test's identity, this head was the largest part of what a record costs on the test's thread.
void RecordContext::begin(JsonWriter& w, std::string_view level, std::string_view event, std::int64_t at_mono_ns) {
  constexpr std::string_view kDt = "\",\"dt\":\"", kLevel = "\",\"level\":\"", kEvent = "\",\"event\":\"";
  const std::size_t most = id_head_.size() + kMaxUintChars + kDt.size() + kTimestampLength + kLevel.size() +
                           level.size() + kEvent.size() + event.size() + 1;
  w.begin_object();
  char* const start = w.members_tail(most);
  if (start == nullptr) return;  // fixed storage too small: the Buf says it overflowed
  char* p = put_chars(start, id_head_);
  bump_seq();
  p = put_chars(p, std::string_view(seq_text_, seq_len_));
  p = put_chars(p, kDt);
  WallTime at = wall_.at(at_mono_ns >= 0 ? at_mono_ns : mono_now_ns());
  clock_.write(p, at.seconds, at.microseconds);
  p = put_chars(p + kTimestampLength, kLevel);
  p = put_chars(p, level);
  p = put_chars(p, kEvent);
  p = put_chars(p, event);
  *p++ = '"';
  w.buf().commit(static_cast<std::size_t>(p - start));
}

void begin_record_with_id(JsonWriter& w, std::string_view id) {
  w.begin_object();
  w.string("id", id);
  char ts[kTimestampLength];
  WallTime now = wall_now();
  format_timestamp(ts, now.seconds, now.microseconds);
  w.word("dt", std::string_view(ts, kTimestampLength));
}

}  // namespace bstest::detail
