// A GoogleTest program that crashes, throws and hangs three calls deep: TestBody -> rebuild() ->
// corrupt_index() (stack_fixture_calls.hpp). The stack tests run it and check the frames bstest names.
//   - Stacks.Crash: a segfault (the fixture's own handler writes the snapshot);
//   - Stacks.Overflow: the same after a stack overflow (the handler runs on an alternate stack);
//   - Stacks.CrashInThread: the segfault in a thread the test started;
//   - Stacks.Throw: an exception escapes the test (a listener writes the snapshot from GoogleTest's catch);
//   - Stacks.Hang: waits for ever (saying "READY <pid>" just before), with two worker threads waiting too.
#include "stack_fixture_capture.hpp"

#include <gtest/gtest.h>

namespace {

// Writes the snapshot of the escaped exception, as bstest's listener will.
class ThrowStackWriter : public ::testing::EmptyTestEventListener {
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (result.fatally_failed() && std::string(result.message()).find("C++ exception") != std::string::npos) {
      write_throw_stack();
    }
  }
};

}  // namespace

TEST(Stacks, Crash) {
  Index index;
  rebuild(index, Mode::crash);  // STACK-LINE: gtest-crash
  EXPECT_EQ(index.rebuilds, 1);
}

TEST(Stacks, Overflow) { EXPECT_EQ(grow_stack(0), 0); }

TEST(Stacks, CrashInThread) {
  std::thread worker([] {
    Index index;
    rebuild(index, Mode::crash);  // STACK-LINE: gtest-crash-in-thread
  });
  worker.join();
}

TEST(Stacks, Throw) {
  Index index;
  rebuild(index, Mode::throws);  // STACK-LINE: gtest-throw
  EXPECT_EQ(index.rebuilds, 1);
}

TEST(Stacks, Hang) {
  Workers workers;
  Index index;
  rebuild(index, Mode::hang);  // STACK-LINE: gtest-hang
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  set_up_fixture();
  ::testing::UnitTest::GetInstance()->listeners().Append(new ThrowStackWriter);
  return RUN_ALL_TESTS();
}
