// The Catch2 (v2 and v3) twin of stack_fixture.cpp: test cases that crash, throw and hang three calls deep
// (the test case's function -> rebuild() -> corrupt_index(), stack_fixture_calls.hpp). Hidden: each runs only
// when selected by name ("crash", "overflow", "throw", "hang").
#include "stack_fixture_capture.hpp"

#if BSTEST_CATCH2_MAJOR == 2
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#else
#include <catch2/catch_session.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>
#endif

namespace {

// Writes the snapshot of the escaped exception, as bstest's listener will: Catch2 reports it from its
// catch block.
#if BSTEST_CATCH2_MAJOR == 2
struct ThrowStackWriter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (stats.assertionResult.getResultType() == Catch::ResultWas::ThrewException) write_throw_stack();
    return true;
  }
};
#else
struct ThrowStackWriter : Catch::EventListenerBase {
  using EventListenerBase::EventListenerBase;
  void assertionEnded(Catch::AssertionStats const& stats) override {
    if (stats.assertionResult.getResultType() == Catch::ResultWas::ThrewException) write_throw_stack();
  }
};
#endif

}  // namespace

CATCH_REGISTER_LISTENER(ThrowStackWriter)

TEST_CASE("crash", "[.]") {
  Index index;
  rebuild(index, Mode::crash);  // STACK-LINE: catch2-crash
  CHECK(index.rebuilds == 1);
}

TEST_CASE("overflow", "[.]") { CHECK(grow_stack(0) == 0); }

TEST_CASE("throw", "[.]") {
  Index index;
  rebuild(index, Mode::throws);  // STACK-LINE: catch2-throw
  CHECK(index.rebuilds == 1);
}

TEST_CASE("hang", "[.]") {
  Workers workers;
  Index index;
  rebuild(index, Mode::hang);  // STACK-LINE: catch2-hang
}

int main(int argc, char** argv) {
  set_up_fixture();
  return Catch::Session().run(argc, argv);
}
