#include "record/log_encoder.hpp"

#include "text/wildcard.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>

extern char** environ;

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

// ---------------------------------------------------------------------------------------------------------
// Redactor

namespace {

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

bool Redactor::name_looks_secret(std::string_view name, const std::vector<std::string>& extra_patterns) {
  std::string n = upper(name);
  for (const char* part : {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "DSN", "HEARTBEAT_URL", "CREDENTIAL"}) {
    if (n.find(part) != std::string::npos) return true;
  }
  for (const auto& p : extra_patterns) {
    if (wildcard_match(p, n, /*ignore_case=*/true)) return true;
  }
  return false;
}

void Redactor::collect_from_environment(const std::vector<std::string>& extra_patterns) {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    if (name_looks_secret(kv.substr(0, eq), extra_patterns)) add(std::string(kv.substr(eq + 1)));
  }
}

void Redactor::add(std::string value) {
  // Short values ("1", "true") would redact ordinary text; real secrets are longer.
  if (value.size() < 6) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  values_.push_back(std::move(value));
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(values_.begin(), values_.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

bool Redactor::apply(std::string_view in, std::string& out) const {
  if (values_.empty()) {
    out.append(in.data(), in.size());
    return false;
  }
  // Where each secret occurs next; a position is searched again only once the text before it is used up,
  // so a long message with many secrets is still scanned about once per secret.
  std::vector<std::size_t> next(values_.size());
  for (std::size_t k = 0; k < values_.size(); ++k) next[k] = in.find(values_[k]);
  bool replaced = false;
  std::size_t i = 0;
  for (;;) {
    std::size_t best = std::string_view::npos;
    std::size_t best_k = 0;
    for (std::size_t k = 0; k < values_.size(); ++k) {
      if (next[k] != std::string_view::npos && next[k] < i) next[k] = in.find(values_[k], i);
      // Earliest first; at the same place the longest (values_ is sorted longest first).
      if (next[k] < best) {
        best = next[k];
        best_k = k;
      }
    }
    if (best == std::string_view::npos) break;
    out.append(in.data() + i, best - i);
    out += "[redacted]";
    i = best + values_[best_k].size();
    replaced = true;
  }
  out.append(in.data() + i, in.size() - i);
  return replaced;
}

std::string Redactor::clean(std::string_view in) const {
  std::string out;
  apply(in, out);
  return out;
}

void put_redacted_string(Buf& out, std::string_view s, std::size_t max_bytes, const Redactor& redactor) {
  if (redactor.empty() || s.empty()) {
    put_json_string(out, s, max_bytes);
    return;
  }
  std::string clean;
  redactor.apply(s, clean);
  put_json_string(out, clean, max_bytes);
}

std::string_view first_line(std::string_view s, std::size_t max) {
  auto nl = s.find('\n');
  if (nl != std::string_view::npos) s = s.substr(0, nl);
  if (s.size() > max) s = s.substr(0, max);
  return s;
}

std::string redacted_head(std::string_view s, std::size_t max, const Redactor& redactor, bool one_line) {
  std::string r = redactor.clean(s);
  std::size_t n = r.size();
  if (one_line) n = std::min(n, r.find('\n'));
  if (n > max) {
    // Not in the middle of a character: when the cut falls on one's continuation bytes, cut before its
    // first byte (a character has at most three; a longer run is invalid UTF-8 anyway).
    auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(r[i]) & 0xC0) == 0x80; };
    std::size_t start = max;
    while (max - start < 3 && start > 0 && continuation(start)) --start;
    n = continuation(start) ? max : start;
  }
  r.resize(n);
  return r;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes) {  // no getrandom: mix the clock and pid, good enough for ids
    auto seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                (static_cast<std::uint64_t>(::getpid()) << 32);
    for (std::size_t i = got; i < bytes; ++i) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      raw[i] = static_cast<char>(seed >> 56);
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string r;
  r.reserve(bytes * 2);
  for (unsigned char c : raw) {
    r += kHex[c >> 4];
    r += kHex[c & 15];
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// LogEncoder

namespace {

void put_run_fragment(Buf& b, const RunMeta& run, std::size_t cap) {
  b.put(",\"run\":{\"id\":");
  put_json_string(b, run.run_id, cap);
  b.put(",\"framework\":");
  put_json_string(b, run.framework, cap);
  if (!run.framework_version.empty()) {
    b.put(",\"framework_version\":");
    put_json_string(b, run.framework_version, cap);
  }
  b.put(",\"binary\":");
  put_json_string(b, run.binary, cap);
  b.put(",\"host\":");
  put_json_string(b, run.host, cap);
  b.put(",\"pid\":");
  b.put_int(run.pid);
  if (run.shard_total > 0) {
    b.put(",\"shard_index\":");
    b.put_int(run.shard_index);
    b.put(",\"shard_total\":");
    b.put_int(run.shard_total);
  }
  b.put(",\"iteration\":");
  b.put_int(run.iteration);
  if (run.has_random_seed) {
    b.put(",\"random_seed\":");
    b.put_uint(run.random_seed);
  }
  b.put(",\"attempt\":");
  b.put_int(run.attempt);
  b.put(",\"bstest_version\":");
  put_json_string(b, run.bstest_version, cap);
  b.put('}');
}

void put_ci_fragment(Buf& b, const CiInfo& ci, std::size_t cap) {
  b.put(",\"ci\":{\"provider\":");
  put_json_string(b, ci.provider, cap);
  auto field = [&](const char* key, const std::string& v) {
    if (v.empty()) return;
    b.put(',');
    put_key(b, key);
    put_json_string(b, v, cap);
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
  b.put('}');
}

}  // namespace

void LogEncoder::set_run(const RunMeta& run) {
  run_ = run;
  Buf b;
  put_run_fragment(b, run, kMaxNameBytes);
  if (b.size() > kMaxRunFragmentBytes) {
    b.clear();
    put_run_fragment(b, run, kCompactNameBytes);
  }
  run_fragment_ = b.str();
}

void LogEncoder::set_ci(const CiInfo& ci) {
  if (!ci.is_ci()) {
    ci_fragment_.clear();
    return;
  }
  Buf b;
  put_ci_fragment(b, ci, kMaxNameBytes);
  if (b.size() > kMaxCiFragmentBytes) {
    b.clear();
    put_ci_fragment(b, ci, kCompactNameBytes);
  }
  ci_fragment_ = b.str();
}

void LogEncoder::begin(Buf& out, std::string_view level, std::string_view event) {
  out.put("{\"id\":\"", 7);
  out.put(id_prefix_);
  out.put('-');
  out.put_uint(++seq_);
  out.put("\",\"dt\":\"", 8);
  WallTime now = wall_now();
  clock_.put(out, now.seconds, now.microseconds);
  out.put("\",\"level\":\"", 11);
  out.put(level);
  out.put("\",\"event\":\"", 11);
  out.put(event);
  out.put("\",\"message\":", 12);
}

namespace {

// Each string costs at most this much beside its escaped bytes: quotes, its key and a truncation note.
constexpr std::size_t kStringOverhead = 100;
// A failure's bytes beside its strings: braces, line, kind, flags, pass, the info list's brackets.
constexpr std::size_t kFailureOverhead = 200;
// A list of strings (tags, info lines) may hold strings whose input bytes, each counted with this much
// more, fit in the list's budget: so an empty string is not free, and the list stays bounded.
constexpr std::size_t kListItemCharge = 3;

std::size_t put_identity_with(Buf& out, const TestInfo& t, std::string_view full_name, std::size_t& escaped_len,
                              std::size_t cap) {
  out.put("\"suite\":", 8);
  put_json_string(out, t.suite, cap);
  out.put(",\"name\":", 8);
  put_json_string(out, t.name, cap);
  out.put(",\"full_name\":\"", 14);
  std::size_t name_at = out.size();
  put_json_chars(out, full_name, cap);
  escaped_len = out.size() - name_at;
  out.put('"');
  if (!t.type_param.empty()) {
    out.put(",\"type_param\":");
    put_json_string(out, t.type_param, cap);
  }
  if (!t.value_param.empty()) {
    out.put(",\"value_param\":");
    put_json_string(out, t.value_param, cap);
  }
  if (!t.file.empty()) {
    out.put(",\"file\":", 8);
    put_json_string(out, t.file, cap);
    out.put(",\"line\":", 8);
    out.put_int(t.line);
  }
  if (!t.class_name.empty()) {
    out.put(",\"class_name\":");
    put_json_string(out, t.class_name, cap);
  }
  if (!t.tags.empty()) {
    out.put(",\"tags\":[");
    std::size_t budget = cap;
    bool first = true;
    for (auto tag : t.tags) {
      if (tag.size() + kListItemCharge > budget) break;
      budget -= tag.size() + kListItemCharge;
      if (!first) out.put(',');
      first = false;
      put_json_string(out, tag, cap);
    }
    out.put(']');
  }
  return name_at;
}

void put_failure_with(Buf& out, const Failure& f, const Redactor& redactor, const FailureCaps& caps) {
  out.put('{');
  if (!f.file.empty()) {
    out.put("\"file\":", 7);
    put_json_string(out, f.file, caps.name);
    out.put(',');
  }
  if (f.line >= 0) {
    out.put("\"line\":", 7);
    out.put_int(f.line);
    out.put(',');
  }
  out.put("\"message\":", 10);
  put_redacted_string(out, f.message, caps.message, redactor);
  out.put(",\"kind\":\"");
  out.put(to_string(f.kind));
  out.put('"');
  if (f.fatal) out.put(",\"fatal\":true");
  if (f.allowed) out.put(",\"allowed\":true");
  auto detail = [&](const char* key, std::string_view v) {
    if (v.empty()) return;
    out.put(',');
    put_key(out, key);
    put_redacted_string(out, v, caps.detail, redactor);
  };
  detail("macro", f.macro);
  detail("expression", f.expression);
  detail("expanded", f.expanded);
  detail("section", f.section);
  detail("exception_type", f.exception_type);
  if (f.pass > 0) {
    out.put(",\"pass\":");
    out.put_int(f.pass);
  }
  if (!f.info.empty()) {
    out.put(",\"info\":[");
    std::size_t budget = caps.detail * 4;
    bool first = true;
    for (auto line : f.info) {
      if (line.size() + kListItemCharge > budget) break;
      budget -= line.size() + kListItemCharge;
      if (!first) out.put(',');
      first = false;
      put_redacted_string(out, line, caps.detail, redactor);
    }
    out.put(']');
  }
  out.put('}');
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

std::size_t LogEncoder::put_test_identity(Buf& out, const TestInfo& t, std::string_view full_name,
                                         std::size_t& escaped_len) {
  const std::size_t mark = out.size();
  std::size_t name_at = put_identity_with(out, t, full_name, escaped_len, kMaxNameBytes);
  if (out.size() - mark > kMaxIdentityBytes) {
    out.truncate(mark);
    name_at = put_identity_with(out, t, full_name, escaped_len, kCompactNameBytes);
  }
  return name_at;
}

void LogEncoder::put_failure(Buf& out, const Failure& f, const Redactor& redactor, std::size_t max_bytes) {
  const std::size_t mark = out.size();
  put_failure_with(out, f, redactor, kFailureCaps);
  if (out.size() - mark > max_bytes) {
    out.truncate(mark);
    put_failure_with(out, f, redactor, failure_caps_within(max_bytes));
  }
}

}  // namespace detail
}  // namespace bstest
