// The test that is running now, as the session keeps it between test_started and test_finished: its
// identity, rendered once when it starts, and its failures and properties, rendered as they are reported
// (the framework's objects die after each callback).
//
// Written under the session's lock, from the thread that runs the tests (failures and properties from any
// thread). Read by the crash record's renderer inside a signal handler without the lock: `running()` says
// whether the test's state is complete enough to be copied (not in the middle of an update).
#pragma once

#include <bstest/model.hpp>
#include <bstest/session.hpp>

#include "record/json.hpp"
#include "record/json_writer.hpp"
#include "record/log_records.hpp"
#include "record/test_events.hpp"
#include "record/test_parts.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

class Redactor;

class RunningTest {
 public:
  RunningTest();

  // The test starts (`full_name`: as the framework selects it), quarantined when `quarantine` holds an entry:
  // its records carry it.
  void begin(const TestInfo& test, std::string_view full_name, const QuarantineInfo& quarantine);
  // The test ended: nothing more is added to it.
  void end() noexcept { in_test_.store(false, std::memory_order_relaxed); }
  bool running() const noexcept { return in_test_.load(std::memory_order_relaxed); }
  // For a signal handler: running, and not in the middle of an update.
  bool stable() const noexcept { return running() && !updating_.load(std::memory_order_acquire); }

  // A failure of this test; the first one that is not allowed is kept for verdicts.
  void add_failure(const Failure& failure, const Redactor& redactor);
  // The test's first escaped exception (whatever failed before it); `event_id`: the id of the event that will
  // report it, which the snapshot of its throw names ("" when none was taken).
  void note_escaped(const Failure& failure, std::string event_id, const Redactor& redactor);
  bool has_escaped() const noexcept { return has_escaped_; }
  const EscapedException& escaped() const noexcept { return escaped_; }
  // A fatal error reported from inside a signal handler (Catch2's): no lock (the crashing thread may hold
  // the session's), no allocation (the signal may have come from inside malloc). The failure is encoded into
  // space reserved by reserve_for_signal(); the crash record that follows carries it as the test's last.
  void reserve_for_signal();
  void add_failure_from_signal(const Failure& failure, const Redactor& redactor) noexcept;
  // The program lived on after such a failure (a framework that recovers): it joins the test's failures.
  void keep_failure_from_signal();
  std::string_view failure_from_signal() const noexcept {
    return signal_failure_set_.load(std::memory_order_acquire) ? signal_failure_.view() : std::string_view();
  }
  // A key/value the test recorded; false when it did not fit (counted).
  void add_property(std::string_view key, std::string_view value, const Redactor& redactor);

  IdentityView identity() const noexcept { return identity_view(ident_.view(), ident_at_); }
  std::string_view full_name() const noexcept { return text(full_name_at_, file_at_); }
  const std::vector<std::string>& tags() const noexcept { return tags_; }
  const QuarantineInfo& quarantine() const noexcept { return quarantine_; }
  bool quarantined() const noexcept { return !quarantine_.until.empty(); }
  bool disabled() const noexcept { return disabled_; }
  std::int64_t start_ns() const noexcept { return start_ns_; }
  RenderedList failures() const noexcept { return {failures_.view(), &failure_ends_, failures_omitted_}; }
  RenderedList properties() const noexcept { return {properties_.view(), &property_ends_, properties_omitted_}; }

  // Its first failures (at most kFailureNotesKept), for error events.
  const std::vector<FailureNote>& failure_notes() const noexcept { return first_failure_.failures; }

  // The facts of its test_finished record (everything but result, duration and notes).
  TestFinishedFacts finished_facts() const;
  // As a failed test, for re-runs, verdicts and reports (iteration: of a repeated run).
  FailedTest as_failed(int iteration) const;

 private:
  std::atomic<bool> in_test_{false};
  std::atomic<bool> updating_{false};
  Buf ident_{1024};
  IdentityLayout ident_at_;
  // Its suite, name, full name and file, one after the other (one copy per test, not four).
  std::string_view text(std::size_t from, std::size_t to) const noexcept { return texts_.view().substr(from, to - from); }
  Buf texts_{512};
  std::size_t name_at_ = 0, full_name_at_ = 0, file_at_ = 0;
  std::vector<std::string> tags_;
  QuarantineInfo quarantine_;
  int line_ = 0;
  bool disabled_ = false;
  std::int64_t start_ns_ = 0;
  Buf failures_;
  JsonWriter failures_writer_{failures_};
  std::vector<std::size_t> failure_ends_;  // where each failure in failures_ ends
  std::size_t failures_reported_ = 0;
  std::size_t failures_omitted_ = 0;
  bool has_first_failure_ = false;
  FailedTest first_failure_;
  bool has_escaped_ = false;
  EscapedException escaped_;
  static constexpr std::size_t kSignalFailureBytes = 64u << 10;
  std::unique_ptr<char[]> signal_storage_;  // kSignalFailureBytes, then the redaction's scratch space
  Buf signal_failure_;
  std::atomic<bool> signal_failure_set_{false};
  Buf properties_;
  JsonWriter properties_writer_{properties_};
  std::vector<std::size_t> property_ends_;
  std::size_t properties_omitted_ = 0;
};

}  // namespace bstest::detail
