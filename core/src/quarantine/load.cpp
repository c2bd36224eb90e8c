// Finding and reading the quarantine file of a run.
#include "quarantine/quarantine.hpp"

#include "quarantine/parse.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace bstest {

namespace {

// A quarantine file is a short list reviewed by people; anything larger is not one.
constexpr off_t kMaxFileBytes = 1 << 20;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string absolute_dir(const std::string& dir) {
  char buf[PATH_MAX];
  if (::realpath(dir.empty() ? "." : dir.c_str(), buf) != nullptr) return buf;
  return dir;
}

// Looks for kQuarantineFileName from `dir` upward. Stops at the repository root (the first folder with a
// .git, a folder or a file) or at /. Returns the file found, "" when none; `root` is the folder it stopped
// at when that was a repository root, else "".
std::string find_upward(std::string dir, std::string& root) {
  root.clear();
  while (!dir.empty()) {
    std::string candidate = (dir == "/" ? "" : dir) + "/" + kQuarantineFileName;
    if (exists(candidate)) return candidate;
    if (exists(dir + "/.git")) {
      root = dir;
      return "";
    }
    if (dir == "/") return "";
    auto slash = dir.find_last_of('/');
    dir = slash == std::string::npos ? "" : slash == 0 ? "/" : dir.substr(0, slash);
  }
  return "";
}

// `path` relative to the folder `dir` (already absolute paths stay as they are).
std::string under(const std::string& dir, const std::string& path) {
  return path[0] == '/' ? path : (dir == "/" ? "" : dir) + "/" + path;
}

// The whole file, or false with `error` (a phrase that follows the file's name) set.
bool read_small_file(const std::string& path, std::string& text, std::string& error) {
  // O_NONBLOCK: a FIFO in its place must not hang the run (it does nothing for regular files).
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = errno == ENOENT ? "does not exist" : std::string("cannot be read: ") + std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxFileBytes;
  if (!ok) {
    error = !S_ISREG(st.st_mode) ? "is not a regular file" : "is larger than 1 MiB: it cannot be a quarantine file";
  }
  char buf[16384];
  while (ok) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      if (!ok) error = std::string("cannot be read: ") + std::strerror(errno);
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return ok;
}

}  // namespace

Quarantine Quarantine::parse(std::string_view text, std::string path, Day today) {
  Quarantine q;
  q.path_ = std::move(path);
  q.today_ = today;
  detail::parse_quarantine(text, today, q.entries_, q.problems_);
  return q;
}

Quarantine Quarantine::load(const std::string& configured, const std::string& start_dir, Day today) noexcept {
  Quarantine q;
  q.today_ = today;
  try {
    std::string start = absolute_dir(start_dir);
    std::string root;
    std::string path = configured.empty() ? find_upward(start, root) : under(start, configured);
    if (path.empty()) return q;
    char real[PATH_MAX];
    q.path_ = ::realpath(path.c_str(), real) != nullptr ? real : path;
    std::string text, error;
    if (!read_small_file(q.path_, text, error)) {
      std::string what = configured.empty() ? error : error + " (BSTEST_QUARANTINE names it)";
      q.problems_.push_back({0, what + "; fix it, or point BSTEST_QUARANTINE at the right file"});
      return q;
    }
    return parse(text, q.path_, today);
  } catch (...) {  // out of memory: no quarantine, and say so
    q.entries_.clear();
    q.problems_.assign(1, {0, "could not be read: out of memory"});
    return q;
  }
}

std::string new_quarantine_path(const std::string& configured, const std::string& start_dir) {
  std::string start = absolute_dir(start_dir);
  if (!configured.empty()) return under(start, configured);
  std::string root;
  std::string found = find_upward(start, root);
  if (!found.empty()) return found;
  return under(root.empty() ? start : root, kQuarantineFileName);
}

std::vector<std::string> Quarantine::problem_lines() const {
  std::vector<std::string> lines;
  for (const auto& p : problems_) {
    lines.push_back(path_ + (p.line > 0 ? ":" + std::to_string(p.line) : std::string()) + ": " + p.message);
  }
  return lines;
}

}  // namespace bstest
