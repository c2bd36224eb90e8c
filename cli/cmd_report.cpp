// bstest report [DIR] [--run ID] [--junit FILE] [--html FILE] [--markdown FILE]: the report of one run,
// read from its journals, as CI artifacts. Also the three options of `bstest run`, which writes them once
// its re-runs are done (write_run_reports), and appends the Markdown to $GITHUB_STEP_SUMMARY.
#include <bstest/config.hpp>

#include "commands.hpp"
#include "report/run_report.hpp"
#include "report/writers.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bstest::cli {

const char* const kReportHelp =
    "usage: bstest report [DIR] [--run ID] [--junit FILE] [--html FILE] [--markdown FILE]\n"
    "\n"
    "Writes the report of one run from its journals: every test once with its final verdict (after re-runs:\n"
    "passed, failed, flaky, skipped, disabled, crashed), for every program of a `bstest run` suite. Works\n"
    "offline; journals are kept after they were sent (the last BSTEST_KEEP_RUNS runs, default 3).\n"
    "\n"
    "  DIR             the bstest folder (default: BSTEST_DIR, else .bstest)\n"
    "  --run ID        the run (default: the one written last; run ids are the journals' file names' first part)\n"
    "  --junit FILE    JUnit XML, for GitLab (artifacts:reports:junit), Jenkins and JUnit-reading actions\n"
    "  --html FILE     one self-contained HTML page\n"
    "  --markdown FILE Markdown for a job summary (GitHub: $GITHUB_STEP_SUMMARY)\n"
    "\n"
    "FILE may be - for standard output. Without any of the three, the HTML page is written to DIR/report.html.\n"
    "`bstest run` takes --junit, --html and --markdown too. Exit code: 0 when written (whatever the tests\n"
    "did), 1 when the run cannot be read or a file cannot be written, 2 for a usage error.\n";

namespace {

// mkdir -p of the folder that holds `path`.
void make_parent_dirs(const std::string& path) {
  for (std::size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
    ::mkdir(path.substr(0, at).c_str(), 0755);
  }
}

// Writes `text` to `path` whole (a temporary file renamed over it), or to stdout for "-". `append` adds to
// the end instead (the job summary file, which other steps' tools write too).
bool write_file(const std::string& path, const std::string& text, bool append, std::string& error) {
  if (path == "-") {
    bool ok = std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
    if (!ok) error = "cannot write to standard output";
    return ok;
  }
  make_parent_dirs(path);
  std::string tmp = append ? path : path + ".tmp" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), append ? "ab" : "wb");
  if (f == nullptr) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (ok && !append && ::rename(tmp.c_str(), path.c_str()) != 0) ok = false;
  if (!ok) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    if (!append) ::unlink(tmp.c_str());
  }
  return ok;
}

std::string size_text(std::size_t bytes) {
  char buf[32];
  if (bytes < 10240) {
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  } else if (bytes < (10u << 20)) {
    std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  }
  return buf;
}

// Writes each asked format; one line per file on stderr unless `quiet`. False when one could not be.
bool write_formats(const report::RunReport& r, const ReportOptions& o, const char* cmd, bool quiet) {
  struct Out {
    const std::string& path;
    std::string (*make)(const report::RunReport&);
    const char* what;
  };
  const Out outs[] = {
      {o.junit, report::junit_xml, "JUnit XML"},
      {o.html, report::html_page, "HTML report"},
      {o.markdown, [](const report::RunReport& rr) { return report::markdown_summary(rr); }, "Markdown summary"},
  };
  bool ok = true;
  for (const auto& out : outs) {
    if (out.path.empty()) continue;
    std::string text = out.make(r);
    std::string err;
    if (!write_file(out.path, text, false, err)) {
      error(cmd, err);
      ok = false;
    } else if (!quiet && out.path != "-") {
      std::fprintf(stderr, "bstest %s: %s written to %s (%s)\n", cmd, out.what, out.path.c_str(),
                   size_text(text.size()).c_str());
    }
  }
  return ok;
}

}  // namespace

bool ReportOptions::any() const { return !junit.empty() || !html.empty() || !markdown.empty(); }

int report_option(const Args& args, std::size_t& i, ReportOptions& options, const char* cmd) {
  const std::string& a = args[i];
  std::string* slot = a == "--junit" ? &options.junit : a == "--html" ? &options.html
                    : a == "--markdown" ? &options.markdown : nullptr;
  if (slot == nullptr) return 0;
  if (i + 1 >= args.size() || args[i + 1].empty() || args[i + 1] == "--") {
    error(cmd, a + " needs a file name (- for standard output)");
    return -1;
  }
  *slot = args[++i];
  return 1;
}

bool write_run_reports(const Config& cfg, const std::string& run_id, const ReportOptions& options, bool quiet) {
  const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
  bool step_summary = summary != nullptr && *summary != '\0';
  if (!options.any() && !step_summary) return true;
  report::RunReport r;
  std::string err;
  if (!report::load_run(cfg.dir, run_id, r, err)) {
    error("run", "no report: " + err);
    return false;
  }
  r.link = report::run_link(cfg.run_link, run_id);
  bool ok = write_formats(r, options, "run", quiet);
  if (step_summary && !write_file(summary, report::markdown_summary(r) + "\n", true, err)) {
    error("run", "cannot add the summary to GITHUB_STEP_SUMMARY: " + err);
    ok = false;
  }
  return ok;
}

int cmd_report(const Args& args) {
  Config cfg = Config::from_env();
  std::string dir;
  std::string run_id;
  ReportOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kReportHelp, stdout);
      return kOk;
    }
    int used = report_option(args, i, o, "report");
    if (used < 0) return kUsage;
    if (used > 0) continue;
    if (a == "--run") {
      if (i + 1 >= args.size() || args[i + 1].empty()) {
        error("report", "--run needs a run id (see bstest report --help)");
        return kUsage;
      }
      run_id = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      error("report", "unknown option '" + a + "' (see bstest report --help)");
      return kUsage;
    } else if (dir.empty()) {
      dir = a;
    } else {
      error("report", "one folder only: got '" + dir + "' and '" + a + "' (see bstest report --help)");
      return kUsage;
    }
  }
  if (dir.empty()) dir = cfg.dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error("report", "no bstest folder at '" + dir + "': give the folder that BSTEST_DIR named when the tests ran "
                    "(default .bstest in their working directory)");
    return kFailed;
  }
  std::string err;
  if (run_id.empty()) run_id = report::latest_run(dir, err);
  report::RunReport r;
  if (run_id.empty() || !report::load_run(dir, run_id, r, err)) {
    error("report", err);
    return kFailed;
  }
  r.link = report::run_link(cfg.run_link, run_id);
  if (!o.any()) o.html = dir + "/report.html";
  std::fprintf(stderr, "bstest report: run %s: %s, %s\n", run_id.c_str(), report::verdict_word(r).c_str(),
               report::counts_line(r).c_str());
  return write_formats(r, o, "report", false) ? kOk : kFailed;
}

}  // namespace bstest::cli
