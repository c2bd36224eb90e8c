#include "ship/rate_limit_file.hpp"

#include "base/clock.hpp"
#include "base/ids.hpp"
#include "journal/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace bstest::detail {

RateLimitFile::RateLimitFile(const std::string& bstest_dir) : path_(bstest_dir + "/errors-rate-limited-until") {}

void RateLimitFile::remember(int delay_ms) const {
  std::string tmp = path_ + "." + random_hex(4) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string text = std::to_string(wall_now_ms() + delay_ms) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) ::unlink(tmp.c_str());
}

std::int64_t RateLimitFile::left_ms() const {
  // Only a regular file of ours: a link is not followed, and a FIFO planted in a shared folder must not
  // hang the shipper (open_own_file opens without blocking, then refuses it).
  std::string err;
  int fd = open_own_file(path_, O_RDONLY, err);
  if (fd < 0) return 0;
  char buf[32] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  std::int64_t left = std::atoll(buf) - wall_now_ms();
  return left > 0 ? left : 0;
}

}  // namespace bstest::detail
