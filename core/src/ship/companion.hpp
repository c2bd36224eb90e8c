// The companion shipper: `bstest ship`, started by a test program at run start so that records leave
// while the tests run, without a thread in the test process.
//
// Two pipes tie it to the test program: the companion sleeps on the read end of "wake" (the test program
// closing its end, or dying, wakes it at once), and writes its one-line summary into "notify" before it
// exits (and "problem: ..." lines as faults happen, so a late summary can still say what went wrong).
// It runs in its own process group, so a Ctrl-C or a time-out kill of the test's group leaves it
// alive to ship what was recorded. It is never a child of the test program (tests wait for and count
// their own children): a double fork re-parents it, and the test program waits for it only through the
// notify pipe's end of file, never waitpid.
#pragma once

#include <bstest/config.hpp>

#include <sys/types.h>

#include <string>

namespace bstest::detail {

class Companion {
 public:
  Companion() = default;
  ~Companion();
  Companion(const Companion&) = delete;
  Companion& operator=(const Companion&) = delete;

  // Starts `bstest ship` for run `run_id`, re-parented: the intermediate process is reaped here, at most
  // config.flush_timeout_ms (1 s at least). False (with `why`) when the program cannot be found or started,
  // or when this process is a child subreaper (the companion would come back to it as its child).
  bool start(const Config& config, const std::string& run_id, std::string& why);
  bool running() const noexcept { return running_; }
  // The companion's process id once started (0 when unknown).
  pid_t pid() const noexcept { return pid_; }
  // Tells the companion the run is over and waits for its summary line, at most `timeout_ms`. `problem`
  // gets the last fault it reported on the way ("Better Stack Logs: timed out"). Returns false on time-out
  // (the companion keeps going in the background, bounded by its own deadline).
  bool finish(int timeout_ms, std::string& summary, std::string& problem);
  // In a forked child: forget the companion without touching it.
  void abandon() noexcept;

  // Where `bstest` is: BSTEST_SHIPPER, next to the build, the install prefix, then PATH. Empty if none.
  static std::string find_program(const Config& config);
  // Why find_program found nothing: "the bstest program was not found (...)", or what is wrong with
  // BSTEST_SHIPPER.
  static std::string not_found(const Config& config);

 private:
  bool running_ = false;
  pid_t pid_ = 0;
  int wake_fd_ = -1;    // our end (write); closing it wakes the companion
  int notify_fd_ = -1;  // our end (read)
};

}  // namespace bstest::detail
