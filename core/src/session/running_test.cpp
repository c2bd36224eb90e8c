#include "session/running_test.hpp"

#include "base/strings.hpp"
#include "record/limits.hpp"
#include "record/redactor.hpp"
#include "record/test_parts.hpp"

namespace bstest::detail {

namespace {
// Left of the failures' cap to keep one more: below it, the rest are only counted.
constexpr std::size_t kMinFailureRoom = 2048;

bool is_disabled_name(std::string_view suite, std::string_view name) {
  return starts_with(name, "DISABLED_") || starts_with(suite, "DISABLED_");
}
}  // namespace

RunningTest::RunningTest() {
  failures_writer_.begin_members();
  properties_writer_.begin_members();
}

void RunningTest::begin(const TestInfo& t, std::string_view full_name, const QuarantineInfo& quarantine) {
  updating_.store(true, std::memory_order_relaxed);
  // Most tests are not quarantined, one after the other: nothing to copy.
  const auto blank = [](const QuarantineInfo& q) { return q.reason.empty() && q.link.empty() && q.until.empty(); };
  if (!blank(quarantine) || !blank(quarantine_)) quarantine_ = quarantine;
  ident_.clear();
  ident_at_ = put_test_identity(ident_, t, full_name, &quarantine_);
  texts_.clear();
  texts_.put(t.suite);
  name_at_ = texts_.size();
  texts_.put(t.name);
  full_name_at_ = texts_.size();
  texts_.put(full_name);
  file_at_ = texts_.size();
  texts_.put(t.file);
  tags_.resize(t.tags.size());
  for (std::size_t i = 0; i < t.tags.size(); ++i) tags_[i].assign(t.tags[i].data(), t.tags[i].size());
  line_ = t.line;
  disabled_ = is_disabled_name(t.suite, t.name);
  failures_.clear();
  failures_writer_.reset();
  failures_writer_.begin_members();
  failure_ends_.clear();
  failures_reported_ = 0;
  failures_omitted_ = 0;
  signal_failure_set_.store(false, std::memory_order_relaxed);
  // Only a failure fills first_failure_ (add_failure sets has_first_failure_ whenever it does): a test that
  // passed left it as it was, and building a whole FailedTest to clear it was a large part of this call.
  if (has_first_failure_) first_failure_ = FailedTest{};
  has_first_failure_ = false;
  has_escaped_ = false;
  properties_.clear();
  properties_writer_.reset();
  properties_writer_.begin_members();
  property_ends_.clear();
  properties_omitted_ = 0;
  in_test_.store(true, std::memory_order_relaxed);
  updating_.store(false, std::memory_order_release);
  start_ns_ = mono_now_ns();
}

void RunningTest::add_failure(const Failure& f, const Redactor& redactor) {
  ++failures_reported_;
  if (!has_first_failure_ && !f.allowed) {
    has_first_failure_ = true;
    first_failure_.first_failure_file.assign(f.file.data(), f.file.size());
    first_failure_.first_failure_line = f.line;
    first_failure_.first_failure_message = sanitize_utf8(redacted_head(f.message, kMaxFirstFailureBytes, redactor));
    first_failure_.exception_type.assign(f.exception_type.data(), f.exception_type.size());
  }
  // The first few, for the breadcrumbs of a flaky test's event.
  if (!f.allowed && first_failure_.failures.size() < kFailureNotesKept) {
    first_failure_.failures.push_back(
        {std::string(f.file), f.line, sanitize_utf8(redacted_head(f.message, kFailureNoteBytes, redactor))});
  }
  // Each failure gets what is left of the failures' cap (cut harder when it would not fit); once too little
  // is left, the rest are only counted.
  std::size_t used = failures_.size();
  std::size_t room = used + kMinFailureRoom <= kMaxFailuresBytes ? kMaxFailuresBytes - used - 1 : 0;
  if (room == 0) {
    ++failures_omitted_;
    return;
  }
  updating_.store(true, std::memory_order_relaxed);
  put_failure(failures_writer_, f, redactor, room);
  failure_ends_.push_back(failures_.size());
  updating_.store(false, std::memory_order_release);
}

void RunningTest::reserve_for_signal() {
  if (signal_storage_ != nullptr) return;
  signal_storage_.reset(new char[kSignalFailureBytes + kSignalScratchBytes]);
  signal_failure_.use_storage(signal_storage_.get(), kSignalFailureBytes);
}

void RunningTest::add_failure_from_signal(const Failure& f, const Redactor& redactor) noexcept {
  if (!running() || signal_storage_ == nullptr) return;
  if (signal_failure_set_.load(std::memory_order_acquire)) return;  // the first one is the crash
  signal_failure_.clear();
  JsonWriter w(signal_failure_);
  put_failure_from_signal(w, f, redactor, signal_storage_.get() + kSignalFailureBytes, kSignalFailureBytes);
  if (!signal_failure_.overflowed()) signal_failure_set_.store(true, std::memory_order_release);
}

void RunningTest::keep_failure_from_signal() {
  if (!signal_failure_set_.exchange(false)) return;
  ++failures_reported_;
  if (failures_.size() + signal_failure_.size() + 1 > kMaxFailuresBytes) {
    ++failures_omitted_;
    return;
  }
  updating_.store(true, std::memory_order_relaxed);
  failures_writer_.raw_value(signal_failure_.view());
  failure_ends_.push_back(failures_.size());
  updating_.store(false, std::memory_order_release);
}

void RunningTest::note_escaped(const Failure& f, std::string event_id, const Redactor& redactor) {
  has_escaped_ = true;
  escaped_.type.assign(f.exception_type.data(), f.exception_type.size());
  // Redacted before the cut (as the first failure's message): a secret across the cut is still found.
  escaped_.message = sanitize_utf8(redacted_head(f.message, kMaxFirstFailureBytes, redactor));
  escaped_.file.assign(f.file.data(), f.file.size());
  escaped_.line = f.line;
  escaped_.event_id = std::move(event_id);
  escaped_.stack_line.clear();
}

void RunningTest::add_property(std::string_view key, std::string_view value, const Redactor& redactor) {
  const JsonWriter::Mark before = properties_writer_.mark();
  properties_writer_.user_member(key, kMaxPropertyKeyBytes, value, kMaxPropertyValueBytes, redactor);
  if (properties_.size() > kMaxPropertiesBytes) {  // does not fit: counted, not kept
    properties_writer_.rewind(before);
    ++properties_omitted_;
    return;
  }
  property_ends_.push_back(properties_.size());
}

TestFinishedFacts RunningTest::finished_facts() const {
  TestFinishedFacts f;
  f.test = identity();
  f.disabled = disabled_;
  f.has_first_failure = has_first_failure_;
  f.first_failure_file = first_failure_.first_failure_file;
  f.first_failure_line = first_failure_.first_failure_line;
  f.first_failure_message = first_failure_.first_failure_message;
  f.failures_reported = failures_reported_;
  f.failures = failures();
  f.properties = properties();
  return f;
}

FailedTest RunningTest::as_failed(int iteration) const {
  FailedTest f = first_failure_;
  f.suite = text(0, name_at_);
  f.name = text(name_at_, full_name_at_);
  f.full_name = full_name();
  f.file = text(file_at_, texts_.size());
  f.line = line_;
  f.iteration = iteration;
  f.disabled = disabled_;
  f.tags = tags_;
  f.quarantine = quarantine_;
  return f;
}

}  // namespace bstest::detail
