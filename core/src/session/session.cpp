// bstest::Session: the public face of detail::SessionImpl (session/session_impl.hpp). Every call is
// noexcept: nothing bstest does may throw into the test program.
#include <bstest/session.hpp>

#include "session/session_impl.hpp"

namespace bstest {

#define BSTEST_GUARD(body) \
  try {                    \
    body;                  \
  } catch (...) {          \
  }

Session::Session(Config config) : impl_(std::make_unique<detail::SessionImpl>(std::move(config))) {}
Session::~Session() = default;

void Session::run_started(const RunInfo& run) noexcept { BSTEST_GUARD(impl_->run_started(run)) }
void Session::iteration_started(int i, bool has_seed, std::uint64_t seed) noexcept {
  BSTEST_GUARD(impl_->iteration_started(i, has_seed, seed))
}
void Session::test_started(const TestInfo& t) noexcept { BSTEST_GUARD(impl_->test_started(t)) }
void Session::failure(const Failure& f) noexcept { BSTEST_GUARD(impl_->failure(f)) }
void Session::property(std::string_view k, std::string_view v) noexcept { BSTEST_GUARD(impl_->property(k, v)) }
void Session::test_finished(const TestEnd& e) noexcept { BSTEST_GUARD(impl_->test_finished(e)) }
void Session::test_not_run(const TestInfo& t, Result r, std::string_view reason) noexcept {
  BSTEST_GUARD(impl_->test_not_run(t, r, reason))
}
void Session::fixture_failure(FixturePhase p, std::string_view scope, const Failure& f) noexcept {
  BSTEST_GUARD(impl_->fixture_failure(p, scope, f))
}
void Session::run_problem(std::string_view message, bool fails_run) noexcept {
  BSTEST_GUARD(impl_->run_problem(message, fails_run))
}
void Session::own_exit_code() noexcept { impl_->own_exit_code(); }
bool Session::owns_exit_code() const noexcept { return impl_->owns_exit_code(); }
int Session::finish_owned_run(int exit_code) noexcept {
  try {
    return impl_->finish_owned_run(exit_code);
  } catch (...) {
    return exit_code;
  }
}
void Session::run_finished() noexcept { BSTEST_GUARD(impl_->run_finished()) }

bool Session::active() const noexcept { return impl_->active(); }
bool Session::in_owner_process() const noexcept { return impl_->owns_process(); }
const Counts& Session::counts() const noexcept { return impl_->counts(); }
const std::vector<FailedTest>& Session::failed_tests() const noexcept { return impl_->failed_tests(); }
bool Session::passed() const noexcept {
  try {
    return impl_->passed();
  } catch (...) {
    return false;
  }
}
const Config& Session::config() const noexcept { return impl_->config(); }
const std::string& Session::run_id() const noexcept { return impl_->run_id(); }
const std::string& Session::framework() const noexcept { return impl_->framework(); }

}  // namespace bstest
