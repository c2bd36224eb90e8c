// GitHub-flavoured Markdown for a CI job summary. Names and messages come from tests: they go into code
// spans and fenced blocks whose fences are longer than any run of backticks inside, so nothing in them is
// read as Markdown or HTML.
#include "record/record_reader.hpp"
#include "report/text.hpp"
#include "report/writers.hpp"

namespace bstest::report {

namespace {

constexpr std::size_t kMessageLines = 12;
constexpr std::size_t kMessageBytes = 1500;

std::size_t longest_backtick_run(std::string_view s) {
  std::size_t best = 0, run = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    best = std::max(best, run);
  }
  return best;
}

// `s` as inline code, on one line.
std::string code(std::string_view s) {
  std::string one(s);
  for (char& c : one) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';  // one line, no control characters
  }
  std::string fence(longest_backtick_run(one) + 1, '`');
  bool pad = !one.empty() && (one.front() == '`' || one.back() == '`' || one.front() == ' ');
  return fence + (pad ? " " : "") + one + (pad ? " " : "") + fence;
}

// The first lines of a message in a fenced block, indented to sit inside a list item.
std::string block(std::string_view message) {
  std::string text;
  std::size_t lines = 0;
  bool cut = false;
  for (std::size_t pos = 0; pos < message.size(); ++lines) {
    if (lines == kMessageLines) {
      cut = true;
      break;
    }
    std::size_t nl = std::min(message.find('\n', pos), message.size());
    text += std::string(message.substr(pos, nl - pos)) + "\n";
    pos = nl + 1;
  }
  if (text.size() > kMessageBytes) {
    text = std::string(detail::utf8_prefix(text, kMessageBytes)) + "\n";
    cut = true;
  }
  if (cut) text += "[...]\n";
  std::string fence(std::max<std::size_t>(3, longest_backtick_run(text) + 1), '`');
  std::string out = "  " + fence + "\n";
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out += "  " + text.substr(pos, nl - pos) + "\n";
    pos = nl + 1;
  }
  return out + "  " + fence + "\n";
}

// A link, or the plain text when there is no URL. Markdown's own characters in the text are escaped.
std::string link(const std::string& text, const std::string& url) {
  if (url.empty()) return text;
  std::string u;
  for (char c : url) {
    if (c == ')' || c == ' ' || c == '<' || c == '>') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      u += buf;
    } else {
      u += c;
    }
  }
  return "[" + text + "](" + u + ")";
}

class Summary {
 public:
  Summary(const RunReport& r, std::size_t max_bytes) : r_(r), max_(max_bytes) {}

  std::string write() {
    head();
    for (const auto& p : r_.programs) {
      for (const auto& t : p.tests) {
        if (t.verdict == Verdict::failed || t.verdict == Verdict::crashed) failed_.emplace_back(&p, &t);
        if (t.verdict == Verdict::flaky) flaky_.emplace_back(&p, &t);
      }
    }
    failures();
    crashes_and_outside();
    flaky();
    return out_;
  }

 private:
  void head() {
    bool ok = r_.passed;
    out_ += std::string("### ") + (ok ? "\xE2\x9C\x85" : r_.running && !r_.suite ? "\xE2\x8F\xB3" : "\xE2\x9D\x8C") +
            " bstest: " + verdict_word(r_) + "\n\n";
    out_ += counts_line(r_) + "\n\n";
    std::string meta = "Run " + code(r_.run_id);
    if (r_.programs.size() != 1) meta += " \xC2\xB7 " + std::to_string(r_.programs.size()) + " programs";
    else meta += " \xC2\xB7 " + code(r_.programs.front().binary);
    meta += " \xC2\xB7 " + human_duration(r_.duration_ms);
    if (r_.exit_code >= 0) meta += " \xC2\xB7 exit code " + std::to_string(r_.exit_code);
    if (!r_.link.empty()) meta += " \xC2\xB7 " + link("records in Better Stack", r_.link);
    if (!r_.ci.run_url.empty()) meta += " \xC2\xB7 " + link("CI run", r_.ci.run_url);
    out_ += meta + "\n\n";
  }

  // Adds `item` while there is room; otherwise counts it for the "and N more" note.
  bool add(const std::string& item) {
    if (out_.size() + item.size() > max_) {
      ++left_out_;
      return false;
    }
    out_ += item;
    return true;
  }

  void more_note() {
    if (left_out_ == 0) return;
    out_ += "- ... and " + std::to_string(left_out_) + " more: see the HTML report or the JUnit file\n";
    left_out_ = 0;
  }

  void failures() {
    if (failed_.empty()) return;
    out_ += "#### Failed (" + std::to_string(failed_.size()) + ")\n\n";
    for (const auto& [p, t] : failed_) {
      std::string item = "- **" + code(t->full_name) + "** in " + code(p->binary);
      const Failure* f = t->failures.empty() ? nullptr : &t->failures.front();
      if (f != nullptr && !f->file.empty()) item += " at " + code(where(f->file, f->line));
      if (t->verdict == Verdict::crashed) item += ": crashed (" + t->crash + ")";
      std::string attempts = attempts_line(*t);
      if (!attempts.empty()) item += ", " + attempts;
      if (std::string q = quarantine_line(*t); !q.empty()) item += "; " + q;
      item += "\n";
      if (f != nullptr && !f->message.empty()) item += block(f->message);
      add(item);
    }
    more_note();
    out_ += "\n";
  }

  void crashes_and_outside() {
    std::string items;
    for (const auto& p : r_.programs) {
      if (p.crashed) {
        items += "- " + code(p.binary) + " crashed" + (p.crash_signal.empty() ? "" : " (" + p.crash_signal + ")");
        items += p.crashed_test.empty() ? std::string(" outside any test") : " while " + code(p.crashed_test) + " ran";
        if (!p.crash_exception.empty()) items += ": uncaught exception " + code(p.crash_exception);
        items += "\n";
      }
      for (const auto& o : p.outside) {
        items += "- " + code(p.binary) + ": failed outside any test (" + o.where + ")";
        if (!o.failure.file.empty()) items += " at " + code(where(o.failure.file, o.failure.line));
        items += "\n" + block(o.failure.message);
      }
      if (p.running) items += "- " + code(p.binary) + " was still running when this report was written\n";
    }
    if (items.empty()) return;
    out_ += "#### Programs\n\n";
    add(items);
    more_note();
    out_ += "\n";
  }

  void flaky() {
    if (flaky_.empty()) return;
    out_ += "#### Flaky (" + std::to_string(flaky_.size()) + ")\n\n";
    for (const auto& [p, t] : flaky_) {
      std::string item = "- " + code(t->full_name) + " in " + code(p->binary) + ": " + attempts_line(*t);
      const Failure* f = t->failures.empty() ? nullptr : &t->failures.front();
      if (f != nullptr) {
        std::string at = where(f->file, f->line);
        item += " \xE2\x80\x94 " + code((at.empty() ? "" : at + ": ") + first_line(f->message, 200));
      }
      add(item + "\n");
    }
    more_note();
    out_ += "\n";
  }

  const RunReport& r_;
  std::size_t max_;
  std::string out_;
  std::size_t left_out_ = 0;
  std::vector<std::pair<const Program*, const TestCase*>> failed_, flaky_;
};

}  // namespace

std::string markdown_summary(const RunReport& report, std::size_t max_bytes) {
  return Summary(report, max_bytes).write();
}

}  // namespace bstest::report
