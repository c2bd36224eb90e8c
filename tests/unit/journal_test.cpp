// The journal: appends go through a fixed shared ring into the journal file, survive a kill, readers take
// only complete records, torn ones are skipped, and the writer's lock tells readers whether it is alive.
#include "journal/journal.hpp"

#include "process.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using bstest::detail::JournalReader;
using bstest::detail::JournalLine;
using bstest::detail::JournalWriter;
using bstest::testing::TempDir;

namespace {

std::string record(int i, std::size_t pad = 0) {
  return "{\"id\":\"r-" + std::to_string(i) + "\",\"pad\":\"" + std::string(pad, 'p') + "\"}\n";
}

std::vector<std::string> read_all(const std::string& path, bool gone, std::uint64_t from = 0, std::uint64_t* end = nullptr) {
  JournalReader r;
  std::string err;
  EXPECT_TRUE(bstest::detail::absorb_ring(path, gone, err)) << err;
  EXPECT_TRUE(r.open(path, err)) << err;
  std::vector<std::string> lines;
  std::uint64_t prev_end = from;
  for (std::vector<JournalLine> views;;) {
    std::uint64_t next = r.read_line_views(from, 1 << 16, gone, views);
    for (const JournalLine& l : views) {
      lines.emplace_back(l.text);
      // Each line's end is just past its own newline, after the previous line's.
      EXPECT_GE(l.end_off, prev_end + l.text.size() + 1);
      EXPECT_LE(l.end_off, next);
      prev_end = l.end_off;
    }
    if (next == from) break;
    from = next;
  }
  if (end != nullptr) *end = from;
  return lines;
}

// What a kill in the middle of a writer's memcpy leaves in the ring of journal `path`: `rec` reserved (the
// header's end moved past it) and only its first half copied, which must not reach the ring's end. False when
// the ring cannot be opened or written.
bool tear_in_ring(const std::string& path, const std::string& rec) {
  int fd = ::open(bstest::detail::ring_path_of(path).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  void* m = ::mmap(nullptr, JournalWriter::kHeaderBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  bool ok = m != MAP_FAILED;
  if (ok) {
    std::uint64_t off = static_cast<bstest::detail::RingHeader*>(m)->end.fetch_add(rec.size());
    ok = ::pwrite(fd, rec.data(), rec.size() / 2, static_cast<off_t>(JournalWriter::kHeaderBytes + off % JournalWriter::kRingBytes)) ==
         static_cast<ssize_t>(rec.size() / 2);
    ::munmap(m, JournalWriter::kHeaderBytes);
  }
  ::close(fd);
  return ok;
}

TEST(Journal, AppendsAreReadBackInOrder) {
  TempDir dir;
  std::string path = dir / "a.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err)) << err;
  for (int i = 0; i < 100; ++i) {
    std::string r = record(i);
    ASSERT_TRUE(w.append(r.data(), r.size()));
  }
  // Readable while the writer is alive: the reader's side absorbs the ring into the journal first.
  auto live = read_all(path, false);
  ASSERT_EQ(live.size(), 100u);
  EXPECT_EQ(live[0], "{\"id\":\"r-0\",\"pad\":\"\"}");
  EXPECT_EQ(live[99], "{\"id\":\"r-99\",\"pad\":\"\"}");
  w.close();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::size_t expected = 0;
  for (int i = 0; i < 100; ++i) expected += record(i).size();
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), expected) << "the journal holds exactly the records";
  EXPECT_NE(::stat(bstest::detail::ring_path_of(path).c_str(), &st), 0) << "a closed journal has no ring";
  EXPECT_EQ(read_all(path, true).size(), 100u);
}

TEST(Journal, ManyTimesAroundTheRingWithoutACopierKeepsEveryRecord) {
  TempDir dir;
  std::string path = dir / "big.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err));  // no companion: the writer empties its ring itself
  // ~12 MiB through the ring (1 MiB), records of varying size wrapping around its end.
  const int n = 30000;
  for (int i = 0; i < n; ++i) {
    std::string r = record(i, static_cast<std::size_t>(i % 700));
    ASSERT_TRUE(w.append(r.data(), r.size()));
  }
  std::string huge = record(-1, 2u << 20);  // larger than a quarter of the ring: written to the journal directly
  ASSERT_TRUE(w.append(huge.data(), huge.size()));
  std::string after = record(n);
  ASSERT_TRUE(w.append(after.data(), after.size()));
  w.close();
  auto lines = read_all(path, true);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(n + 2));
  for (int i = 0; i < n; i += 997) {
    EXPECT_EQ(lines[static_cast<std::size_t>(i)] + "\n", record(i, static_cast<std::size_t>(i % 700)));
  }
  EXPECT_EQ(lines[static_cast<std::size_t>(n)].size() + 1, huge.size());
  EXPECT_EQ(lines.back() + "\n", after);
}

TEST(Journal, AWriterAndAConcurrentCopierLoseAndRepeatNothing) {
  TempDir dir;
  std::string path = dir / "copier.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err, JournalWriter::kRingBytes));  // a companion empties the ring
  std::atomic<bool> done{false};
  std::thread copier([&] {
    std::string e;
    while (!done.load()) bstest::detail::absorb_ring(path, false, e);
  });
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    std::string r = record(i, static_cast<std::size_t>(i % 300));
    ASSERT_TRUE(w.append(r.data(), r.size()));
  }
  done = true;
  copier.join();
  w.close();
  auto lines = read_all(path, true);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(lines[static_cast<std::size_t>(i)] + "\n", record(i, static_cast<std::size_t>(i % 300))) << i;
  }
}

// A shipper that follows a live journal takes the lines its ring copy just moved from the copy's buffer when
// it has read everything before them: those bytes are the file's, and reading them that way or from the file
// gives the same lines, each once, in order. The writer also empties the ring itself when the copier is slow,
// and writes records too large for the ring straight to the file: the reader reads those from the file.
TEST(Journal, AFollowerTakesTheRingCopyAsTheFileHoldsIt) {
  TempDir dir;
  std::string path = dir / "follow.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err, JournalWriter::kRingBytes)) << err;
  std::vector<std::string> written;
  const int n = 40000;
  for (int i = 0; i < n; ++i) written.push_back(record(i, static_cast<std::size_t>(i % 500)));
  for (int i = 1; i <= 3; ++i) written[static_cast<std::size_t>(i * n / 4)] = record(-i, JournalWriter::kRingBytes / 2);
  bstest::detail::RingReader ring;
  JournalReader reader;
  ASSERT_TRUE(reader.open(path, err)) << err;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::vector<std::string> lines;
  std::vector<JournalLine> views;
  std::uint64_t read_off = 0;
  // One pass of a following shipper: copy the ring, then read to the end, from the copy where it can.
  // Returns how many of its reads were taken from the copy.
  auto pass = [&](bool gone) {
    int from_copy = 0;
    EXPECT_TRUE(ring.absorb(path, gone, err)) << err;
    std::uint64_t at = 0;
    std::string_view copied = ring.last_copy(at);
    if (!copied.empty()) {
      std::string file(copied.size(), '\0');
      EXPECT_EQ(::pread(fd, file.data(), file.size(), static_cast<off_t>(at)), static_cast<ssize_t>(file.size()));
      EXPECT_EQ(file, copied) << "the copy is the file's bytes at " << at;
    }
    for (;;) {
      bool take = !copied.empty() && at == read_off;
      std::uint64_t next = take ? JournalReader::line_views_of(copied, read_off, views)
                                : reader.read_line_views(read_off, 1 << 20, gone, views);
      from_copy += take ? 1 : 0;
      copied = {};
      if (next == read_off) break;
      for (const JournalLine& l : views) lines.emplace_back(l.text);
      read_off = next;
    }
    return from_copy;
  };
  // A few records, then a pass: the reader was caught up, so they come from the copy.
  const std::size_t first = 200;
  for (std::size_t i = 0; i < first; ++i) ASSERT_TRUE(w.append(written[i].data(), written[i].size()));
  EXPECT_EQ(pass(false), 1);
  ASSERT_EQ(lines.size(), first);
  // The rest while the shipper follows, however the two interleave.
  std::thread writer([&] {
    for (std::size_t i = first; i < written.size(); ++i) ASSERT_TRUE(w.append(written[i].data(), written[i].size()));
    w.close();
  });
  for (bool gone = false; !gone;) {
    gone = !reader.writer_alive();
    pass(gone);
  }
  writer.join();
  ::close(fd);
  std::uint64_t at = 0;
  ASSERT_TRUE(ring.absorb(path, true, err)) << err;
  EXPECT_TRUE(ring.last_copy(at).empty()) << "no ring any more: an earlier copy is not offered again";
  ASSERT_EQ(lines.size(), written.size());
  for (std::size_t i = 0; i < written.size(); ++i) ASSERT_EQ(lines[i] + "\n", written[i]) << i;
}

TEST(Journal, ResumesFromAnOffset) {
  TempDir dir;
  std::string path = dir / "r.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err));
  for (int i = 0; i < 10; ++i) {
    std::string r = record(i);
    w.append(r.data(), r.size());
  }
  std::uint64_t end = 0;
  ASSERT_EQ(read_all(path, false, 0, &end).size(), 10u);
  for (int i = 10; i < 15; ++i) {
    std::string r = record(i);
    w.append(r.data(), r.size());
  }
  auto rest = read_all(path, false, end);
  ASSERT_EQ(rest.size(), 5u);
  EXPECT_EQ(rest[0], "{\"id\":\"r-10\",\"pad\":\"\"}");
}

TEST(Journal, TornLastRecordIsSkippedOnlyOnceTheWriterIsGone) {
  TempDir dir;
  std::string path = dir / "torn.journal";
  // What a kill leaves: two complete records, then a record whose middle was never copied (zeros) and
  // whose end never arrived, then the zero-filled reserve.
  std::string good = record(1) + record(2);
  std::string torn = "{\"id\":\"r-3\",\"message\":\"half";
  std::string file = good + torn + std::string(64, '\0') + "tail\"}\n" + std::string(4096, '\0');
  bstest::testing::write_file(path, file);
  auto while_alive = read_all(path, false);
  EXPECT_EQ(while_alive.size(), 2u) << "a live writer may still be copying the third";
  auto after = read_all(path, true);
  ASSERT_EQ(after.size(), 2u) << "the torn record and its orphaned tail are dropped";
  EXPECT_EQ(after[1], "{\"id\":\"r-2\",\"pad\":\"\"}");
}

TEST(Journal, RecordAfterATornRegionIsKeptWhenItIsWholeJson) {
  TempDir dir;
  std::string path = dir / "gap.journal";
  // A thread killed mid-copy, and the crash handler's record written after it.
  std::string file = record(1) + "{\"id\":\"r-2\",\"x\":" + std::string(10, '\0') + record(3) + "{\"never-finished\":";
  bstest::testing::write_file(path, file);
  auto lines = read_all(path, true);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"id\":\"r-1\",\"pad\":\"\"}");
  EXPECT_EQ(lines[1], "{\"id\":\"r-3\",\"pad\":\"\"}");
}

TEST(Journal, RecordsSurviveAKillMinus9) {
  TempDir dir;
  std::string path = dir / "killed.journal";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    JournalWriter w;
    std::string err;
    if (!w.open(path, err)) ::_exit(2);
    for (int i = 0; i < 500; ++i) {
      std::string r = record(i);
      w.append(r.data(), r.size());
    }
    char c = 'x';
    ssize_t n = ::write(ready[1], &c, 1);
    (void)n;
    ::pause();
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  JournalReader alive;
  std::string err;
  ASSERT_TRUE(alive.open(path, err));
  EXPECT_TRUE(alive.writer_alive());
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_FALSE(alive.writer_alive()) << "the lock dies with the writer";
  auto lines = read_all(path, true);
  EXPECT_EQ(lines.size(), 500u) << "memcpy into the shared mapping is enough to survive SIGKILL";
}

TEST(Journal, ARecordTornInTheRingByAKillIsSkipped) {
  TempDir dir;
  std::string path = dir / "torn-ring.journal";
  pid_t pid = ::fork();
  if (pid == 0) {
    JournalWriter w;
    std::string err;
    if (!w.open(path, err, JournalWriter::kRingBytes)) ::_exit(2);
    std::string a = record(1), b = record(2);
    w.append(a.data(), a.size());
    w.append(b.data(), b.size());
    if (!tear_in_ring(path, record(3))) ::_exit(3);
    ::_exit(0);  // no close: the ring is left as the kill left it
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(read_all(path, false).size(), 2u) << "a live writer may still finish the third";
  auto lines = read_all(path, true);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "{\"id\":\"r-2\",\"pad\":\"\"}");
  struct stat st {};
  EXPECT_NE(::stat(bstest::detail::ring_path_of(path).c_str(), &st), 0) << "the emptied ring of a dead writer is removed";
}

TEST(Journal, ConcurrentAppendsFromThreadsAreAllKept) {
  TempDir dir;
  std::string path = dir / "threads.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        std::string r = record(t * 100000 + i, static_cast<std::size_t>(i % 300));
        w.append(r.data(), r.size());
      }
    });
  }
  for (auto& th : threads) th.join();
  w.close();
  auto lines = read_all(path, true);
  EXPECT_EQ(lines.size(), 20000u);
}

TEST(Journal, SignalPathAppendsAfterTheOthersEvenWhenTheRingIsFull) {
  TempDir dir;
  std::string path = dir / "sig.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err, JournalWriter::kRingBytes));
  std::string a = record(1), b = record(2);
  w.append(a.data(), a.size());
  w.append_from_signal(b.data(), b.size());
  // Nobody empties the ring; the signal path goes on past it (straight to the journal).
  const int n = 12000;
  for (int i = 0; i < n; ++i) {
    std::string r = record(100 + i, 400);
    ASSERT_TRUE(w.append_from_signal(r.data(), r.size()));
  }
  auto lines = read_all(path, true);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(n + 2));
  EXPECT_EQ(lines[1], "{\"id\":\"r-2\",\"pad\":\"\"}");
  EXPECT_EQ(lines.back() + "\n", record(100 + n - 1, 400));
  w.abandon();
}

// Bytes the file system holds for `path` beyond its size's whole pages (blocks reserved past its end).
std::int64_t bytes_past_end(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<std::int64_t>(st.st_blocks) * 512 - (static_cast<std::int64_t>(st.st_size) + 4095) / 4096 * 4096;
}

TEST(Journal, LargeCopiesIntoTheJournalHoldNoBlocksPastItsEnd) {
  TempDir dir;
  std::string path = dir / "reserve.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err)) << err;  // no companion: the writer copies its ring out itself, 512 KiB at a time
  const int n = 4000;                      // about 1.7 MiB
  for (int i = 0; i < n; ++i) {
    std::string r = record(i, 400);
    ASSERT_TRUE(w.append(r.data(), r.size()));
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_GT(st.st_size, 1 << 20) << "the ring was copied out";
  EXPECT_LT(bytes_past_end(path), 64 * 1024) << "blocks are reserved for what is written, never ahead of it";
  // A shipper's copy of the rest (the writer alive), then the writer's last copy at close.
  ASSERT_TRUE(bstest::detail::absorb_ring(path, false, err)) << err;
  EXPECT_LT(bytes_past_end(path), 64 * 1024);
  std::uint64_t written = w.size();
  w.close();
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), written);
  EXPECT_LT(bytes_past_end(path), 64 * 1024);
  auto lines = read_all(path, true);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(lines.back() + "\n", record(n - 1, 400));
}

TEST(Journal, ADeadWritersRingHoldingOnlyATornRecordLeavesTheJournalsTimeAlone) {
  TempDir dir;
  std::string path = dir / "torn-time.journal";
  pid_t pid = ::fork();
  if (pid == 0) {
    JournalWriter w;
    std::string err;
    if (!w.open(path, err, JournalWriter::kRingBytes)) ::_exit(2);
    std::string a = record(1);
    w.append(a.data(), a.size());
    if (!bstest::detail::absorb_ring(path, false, err)) ::_exit(3);  // `a` is in the journal file, the ring empty
    if (!tear_in_ring(path, record(2, 200 * 1024))) ::_exit(4);  // half of a 200 KiB record, and nothing else
    ::_exit(0);  // no close: the ring is left as the kill left it
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const struct timespec old_times[2] = {{1600000000, 0}, {1600000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old_times, 0), 0);
  auto lines = read_all(path, true);
  ASSERT_EQ(lines.size(), 1u);
  struct stat st {};
  EXPECT_NE(::stat(bstest::detail::ring_path_of(path).c_str(), &st), 0) << "the emptied ring of a dead writer is removed";
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000)
      << "nothing was written into the journal, so its time (which reports and retention go by) is unchanged";
  EXPECT_LT(bytes_past_end(path), 64 * 1024);
}

TEST(Journal, UnwritableFolderIsAClearError) {
  TempDir dir;
  // A folder under a regular file cannot be created by anyone, root included.
  bstest::testing::write_file(dir / "file", "x");
  JournalWriter w;
  std::string err;
  EXPECT_FALSE(w.open(dir / "file/x.journal", err));
  EXPECT_NE(err.find("cannot create"), std::string::npos) << err;
  EXPECT_FALSE(bstest::detail::make_private_dir(dir / "file/sub", err));
  EXPECT_NE(err.find("cannot create folder"), std::string::npos) << err;
}

TEST(Journal, RingAndJournalFilesAre0600) {
  TempDir dir;
  std::string path = dir / "m.journal";
  JournalWriter w;
  std::string err;
  ASSERT_TRUE(w.open(path, err, JournalWriter::kRingBytes)) << err;
  std::string r = record(1);
  ASSERT_TRUE(w.append(r.data(), r.size()));
  for (const std::string& p : {path, bstest::detail::ring_path_of(path)}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
  }
  w.close();
}

TEST(Journal, PrivateFolderIsCreatedWith0700) {
  TempDir dir;
  std::string err;
  std::string nested = dir / "a/b/c";
  ASSERT_TRUE(bstest::detail::make_private_dir(nested, err)) << err;
  struct stat st {};
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::string file = dir / "file";
  bstest::testing::write_file(file, "x");
  EXPECT_FALSE(bstest::detail::make_private_dir(file, err));
}

TEST(Journal, AnExistingFolderOpenToOthersIsMadePrivate) {
  TempDir dir;
  std::string lax = dir / "lax";
  ASSERT_EQ(::mkdir(lax.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(lax.c_str(), 0777), 0);
  std::string err;
  ASSERT_TRUE(bstest::detail::make_private_dir(lax, err)) << err;
  struct stat st {};
  ASSERT_EQ(::stat(lax.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(Journal, AFolderThatIsALinkOrAnotherUsersIsRefused) {
  TempDir dir;
  std::string real = dir / "real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  std::string link = dir / "link";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  std::string err;
  EXPECT_FALSE(bstest::detail::make_private_dir(link, err));
  EXPECT_NE(err.find("symbolic link"), std::string::npos) << err;
  // Another user's folder: one we create and give away as root, else one root owns.
  std::string theirs = "/";
  if (::geteuid() == 0) {
    theirs = dir / "theirs";
    ASSERT_EQ(::mkdir(theirs.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(theirs.c_str(), 0777), 0);
    ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  }
  EXPECT_FALSE(bstest::detail::check_private_dir(theirs, err));
  EXPECT_NE(err.find("belongs to another user"), std::string::npos) << err;
  struct stat st {};
  ASSERT_EQ(::stat(theirs.c_str(), &st), 0);
  if (theirs != "/") {
    EXPECT_EQ(st.st_mode & 0777, 0777u) << "not ours to change";
  }
}

TEST(Journal, ReaderOpensNoLinkNoFifoAndNoFileOfAnotherUser) {
  TempDir dir;
  std::string path = dir / "j.journal";
  bstest::testing::write_file(path, record(1));
  JournalReader r;
  std::string err;
  std::string link = dir / "link.journal";
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_FALSE(r.open(link, err));
  EXPECT_NE(err.find("symbolic link"), std::string::npos) << err;
  std::string fifo = dir / "fifo.journal";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(r.open(fifo, err)) << "and it did not hang";
  EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
  std::string theirs = "/etc/passwd";
  if (::geteuid() == 0) {
    theirs = dir / "theirs.journal";
    bstest::testing::write_file(theirs, record(2));
    ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  }
  EXPECT_FALSE(r.open(theirs, err));
  EXPECT_NE(err.find("belongs to another user"), std::string::npos) << err;
  EXPECT_TRUE(r.open(path, err)) << err;
}

// A ring file whose header does not describe it is reported and left alone, never trusted.
TEST(Journal, ADamagedRingIsReportedNotTrusted) {
  struct Damage {
    const char* what;
    std::uint64_t size;
    std::uint64_t consumed;
  };
  for (const Damage& d : {Damage{"size 0", 0, 0}, Damage{"size of another file", 2 * JournalWriter::kRingBytes, 0},
                          Damage{"size not whole pages", JournalWriter::kRingBytes - 100, 0},
                          Damage{"consumed past the journal", JournalWriter::kRingBytes, 1u << 30}}) {
    TempDir dir;
    std::string path = dir / "d.journal";
    pid_t pid = ::fork();
    if (pid == 0) {  // a writer that dies with one record in its ring
      JournalWriter w;
      std::string err;
      if (!w.open(path, err, JournalWriter::kRingBytes)) ::_exit(2);
      std::string a = record(1);
      w.append(a.data(), a.size());
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    std::string ring = bstest::detail::ring_path_of(path);
    int fd = ::open(ring.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    auto* h = static_cast<bstest::detail::RingHeader*>(
        ::mmap(nullptr, JournalWriter::kHeaderBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ASSERT_NE(h, MAP_FAILED);
    h->size = d.size;
    h->consumed.store(d.consumed);
    ::munmap(h, JournalWriter::kHeaderBytes);
    ::close(fd);
    std::string err;
    EXPECT_FALSE(bstest::detail::absorb_ring(path, true, err)) << d.what;
    EXPECT_NE(err.find("is damaged"), std::string::npos) << d.what << ": " << err;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 0) << d.what << ": nothing copied";
  }
}

}  // namespace
