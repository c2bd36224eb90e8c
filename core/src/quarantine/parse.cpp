#include "quarantine/parse.hpp"

#include <map>
#include <string>

namespace bstest::detail {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A value as messages quote it: at most 80 bytes.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 80;
  if (s.size() <= kMax) return "'" + std::string(s) + "'";
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return "'" + std::string(s.substr(0, cut)) + "...'";
}

// "[network][slow]" -> {network, slow}. False with `error` set when it is not a tag pattern.
bool parse_tags(std::string_view pattern, std::vector<std::string>& tags, std::string& error) {
  std::string_view rest = pattern;
  while (!rest.empty()) {
    auto close = rest.find(']');
    if (rest.front() != '[' || close == std::string_view::npos || close == 1 ||
        rest.substr(1, close - 1).find('[') != std::string_view::npos) {
      error = quoted(pattern) + " is not a tag pattern: write [tag], or [tag1][tag2] for tests that have both";
      return false;
    }
    tags.emplace_back(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
  }
  return true;
}

// What is wrong with `pattern` as an entry's `test`, "" when nothing. Fills `tags` for a tag pattern.
std::string check_test(std::string_view pattern, std::vector<std::string>& tags) {
  if (pattern.empty()) return "`test:` is empty: name a test (Net.Download), a pattern (Net.*) or tags ([network])";
  if (pattern.find_first_not_of("*?") == std::string_view::npos) {
    return "`test: " + std::string(pattern) + "` would quarantine every test: name the tests";
  }
  std::string error;
  if (pattern.front() == '[' && !parse_tags(pattern, tags, error)) return error;
  return "";
}

struct Pending {
  QuarantineEntry entry;
  std::map<std::string, int> field_lines;  // field -> the line it is on
};

class Parser {
 public:
  Parser(Day today, std::vector<QuarantineEntry>& entries, std::vector<QuarantineProblem>& problems)
      : today_(today), entries_(entries), problems_(problems) {}

  void line(int n, std::string_view text) {
    std::string_view s = trim(text);
    if (s.empty() || s.front() == '#') return;
    auto colon = s.find(':');
    if (colon == std::string_view::npos) {
      problem(n, quoted(s) + " is not a `field: value` line (nor a # comment); the fields are test, reason, "
                             "link and until");
      return;
    }
    std::string key(trim(s.substr(0, colon)));
    std::string_view value = trim(s.substr(colon + 1));
    if (key == "test") {
      finish();
      start(n, value);
    } else if (key != "reason" && key != "link" && key != "until") {
      problem(n, "unknown field " + quoted(key) + ": the fields are test, reason, link and until");
    } else if (!open_) {
      problem(n, "`" + key + ":` comes before any `test:` line: each entry starts with `test: <test name>`");
    } else if (cur_.field_lines.count(key) != 0) {
      problem(n, "a second `" + key + ":` for " + quoted(cur_.entry.test) + " (the first is on line " +
                     std::to_string(cur_.field_lines[key]) + ")");
    } else {
      cur_.field_lines[key] = n;
      std::string& field = key == "reason" ? cur_.entry.reason : key == "link" ? cur_.entry.link : cur_.entry.until;
      field = std::string(value);
    }
  }

  void finish() {
    if (!open_) return;
    open_ = false;
    bool fields_ok = check_reason_and_link();
    bool until_ok = check_until();  // also when the reason is missing: every problem at once
    if (test_ok_ && fields_ok && until_ok) entries_.push_back(std::move(cur_.entry));
  }

 private:
  void problem(int line, std::string message) { problems_.push_back({line, std::move(message)}); }

  void start(int n, std::string_view test) {
    open_ = true;
    cur_ = Pending{};
    cur_.entry.test = std::string(test);
    cur_.entry.line = n;
    std::string error = check_test(test, cur_.entry.tags);
    test_ok_ = error.empty();
    if (!test_ok_) {
      problem(n, error);
    } else if (auto seen = first_line_.find(cur_.entry.test); seen != first_line_.end()) {
      problem(n, quoted(test) + " is quarantined already on line " + std::to_string(seen->second) +
                     ": keep one entry");
      test_ok_ = false;
    } else {
      first_line_[cur_.entry.test] = n;
    }
  }

  bool check_reason_and_link() {
    const QuarantineEntry& e = cur_.entry;
    auto reason = cur_.field_lines.find("reason");
    if (reason == cur_.field_lines.end()) {
      problem(e.line, "the entry for " + quoted(e.test) + " has no reason: add `reason: <why it is quarantined>`");
      return false;
    }
    if (e.reason.empty()) {
      problem(reason->second, "`reason:` is empty: say why " + quoted(e.test) + " is quarantined");
      return false;
    }
    auto link = cur_.field_lines.find("link");
    if (link != cur_.field_lines.end() && e.link.empty()) {
      problem(link->second, "`link:` is empty: give the bug's address, or remove the line");
      return false;
    }
    return true;
  }

  bool check_until() {
    QuarantineEntry& e = cur_.entry;
    std::string latest = format_day(today_ + kQuarantineMaxDays);
    auto until = cur_.field_lines.find("until");
    if (until == cur_.field_lines.end()) {
      problem(e.line, "the entry for " + quoted(e.test) + " has no end date: add `until: YYYY-MM-DD` (at most " +
                          std::to_string(kQuarantineMaxDays) + " days from today: " + latest + " at the latest)");
      return false;
    }
    if (!parse_day(e.until, e.until_day)) {
      problem(until->second, "`until: " + e.until + "` is not a date: write YYYY-MM-DD (such as " + latest + ")");
      return false;
    }
    Day away = e.until_day - today_;
    if (away > kQuarantineMaxDays) {
      problem(until->second, "`until: " + e.until + "` is " + std::to_string(away) +
                                 " days away: a quarantine lasts at most " + std::to_string(kQuarantineMaxDays) +
                                 " days (" + latest + " at the latest); choose an earlier date, and extend it "
                                 "then if the test is still broken");
      return false;
    }
    return true;
  }

  Day today_;
  std::vector<QuarantineEntry>& entries_;
  std::vector<QuarantineProblem>& problems_;
  Pending cur_;
  bool open_ = false;
  bool test_ok_ = false;
  std::map<std::string, int> first_line_;  // test -> the line of its entry
};

}  // namespace

void parse_quarantine(std::string_view text, Day today, std::vector<QuarantineEntry>& entries,
                      std::vector<QuarantineProblem>& problems) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a byte order mark some editors write
  Parser parser(today, entries, problems);
  int n = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    parser.line(++n, text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  parser.finish();
}

}  // namespace bstest::detail
