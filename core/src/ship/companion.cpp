#include "ship/companion.hpp"

#include "ship/location.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>

extern char** environ;

namespace bstest::detail {

namespace {

bool is_executable(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string Companion::find_program(const Config& config) {
  if (!config.shipper_program.empty()) return is_executable(config.shipper_program) ? config.shipper_program : "";
  if (const char* dir = build_tree_bindir(); dir != nullptr) {
    if (std::string p = std::string(dir) + "/bstest"; is_executable(p)) return p;
  }
#ifdef BSTEST_INSTALL_BINDIR
  if (std::string p = std::string(BSTEST_INSTALL_BINDIR) + "/bstest"; is_executable(p)) return p;
#endif
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string dirs = path;
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && is_executable(dir + "/bstest")) return dir + "/bstest";
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

std::string Companion::not_found(const Config& config) {
  return config.shipper_program.empty() ? "the bstest program was not found (put it on PATH or set BSTEST_SHIPPER to its path)"
                                        : "BSTEST_SHIPPER=" + config.shipper_program + " is not an executable file";
}

Companion::~Companion() { abandon(); }

void Companion::abandon() noexcept {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (notify_fd_ >= 0) ::close(notify_fd_);
  wake_fd_ = notify_fd_ = -1;
  pid_ = -1;
}

bool Companion::start(const Config& config, const std::string& run_id, std::string& why) {
  std::string program = find_program(config);
  if (program.empty()) {
    why = not_found(config);
    return false;
  }
  int wake[2];
  int notify[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) {
    why = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  if (::pipe2(notify, O_CLOEXEC) != 0) {
    why = std::string("pipe: ") + std::strerror(errno);
    ::close(wake[0]);
    ::close(wake[1]);
    return false;
  }
  std::vector<std::string> args = {program,
                                   "ship",
                                   "--companion",
                                   "--run",
                                   run_id,
                                   "--dir",
                                   config.dir,
                                   "--wake-fd",
                                   "3",
                                   "--notify-fd",
                                   "4",
                                   "--deadline-ms",
                                   // A little less than we wait, so its summary arrives in time.
                                   std::to_string(std::max(config.flush_timeout_ms - 300, config.flush_timeout_ms * 3 / 4))};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wake[0], 3);
  posix_spawn_file_actions_adddup2(&fa, notify[1], 4);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);
#endif
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group: a Ctrl-C or a time-out kill aimed at the test's group leaves it shipping.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(wake[0]);
  ::close(notify[1]);
  if (rc != 0) {
    ::close(wake[1]);
    ::close(notify[0]);
    why = "cannot start " + program + ": " + std::strerror(rc);
    return false;
  }
  pid_ = pid;
  wake_fd_ = wake[1];
  notify_fd_ = notify[0];
  return true;
}

bool Companion::finish(int timeout_ms, std::string& summary, std::string& problem) {
  if (pid_ <= 0) return true;
  ::close(wake_fd_);
  wake_fd_ = -1;
  std::int64_t deadline = now_ms() + timeout_ms;
  bool eof = false;
  std::string text;
  while (!eof) {
    std::int64_t left = deadline - now_ms();
    if (left <= 0) break;
    pollfd p{notify_fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) break;
    char buf[4096];
    ssize_t n = ::read(notify_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
    } else {
      text.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(notify_fd_);
  notify_fd_ = -1;
  // Lines: "problem: <fault>" while shipping, then the summary line.
  summary.clear();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // an unfinished line is ignored
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("problem: ", 0) == 0) {
      problem = line.substr(9);
    } else if (!line.empty()) {
      summary = line;
    }
  }
  if (eof) {
    // It has closed its end, so it is exiting: reap it so no zombie is left behind, within the deadline
    // (left to init otherwise).
    for (;;) {
      pid_t r = ::waitpid(pid_, nullptr, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD) || now_ms() + 2 > deadline) break;
      ::usleep(1000);
    }
  }
  pid_ = -1;
  return eof;
}

}  // namespace bstest::detail
