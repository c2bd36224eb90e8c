// Which entry of the quarantine file a test falls under, and which entries have expired.
#include "quarantine/quarantine.hpp"

#include "base/wildcard.hpp"

#include <strings.h>

namespace bstest {

namespace {

bool has_tag(const std::vector<std::string_view>& tags, std::string_view wanted) noexcept {
  for (auto t : tags) {
    // Catch2 compares tags in either case.
    if (t.size() == wanted.size() && ::strncasecmp(t.data(), wanted.data(), t.size()) == 0) return true;
  }
  return false;
}

}  // namespace

bool QuarantineEntry::matches(std::string_view framework, std::string_view full_name,
                              const std::vector<std::string_view>& test_tags) const noexcept {
  if (!tags.empty()) {
    for (const auto& t : tags) {
      if (!has_tag(test_tags, t)) return false;
    }
    return true;
  }
  // Catch2 compares test case names in either case (its test specs do); GoogleTest's filter does not.
  return detail::wildcard_match(test, full_name, /*ignore_case=*/framework == "catch2");
}

const QuarantineEntry* Quarantine::find(std::string_view framework, std::string_view full_name,
                                        const std::vector<std::string_view>& tags) const noexcept {
  if (!usable()) return nullptr;
  for (const auto& e : entries_) {
    if (e.active(today_) && e.matches(framework, full_name, tags)) return &e;
  }
  return nullptr;
}

const QuarantineEntry* Quarantine::find(std::string_view framework, std::string_view full_name,
                                        const std::vector<std::string>& tags) const noexcept {
  try {
    return find(framework, full_name, std::vector<std::string_view>(tags.begin(), tags.end()));
  } catch (...) {  // out of memory: not quarantined, the failure counts
    return nullptr;
  }
}

std::vector<const QuarantineEntry*> Quarantine::expired() const {
  std::vector<const QuarantineEntry*> out;
  if (!usable()) return out;
  for (const auto& e : entries_) {
    if (!e.active(today_)) out.push_back(&e);
  }
  return out;
}

std::string Quarantine::expired_line(const QuarantineEntry& e) const {
  std::string line = "quarantine of '" + e.test + "' (" + path_ + ":" + std::to_string(e.line) + ") ended on " +
                     e.until + ": its failures count again; fix the test, or extend `until` if it is still broken";
  if (!e.link.empty()) line += " (" + e.link + ")";
  return line;
}

QuarantineTally::QuarantineTally(const Quarantine& quarantine)
    : quarantine_(&quarantine), matched_(quarantine.entries().size(), false) {}

void QuarantineTally::saw(std::string_view framework, std::string_view full_name,
                          const std::vector<std::string_view>& tags) {
  const auto& entries = quarantine_->entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!matched_[i] && entries[i].matches(framework, full_name, tags)) matched_[i] = true;
  }
}

std::vector<std::string> QuarantineTally::matched() const {
  std::vector<std::string> out;
  const auto& entries = quarantine_->entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (matched_[i]) out.push_back(entries[i].test);
  }
  return out;
}

std::vector<const QuarantineEntry*> QuarantineTally::unmatched() const {
  std::vector<const QuarantineEntry*> out;
  const auto& entries = quarantine_->entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!matched_[i]) out.push_back(&entries[i]);
  }
  return out;
}

}  // namespace bstest
