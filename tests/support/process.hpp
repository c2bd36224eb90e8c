// Helpers for end-to-end tests: run a program with a controlled environment, temporary folders, records.
#pragma once

#include <rapidjson/document.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace bstest::testing {

struct RunSpec {
  std::vector<std::string> argv;
  // Added to the environment (a later entry for the same name wins). Every BETTERSTACK_*, BSTEST_* and
  // GTEST_* variable of the test process itself is removed first, and so are the variables that mark a CI
  // provider (CI, GITHUB_ACTIONS, ...) and GITHUB_STEP_SUMMARY, so runs are hermetic; a test sets them here
  // to act as CI.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;
  int timeout_ms = 60000;
  std::string stdin_text;
  // When set: `signal` goes to the program itself (not its group) once its standard output contains this
  // text (a test program that printed READY is inside its test): how a test signals one process, such as
  // `bstest run` alone, at a known moment.
  std::string signal_on_output;
  int signal = 0;
};

struct RunResult {
  int exit_code = -1;   // -1 when killed by a signal
  int signal = 0;       // the signal that ended it, 0 if it exited
  bool timed_out = false;
  std::string out;
  std::string err;
  double seconds = 0;
};

RunResult run(const RunSpec& spec);

class TempDir;
// The usual run of a test program here: `argv` in the folder `dir`, its journal folder `<dir>/bs`, the shipper
// `shipper` (BSTEST_SHIPPER), flushes of at most `flush_timeout_ms` polled every 100 ms, then `env` in order
// (a later entry wins, so a test can change any of these; a FakeBetterStack's env() goes here).
RunSpec reporting_run(const TempDir& dir, std::vector<std::string> argv, const std::string& shipper,
                      int flush_timeout_ms, const std::vector<std::pair<std::string, std::string>>& env);

// A fresh folder under $TMPDIR, removed (recursively) when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Files in a folder (names only, sorted); recursive lists "sub/name".
std::vector<std::string> list_files(const std::string& dir, bool recursive = false);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
// Shell text that starts `command` in the background with its standard output in the file `out`, its pid in
// $p, and waits until it printed READY (at most 30 s): how a test kills a program once it is inside its test
// instead of after a guessed sleep, which a loaded machine or a sanitizer build outlasts.
std::string sh_start_until_ready(const std::string& command, const std::string& out);
// The lines of a text (a program's stderr, say), without their newlines; a last line without one counts.
std::vector<std::string> lines_of(const std::string& text);

// A parsed record, with helpers to read nested fields by dotted path ("test.full_name").
class Json {
 public:
  explicit Json(const std::string& text);
  Json(const Json& other) { doc_.CopyFrom(other.doc_, doc_.GetAllocator()); }
  Json& operator=(const Json& other) {
    if (this != &other) doc_.CopyFrom(other.doc_, doc_.GetAllocator());
    return *this;
  }
  Json(Json&&) = default;
  Json& operator=(Json&&) = default;
  bool ok() const { return !doc_.HasParseError(); }
  bool has(const std::string& path) const;
  std::string str(const std::string& path) const;     // "" when missing or not a string
  long long num(const std::string& path) const;       // -1 when missing
  double dbl(const std::string& path) const;
  bool boolean(const std::string& path) const;
  std::size_t size(const std::string& path) const;    // array length, 0 when missing
  const rapidjson::Value* at(const std::string& path) const;
  const rapidjson::Document& doc() const { return doc_; }

 private:
  rapidjson::Document doc_;
};

std::vector<Json> parse_all(const std::vector<std::string>& texts);
// Records whose "event" is `event`.
std::vector<Json> with_event(const std::vector<Json>& records, const std::string& event);
// Lines of every *.journal file under `dir` (recursively), in file order.
std::vector<std::string> journal_lines(const std::string& dir);

// What Better Stack Logs gets of journal lines: each log record once, except that a test that did not
// fail may be one record there (its result), without its test_started (the shipper leaves the start out
// when the result is read before the start was sent; the journal keeps it).
struct ExpectedLogs {
  std::set<std::string> ids;       // of every log record
  std::set<std::string> optional;  // of those, the test_started records that may be left out
  std::size_t required() const { return ids.size() - optional.size(); }
  // How many of `received` (id -> times it arrived) are required ones.
  std::size_t required_in(const std::map<std::string, int>& received) const;
  // "" when `received` is exactly these records: every required one, no other, none more than `max_times`;
  // otherwise what differs.
  std::string differences(const std::map<std::string, int>& received, int max_times = 1) const;
};
ExpectedLogs expected_logs(const std::vector<std::string>& journal_lines);
// The records' ids, with how often each arrived.
std::map<std::string, int> ids_of(const std::vector<std::string>& records);

// Sanitizers install their own SIGSEGV handler: a segfault then ends with SIGABRT (AddressSanitizer with
// abort_on_error) or exit code 66 (ThreadSanitizer) instead of SIGSEGV. Either way it is not a clean exit.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizer = true;
#else
constexpr bool kSanitizer = false;
#endif
#else
constexpr bool kSanitizer = false;
#endif

inline bool ended_by_segv(const RunResult& r) {
  if (!kSanitizer) return r.signal == 11;
  return r.signal == 11 || r.signal == 6 || r.exit_code == 66;
}

// Where the test binaries are, from the environment meson test gives us (set in tests/meson.build).
std::string build_path(const std::string& env_name);

}  // namespace bstest::testing
