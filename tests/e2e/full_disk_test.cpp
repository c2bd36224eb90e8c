// A journal folder that fills up in the middle of a run: one clear warning, the tests still run and pass, and
// the summary says how many records were lost. The small disk is a 6 MiB tmpfs in a mount namespace, so this
// needs root; elsewhere the program exits 77 (meson: SKIP).
#include "process.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

using namespace bstest::testing;

namespace {

TEST(FullDisk, MidRunWarnsOnceAndTheTestsStillPass) {
  std::string driver = build_path("BSTEST_TEST_DRIVER");
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  RunSpec probe;
  probe.argv = {"unshare", "-m", "true"};
  if (run(probe).exit_code != 0) GTEST_SKIP() << "cannot create a mount namespace here";
  RunSpec spec;
  spec.argv = {"unshare", "-m", "sh", "-c",
               "mkdir -p \"$1\" && mount -t tmpfs -o size=6m tmpfs \"$1\" && BSTEST_DIR=\"$1\" \"$0\" many 20000",
               driver, dir / "small"};
  spec.env.emplace_back("BSTEST_SHIPPER", bstest);
  RunResult r = run(spec);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cannot write to the journal"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("PASSED session_driver: 20000 tests, 20000 passed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" lost (the journal could not be written)"), std::string::npos) << r.err;
  std::size_t lines = 0;
  for (char c : r.err) lines += c == '\n';
  EXPECT_LE(lines, 4u) << r.err;
}

}  // namespace
