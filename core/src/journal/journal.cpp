#include "journal/journal.hpp"

#include <rapidjson/document.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bstest::detail {

// ---------------------------------------------------------------------------------------------------------
// JournalWriter

JournalWriter::~JournalWriter() {
  if (owner_ != 0 && owner_ == ::getpid()) {
    close();
  } else {
    abandon();
  }
}

void JournalWriter::fail(const char* what, int err) noexcept {
  if (!failed_) {
    failed_ = true;
    try {
      error_ = std::string(what) + ": " + std::strerror(err);
    } catch (...) {
    }
  }
}

bool JournalWriter::open(const std::string& path, std::string& error) {
  std::string tmp = path + ".new";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  // The lock is taken before the file gets its final name, so no reader sees it unlocked.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot set up " + path + ": " + std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  fd_ = fd;
  path_ = path;
  owner_ = ::getpid();
  end_.store(0);
  reserved_ = 0;
  if (!ensure_reserved(kWindow + kSlack)) {
    error = error_;
    return false;
  }
  if (!map_window(0)) use_mmap_ = false;
  return true;
}

bool JournalWriter::ensure_reserved(std::uint64_t upto) noexcept {
  if (upto <= reserved_) return true;
  std::uint64_t want = (upto + kReserveStep - 1) / kReserveStep * kReserveStep;
  int rc = ::posix_fallocate(fd_, static_cast<off_t>(reserved_), static_cast<off_t>(want - reserved_));
  if (rc != 0) {
    fail("cannot reserve journal space", rc);
    return false;
  }
  reserved_ = want;
  return true;
}

bool JournalWriter::map_window(std::uint64_t offset) noexcept {
  std::uint64_t base = offset & ~static_cast<std::uint64_t>(kWindow - 1);
  std::size_t len = kWindow + kSlack;
  if (!ensure_reserved(base + len)) return false;
  if (map_ != nullptr) {
    ::munmap(map_, map_len_);
    map_ = nullptr;
  }
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(base));
  if (p == MAP_FAILED) return false;
  map_ = static_cast<char*>(p);
  map_base_ = base;
  map_len_ = len;
  return true;
}

bool JournalWriter::append(const char* data, std::size_t n) noexcept {
  if (fd_ < 0 || failed_ || n == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  std::uint64_t off = end_.fetch_add(n, std::memory_order_relaxed);
  if (!ensure_reserved(off + n)) return false;
  if (use_mmap_ && n <= kSlack) {
    if (map_ == nullptr || off < map_base_ || off >= map_base_ + kWindow) {
      if (!map_window(off)) use_mmap_ = false;
    }
    if (use_mmap_) {
      std::memcpy(map_ + (off - map_base_), data, n);
      return true;
    }
  }
  // Large record, or no mapping: one positioned write.
  std::size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd_, data + done, n - done, static_cast<off_t>(off + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("cannot write to the journal", errno);
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  return true;
}

bool JournalWriter::append_from_signal(const char* data, std::size_t n) noexcept {
  if (fd_ < 0) return false;
  std::uint64_t off = end_.fetch_add(n, std::memory_order_relaxed);
  std::size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd_, data + done, n - done, static_cast<off_t>(off + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  return true;
}

void JournalWriter::close() noexcept {
  if (fd_ < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (map_ != nullptr) {
    ::munmap(map_, map_len_);
    map_ = nullptr;
  }
  // Drop the zero-filled reserve so the file holds exactly the records.
  if (::ftruncate(fd_, static_cast<off_t>(end_.load())) != 0) {
    // Not fatal: readers skip the zero tail of a finished journal.
  }
  ::close(fd_);
  fd_ = -1;
  owner_ = 0;
}

void JournalWriter::abandon() noexcept {
  if (map_ != nullptr) {
    ::munmap(map_, map_len_);
    map_ = nullptr;
  }
  if (fd_ >= 0) {
    // Closing our copy of the descriptor does not release the parent's lock: the lock belongs to the
    // open file description, which the parent still holds.
    ::close(fd_);
    fd_ = -1;
  }
  owner_ = 0;
}

// ---------------------------------------------------------------------------------------------------------
// JournalReader

JournalReader::~JournalReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool JournalReader::open(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = path;
  return true;
}

bool JournalReader::writer_alive() const noexcept {
  if (fd_ < 0) return false;
  if (::flock(fd_, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd_, LOCK_UN);
    return false;
  }
  return errno == EWOULDBLOCK;
}

std::uint64_t JournalReader::file_size() const noexcept {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

namespace {

bool is_blank(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
  }
  return true;
}

bool is_json_object(const char* p, std::size_t n) {
  rapidjson::Document d;
  d.Parse(p, n);
  return !d.HasParseError() && d.IsObject();
}

}  // namespace

std::uint64_t JournalReader::read_lines(std::uint64_t from, Buf& out, std::size_t max_bytes, bool writer_gone,
                                        std::vector<std::uint64_t>* line_ends) const {
  if (fd_ < 0) return from;
  std::size_t chunk = max_bytes < (256u << 10) ? (256u << 10) : max_bytes;
  Buf buf;
  const std::size_t out_start = out.size();
  const std::size_t ends_start = line_ends != nullptr ? line_ends->size() : 0;
  for (;;) {
    buf.clear();
    out.truncate(out_start);
    if (line_ends != nullptr) line_ends->resize(ends_start);
    char* p = buf.tail(chunk);
    ssize_t got;
    do {
      got = ::pread(fd_, p, chunk, static_cast<off_t>(from));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) return from;
    std::size_t len = static_cast<std::size_t>(got);
    bool at_eof = len < chunk;
    std::size_t pos = 0;
    std::size_t consumed = 0;
    bool after_gap = false;
    bool progressed = false;
    bool waiting = false;  // stopped at a record the live writer is still copying
    while (pos < len) {
      if (p[pos] == '\0') {
        if (!writer_gone) {
          waiting = true;
          break;
        }
        while (pos < len && p[pos] == '\0') ++pos;
        consumed = pos;
        after_gap = true;
        progressed = true;
        continue;
      }
      const char* nl = static_cast<const char*>(std::memchr(p + pos, '\n', len - pos));
      std::size_t line_end = nl != nullptr ? static_cast<std::size_t>(nl - p) : len;
      const char* nul = static_cast<const char*>(std::memchr(p + pos, '\0', line_end - pos));
      if (nul != nullptr) {
        if (!writer_gone) {
          waiting = true;
          break;
        }
        pos = static_cast<std::size_t>(nul - p);
        consumed = pos;
        after_gap = true;
        progressed = true;
        continue;
      }
      if (nl == nullptr) {
        if (writer_gone && at_eof) {  // a torn last line without NULs: never completed
          consumed = len;
          progressed = true;
        }
        break;
      }
      std::size_t n = line_end - pos;
      bool keep = n > 0 && !is_blank(p + pos, n) && p[pos] == '{';
      if (keep && after_gap) keep = is_json_object(p + pos, n);
      if (keep) {
        out.put(std::string_view(p + pos, n + 1));
        if (line_ends != nullptr) line_ends->push_back(from + line_end + 1);
      }
      pos = line_end + 1;
      consumed = pos;
      after_gap = false;
      progressed = true;
      if (out.size() >= max_bytes) break;
    }
    if (progressed || at_eof || waiting || chunk >= (64u << 20)) return from + consumed;
    chunk *= 2;  // one line longer than the chunk: read more
  }
}

bool make_private_dir(const std::string& dir, std::string& error) {
  if (dir.empty()) {
    error = "empty folder name";
    return false;
  }
  std::string partial;
  std::size_t i = 0;
  while (i <= dir.size()) {
    std::size_t slash = dir.find('/', i);
    if (slash == std::string::npos) slash = dir.size();
    partial = dir.substr(0, slash);
    i = slash + 1;
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      error = "cannot create folder " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = dir + " is not a folder";
    return false;
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    error = "folder " + dir + " is not writable: " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace bstest::detail
