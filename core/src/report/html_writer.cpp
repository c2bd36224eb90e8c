// The one-page HTML report. What a person needs first is written as plain HTML at the top (the verdict,
// the failures with their messages, crashes, flaky tests, the slowest tests): it shows without script.
// Every test is in a table that a small script renders from data embedded in the page, only the rows on
// screen at a time, so a run of 100,000 tests opens as fast as one of ten. No network: styles and script
// are inline (report/html_assets.cpp).
#include "report/html_assets.hpp"
#include "report/text.hpp"
#include "report/writers.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace bstest::report {

namespace {

constexpr std::size_t kMaxFailureArticles = 200;
constexpr std::size_t kMaxFlakyArticles = 200;
constexpr std::size_t kArticleTextBytes = 16u << 10;
constexpr std::size_t kTableMessageBytes = 300;
constexpr std::size_t kSlowest = 10;

const char* const kVerdictCodes[] = {"passed", "failed", "flaky", "skipped", "disabled", "crashed"};

std::string h(std::string_view s) { return xml(s, false); }

// A JSON string for data inside <script type="application/json">: "<" is escaped, so that no "</script>"
// can end the block.
void put_js_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == '<') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

void put_ms(std::string& out, double ms) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.3f", ms < 0 ? 0.0 : ms);
  while (n > 1 && buf[n - 1] == '0') --n;
  if (n > 0 && buf[n - 1] == '.') --n;
  out.append(buf, static_cast<std::size_t>(n));
}

// Indexes of repeated strings (programs, suites, files), so that each is in the data once.
class Strings {
 public:
  int index(const std::string& s) {
    auto [it, fresh] = at_.try_emplace(s, static_cast<int>(list_.size()));
    if (fresh) list_.push_back(&it->first);
    return it->second;
  }
  void put(std::string& out) const {
    out += '[';
    for (std::size_t i = 0; i < list_.size(); ++i) {
      if (i > 0) out += ',';
      put_js_string(out, *list_[i]);
    }
    out += ']';
  }

 private:
  std::unordered_map<std::string, int> at_;
  std::vector<const std::string*> list_;
};

std::string failures_text(const std::vector<Failure>& failures) {
  std::string text;
  for (const auto& f : failures) {
    if (!text.empty()) text += "\n\n";
    std::string at = where(f.file, f.line);
    if (!at.empty()) text += at + ": ";
    if (!f.exception_type.empty()) text += "[" + f.exception_type + "] ";
    text += f.message;
  }
  return capped(text, kArticleTextBytes);
}

struct Ref {
  const Program* program;
  const TestCase* test;
  std::size_t index;  // in the table's data
};

class Page {
 public:
  explicit Page(const RunReport& r) : r_(r) {
    std::size_t i = 0;
    for (const auto& p : r.programs) {
      for (const auto& t : p.tests) {
        if (t.verdict == Verdict::failed || t.verdict == Verdict::crashed) failed_.push_back({&p, &t, i});
        if (t.verdict == Verdict::flaky) flaky_.push_back({&p, &t, i});
        ++i;
      }
    }
  }

  std::string write() {
    out_.reserve(4096 + r_.counts.total * 64);
    std::string word = verdict_word(r_);
    out_ += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    out_ += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out_ += "<title>" + h(word) + " \xC2\xB7 " + h(r_.run_id) + " \xC2\xB7 bstest</title>\n<style>";
    out_ += kReportCss;
    out_ += "</style></head>\n<body>\n";
    header(word);
    out_ += "<main>\n";
    failures();
    programs_section();
    flaky();
    slowest();
    table();
    out_ += "</main>\n<script id=\"data\" type=\"application/json\">";
    data();
    out_ += "</script>\n<script>";
    out_ += kReportJs;
    out_ += "</script>\n</body></html>\n";
    return std::move(out_);
  }

 private:
  void header(const std::string& word) {
    std::string cls = word == "PASSED" ? "passed" : word == "RUNNING" ? "running" : "failed";
    out_ += "<header class=\"verdict " + cls + "\"><h1 id=\"verdict\">" + h(word) + "</h1>\n";
    out_ += "<p class=\"counts\" id=\"counts\">" + h(counts_line(r_)) + "</p>\n<p class=\"meta\">";
    std::vector<std::string> meta = {"run <code>" + h(r_.run_id) + "</code>"};
    if (!r_.started_at.empty()) meta.push_back(h(r_.started_at.substr(0, 19) + " UTC"));
    meta.push_back(h(human_duration(r_.duration_ms)));
    meta.push_back(std::to_string(r_.programs.size()) + (r_.programs.size() == 1 ? " program" : " programs"));
    if (r_.exit_code >= 0) meta.push_back("exit code " + std::to_string(r_.exit_code));
    if (!r_.host.empty()) meta.push_back("on " + h(r_.host));
    if (!r_.ci.commit.empty()) meta.push_back("commit <code>" + h(r_.ci.commit.substr(0, 12)) + "</code>");
    if (!r_.ci.branch.empty()) meta.push_back("branch <code>" + h(r_.ci.branch) + "</code>");
    if (!r_.ci.run_url.empty()) meta.push_back("<a href=\"" + h(r_.ci.run_url) + "\">CI run</a>");
    if (!r_.link.empty()) meta.push_back("<a href=\"" + h(r_.link) + "\">records in Better Stack</a>");
    for (std::size_t i = 0; i < meta.size(); ++i) out_ += (i ? " \xC2\xB7 " : "") + meta[i];
    out_ += "</p>\n<nav>";
    if (!failed_.empty() || r_.counts.outside_failures > 0) out_ += "<a href=\"#failures\">Failures</a>";
    out_ += "<a href=\"#programs\">Programs</a>";
    if (!flaky_.empty()) out_ += "<a href=\"#flaky\">Flaky</a>";
    out_ += "<a href=\"#slowest\">Slowest</a><a href=\"#tests\">All tests</a></nav></header>\n";
  }

  void article(const Ref& ref, const char* badge, const std::string& detail, const std::string& text) {
    out_ += "<article class=\"failure\" id=\"t" + std::to_string(ref.index) + "\"><h3><span class=\"badge " + badge +
            "\">" + badge + "</span> " + h(ref.test->full_name) + " <small>" + h(ref.program->binary) + "</small></h3>";
    if (!detail.empty()) out_ += "<p class=\"where\">" + h(detail) + "</p>";
    if (!text.empty()) out_ += "<pre>" + h(text) + "</pre>";
    out_ += "</article>\n";
  }

  void failures() {
    std::size_t outside = 0;
    for (const auto& p : r_.programs) outside += p.outside.size();
    if (failed_.empty() && outside == 0) return;
    out_ += "<section id=\"failures\"><h2>Failures (" + std::to_string(failed_.size() + outside) + ")</h2>\n";
    std::size_t shown = 0;
    for (const auto& ref : failed_) {
      if (shown++ == kMaxFailureArticles) break;
      const TestCase& t = *ref.test;
      std::vector<std::string> parts;
      if (std::string at = where(t.file, t.line); !at.empty()) parts.push_back("defined at " + at);
      if (t.verdict == Verdict::crashed) parts.push_back("crashed (" + t.crash + ") while it ran");
      if (std::string a = attempts_line(t); !a.empty()) parts.push_back(a);
      if (std::string q = quarantine_line(t); !q.empty()) parts.push_back(q);
      std::string detail;
      for (const auto& p : parts) detail += (detail.empty() ? "" : " \xC2\xB7 ") + p;
      std::string text = failures_text(t.failures);
      if (t.verdict == Verdict::crashed && !ref.program->crash_exception.empty()) {
        text = "uncaught exception " + ref.program->crash_exception + (text.empty() ? "" : "\n\n" + text);
      }
      article(ref, t.verdict == Verdict::crashed ? "crashed" : "failed", detail, text);
    }
    if (failed_.size() > kMaxFailureArticles) {
      out_ += "<p class=\"note\">" + std::to_string(failed_.size() - kMaxFailureArticles) +
              " more failed tests: filter the table below by <a href=\"#v=failed\">failed</a>.</p>\n";
    }
    for (const auto& p : r_.programs) {
      for (const auto& o : p.outside) {
        out_ += "<article class=\"failure\"><h3><span class=\"badge failed\">outside tests</span> " + h(o.where) +
                " <small>" + h(p.binary) + "</small></h3><pre>" + h(failures_text({o.failure})) + "</pre></article>\n";
      }
    }
    out_ += "</section>\n";
  }

  void programs_section() {
    out_ += "<section id=\"programs\"><h2>Programs</h2>\n<table class=\"programs\"><thead><tr><th>program</th>"
            "<th>framework</th><th>tests</th><th>failed</th><th>flaky</th><th>skipped</th><th>duration</th>"
            "<th>ended</th></tr></thead><tbody>\n";
    for (const auto& p : r_.programs) {
      std::uint64_t failed = 0, flaky = 0, skipped = 0;
      for (const auto& t : p.tests) {
        failed += t.verdict == Verdict::failed || t.verdict == Verdict::crashed;
        flaky += t.verdict == Verdict::flaky;
        skipped += t.verdict == Verdict::skipped || t.verdict == Verdict::disabled;
      }
      std::string ended = p.running ? "still running" : !p.crashed ? "finished" : "crashed";
      if (p.crashed) {
        if (!p.crash_signal.empty()) ended += " (" + p.crash_signal + ")";
        ended += p.crashed_test.empty() ? " outside any test" : " in " + p.crashed_test;
        if (!p.crash_exception.empty()) ended += ": uncaught exception " + p.crash_exception;
      }
      out_ += std::string("<tr") + (p.crashed ? " class=\"crashed\"" : "") + "><td>" + h(p.binary) + "</td><td>" +
              h(p.framework + " " + p.framework_version) + "</td><td>" + std::to_string(p.tests.size()) + "</td><td>" +
              std::to_string(failed) + "</td><td>" + std::to_string(flaky) + "</td><td>" + std::to_string(skipped) +
              "</td><td>" + h(human_duration(p.duration_ms)) + "</td><td>" + h(ended) + "</td></tr>\n";
    }
    out_ += "</tbody></table></section>\n";
  }

  void flaky() {
    if (flaky_.empty()) return;
    out_ += "<section id=\"flaky\"><h2>Flaky tests (" + std::to_string(flaky_.size()) + ")</h2>\n";
    std::size_t shown = 0;
    for (const auto& ref : flaky_) {
      if (shown++ == kMaxFlakyArticles) break;
      const TestCase& t = *ref.test;
      out_ += "<article class=\"flaky\" id=\"t" + std::to_string(ref.index) + "\"><h3><span class=\"badge flaky\">flaky"
              "</span> " + h(t.full_name) + " <small>" + h(ref.program->binary) + "</small></h3><p class=\"where\">" +
              h(attempts_line(t)) + "</p><ol class=\"attempts\">";
      std::vector<Attempt> attempts = t.attempts;
      if (attempts.empty()) attempts.push_back({1, "failed", {}, t.duration_ms, t.failures});
      for (const auto& a : attempts) {
        std::string how = a.result + (a.signal.empty() ? "" : " (" + a.signal + ")");
        out_ += "<li value=\"" + std::to_string(a.attempt) + "\"><span class=\"badge " +
                (a.result == "passed" ? std::string("passed") : std::string("failed")) + "\">" + h(how) + "</span>";
        if (a.duration_ms >= 0) out_ += " " + h(human_duration(a.duration_ms));
        if (!a.failures.empty()) out_ += "<pre>" + h(failures_text(a.failures)) + "</pre>";
        out_ += "</li>";
      }
      out_ += "</ol></article>\n";
    }
    out_ += "</section>\n";
  }

  void slowest() {
    std::vector<Ref> all;
    std::size_t i = 0;
    for (const auto& p : r_.programs) {
      for (const auto& t : p.tests) all.push_back({&p, &t, i++});
    }
    std::size_t n = std::min(kSlowest, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<long>(n), all.end(),
                      [](const Ref& a, const Ref& b) { return a.test->duration_ms > b.test->duration_ms; });
    out_ += "<section id=\"slowest\"><h2>Slowest tests</h2>\n<div class=\"bars\">";
    double top = n > 0 ? std::max(all.front().test->duration_ms, 1e-9) : 1;
    for (std::size_t k = 0; k < n; ++k) {
      const Ref& ref = all[k];
      char width[32];
      std::snprintf(width, sizeof width, "%.1f", 100.0 * std::max(ref.test->duration_ms, 0.0) / top);
      out_ += "<div class=\"bar\"><span class=\"label\" title=\"" + xml(ref.program->binary) + "\">" +
              h(ref.test->full_name) + "</span><span class=\"track\"><span class=\"fill " +
              kVerdictCodes[static_cast<int>(ref.test->verdict)] + "\" style=\"width:" + width +
              "%\"></span></span><span class=\"time\">" + h(human_duration(ref.test->duration_ms)) + "</span></div>";
    }
    out_ += "</div></section>\n";
  }

  void table() {
    out_ += "<section id=\"tests\"><h2>All tests</h2>\n<div class=\"controls\"><input id=\"q\" type=\"search\" "
            "placeholder=\"Filter: name, suite, program or file\" aria-label=\"filter\"> <select id=\"v\" "
            "aria-label=\"verdict\"><option value=\"\">every verdict</option>";
    for (const char* v : {"failed", "crashed", "flaky", "passed", "skipped", "disabled"}) {
      out_ += std::string("<option value=\"") + v + "\">" + v + "</option>";
    }
    out_ += "</select> <span id=\"shown\"></span></div>\n<div class=\"grid head\"><span data-sort=\"verdict\">verdict"
            "</span><span data-sort=\"name\">test</span><span data-sort=\"suite\">suite</span><span data-sort=\""
            "program\">program</span><span>file</span><span data-sort=\"time\" class=\"num\">duration</span></div>\n"
            "<div id=\"viewport\"><div id=\"spacer\"><div id=\"rows\"></div></div></div>\n"
            "<noscript><p class=\"note\">The table of every test needs JavaScript; the JUnit file has them all."
            "</p></noscript></section>\n";
  }

  // {"programs":[...],"suites":[...],"files":[...],"messages":[...],
  //  "tests":[[program,suite,name,verdict,ms,file,line,message],...]}; file and message -1 when none.
  void data() {
    Strings programs, suites, files;
    std::string tests = "[";
    std::string messages = "[";
    int message_count = 0;
    bool first = true;
    for (const auto& p : r_.programs) {
      int pi = programs.index(p.binary);
      for (const auto& t : p.tests) {
        tests += first ? "[" : ",[";
        first = false;
        tests += std::to_string(pi) + "," + std::to_string(suites.index(t.suite)) + ",";
        put_js_string(tests, t.name.empty() ? t.full_name : t.name);
        tests += "," + std::to_string(static_cast<int>(t.verdict)) + ",";
        put_ms(tests, t.duration_ms);
        tests += "," + std::to_string(t.file.empty() ? -1 : files.index(t.file)) + "," + std::to_string(t.line) + ",";
        std::string msg = t.verdict == Verdict::skipped || t.verdict == Verdict::disabled ? t.skip_reason
                          : t.failures.empty() ? std::string()
                                               : first_line(t.failures.front().message, kTableMessageBytes);
        if (msg.empty()) {
          tests += "-1]";
        } else {
          tests += std::to_string(message_count++) + "]";
          if (message_count > 1) messages += ',';
          put_js_string(messages, msg);
        }
      }
    }
    out_ += "{\"programs\":";
    programs.put(out_);
    out_ += ",\"suites\":";
    suites.put(out_);
    out_ += ",\"files\":";
    files.put(out_);
    out_ += ",\"messages\":" + messages + "],\"tests\":" + tests + "]}";
  }

  const RunReport& r_;
  std::string out_;
  std::vector<Ref> failed_, flaky_;
};

}  // namespace

std::string html_page(const RunReport& report) { return Page(report).write(); }

}  // namespace bstest::report
