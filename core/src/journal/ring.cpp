#include "journal/ring.hpp"

#include "journal/crash_handler.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"

#include <rapidjson/document.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bstest::detail {

namespace {

constexpr char kMagic[8] = {'B', 'S', 'T', 'R', 'I', 'N', 'G', '1'};
#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux 5.14's value, for older C library headers
#endif

bool pwrite_all(int fd, const char* p, std::size_t n, std::uint64_t off) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    off += static_cast<std::uint64_t>(w);
  }
  return true;
}

bool whole_json_object(const char* p, std::size_t n) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(p, n);
  return !d.HasParseError() && d.IsObject();
}

// Copies ring bytes [from, to) (journal offsets) into `out`, which must hold to - from bytes.
void ring_read(const char* ring, std::size_t size, std::uint64_t from, std::uint64_t to, char* out) {
  std::size_t len = static_cast<std::size_t>(to - from);
  std::size_t start = static_cast<std::size_t>(from % size);
  std::size_t first = len < size - start ? len : size - start;
  std::memcpy(out, ring + start, first);
  if (len > first) std::memcpy(out + first, ring, len - first);
}

void ring_write(char* ring, std::size_t size, std::uint64_t at, const char* data, std::size_t n) {
  std::size_t start = static_cast<std::size_t>(at % size);
  std::size_t first = n < size - start ? n : size - start;
  std::memcpy(ring + start, data, first);
  if (n > first) std::memcpy(ring, data + first, n - first);
}

void ring_zero(char* ring, std::size_t size, std::uint64_t from, std::uint64_t to) {
  std::size_t len = static_cast<std::size_t>(to - from);
  std::size_t start = static_cast<std::size_t>(from % size);
  std::size_t first = len < size - start ? len : size - start;
  std::memset(ring + start, 0, first);
  if (len > first) std::memset(ring, 0, len - first);
}

// The copier: moves the complete records between `consumed` and `end` into the journal file (written at
// their own offsets, so a copy that is repeated after a kill writes the same bytes again), zeroes them in
// the ring and advances `consumed`. The caller holds the ring's flock. `copied` gets the journal offset of the
// first byte moved and how many: scratch[0, n) holds them as the journal now does.
bool copy_out(RingHeader* h, char* ring, int journal_fd, bool writer_gone, Buf& scratch, BlockReserve& blocks,
              std::string& error, std::pair<std::uint64_t, std::size_t>& copied) {
  copied = {0, 0};
  const std::size_t size = static_cast<std::size_t>(h->size);
  std::uint64_t c = h->consumed.load(std::memory_order_acquire);
  std::uint64_t e = h->end.load(std::memory_order_acquire);
  if (e <= c) return true;
  if (e - c > size) e = c + size;  // a reservation that did not fit went to the journal directly
  std::size_t len = static_cast<std::size_t>(e - c);
  scratch.clear();
  char* buf = scratch.tail(len);
  ring_read(ring, size, c, e, buf);
  std::size_t pos = 0;
  std::size_t good = 0;         // bytes that may be zeroed and consumed
  std::size_t seg = 0;          // start of the run of complete lines not yet written
  bool after_gap = false;
  auto flush = [&](std::size_t upto) {
    if (upto > seg && !blocks.write(journal_fd, buf + seg, upto - seg, c + seg)) return false;
    seg = upto;
    return true;
  };
  while (pos < len) {
    if (buf[pos] == '\0') {
      if (!writer_gone) break;
      if (!flush(pos)) break;
      while (pos < len && buf[pos] == '\0') ++pos;
      seg = good = pos;
      after_gap = true;
      continue;
    }
    const char* nl = static_cast<const char*>(std::memchr(buf + pos, '\n', len - pos));
    std::size_t line_end = nl != nullptr ? static_cast<std::size_t>(nl - buf) : len;
    const char* nul = static_cast<const char*>(std::memchr(buf + pos, '\0', line_end - pos));
    if (nul != nullptr || nl == nullptr) {
      if (!writer_gone) break;  // still being copied by the writer
      // Torn by a kill: drop the partial record.
      if (!flush(pos)) break;
      pos = nul != nullptr ? static_cast<std::size_t>(nul - buf) : len;
      seg = good = pos;
      after_gap = true;
      continue;
    }
    if (after_gap && !whole_json_object(buf + pos, line_end - pos)) {
      // The tail of a torn record that happens to end in a newline: not a record.
      if (!flush(pos)) break;
      seg = line_end + 1;
    }
    after_gap = false;
    pos = line_end + 1;
    good = pos;
  }
  if (!flush(good)) {
    error = std::string("cannot write the journal: ") + std::strerror(errno);
    // Keep what was written: it is still in the ring and will be copied again.
    return false;
  }
  if (good > 0) {
    ring_zero(ring, size, c, c + good);
    h->consumed.store(c + good, std::memory_order_release);
    copied = {c, good};
  }
  return true;
}

// The writer's own drain: everything between `consumed` and `end` is complete (the writer holds its lock,
// so no record is half copied), so it goes to the journal straight from the ring, in at most two writes.
// The caller holds the ring's flock.
bool copy_out_complete(RingHeader* h, char* ring, int journal_fd, BlockReserve& blocks, std::string& error) {
  const std::size_t size = static_cast<std::size_t>(h->size);
  std::uint64_t c = h->consumed.load(std::memory_order_acquire);
  std::uint64_t e = h->end.load(std::memory_order_acquire);
  if (e <= c) return true;
  if (e - c > size) e = c + size;
  std::size_t len = static_cast<std::size_t>(e - c);
  std::size_t start = static_cast<std::size_t>(c % size);
  std::size_t first = len < size - start ? len : size - start;
  if (!blocks.write(journal_fd, ring + start, first, c) ||
      (len > first && !blocks.write(journal_fd, ring, len - first, c + first))) {
    error = std::string("cannot write the journal: ") + std::strerror(errno);
    return false;
  }
  ring_zero(ring, size, c, e);
  h->consumed.store(e, std::memory_order_release);
  return true;
}

}  // namespace

bool BlockReserve::write(int fd, const char* p, std::size_t n, std::uint64_t off) noexcept {
  if (n >= kMinBytes) reserve(fd, off, off + n);
  return pwrite_all(fd, p, n, off);
}

void BlockReserve::reserve(int fd, std::uint64_t from, std::uint64_t end) noexcept {
  if (state_ == State::off) return;
  if (state_ == State::unknown) {
    struct statfs fs {};
    state_ = ::fstatfs(fd, &fs) == 0 && fs.f_type == EXT4_SUPER_MAGIC ? State::on : State::off;
  }
  if (state_ == State::on &&
      ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from), static_cast<off_t>(end - from)) != 0 &&
      (errno == EOPNOTSUPP || errno == ENOSYS)) {
    state_ = State::off;
  }
  // A refused reservation (a full disk) is not an error: the write that follows says what is wrong.
}

std::string ring_path_of(const std::string& journal_path) { return std::string(journal_base(journal_path)) + ".ring"; }

// ---------------------------------------------------------------------------------------------------------
// JournalWriter

JournalWriter::~JournalWriter() {
  if (owner_ != 0 && owner_ == ::getpid()) {
    close();
  } else {
    abandon();
  }
}

void JournalWriter::fail(const std::string& what) noexcept {
  if (failed_) return;
  failed_ = true;
  try {
    error_ = what;
  } catch (...) {
  }
}

bool JournalWriter::open(const std::string& path, std::string& error, std::size_t self_drain_at) {
  ring_path_ = ring_path_of(path);
  int rfd = ::open(ring_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (rfd < 0) {
    error = "cannot create " + ring_path_ + ": " + std::strerror(errno);
    return false;
  }
  std::size_t total = kHeaderBytes + kRingBytes;
  // Reserve the ring's blocks now: a full disk is an error here, never a SIGBUS later.
  int rc = ::posix_fallocate(rfd, 0, static_cast<off_t>(total));
  if (rc != 0) {
    error = "cannot reserve " + std::to_string(total >> 20) + " MiB for " + ring_path_ + ": " + std::strerror(rc);
    ::close(rfd);
    ::unlink(ring_path_.c_str());
    return false;
  }
  void* m = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
  if (m == MAP_FAILED) {
    error = "cannot map " + ring_path_ + ": " + std::strerror(errno);
    ::close(rfd);
    ::unlink(ring_path_.c_str());
    return false;
  }
  // Every page of the ring faulted in (writable) now, at start, rather than on a test's thread when a record
  // first lands in it: one call instead of 257 page faults. An error (a kernel before 5.14 has no
  // MADV_POPULATE_WRITE; a page the file system refuses is EFAULT here, never a SIGBUS) leaves the faults
  // for later, as before.
  ::madvise(m, total, kPopulateWrite);
  auto* h = new (m) RingHeader();
  std::memcpy(h->magic, kMagic, sizeof kMagic);
  h->size = kRingBytes;
  h->end.store(0);
  h->consumed.store(0);

  std::string tmp = path + ".new";
  int jfd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  // The lock is taken before the journal gets its name, so no reader ever sees it unlocked.
  if (jfd < 0 || ::flock(jfd, LOCK_EX | LOCK_NB) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    if (jfd >= 0) ::close(jfd);
    ::unlink(tmp.c_str());
    ::munmap(m, total);
    ::close(rfd);
    ::unlink(ring_path_.c_str());
    return false;
  }
  journal_fd_ = jfd;
  ring_fd_ = rfd;
  map_ = m;
  header_ = h;
  ring_failed_.store(false);
  direct_ = false;
  guard_ring_mapping(static_cast<char*>(m), total, rfd, &ring_failed_);
  ring_ = static_cast<char*>(m) + kHeaderBytes;
  size_ = kRingBytes;
  self_drain_at_ = self_drain_at < 4096 ? 4096 : (self_drain_at > kRingBytes ? kRingBytes : self_drain_at);
  path_ = path;
  owner_ = ::getpid();
  return true;
}

std::uint64_t JournalWriter::size() const noexcept {
  return header_ != nullptr ? header_->end.load(std::memory_order_relaxed) : 0;
}

bool JournalWriter::drain() noexcept {
  if (direct_) return true;
  if (::flock(ring_fd_, LOCK_EX) != 0) return false;
  std::string err;
  bool ok = copy_out_complete(header_, ring_, journal_fd_, blocks_, err);
  ::flock(ring_fd_, LOCK_UN);
  if (!ok) fail(err);
  return ok;
}

bool JournalWriter::append(const char* data, std::size_t n) noexcept {
  if (header_ == nullptr || failed_ || n == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (ring_failed_.load(std::memory_order_relaxed)) return append_direct(data, n);
  try {
    std::uint64_t end = header_->end.load(std::memory_order_relaxed);
    // Keep room: copy the ring out ourselves when nobody else did in time.
    if (end + n - header_->consumed.load(std::memory_order_acquire) > self_drain_at_) {
      if (!drain()) return false;
    }
    if (n > size_ / 4) {
      // A record too large for the ring goes straight to the journal, after everything before it.
      std::uint64_t off = header_->end.fetch_add(n, std::memory_order_relaxed);
      if (::flock(ring_fd_, LOCK_EX) != 0) return false;
      std::string err;
      bool ok = copy_out_complete(header_, ring_, journal_fd_, blocks_, err) && blocks_.write(journal_fd_, data, n, off);
      if (ok) header_->consumed.store(off + n, std::memory_order_release);
      ::flock(ring_fd_, LOCK_UN);
      if (!ok) fail(err.empty() ? std::string("cannot write the journal: ") + std::strerror(errno) : err);
      return ok;
    }
    std::uint64_t off = header_->end.fetch_add(n, std::memory_order_relaxed);
    if (off + n - header_->consumed.load(std::memory_order_acquire) > size_) {
      // Only if a drain just failed to make room (disk full).
      fail("the journal ring is full and cannot be emptied");
      return false;
    }
    ring_write(ring_, size_, off, data, n);
    if (ring_failed_.load(std::memory_order_relaxed)) {
      // The file system refused a page during this very copy: the record is whole only in our own copy of
      // that page, so it is kept only if the move into the journal file succeeds.
      leave_ring();
      return !failed_;
    }
    return true;
  } catch (...) {
    return false;
  }
}

// The ring was refused a page: everything our mapping holds goes into the journal file (whole records only,
// at their own offsets, so nothing a copier wrote there is overwritten by anything else than the same
// bytes), then the ring file goes (a copier would find a file that no longer describes the run), and
// records are written to the journal file from then on. When the journal cannot be written either (the
// disk is full), the ring file stays: every record copied into it before the refused page is still there,
// for whoever ships the journal later. Called with mu_ held.
void JournalWriter::leave_ring() noexcept {
  bool locked = ::flock(ring_fd_, LOCK_EX) == 0;
  std::string err;
  bool ok = false;
  try {
    Buf scratch;
    std::pair<std::uint64_t, std::size_t> copied;
    ok = copy_out(header_, ring_, journal_fd_, /*writer_gone=*/true, scratch, blocks_, err, copied);
  } catch (...) {
    err = "out of memory";
  }
  own_header_.size = header_->size;
  own_header_.end.store(header_->end.load());
  own_header_.consumed.store(header_->consumed.load());
  if (ok) ::unlink(ring_path_.c_str());
  unmap();
  if (locked) ::flock(ring_fd_, LOCK_UN);
  ::close(ring_fd_);
  ring_fd_ = -1;
  header_ = &own_header_;
  direct_ = true;
  if (!ok) fail(err.empty() ? "cannot move the ring into the journal" : err);
}

void JournalWriter::unmap() noexcept {
  if (map_ == nullptr) return;
  unguard_ring_mapping(static_cast<char*>(map_));
  ::munmap(map_, kHeaderBytes + size_);
  map_ = nullptr;
  ring_ = nullptr;
}

bool JournalWriter::append_direct(const char* data, std::size_t n) noexcept {
  if (!direct_) leave_ring();  // the refused page was met by a signal-handler append or a drain
  if (failed_) return false;
  // Offsets advance only past what was written: a record the disk refused leaves no hole for readers to
  // wait at (the next one is written over what part of it was written).
  std::uint64_t off = header_->end.load(std::memory_order_relaxed);
  if (!pwrite_all(journal_fd_, data, n, off)) {
    fail(std::string("cannot write the journal: ") + std::strerror(errno));
    return false;
  }
  header_->end.store(off + n, std::memory_order_relaxed);
  header_->consumed.store(off + n, std::memory_order_relaxed);
  return true;
}

bool JournalWriter::append_from_signal(const char* data, std::size_t n) noexcept {
  if (header_ == nullptr || journal_fd_ < 0) return false;
  std::uint64_t off = header_->end.fetch_add(n, std::memory_order_relaxed);
  // Not into a ring the file system refused a page of: the record could land in a page that is only ours.
  if (ring_ != nullptr && !ring_failed_.load(std::memory_order_relaxed) &&
      off + n - header_->consumed.load(std::memory_order_acquire) <= size_) {
    ring_write(ring_, size_, off, data, n);
    return true;
  }
  // No room in the ring: write it to the journal at its own offset (copiers skip its zero ring bytes).
  return pwrite_all(journal_fd_, data, n, off);
}

void JournalWriter::close() noexcept {
  if (header_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ring_failed_.load() && !direct_) leave_ring();
    if (!direct_) {
      drain();
      bool empty = header_->consumed.load() >= header_->end.load();
      unmap();
      if (empty) ::unlink(ring_path_.c_str());  // otherwise the shipper copies the rest out
      ::close(ring_fd_);
      ring_fd_ = -1;
    }
    header_ = nullptr;
  }
  ::close(journal_fd_);  // releases the writer's lock
  journal_fd_ = -1;
  owner_ = 0;
}

void JournalWriter::abandon() noexcept {
  unmap();
  header_ = nullptr;
  // Closing our copies of the descriptors does not release the parent's lock: it belongs to the open file
  // description, which the parent still holds.
  if (ring_fd_ >= 0) ::close(ring_fd_);
  if (journal_fd_ >= 0) ::close(journal_fd_);
  ring_fd_ = journal_fd_ = -1;
  owner_ = 0;
}

// ---------------------------------------------------------------------------------------------------------
// Readers' side

RingReader::~RingReader() { release(); }

void RingReader::release() noexcept {
  if (map_ != nullptr) ::munmap(map_, total_);
  if (fd_ >= 0) ::close(fd_);
  map_ = nullptr;
  fd_ = -1;
  total_ = 0;
}

// Maps the ring file (kept from the last call while it is the same size): false with `error` when it is
// there but cannot be used; true with map_ == nullptr when there is none.
bool RingReader::map(const std::string& rpath, std::string& error) {
  if (fd_ < 0) {
    fd_ = open_own_file(rpath, O_RDWR, error);
    if (fd_ < 0) {
      if (errno != ENOENT) return false;
      error.clear();  // no ring: the writer closed cleanly, or never had one
      return true;
    }
  }
  // A file cut short since it was mapped would raise SIGBUS on access: its size is checked at every call.
  struct stat st {};
  std::size_t total = ::fstat(fd_, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  if (map_ != nullptr && total == total_) return true;
  if (map_ != nullptr) ::munmap(map_, total_);
  map_ = nullptr;
  total_ = 0;
  if (total < JournalWriter::kHeaderBytes + 4096) {
    release();
    error = rpath + " is damaged (too short); its records are not read";
    return false;
  }
  void* m = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (m == MAP_FAILED) {
    release();
    error = "cannot map " + rpath + ": " + std::strerror(errno);
    return false;
  }
  map_ = m;
  total_ = total;
  return true;
}

bool RingReader::absorb(const std::string& journal_path, bool writer_gone, std::string& error) {
  last_copy_ = {0, 0};  // whatever happens below, an earlier copy is not this one
  std::string rpath = ring_path_of(journal_path);
  if (!map(rpath, error)) return false;
  if (map_ == nullptr) return true;
  auto* h = static_cast<RingHeader*>(map_);
  bool ok = true;
  int jfd = -1;
  // A header that does not describe this file (a ring is a whole number of pages filling the file after
  // the header, and never consumed past what the journal holds) is not trusted with a single byte.
  struct stat js {};
  bool valid = std::memcmp(h->magic, kMagic, sizeof kMagic) == 0 && h->size != 0 && h->size % 4096 == 0 &&
               h->size == total_ - JournalWriter::kHeaderBytes;
  bool removed = false;
  if (valid) {
    jfd = open_own_file(journal_path, O_WRONLY, error);
    if (jfd < 0) {
      ok = false;
    } else if (::flock(fd_, LOCK_EX) == 0) {
      if (::fstat(jfd, &js) != 0 || h->consumed.load() > static_cast<std::uint64_t>(js.st_size)) {
        valid = false;
      } else {
        ok = copy_out(h, static_cast<char*>(map_) + JournalWriter::kHeaderBytes, jfd, writer_gone, scratch_, blocks_,
                      error, last_copy_);
        // Torn records of a dead writer were left out of the journal, so the copy is not its bytes then.
        if (!ok || writer_gone) last_copy_ = {0, 0};
        bool empty = h->consumed.load() >= h->end.load() || (writer_gone && ok);
        removed = writer_gone && empty && ::unlink(rpath.c_str()) == 0;
      }
      ::flock(fd_, LOCK_UN);
    }
  }
  if (!valid) {
    error = rpath + " is damaged (its header does not match the file); its records are not read";
    ok = false;
  }
  if (jfd >= 0) ::close(jfd);
  // Not kept mapped: a ring removed, or one that cannot be trusted (looked at again from scratch next time).
  if (removed || !valid) release();
  return ok;
}

bool absorb_ring(const std::string& journal_path, bool writer_gone, std::string& error) {
  RingReader reader;
  return reader.absorb(journal_path, writer_gone, error);
}

}  // namespace bstest::detail
