#include "record/test_parts.hpp"

#include "record/redactor.hpp"

#include <algorithm>
#include <string>

namespace bstest {

std::string_view to_string(Result r) noexcept {
  switch (r) {
    case Result::passed: return "passed";
    case Result::failed: return "failed";
    case Result::skipped: return "skipped";
    case Result::disabled: return "disabled";
  }
  return "unknown";
}

std::string_view to_string(FixturePhase p) noexcept {
  switch (p) {
    case FixturePhase::suite_setup: return "suite_setup";
    case FixturePhase::suite_teardown: return "suite_teardown";
    case FixturePhase::global_setup: return "global_setup";
    case FixturePhase::global_teardown: return "global_teardown";
    case FixturePhase::run: return "run";
  }
  return "run";
}

namespace detail {

std::string_view to_string(FailureKind k) noexcept {
  switch (k) {
    case FailureKind::assertion: return "assertion";
    case FailureKind::explicit_fail: return "explicit";
    case FailureKind::exception: return "exception";
    case FailureKind::fatal_error: return "fatal_error";
  }
  return "assertion";
}

namespace {

// Each string costs at most this much beside its escaped bytes: quotes, its key and a truncation note.
constexpr std::size_t kStringOverhead = 100;
// A failure's bytes beside its strings: braces, line, kind, flags, pass, the info list's brackets.
constexpr std::size_t kFailureOverhead = 200;
// A list of strings (tags, info lines) may hold strings whose input bytes, each counted with this much
// more, fit in the list's budget: so an empty string is not free, and the list stays bounded.
constexpr std::size_t kListItemCharge = 3;

IdentityLayout put_identity_with(Buf& out, const TestInfo& t, std::string_view full_name, std::size_t cap,
                                 const QuarantineInfo* quarantine) {
  IdentityLayout at;
  const std::size_t start = out.size();
  JsonWriter w(out);
  w.begin_members();
  // What every record of the test carries first (a passing test's result keeps only these): the suite, the
  // full name, the tags (Catch2 test cases of one name differ by them).
  w.string("suite", t.suite, cap);
  w.begin_text("full_name");
  at.name_at = out.size() - start;
  w.text_escaped(full_name, cap);
  at.name_len = out.size() - start - at.name_at;
  w.end_text();
  if (!t.tags.empty()) {
    w.begin_array("tags");
    std::size_t budget = cap;
    for (auto tag : t.tags) {
      if (tag.size() + kListItemCharge > budget) break;
      budget -= tag.size() + kListItemCharge;
      w.element(tag, cap);
    }
    w.end_array();
  }
  if (quarantine != nullptr) put_quarantine(w, *quarantine, std::min(cap, kMaxQuarantineTextBytes));
  at.short_len = out.size() - start;
  w.string("name", t.name, cap);
  if (!t.type_param.empty()) w.string("type_param", t.type_param, cap);
  if (!t.value_param.empty()) w.string("value_param", t.value_param, cap);
  if (!t.file.empty()) {
    w.string("file", t.file, cap);
    w.integer("line", t.line);
  }
  if (!t.class_name.empty()) w.string("class_name", t.class_name, cap);
  w.end_members();
  return at;
}

// A failure's free text with the secrets replaced: in a std::string, or (for a signal handler, where nothing
// may be allocated) in scratch space reserved beforehand.
class Cleaner {
 public:
  Cleaner(const Redactor& redactor, char* scratch, std::size_t scratch_bytes)
      : redactor_(redactor), scratch_(scratch), scratch_bytes_(scratch_bytes) {}
  std::string_view operator()(std::string_view s) {
    if (redactor_.empty() || s.empty()) return s;
    if (scratch_ != nullptr) return {scratch_, redactor_.apply_bounded(s, scratch_, scratch_bytes_)};
    storage_.clear();
    return redactor_.apply(s, storage_) ? std::string_view(storage_) : s;
  }

 private:
  const Redactor& redactor_;
  char* scratch_;
  std::size_t scratch_bytes_;
  std::string storage_;
};

void put_failure_with(JsonWriter& w, const Failure& f, Cleaner& clean, const FailureCaps& caps, std::string_view key) {
  if (key.empty()) {
    w.begin_object();
  } else {
    w.begin_object(key);
  }
  if (!f.file.empty()) w.string("file", f.file, caps.name);
  if (f.line >= 0) w.integer("line", f.line);
  w.string("message", clean(f.message), caps.message);
  w.word("kind", to_string(f.kind));
  if (f.fatal) w.boolean("fatal", true);
  if (f.allowed) w.boolean("allowed", true);
  auto detail = [&](std::string_view key, std::string_view v) {
    if (!v.empty()) w.string(key, clean(v), caps.detail);
  };
  detail("macro", f.macro);
  detail("expression", f.expression);
  detail("expanded", f.expanded);
  detail("section", f.section);
  detail("exception_type", f.exception_type);
  if (f.pass > 0) w.integer("pass", f.pass);
  if (!f.info.empty()) {
    w.begin_array("info");
    std::size_t budget = caps.detail * 4;
    for (auto line : f.info) {
      if (line.size() + kListItemCharge > budget) break;
      budget -= line.size() + kListItemCharge;
      w.element(clean(line), caps.detail);
    }
    w.end_array();
  }
  w.end_object();
}

// Input bytes a failure may hold at `caps`: file, message, five details and four details' worth of info.
constexpr std::size_t input_bytes(const FailureCaps& c) { return c.name + c.message + 9 * c.detail; }

}  // namespace

FailureCaps failure_caps_within(std::size_t max_bytes) noexcept {
  // Each input byte becomes at most 6 output bytes; 11 strings at most (file, message, five details, and
  // at most four info lines long enough to be cut).
  constexpr std::size_t fixed = 11 * kStringOverhead + kFailureOverhead;
  constexpr std::size_t full = input_bytes(kFailureCaps);
  if (max_bytes >= fixed + 6 * full) return kFailureCaps;
  std::size_t scaled = max_bytes > fixed ? (max_bytes - fixed) / 6 : 0;  // input bytes we can afford
  return {kFailureCaps.name * scaled / full, kFailureCaps.message * scaled / full, kFailureCaps.detail * scaled / full};
}

IdentityLayout put_test_identity(Buf& out, const TestInfo& t, std::string_view full_name,
                                 const QuarantineInfo* quarantine) {
  const std::size_t mark = out.size();
  IdentityLayout at = put_identity_with(out, t, full_name, kMaxNameBytes, quarantine);
  if (out.size() - mark > kMaxIdentityBytes) {
    out.truncate(mark);
    at = put_identity_with(out, t, full_name, kCompactNameBytes, quarantine);
  }
  return at;
}

void put_quarantine(JsonWriter& w, const QuarantineInfo& q, std::size_t cap) {
  if (q.until.empty()) return;
  w.begin_object("quarantine");
  w.string("reason", q.reason, cap);
  if (!q.link.empty()) w.string("link", q.link, cap);
  w.string("until", q.until, cap);
  w.end_object();
}

void put_failure(JsonWriter& w, const Failure& f, const Redactor& redactor, std::size_t max_bytes,
                 std::string_view key) {
  Cleaner clean(redactor, nullptr, 0);
  const JsonWriter::Mark before = w.mark();
  put_failure_with(w, f, clean, kFailureCaps, key);
  if (w.buf().size() - before.size > max_bytes) {
    w.rewind(before);
    put_failure_with(w, f, clean, failure_caps_within(max_bytes), key);
  }
}

void put_failure_from_signal(JsonWriter& w, const Failure& f, const Redactor& redactor, char* scratch,
                             std::size_t max_bytes) noexcept {
  const FailureCaps caps = failure_caps_within(max_bytes);
  Cleaner clean(redactor, scratch, std::max(caps.message, caps.detail));
  put_failure_with(w, f, clean, caps, {});
}

}  // namespace detail
}  // namespace bstest
