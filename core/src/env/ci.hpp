// Which CI system runs us, and the metadata of its run (see shared reference CI_ENV for the sources).
#pragma once

#include <functional>
#include <string>

namespace bstest::detail {

struct CiInfo {
  std::string provider;     // "github", "gitlab", "jenkins", "circleci", "buildkite", "azure", "generic"; "" = not CI
  std::string run_id;
  std::string run_attempt;
  std::string run_url;
  std::string workflow;
  std::string job;
  std::string commit;
  std::string branch;
  std::string repository;
  std::string event;        // provider's trigger; scheduled runs are normalised to "schedule"
  bool is_ci() const { return !provider.empty(); }
  bool is_scheduled() const { return event == "schedule"; }
};

CiInfo detect_ci(const std::function<const char*(const char*)>& lookup);
CiInfo detect_ci();

// "nightly" for scheduled CI runs, "ci" for other CI runs, "local" elsewhere; `configured` wins when set.
std::string environment_name(const CiInfo& ci, const std::string& configured);

}  // namespace bstest::detail
