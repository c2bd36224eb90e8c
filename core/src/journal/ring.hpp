// The writer's side of the journal: a fixed ring of shared file-mapped memory.
//
// Why a ring: the first write to a fresh page of a file costs far more than the record itself (a page
// fault, a page allocated, disk blocks reserved: about 15 us per 4 KiB page on the machines we measured,
// against 20 ns for a 500-byte memcpy into a page already mapped). So the test process only ever writes
// into the same 1 MiB: `X.ring`, mapped MAP_SHARED, which survives the process being killed because it
// is in the page cache. The records are copied from the ring into the append-only journal file `X.journal`
// in large chunks by whoever ships it (the companion, `bstest run`, `bstest flush`), or by the writer itself
// when the ring fills (no companion: the embedded default).
//
// Layout of X.ring: a 4 KiB header, then `size` bytes of ring. The byte at journal offset o lives at ring
// position o % size. Ring memory that holds no record is zero, and a record never contains a NUL byte, so
// a copier takes only complete lines: a NUL inside a line means the writer is still copying it (or was
// killed while copying it: then, once the writer is gone, the torn part is skipped). After copying, the
// copier zeroes what it copied and advances `consumed`; the writer never writes past consumed + size.
// Copiers exclude each other with flock on the ring file.
#pragma once

#include "record/json.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace bstest::detail {

struct RingHeader {
  char magic[8];                        // "BSTRING1"
  std::uint64_t size;                   // ring bytes
  std::atomic<std::uint64_t> end;       // journal offset just after the last reserved byte
  std::atomic<std::uint64_t> consumed;  // journal offset before which everything is in the journal file
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the ring header is shared between processes");

// How copies go into the journal file: each large one reserves its disk blocks just before it is written:
// fallocate(2) of exactly the bytes about to be written, with FALLOC_FL_KEEP_SIZE (the file's size, which
// readers go by, is the write's to change). On ext4 a large pwrite() into blocks reserved this way costs less
// CPU than one into new blocks, whose every page delayed allocation reserves as it is written (page-cost
// measures both on every bench run). Nothing is reserved past what is written, so there is nothing to give
// back. Only on ext4, where it was measured; elsewhere (tmpfs would zero pages that the write then fills)
// nothing changes. A refused reservation (a full disk) is left to the write itself to report. One per
// copier; not thread-safe.
class BlockReserve {
 public:
  static constexpr std::uint64_t kMinBytes = 64 * 1024;  // smaller copies: one more system call, little to win
  // Writes `n` bytes at journal offset `off` (all of them, across EINTR and short writes), reserving their
  // blocks first when they are worth it. False on an I/O error, with errno set by the write.
  bool write(int fd, const char* p, std::size_t n, std::uint64_t off) noexcept;

 private:
  void reserve(int fd, std::uint64_t from, std::uint64_t end) noexcept;

  enum class State : unsigned char { unknown, on, off };
  State state_ = State::unknown;
};

class JournalWriter {
 public:
  static constexpr std::size_t kRingBytes = 1u << 20;
  static constexpr std::size_t kHeaderBytes = 4096;

  JournalWriter() = default;
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Creates `path` (the journal, mode 0600, must not exist; locked for as long as we write it) and its ring.
  // `self_drain_at` is how full the ring may get before the writer copies it out itself: the whole ring when
  // a companion copies it, half of it otherwise.
  bool open(const std::string& path, std::string& error, std::size_t self_drain_at = kRingBytes / 2);
  bool is_open() const noexcept { return journal_fd_ >= 0; }
  // Appends one complete record (ending in '\n'). Thread-safe. False when it could not be kept.
  bool append(const char* data, std::size_t n) noexcept;
  // For a signal handler: no lock, no allocation (memcpy into the ring, or one pwrite when it is full).
  bool append_from_signal(const char* data, std::size_t n) noexcept;
  // Copies what is left into the journal, removes the ring, closes (releasing the lock).
  void close() noexcept;
  // Forgets everything without touching the files (a forked child must not close its parent's journal).
  void abandon() noexcept;

  std::uint64_t size() const noexcept;
  bool failed() const noexcept { return failed_; }
  // The file system refused a page of the ring (SIGBUS: a copy-on-write file system or a quota out of
  // space, a ring file cut short): records go straight to the journal file with write(2) since.
  bool ring_failed() const noexcept { return direct_ || ring_failed_.load(std::memory_order_relaxed); }
  const std::string& last_error() const noexcept { return error_; }
  const std::string& path() const noexcept { return path_; }

 private:
  bool drain() noexcept;
  bool append_direct(const char* data, std::size_t n) noexcept;
  void leave_ring() noexcept;
  void unmap() noexcept;
  void fail(const std::string& what) noexcept;

  int journal_fd_ = -1;
  int ring_fd_ = -1;
  void* map_ = nullptr;  // the ring file's mapping: its header, then the ring
  RingHeader* header_ = nullptr;  // in the mapping; own_header_ once the ring is left
  RingHeader own_header_{};
  std::atomic<bool> ring_failed_{false};  // set by the crash handler's SIGBUS rescue
  bool direct_ = false;                    // the ring was left: records go to the journal file
  char* ring_ = nullptr;
  std::size_t size_ = 0;
  std::size_t self_drain_at_ = 0;
  BlockReserve blocks_;
  std::string path_;
  std::string ring_path_;
  std::mutex mu_;
  bool failed_ = false;
  std::string error_;
  pid_t owner_ = 0;
};

// X.ring for journal X.journal.
std::string ring_path_of(const std::string& journal_path);

// Copies the complete records of `journal_path`'s ring (if it has one) into the journal file. With
// `writer_gone`, torn records are skipped, and the ring file is removed once it is empty. Safe to call
// from several processes at once. False on an I/O error (disk full), with `error` set.
bool absorb_ring(const std::string& journal_path, bool writer_gone, std::string& error);

// absorb_ring for a shipper that follows one journal and copies its ring again and again: the ring stays
// mapped, and the copy buffer allocated, between calls. Mapping them anew for each copy faults every page
// in again, which was most of a following shipper's CPU time. One journal per reader; one thread.
class RingReader {
 public:
  RingReader() = default;
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // As absorb_ring.
  bool absorb(const std::string& journal_path, bool writer_gone, std::string& error);
  // What the last absorb of a live writer's ring moved into the journal: the journal's bytes from `at` on,
  // whole lines (empty when it moved nothing, or the writer was gone). Valid until the next absorb. A
  // reader that has read up to `at` takes them from here instead of reading the file again.
  std::string_view last_copy(std::uint64_t& at) const noexcept {
    at = last_copy_.first;
    return std::string_view(scratch_.data(), last_copy_.second);
  }

 private:
  bool map(const std::string& ring_path, std::string& error);
  void release() noexcept;

  int fd_ = -1;
  void* map_ = nullptr;
  std::size_t total_ = 0;
  Buf scratch_;
  BlockReserve blocks_;
  std::pair<std::uint64_t, std::size_t> last_copy_{0, 0};  // journal offset and length of scratch_'s bytes
};

}  // namespace bstest::detail
