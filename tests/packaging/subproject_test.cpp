// bstest as a Meson subproject, the way docs/install.md tells users to add it: a throw-away project with
// this checkout in subprojects/bstest and the wrap file of docs/install.md, asking for each bstest
// dependency by name and for the `bstest` program. It must build none of our tests, examples or benchmarks,
// and each of its test programs must report its run to the local Better Stack server, finding the `bstest`
// program in the subproject's build folder by itself.
#include "packaging_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace bstest::testing;
using namespace bstest::testing::packaging;

namespace {

const std::vector<std::string> kTools = {"BSTEST_TEST_MESON", "BSTEST_TEST_NINJA", "BSTEST_TEST_GIT"};

// The first ``` block of docs/install.md that is a wrap-git file: the one users copy.
std::string wrap_from_docs(std::string& error) {
  std::istringstream doc(read_file(env("BSTEST_TEST_SOURCE_ROOT") + "/docs/install.md"));
  std::string line, block;
  bool in_block = false;
  while (std::getline(doc, line)) {
    if (line.rfind("```", 0) == 0) {
      if (in_block && block.rfind("[wrap-git]", 0) == 0) return block;
      in_block = !in_block;
      block.clear();
    } else if (in_block) {
      block += line + "\n";
    }
  }
  error = "docs/install.md has no ``` block starting with [wrap-git]";
  return "";
}

class Subproject : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = skip_reason(kTools);
    if (!skip_.empty()) return;
    root_ = std::make_unique<TempDir>();
    project_ = *root_ / "consumer";
    build_ = project_ + "/build";
    std::string consumers = env("BSTEST_TEST_CONSUMERS");
    error_ = copy_dir(consumers + "/subproject", project_);
    if (error_.empty()) {
      RunResult r = shell("cp *.cpp " + quote(project_), consumers);
      if (r.exit_code != 0) error_ = describe(r);
    }
    if (error_.empty()) error_ = copy_checkout(project_ + "/subprojects/bstest");
    if (!error_.empty()) return;
    std::string wrap = wrap_from_docs(error_);
    if (!error_.empty()) return;
    write_file(project_ + "/subprojects/bstest.wrap", wrap);

    bool catch2 = std::atoi(env("BSTEST_TEST_CATCH2_MAJOR").c_str()) != 0;
    // --force-fallback-for: even where a bstest is installed, this must come from the subproject.
    setup_ = shell(quote(env("BSTEST_TEST_MESON")) + " setup build -Dbuildtype=plain --wrap-mode=nodownload" +
                       " --force-fallback-for=bstest -Dwant_catch2=" + (catch2 ? "true" : "false") +
                       (catch2 ? "" : " -Dbstest:catch2=disabled"),
                   project_);
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
  static inline std::string project_, build_, skip_, error_;
  static inline RunResult setup_;
};

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
  EXPECT_GE(ours, 5) << "the libraries and the program of the subproject";
  EXPECT_EQ(introspect("tests").GetArray().Size(), 0u) << "no test of ours is registered in the parent";
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

TEST_F(Subproject, EveryDependencyLinksAndReports) {
  const std::vector<std::string> gtest_names = {"Consumer.Adds", "Consumer.Concatenates"};
  expect_run_arrives(build_ + "/core_driver", project_, {"consumer", gtest_names});
  for (const std::string p : {"with_gtest", "with_gtest_main", "with_gtest_auto"}) {
    expect_run_arrives(build_ + "/" + p, project_, {"googletest", gtest_names});
  }
  if (std::atoi(env("BSTEST_TEST_CATCH2_MAJOR").c_str()) != 0) {
    const std::vector<std::string> catch2_names = {"Consumer adds", "Consumer concatenates"};
    for (const std::string p : {"with_catch2", "with_catch2_main"}) {
      expect_run_arrives(build_ + "/" + p, project_, {"catch2", catch2_names});
    }
  }
}

}  // namespace
