// The parts of a test's records that are rendered when they happen, because the framework's objects die
// after its callback: the test's identity (when it starts) and each failure (when it is reported).
#pragma once

#include <bstest/model.hpp>
#include <bstest/session.hpp>

#include "record/json_writer.hpp"
#include "record/limits.hpp"

#include <cstddef>
#include <string_view>

namespace bstest::detail {

class Redactor;

// "assertion", "explicit", "exception", "fatal_error".
std::string_view to_string(FailureKind k) noexcept;

// Where the parts of a rendered identity are, counted from where it starts in its Buf.
struct IdentityLayout {
  std::size_t name_at = 0;  // the escaped full name (without quotes)
  std::size_t name_len = 0;
  std::size_t short_len = 0;  // "suite", "full_name", "tags" and "quarantine": what a passing test's result keeps
};
// The test's identity members, without braces, appended to `out`: "suite":…,"full_name":…,"tags":[…], and
// "quarantine":{…} when `quarantine` applies to it, then "name":…,"type_param":…,"value_param":…,"file":…,
// "line":…,"class_name":…. At most kMaxIdentityBytes (each string cut to kCompactNameBytes when they would be
// more).
IdentityLayout put_test_identity(Buf& out, const TestInfo& test, std::string_view full_name,
                                 const QuarantineInfo* quarantine = nullptr);

// A test's identity as rendered when it started (put_test_identity): its members, the first of them that a
// passing test's result keeps (suite, full name, tags), and the escaped full name (for the human message).
struct IdentityView {
  std::string_view members;
  std::string_view short_members;
  std::string_view escaped_name;
};
// The parts of `rendered`, what put_test_identity appended from its start, as `at` says where they are.
inline IdentityView identity_view(std::string_view rendered, const IdentityLayout& at) noexcept {
  return {rendered, rendered.substr(0, at.short_len), rendered.substr(at.name_at, at.name_len)};
}

// A quarantined test's "quarantine" member: {"reason":…,"link":…,"until":…} (link when the entry has one),
// each string cut at `cap`. Nothing when `quarantine` holds no entry (until is empty).
void put_quarantine(JsonWriter& w, const QuarantineInfo& quarantine, std::size_t cap = kMaxQuarantineTextBytes);

// Input caps of one failure's strings.
struct FailureCaps {
  std::size_t name;     // file
  std::size_t message;
  std::size_t detail;   // macro, expression, expanded, section, exception type, each info line (4x in all)
};
constexpr FailureCaps kFailureCaps{kMaxNameBytes, kMaxMessageBytes, kMaxDetailBytes};
// The largest caps (kFailureCaps scaled down) that keep put_failure's output within `max_bytes`, however
// the strings escape. kFailureCaps when even the worst case fits.
FailureCaps failure_caps_within(std::size_t max_bytes) noexcept;

// One failure as an object {"file":…,"line":…,"message":…,"kind":…,…}, secrets redacted from its free
// text, cut at kFailureCaps; when that would be more than `max_bytes`, at failure_caps_within(max_bytes).
// With a `key`, as that member of the open object; without, as a value (an element of the open list).
void put_failure(JsonWriter& w, const Failure& f, const Redactor& redactor, std::size_t max_bytes = SIZE_MAX,
                 std::string_view key = {});

// The same at failure_caps_within(max_bytes), for a signal handler (Catch2 reports a fatal signal from its own
// handler): no allocation and no lock, provided the writer's Buf has room for `max_bytes` more bytes and
// `scratch` holds kSignalScratchBytes.
void put_failure_from_signal(JsonWriter& w, const Failure& f, const Redactor& redactor, char* scratch,
                             std::size_t max_bytes) noexcept;
constexpr std::size_t kSignalScratchBytes = kMaxMessageBytes;

}  // namespace bstest::detail
