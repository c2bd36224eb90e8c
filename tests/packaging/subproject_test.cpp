// bstest as a Meson subproject, the way docs/install.md tells users to add it:
//   Subproject  a throw-away project (consumers/subproject) whose subprojects/bstest.wrap is the [wrap-git]
//               block of docs/install.md, pointed at a local repository that holds this checkout under the
//               documented tag; Meson clones it. The project asks for each bstest dependency by name and for
//               the `bstest` program. It must build none of our tests, examples or benchmarks, and each of its
//               test programs must report its run to the local Better Stack server, finding the `bstest`
//               program in the subproject's build folder by itself.
//   WrapFile    a project (consumers/wrap_file) whose wrap is the [wrap-file] block of docs/install.md, with a
//               tarball of this checkout in its package cache, and whose first lookup is find_program('bstest').
#include "packaging_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sys/stat.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace bstest::testing;
using namespace bstest::testing::packaging;

namespace {

const std::vector<std::string> kTools = {"BSTEST_TEST_MESON", "BSTEST_TEST_NINJA", "BSTEST_TEST_GIT"};

// `wrap` with the value of `key` replaced by `value`.
std::string with_value(std::string wrap, const std::string& key, const std::string& value) {
  std::string old = wrap_value(wrap, key);
  std::size_t at = wrap.find(key);
  at = wrap.find(old, at);
  return wrap.replace(at, old.size(), value);
}

// Copies consumers/<name> and the consumers' sources into `project`, with an empty subprojects/ folder.
// Empty on success, else what went wrong.
std::string make_project(const std::string& name, const std::string& project) {
  std::string consumers = env("BSTEST_TEST_CONSUMERS");
  std::string error = copy_dir(consumers + "/" + name, project);
  if (!error.empty()) return error;
  RunResult r = shell("cp *.cpp " + quote(project) + "\nmkdir " + quote(project + "/subprojects"), consumers);
  return r.exit_code == 0 ? "" : describe(r);
}

// The options that leave out the reporters these builds do not test.
std::string reporter_options() {
  return std::string(want_gtest() ? "" : " -Dbstest:gtest=disabled") +
         (catch2_major() != 0 ? "" : " -Dbstest:catch2=disabled");
}

class Subproject : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = skip_reason(kTools);
    if (!skip_.empty()) return;
    root_ = std::make_unique<TempDir>();
    project_ = *root_ / "consumer";
    build_ = project_ + "/build";
    std::string origin = *root_ / "bstest-origin";
    std::string wrap = docs_block("docs/install.md", "ini", "[wrap-git]", error_);
    if (error_.empty()) error_ = make_project("subproject", project_);
    if (error_.empty()) error_ = copy_checkout(origin);
    if (!error_.empty()) return;

    // The repository users point the wrap at, with the documented revision as a tag.
    revision_ = wrap_value(wrap, "revision");
    std::string git = quote(env("BSTEST_TEST_GIT"));
    RunResult repo = shell(git + " -c init.defaultBranch=main init -q\n" + git + " add -A\n" + git +
                               " -c user.name=bstest -c user.email=bstest@localhost commit -q -m checkout\n" + git +
                               " tag " + quote(revision_) + "\n" + git + " rev-parse HEAD",
                           origin);
    if (repo.exit_code != 0) {
      error_ = "making the repository failed: " + describe(repo);
      return;
    }
    origin_commit_ = repo.out;
    write_file(project_ + "/subprojects/bstest.wrap", with_value(wrap, "url", "file://" + origin));

    // --force-fallback-for: even where a bstest is installed, this must come from the subproject. The wrap
    // mode is the default one, so that Meson clones the repository.
    setup_ = shell(quote(env("BSTEST_TEST_MESON")) + " setup build -Dbuildtype=plain --force-fallback-for=bstest" +
                       " -Dwant_gtest=" + (want_gtest() ? "true" : "false") +
                       " -Dwant_catch2=" + (catch2_major() != 0 ? "true" : "false") + reporter_options(),
                   project_, catch2_env());
    if (setup_.exit_code != 0) {
      error_ = "meson setup of the consumer failed: " + describe(setup_);
      return;
    }
    RunResult b = shell(quote(env("BSTEST_TEST_NINJA")) + " -C build -j 2", project_);
    if (b.exit_code != 0) error_ = "building the consumer failed: " + describe(b);
  }

  static void TearDownTestSuite() { root_.reset(); }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  static rapidjson::Document introspect(const std::string& what) {
    RunResult r = shell(quote(env("BSTEST_TEST_MESON")) + " introspect --" + what + " build", project_);
    rapidjson::Document d;
    d.Parse(r.out.c_str());
    EXPECT_FALSE(d.HasParseError()) << describe(r);
    return d;
  }

  static inline std::unique_ptr<TempDir> root_;
  static inline std::string project_, build_, skip_, error_, revision_, origin_commit_;
  static inline RunResult setup_;
};

const std::vector<std::string> kGtestNames = {"Consumer.Adds", "Consumer.Concatenates"};
const std::vector<std::string> kCatch2Names = {"Consumer adds", "Consumer concatenates"};

TEST_F(Subproject, TheWrapClonedTheDocumentedRevision) {
  RunResult r = shell(quote(env("BSTEST_TEST_GIT")) + " rev-parse HEAD", project_ + "/subprojects/bstest");
  EXPECT_EQ(r.out, origin_commit_) << describe(r);
  EXPECT_FALSE(revision_.empty());
}

TEST_F(Subproject, FindProgramGivesTheProgramTheSubprojectBuilt) {
  std::string program = build_ + "/subprojects/bstest/cli/bstest";
  EXPECT_NE(setup_.out.find("bstest program: " + program), std::string::npos) << setup_.out;
  RunResult r = shell(quote(program) + " version", project_);
  EXPECT_EQ(r.out, "bstest " + env("BSTEST_TEST_VERSION") + "\n") << describe(r);
}

TEST_F(Subproject, BuildsNoTestsExamplesOrBenchmarksOfOurs) {
  rapidjson::Document targets = introspect("targets");
  ASSERT_TRUE(targets.IsArray());
  int ours = 0;
  for (const auto& t : targets.GetArray()) {
    std::string defined_in = t["defined_in"].GetString();
    std::string sub = project_ + "/subprojects/bstest/";
    if (defined_in.rfind(sub, 0) != 0) continue;
    ++ours;
    std::string rel = defined_in.substr(sub.size());
    for (const std::string dir : {"tests/", "examples/", "bench/"}) {
      EXPECT_NE(rel.rfind(dir, 0), 0u) << t["name"].GetString() << " is defined in " << rel;
    }
  }
  EXPECT_GE(ours, 3) << "the libraries and the program of the subproject";
  // The only test is the consumer's own (docs/install.md's test('my_tests', ...)).
  std::vector<std::string> tests;
  rapidjson::Document registered = introspect("tests");
  ASSERT_TRUE(registered.IsArray());
  for (const auto& t : registered.GetArray()) tests.emplace_back(t["name"].GetString());
  EXPECT_EQ(tests, want_gtest() ? std::vector<std::string>{"my_tests"} : std::vector<std::string>{});
}

TEST_F(Subproject, OptionsAreFewAndTyped) {
  rapidjson::Document options = introspect("buildoptions");
  ASSERT_TRUE(options.IsArray());
  int count = 0;
  for (const auto& o : options.GetArray()) {
    std::string name = o["name"].GetString();
    // The project options of the subproject: "bstest:<name>", section "user".
    if (name.rfind("bstest:", 0) != 0 || std::string(o["section"].GetString()) != "user") continue;
    ++count;
    // Introspection shows a feature option as a combo of enabled / disabled / auto.
    std::string type = o["type"].GetString();
    if (type == "combo" && o.HasMember("choices") && o["choices"].IsArray() && o["choices"].Size() == 3) {
      std::set<std::string> choices;
      for (const auto& c : o["choices"].GetArray()) choices.insert(c.GetString());
      if (choices == std::set<std::string>{"enabled", "disabled", "auto"}) type = "feature";
    }
    EXPECT_TRUE(type == "feature" || type == "boolean" || type == "combo" || type == "integer")
        << name << " is a " << type << " option";
    std::string bare = name.substr(7);
    if (bare == "tests" || bare == "examples" || bare == "bench") {
      EXPECT_EQ(type, "feature") << name;
      EXPECT_STREQ(o["value"].GetString(), "auto") << name << ": auto-disabled in a subproject, not forced off";
    }
  }
  EXPECT_GE(count, 3);
  EXPECT_LE(count, 10) << "options are few";
}

TEST_F(Subproject, TheCoreLinksAndReports) {
  expect_run_arrives(build_ + "/core_driver", project_, {"consumer", kGtestNames});
}

TEST_F(Subproject, GoogleTestDependenciesLinkAndReport) {
  ASSERT_TRUE(want_gtest()) << "builds without GoogleTest run this test with --gtest_filter=-*GoogleTest*";
  for (const std::string p : {"my_tests", "with_gtest", "with_gtest_main", "with_gtest_auto"}) {
    expect_run_arrives(build_ + "/" + p, project_, {"googletest", kGtestNames});
  }
}

TEST_F(Subproject, Catch2DependenciesLinkAndReport) {
  ASSERT_NE(catch2_major(), 0) << "builds without a Catch2 to test run this test with --gtest_filter=-*Catch2*";
  EXPECT_NE(setup_.out.find("catch2 version: " + std::to_string(catch2_major()) + "."), std::string::npos)
      << setup_.out;
  for (const std::string p : {"with_catch2", "with_catch2_main"}) {
    expect_run_arrives(build_ + "/" + p, project_, {"catch2", kCatch2Names});
  }
}

// The [wrap-file] block of docs/install.md with a tarball of this checkout laid out as a release (one top
// folder, as the wrap's `directory` names it) in the package cache, and find_program('bstest') as the first
// lookup. Configuring is enough: the subproject test above builds and runs the same code.
TEST(WrapFile, AReleaseTarballWorksAndFindProgramMayComeFirst) {
  std::string skip = skip_reason(kTools);
  if (!skip.empty()) GTEST_SKIP() << skip;
  struct stat st {};
  for (const std::string dir : {"/usr/bin", "/bin"}) {
    // Meson would take an installed bstest for find_program('bstest') and then refuse the subproject's.
    if (::stat((dir + "/bstest").c_str(), &st) == 0) GTEST_SKIP() << dir << "/bstest exists on this machine";
  }
  std::string error;
  std::string wrap = docs_block("docs/install.md", "ini", "[wrap-file]", error);
  ASSERT_EQ(error, "");
  std::string directory = wrap_value(wrap, "directory");
  std::string filename = wrap_value(wrap, "source_filename");
  ASSERT_EQ(directory, "bstest-" + env("BSTEST_TEST_VERSION"));
  ASSERT_EQ(filename, directory + ".tar.gz");
  EXPECT_EQ(wrap_value(wrap, "source_url").rfind("https://", 0), 0u) << wrap;

  TempDir root;
  std::string project = root / "consumer";
  ASSERT_EQ(make_project("wrap_file", project), "");
  ASSERT_EQ(copy_checkout(root / ("release/" + directory)), "");
  std::string tarball = project + "/subprojects/packagecache/" + filename;
  RunResult tar = shell("mkdir -p " + quote(project + "/subprojects/packagecache") + "\ntar -czf " + quote(tarball) +
                            " -C release " + quote(directory) + "\nsha256sum " + quote(tarball),
                        root.path());
  ASSERT_EQ(tar.exit_code, 0) << describe(tar);
  write_file(project + "/subprojects/bstest.wrap", with_value(wrap, "source_hash", tar.out.substr(0, 64)));

  // Only the system's folders on PATH: no `bstest` there (checked above), so the wrap must provide it.
  RunResult setup = shell(quote(env("BSTEST_TEST_MESON")) + " setup build -Dbuildtype=plain --wrap-mode=nodownload" +
                              reporter_options(),
                          project, {{"PATH", "/usr/bin:/bin"}});
  ASSERT_EQ(setup.exit_code, 0) << describe(setup);
  EXPECT_NE(setup.out.find("bstest program: " + project + "/build/subprojects/" + directory + "/cli/bstest"),
            std::string::npos)
      << setup.out;
}

}  // namespace
