#include "env/ci.hpp"

#include "base/strings.hpp"
#include "env/url.hpp"

#include <cstdlib>

namespace bstest::detail {

namespace {

struct Env {
  const std::function<const char*(const char*)>& get;
  std::string operator()(const char* name) const {
    const char* v = get(name);
    return v == nullptr ? std::string() : std::string(v);
  }
  bool has(const char* name) const {
    const char* v = get(name);
    return v != nullptr && *v != '\0';
  }
};

std::string first(std::initializer_list<std::string> values) {
  for (const auto& v : values) {
    if (!v.empty()) return v;
  }
  return {};
}

std::string strip_prefix(std::string s, const std::string& prefix) {
  if (starts_with(s, prefix)) s.erase(0, prefix.size());
  return s;
}

// One function per provider: fills `ci` and returns true when the variables say the run is on it.

bool github(const Env& env, CiInfo& ci) {
  if (env("GITHUB_ACTIONS") != "true") return false;
  ci.provider = "github";
  ci.run_id = env("GITHUB_RUN_ID");
  ci.run_attempt = env("GITHUB_RUN_ATTEMPT");
  std::string server = first({env("GITHUB_SERVER_URL"), "https://github.com"});
  if (!ci.run_id.empty() && env.has("GITHUB_REPOSITORY")) {
    ci.run_url = server + "/" + env("GITHUB_REPOSITORY") + "/actions/runs/" + ci.run_id;
    if (!ci.run_attempt.empty()) ci.run_url += "/attempts/" + ci.run_attempt;
  }
  ci.workflow = env("GITHUB_WORKFLOW");
  ci.job = env("GITHUB_JOB");
  ci.commit = env("GITHUB_SHA");
  ci.branch = first({env("GITHUB_HEAD_REF"), env("GITHUB_REF_NAME")});
  ci.repository = env("GITHUB_REPOSITORY");
  ci.event = env("GITHUB_EVENT_NAME");
  return true;
}

bool gitlab(const Env& env, CiInfo& ci) {
  if (!env.has("GITLAB_CI")) return false;
  ci.provider = "gitlab";
  ci.run_id = env("CI_PIPELINE_ID");
  ci.run_url = first({env("CI_JOB_URL"), env("CI_PIPELINE_URL")});
  ci.workflow = first({env("CI_PIPELINE_NAME"), env("CI_PROJECT_PATH")});
  ci.job = env("CI_JOB_NAME");
  ci.commit = env("CI_COMMIT_SHA");
  ci.branch = first({env("CI_COMMIT_BRANCH"), env("CI_COMMIT_REF_NAME")});
  ci.repository = env("CI_PROJECT_PATH");
  ci.event = env("CI_PIPELINE_SOURCE");
  return true;
}

bool buildkite(const Env& env, CiInfo& ci) {
  if (!env.has("BUILDKITE")) return false;
  ci.provider = "buildkite";
  ci.run_id = env("BUILDKITE_BUILD_ID");
  ci.run_attempt = env("BUILDKITE_RETRY_COUNT");
  ci.run_url = env("BUILDKITE_BUILD_URL");
  if (!ci.run_url.empty() && env.has("BUILDKITE_JOB_ID")) ci.run_url += "#" + env("BUILDKITE_JOB_ID");
  ci.workflow = env("BUILDKITE_PIPELINE_SLUG");
  ci.job = env("BUILDKITE_LABEL");
  ci.commit = env("BUILDKITE_COMMIT");
  ci.branch = env("BUILDKITE_BRANCH");
  ci.repository = strip_userinfo(env("BUILDKITE_REPO"));
  ci.event = env("BUILDKITE_SOURCE");
  return true;
}

bool circleci(const Env& env, CiInfo& ci) {
  if (!env.has("CIRCLECI")) return false;
  ci.provider = "circleci";
  ci.run_id = first({env("CIRCLE_WORKFLOW_ID"), env("CIRCLE_BUILD_NUM")});
  ci.run_url = env("CIRCLE_BUILD_URL");
  ci.workflow = env("CIRCLE_PROJECT_REPONAME");
  ci.job = env("CIRCLE_JOB");
  ci.commit = env("CIRCLE_SHA1");
  ci.branch = env("CIRCLE_BRANCH");
  if (env.has("CIRCLE_PROJECT_USERNAME")) {
    ci.repository = env("CIRCLE_PROJECT_USERNAME") + "/" + env("CIRCLE_PROJECT_REPONAME");
  }
  return true;
}

bool azure(const Env& env, CiInfo& ci) {
  if (env("TF_BUILD") != "True" && env("TF_BUILD") != "true") return false;
  ci.provider = "azure";
  ci.run_id = env("BUILD_BUILDID");
  ci.run_attempt = env("SYSTEM_JOBATTEMPT");
  if (env.has("SYSTEM_TEAMFOUNDATIONSERVERURI") && !ci.run_id.empty()) {
    ci.run_url = env("SYSTEM_TEAMFOUNDATIONSERVERURI") + env("SYSTEM_TEAMPROJECTID") +
                 "/_build/results?buildId=" + ci.run_id;
  }
  ci.workflow = env("BUILD_DEFINITIONNAME");
  ci.job = env("SYSTEM_JOBDISPLAYNAME");
  ci.commit = first({env("SYSTEM_PULLREQUEST_SOURCECOMMITID"), env("BUILD_SOURCEVERSION")});
  ci.branch = first({env("SYSTEM_PULLREQUEST_SOURCEBRANCH"), env("BUILD_SOURCEBRANCHNAME")});
  ci.repository = env("BUILD_REPOSITORY_NAME");
  ci.event = env("BUILD_REASON");
  return true;
}

bool jenkins(const Env& env, CiInfo& ci) {
  if (!env.has("JENKINS_URL") && !env.has("JENKINS_HOME")) return false;
  ci.provider = "jenkins";
  ci.run_id = env("BUILD_TAG");
  ci.run_url = env("BUILD_URL");
  ci.workflow = env("JOB_NAME");
  ci.job = env("JOB_BASE_NAME");
  ci.commit = env("GIT_COMMIT");
  ci.branch = first({env("BRANCH_NAME"), strip_prefix(env("GIT_BRANCH"), "origin/")});
  ci.repository = strip_userinfo(env("GIT_URL"));
  return true;
}

// CI=true (or anything but false and 0) without a provider we know.
bool generic(const Env& env, CiInfo& ci) {
  if (!env.has("CI") || env("CI") == "false" || env("CI") == "0") return false;
  ci.provider = "generic";
  return true;
}

}  // namespace

CiInfo detect_ci(const std::function<const char*(const char*)>& lookup) {
  Env env{lookup};
  CiInfo ci;
  for (auto provider : {github, gitlab, buildkite, circleci, azure, jenkins, generic}) {
    if (provider(env, ci)) break;
  }
  if (ci.event == "Schedule" || ci.event == "schedule" || ci.event == "scheduled") ci.event = "schedule";
  ci.run_url = strip_userinfo(ci.run_url);
  return ci;
}

CiInfo detect_ci() {
  return detect_ci([](const char* name) -> const char* { return std::getenv(name); });
}

std::string environment_name(const CiInfo& ci, const std::string& configured) {
  if (!configured.empty()) return configured;
  if (ci.is_scheduled()) return "nightly";
  if (ci.is_ci()) return "ci";
  return "local";
}

}  // namespace bstest::detail
