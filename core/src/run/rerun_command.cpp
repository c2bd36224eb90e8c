// The command line of a re-run: the user's program and options, with the selection replaced by exactly the
// failed test (GoogleTest --gtest_filter, a Catch2 test spec).
#include "run/rerun.hpp"

#include "base/strings.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace bstest {

namespace {

using detail::starts_with;

// GoogleTest flags that select, repeat, reorder or report: the re-run sets its own.
bool is_gtest_selection_flag(std::string_view a) {
  for (std::string_view f : {"filter", "repeat", "output", "fail_fast", "shuffle", "random_seed",
                             "also_run_disabled_tests", "list_tests", "break_on_failure", "recreate_environments"}) {
    for (std::string_view prefix : {"--gtest_", "-gtest_", "/gtest_"}) {
      std::string flag = std::string(prefix) + std::string(f);
      if (a == flag || starts_with(a, flag + "=")) return true;
    }
  }
  return false;
}

// Catch2's command-line options (v2.13 and v3), as its parser (Clara) reads them: "-x", "--long", a value
// in the next argument or after ' ', ':' or '=', several short flags in one argument ("-sd" in v2).
struct Catch2Option {
  std::string_view short_name;  // "-o", or empty
  std::string_view long_name;   // "--out"
  bool takes_value;
  bool dropped;  // selects, orders, shards, lists or reports tests: the re-run decides those itself
};
constexpr Catch2Option kCatch2Options[] = {
    {"-?", "--help", false, true},
    {"-h", "", false, true},
    {"-l", "--list-tests", false, true},
    {"-t", "--list-tags", false, true},
    {"", "--list-test-names-only", false, true},
    {"", "--list-reporters", false, true},
    {"", "--list-listeners", false, true},
    {"", "--libidentify", false, true},
    {"-o", "--out", true, true},
    {"-r", "--reporter", true, true},
    {"-f", "--input-file", true, true},
    {"-x", "--abortx", true, true},
    {"-a", "--abort", false, true},
    {"-b", "--break", false, true},
    {"", "--order", true, true},
    {"", "--rng-seed", true, true},
    {"", "--shard-count", true, true},
    {"", "--shard-index", true, true},
    {"", "--wait-for-keypress", true, true},
    {"-s", "--success", false, false},
    {"-e", "--nothrow", false, false},
    {"-i", "--invisibles", false, false},
    {"-n", "--name", true, false},
    {"-w", "--warn", true, false},
    {"-d", "--durations", true, false},
    {"-D", "--min-duration", true, false},
    {"-c", "--section", true, false},  // sections of the test: the re-run runs what failed
    {"-#", "--filenames-as-tags", false, false},
    {"-v", "--verbosity", true, false},
    {"", "--use-colour", true, false},
    {"", "--colour-mode", true, false},
    {"", "--skip-benchmarks", false, false},
    {"", "--benchmark-samples", true, false},
    {"", "--benchmark-resamples", true, false},
    {"", "--benchmark-confidence-interval", true, false},
    {"", "--benchmark-no-analysis", false, false},
    {"", "--benchmark-warmup-time", true, false},
    {"", "--allow-running-no-tests", false, false},
};

const Catch2Option* catch2_option(std::string_view name) {
  for (const auto& o : kCatch2Options) {
    if (name == o.short_name || name == o.long_name) return &o;
  }
  return nullptr;
}

// The user's Catch2 arguments without test specs (positional arguments) and without the dropped options.
// An option Catch2 does not know (a custom main's own) is kept with the argument after it, if that one is
// not an option: it may be its value.
std::vector<std::string> catch2_kept_arguments(const std::vector<std::string>& argv) {
  std::vector<std::string> kept;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-') continue;  // a test spec (or "-", nothing Catch2 reads)
    bool has_next = i + 1 < argv.size();
    std::size_t sep = a.find_first_of(" :=");
    if (sep != std::string::npos) {  // the value is in the argument itself
      const Catch2Option* o = catch2_option(std::string_view(a).substr(0, sep));
      if (o == nullptr || !o->dropped) kept.push_back(a);
      continue;
    }
    if (a[1] != '-' && a.size() > 2) {  // v2: several short flags in one argument, the last may take a value
      for (std::size_t k = 1; k < a.size(); ++k) {
        std::string flag = std::string("-") + a[k];
        const Catch2Option* o = catch2_option(flag);
        bool value = o != nullptr && o->takes_value && has_next;
        if (o == nullptr || !o->dropped) {
          kept.push_back(flag);
          if (value) kept.push_back(argv[i + 1]);
        }
        if (value) {
          ++i;
          has_next = i + 1 < argv.size();
        }
      }
      continue;
    }
    const Catch2Option* o = catch2_option(a);
    bool value = has_next && (o != nullptr ? o->takes_value : argv[i + 1].empty() || argv[i + 1][0] != '-');
    if (o == nullptr || !o->dropped) {
      kept.push_back(a);
      if (value) kept.push_back(argv[i + 1]);
    }
    if (value) ++i;
  }
  return kept;
}


}  // namespace

std::string catch2_test_spec(std::string_view name, const std::vector<std::string>& tags) {
  // Catch2's parser (the same in v2.13 and v3) reads a backslash as "the next character as it is"
  // everywhere, a comma as the end of a filter, and ends a quoted name at '"', a tag at '[' or ']'.
  auto escaped = [](std::string& spec, std::string_view text, std::string_view special) {
    for (char c : text) {
      if (c == '\\' || c == ',' || special.find(c) != std::string_view::npos) spec += '\\';
      spec += c;
    }
  };
  std::string spec = "\"";
  // A name that starts with "exclude:" is always an exclusion, even escaped: match it as a superset.
  if (starts_with(name, "exclude:")) {
    spec += '*';
    name.remove_prefix(1);
  }
  escaped(spec, name, "\"");
  spec += '"';
  for (const auto& tag : tags) {
    spec += '[';
    escaped(spec, tag, "[]");
    spec += ']';
  }
  return spec;
}

std::string gtest_filter_for(std::string_view full_name) {
  std::string f(full_name);
  for (char& c : f) {
    if (c == ':' || c == '-' || c == '*' || c == '?') c = '?';
  }
  return f;
}

std::vector<std::string> rerun_command(const RerunTarget& target, const FailedTest& test) {
  std::vector<std::string> cmd;
  cmd.push_back(target.exe);
  if (target.framework == "catch2") {
    for (auto& a : catch2_kept_arguments(target.argv)) cmd.push_back(std::move(a));
    cmd.push_back(catch2_test_spec(test.full_name, test.tags));
    if (target.has_random_seed) {
      cmd.push_back("--rng-seed");
      cmd.push_back(std::to_string(target.random_seed));
    }
    return cmd;
  }
  // GoogleTest: keep the user's other flags (and arguments their main reads), replace the selection.
  for (std::size_t i = 1; i < target.argv.size(); ++i) {
    if (!is_gtest_selection_flag(target.argv[i])) cmd.push_back(target.argv[i]);
  }
  cmd.push_back("--gtest_filter=" + gtest_filter_for(test.full_name));
  if (test.disabled) cmd.push_back("--gtest_also_run_disabled_tests");
  if (target.has_random_seed) {
    cmd.push_back("--gtest_shuffle");
    cmd.push_back("--gtest_random_seed=" + std::to_string(target.random_seed));
  }
  return cmd;
}

}  // namespace bstest
