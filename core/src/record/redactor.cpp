#include "record/redactor.hpp"

#include "base/strings.hpp"
#include "base/wildcard.hpp"

#include <algorithm>
#include <cstring>

extern char** environ;

namespace bstest::detail {

bool Redactor::name_looks_secret(std::string_view name, const std::vector<std::string>& extra_patterns) {
  std::string n = to_upper(name);
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

std::size_t Redactor::apply_bounded(std::string_view in, char* out, std::size_t cap) const noexcept {
  static constexpr std::string_view kMark = "[redacted]";
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size();) {
    // At each place the longest secret that starts there (values_ is sorted longest first), checked against
    // the whole input: a secret is never half copied, wherever the output ends.
    const std::string* found = nullptr;
    for (const std::string& v : values_) {
      if (v.size() <= in.size() - i && std::memcmp(in.data() + i, v.data(), v.size()) == 0) {
        found = &v;
        break;
      }
    }
    if (found != nullptr) {
      if (cap - n < kMark.size()) break;
      std::memcpy(out + n, kMark.data(), kMark.size());
      n += kMark.size();
      i += found->size();
    } else {
      if (n == cap) break;
      out[n++] = in[i++];
    }
  }
  return n;
}

std::string_view first_line(std::string_view s, std::size_t max) {
  auto nl = s.find('\n');
  if (nl != std::string_view::npos) s = s.substr(0, nl);
  return s.substr(0, utf8_cut(s, max));
}

std::string redacted_head(std::string_view s, std::size_t max, const Redactor& redactor, bool one_line) {
  std::string r = redactor.clean(s);
  std::size_t n = r.size();
  if (one_line) n = std::min(n, r.find('\n'));
  r.resize(utf8_cut(std::string_view(r).substr(0, n), max));
  return r;
}

}  // namespace bstest::detail
