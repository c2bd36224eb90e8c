// record-cost: what one record costs on the test's thread, through the public Session API only
// (encode + journal append: test_started and test_finished each write one record).
//
//   record-cost --dir DIR [--tests N] [--repeats R]
//
// Each repeat is a fresh Session (a new journal in DIR/journal, no network: no BETTERSTACK_* variables)
// that runs 2,000 warm-up tests, then N tests timed as a whole (ns per record = elapsed / 2N: no timer
// inside the loop), then N tests with each call timed on its own (the distribution; the cost of reading
// the clock, measured here too, is subtracted). Prints one JSON object on stdout.
#include <bstest/session.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

struct Names {
  std::vector<std::string> name, value, full;
  explicit Names(int n) {
    for (int i = 0; i < n; ++i) {
      value.push_back(std::to_string(i));
      name.push_back("Pass/" + value.back());
      full.push_back("Bench/Trivial." + name.back());
    }
  }
};

bstest::TestInfo info(const Names& names, int i) {
  bstest::TestInfo t;
  t.suite = "Bench/Trivial";
  t.name = names.name[static_cast<std::size_t>(i)];
  t.full_name = names.full[static_cast<std::size_t>(i)];
  t.value_param = names.value[static_cast<std::size_t>(i)];
  t.file = "bench/gtest_suite.cpp";
  t.line = 29;
  return t;
}

double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return static_cast<double>(v[std::min(i, v.size() - 1)]);
}

std::int64_t timer_overhead_ns() {
  std::vector<std::int64_t> d;
  d.reserve(200000);
  for (int i = 0; i < 200000; ++i) {
    auto a = Clock::now();
    auto b = Clock::now();
    d.push_back(ns_between(a, b));
  }
  return static_cast<std::int64_t>(percentile(d, 0.5));
}

// Bytes and lines of the journals in DIR/journal.
void journal_size(const std::string& dir, std::uint64_t& bytes, std::uint64_t& lines) {
  bytes = lines = 0;
  std::string jdir = dir + "/journal";
  DIR* d = opendir(jdir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() < 8 || n.compare(n.size() - 8, 8, ".journal") != 0) continue;
    FILE* f = std::fopen((jdir + "/" + n).c_str(), "rb");
    if (f == nullptr) continue;
    char buf[1 << 16];
    std::size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) {
      bytes += got;
      lines += static_cast<std::uint64_t>(std::count(buf, buf + got, '\n'));
    }
    std::fclose(f);
  }
  closedir(d);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int tests = 100000;
  int repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--tests") == 0) tests = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);
  }
  if (dir.empty() || tests <= 0 || repeats <= 0) {
    std::fputs("usage: record-cost --dir DIR [--tests N] [--repeats R]\n", stderr);
    return 2;
  }
  constexpr int kWarmup = 2000;
  Names names(kWarmup + 2 * tests);
  const std::int64_t overhead = timer_overhead_ns();

  std::vector<double> batch_ns;  // per repeat: ns per record, timed as a whole
  std::vector<std::int64_t> started, finished;
  started.reserve(static_cast<std::size_t>(tests) * repeats);
  finished.reserve(static_cast<std::size_t>(tests) * repeats);
  std::uint64_t bytes = 0, lines = 0;

  for (int r = 0; r < repeats; ++r) {
    std::string rdir = dir + "/r" + std::to_string(r);
    bstest::Config cfg = bstest::Config::from_env();
    cfg.dir = rdir;
    cfg.quiet = true;
    {
      bstest::Session s(cfg);
      bstest::RunInfo run;
      run.framework = "googletest";
      run.framework_version = "1.12.1";
      s.run_started(run);
      if (!s.active()) {
        std::fputs("record-cost: the session did not start (is BSTEST_DISABLE set?)\n", stderr);
        return 1;
      }
      const bstest::TestEnd end{bstest::Result::passed, {}, -1};
      int k = 0;
      for (; k < kWarmup; ++k) {
        s.test_started(info(names, k));
        s.test_finished(end);
      }
      auto t0 = Clock::now();
      for (int i = 0; i < tests; ++i, ++k) {
        s.test_started(info(names, k));
        s.test_finished(end);
      }
      auto t1 = Clock::now();
      batch_ns.push_back(static_cast<double>(ns_between(t0, t1)) / (2.0 * tests));
      for (int i = 0; i < tests; ++i, ++k) {
        bstest::TestInfo t = info(names, k);
        auto a = Clock::now();
        s.test_started(t);
        auto b = Clock::now();
        s.test_finished(end);
        auto c = Clock::now();
        started.push_back(ns_between(a, b) - overhead);
        finished.push_back(ns_between(b, c) - overhead);
      }
      s.run_finished();
    }
    std::uint64_t b = 0, l = 0;
    journal_size(rdir, b, l);
    bytes += b;
    lines += l;
  }

  std::vector<std::int64_t> all(started);
  all.insert(all.end(), finished.begin(), finished.end());
  std::vector<double> sorted_batch(batch_ns);
  std::sort(sorted_batch.begin(), sorted_batch.end());
  std::printf("{\"tests\":%d,\"repeats\":%d,\"timer_overhead_ns\":%lld,\"batch_ns_per_record\":[", tests, repeats,
              static_cast<long long>(overhead));
  for (std::size_t i = 0; i < batch_ns.size(); ++i) std::printf("%s%.1f", i ? "," : "", batch_ns[i]);
  std::printf("],\"batch_median\":%.1f", sorted_batch[sorted_batch.size() / 2]);
  auto dist = [](const char* key, std::vector<std::int64_t>& v) {
    double p50 = percentile(v, 0.5), p90 = percentile(v, 0.9), p99 = percentile(v, 0.99), p999 = percentile(v, 0.999);
    std::printf(",\"%s\":{\"n\":%zu,\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%lld}", key, v.size(), p50,
                p90, p99, p999, static_cast<long long>(v.empty() ? 0 : v.back()));
  };
  dist("test_started", started);
  dist("test_finished", finished);
  dist("all", all);
  std::printf(",\"journal_bytes\":%llu,\"journal_lines\":%llu}\n", static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(lines));
  return 0;
}
