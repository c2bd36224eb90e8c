// A program that uses only the core library (dependency('bstest')): it reports two passing tests through
// bstest::Session, the way a framework adapter would (see docs/adapters.md).
#include <bstest/bstest.hpp>

int main() {
  bstest::Session session;
  bstest::RunInfo run;
  run.framework = "consumer";
  run.framework_version = BSTEST_VERSION;
  session.run_started(run);
  for (const char* name : {"Adds", "Concatenates"}) {
    bstest::TestInfo test;
    test.suite = "Consumer";
    test.name = name;
    test.file = "core_driver.cpp";
    test.line = 12;
    session.test_started(test);
    session.test_finished({bstest::Result::passed, {}, -1});
  }
  session.run_finished();
  return session.passed() ? 0 : 1;
}
