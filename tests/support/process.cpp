#include "process.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace bstest::testing {

namespace {

// The variables by which bstest recognises a CI provider (core/src/env/ci.cpp). Without them the provider's
// other variables are never read, so a test run inside CI (which sets CI=true, or GITHUB_ACTIONS=true) sees
// the same records as one on a laptop: environment "local", no ci.* fields, no run id from the provider.
bool is_ci_marker(const std::string& name) {
  static const char* const markers[] = {"CI",        "GITHUB_ACTIONS", "GITLAB_CI",   "BUILDKITE",
                                        "CIRCLECI",  "TF_BUILD",       "JENKINS_URL", "JENKINS_HOME"};
  return std::any_of(std::begin(markers), std::end(markers), [&](const char* m) { return name == m; });
}

}  // namespace

RunResult run(const RunSpec& spec) {
  RunResult result;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (kv.rfind("BETTERSTACK_", 0) == 0 || kv.rfind("BSTEST_", 0) == 0 || kv.rfind("GTEST_", 0) == 0) continue;
    std::string name = kv.substr(0, kv.find('='));
    // The CI step's summary file: bstest run adds its report there, and a test's runs must not.
    if (is_ci_marker(name) || name == "GITHUB_STEP_SUMMARY") continue;
    bool overridden = std::any_of(spec.env.begin(), spec.env.end(), [&](const auto& p) { return p.first == name; });
    if (!overridden) env.push_back(kv);
  }
  // A later entry for the same name wins.
  for (std::size_t i = 0; i < spec.env.size(); ++i) {
    bool later = false;
    for (std::size_t j = i + 1; j < spec.env.size(); ++j) later = later || spec.env[j].first == spec.env[i].first;
    if (!later) env.push_back(spec.env[i].first + "=" + spec.env[i].second);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2], err[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  ::close(in[0]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    ::close(in[1]);
    result.err = std::string("cannot start ") + spec.argv[0] + ": " + std::strerror(rc);
    return result;
  }
  if (!spec.stdin_text.empty()) {
    ssize_t w = ::write(in[1], spec.stdin_text.data(), spec.stdin_text.size());
    (void)w;
  }
  ::close(in[1]);
  bool out_open = true, err_open = true;
  bool signalled = spec.signal == 0 || spec.signal_on_output.empty();
  auto deadline = start + std::chrono::milliseconds(spec.timeout_ms);
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    int n = ::poll(p, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (n <= 0) continue;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (p[i].revents == 0) continue;
      ssize_t r = ::read(i == 0 ? out[0] : err[0], buf, sizeof buf);
      if (r <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(r));
        if (!signalled && result.out.find(spec.signal_on_output) != std::string::npos) {
          ::kill(pid, spec.signal);
          signalled = true;
        }
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/bstest-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
  path_ = tmpl;
}

namespace {
void remove_tree(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d != nullptr) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string child = path + "/" + name;
      struct stat st {};
      if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        ::chmod(child.c_str(), 0700);
        remove_tree(child);
      } else {
        ::unlink(child.c_str());
      }
    }
    ::closedir(d);
  }
  ::rmdir(path.c_str());
}
}  // namespace

TempDir::~TempDir() {
  if (std::getenv("BSTEST_TEST_KEEP_TMP") == nullptr) remove_tree(path_);
}

std::vector<std::string> list_files(const std::string& dir, bool recursive) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    std::string full = dir + "/" + name;
    if (recursive && ::lstat(full.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      for (const auto& sub : list_files(full, true)) names.push_back(name + "/" + sub);
    } else {
      names.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

Json::Json(const std::string& text) { doc_.Parse(text.data(), text.size()); }

const rapidjson::Value* Json::at(const std::string& path) const {
  if (doc_.HasParseError()) return nullptr;
  const rapidjson::Value* v = &doc_;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t dot = path.find('.', pos);
    std::string key = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (v->IsArray()) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(key.c_str(), &end, 10);
      if (*end != '\0' || idx >= v->Size()) return nullptr;
      v = &(*v)[static_cast<rapidjson::SizeType>(idx)];
    } else if (v->IsObject()) {
      auto it = v->FindMember(key.c_str());
      if (it == v->MemberEnd()) return nullptr;
      v = &it->value;
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return v;
}

bool Json::has(const std::string& path) const { return at(path) != nullptr; }
std::string Json::str(const std::string& path) const {
  const auto* v = at(path);
  return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}
long long Json::num(const std::string& path) const {
  const auto* v = at(path);
  return v != nullptr && v->IsInt64() ? v->GetInt64() : -1;
}
double Json::dbl(const std::string& path) const {
  const auto* v = at(path);
  return v != nullptr && v->IsNumber() ? v->GetDouble() : -1;
}
bool Json::boolean(const std::string& path) const {
  const auto* v = at(path);
  return v != nullptr && v->IsBool() && v->GetBool();
}
std::size_t Json::size(const std::string& path) const {
  const auto* v = at(path);
  if (v == nullptr) return 0;
  if (v->IsArray()) return v->Size();
  if (v->IsObject()) return v->MemberCount();
  return 0;
}

std::vector<Json> parse_all(const std::vector<std::string>& texts) {
  std::vector<Json> r;
  r.reserve(texts.size());
  for (const auto& t : texts) r.emplace_back(t);
  return r;
}

std::vector<Json> with_event(const std::vector<Json>& records, const std::string& event) {
  std::vector<Json> r;
  for (const auto& j : records) {
    if (j.str("event") != event) continue;
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    j.doc().Accept(w);
    r.emplace_back(std::string(sb.GetString(), sb.GetSize()));
  }
  return r;
}

RunSpec reporting_run(const TempDir& dir, std::vector<std::string> argv, const std::string& shipper,
                      int flush_timeout_ms, const std::vector<std::pair<std::string, std::string>>& env) {
  RunSpec spec;
  spec.argv = std::move(argv);
  spec.env = {{"BSTEST_DIR", dir / "bs"},
              {"BSTEST_SHIPPER", shipper},
              {"BSTEST_FLUSH_TIMEOUT_MS", std::to_string(flush_timeout_ms)},
              {"BSTEST_FLUSH_INTERVAL_MS", "100"}};
  spec.env.insert(spec.env.end(), env.begin(), env.end());
  spec.cwd = dir.path();
  return spec;
}

std::string sh_start_until_ready(const std::string& command, const std::string& out) {
  return command + " > '" + out + "' & p=$!; n=0; until grep -q READY '" + out +
         "' 2>/dev/null; do sleep 0.05; n=$((n+1)); [ $n -gt 600 ] && break; done; ";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

std::vector<std::string> journal_lines(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& name : list_files(dir, true)) {
    if (name.size() < 8 || name.compare(name.size() - 8, 8, ".journal") != 0) continue;
    for (auto& line : lines_of(read_file(dir + "/" + name))) {
      if (!line.empty()) lines.push_back(std::move(line));
    }
  }
  return lines;
}

ExpectedLogs expected_logs(const std::vector<std::string>& lines) {
  ExpectedLogs e;
  std::string started_id, started_name;  // the last log record, when it is a test_started
  for (const auto& line : lines) {
    if (line.rfind("{\"id\":", 0) != 0) continue;
    Json r(line);
    std::string id = r.str("id");
    e.ids.insert(id);
    std::string event = r.str("event");
    if (event == "test_finished" && !started_id.empty() && r.str("test.full_name") == started_name &&
        r.str("test.result") != "failed") {
      e.optional.insert(started_id);
    }
    started_id = event == "test_started" ? id : "";
    started_name = event == "test_started" ? r.str("test.full_name") : "";
  }
  return e;
}

std::size_t ExpectedLogs::required_in(const std::map<std::string, int>& received) const {
  std::size_t n = 0;
  for (const auto& [id, times] : received) n += ids.count(id) != 0 && optional.count(id) == 0 ? 1 : 0;
  return n;
}

std::string ExpectedLogs::differences(const std::map<std::string, int>& received, int max_times) const {
  std::string why;
  for (const auto& id : ids) {
    if (optional.count(id) == 0 && received.count(id) == 0) why += "missing " + id + "; ";
  }
  for (const auto& [id, times] : received) {
    if (ids.count(id) == 0) why += "not of the journal " + id + "; ";
    if (times > max_times) why += id + " arrived " + std::to_string(times) + " times; ";
  }
  return why;
}

std::map<std::string, int> ids_of(const std::vector<std::string>& records) {
  std::map<std::string, int> ids;
  for (const auto& r : records) ++ids[Json(r).str("id")];
  return ids;
}

std::string build_path(const std::string& env_name) {
  const char* v = std::getenv(env_name.c_str());
  if (v == nullptr) throw std::runtime_error("the test environment lacks " + env_name + " (run through meson test)");
  return v;
}

}  // namespace bstest::testing
