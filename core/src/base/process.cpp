#include "base/process.hpp"

#include "record/redactor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string_view>

extern char** environ;

namespace bstest::detail {

void say(const std::string& line) {
  std::string l = line + "\n";
  ssize_t rc = ::write(2, l.data(), l.size());
  (void)rc;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::string> self_argv() {
  std::vector<std::string> argv;
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return argv;
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  for (std::size_t start = 0; start < all.size();) {
    std::size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    argv.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

std::string current_directory() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) != nullptr ? std::string(buf) : std::string();
}

std::string absolute_path(const std::string& path, const std::string& base) {
  if (path.empty() || path[0] == '/' || base.empty()) return path;
  return base + "/" + path;
}

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

EnvironmentForRerun environment_for_rerun(const std::vector<std::string>& extra_patterns) {
  EnvironmentForRerun e;
  for (char** v = environ; v != nullptr && *v != nullptr; ++v) {
    std::string_view kv(*v);
    std::string_view name = kv.substr(0, kv.find('='));
    if (Redactor::name_looks_secret(name, extra_patterns)) {
      e.inherited.emplace_back(name);
    } else {
      e.env.emplace_back(kv);
    }
  }
  return e;
}

}  // namespace bstest::detail
