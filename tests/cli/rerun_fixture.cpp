// A GoogleTest program (bstest's provided main) for the bstest command's tests: a test that fails, then
// hangs when it is re-run, so that a test can stop `bstest run` while a re-run is in progress.
//
//   RERUN_FIXTURE_READY=FILE  the re-run creates FILE once it hangs
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

TEST(Hang, WhenReRun) {
  const char* attempt = std::getenv("BSTEST_ATTEMPT");
  if (attempt == nullptr || std::strcmp(attempt, "1") == 0) {
    FAIL() << "fails on the first attempt";
  }
  if (const char* ready = std::getenv("RERUN_FIXTURE_READY")) {
    if (FILE* f = std::fopen(ready, "w")) std::fclose(f);
  }
  for (;;) ::pause();
}
