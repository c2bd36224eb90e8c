// `meson install` into a temporary prefix, then what a user of the installed package does: build test
// programs with pkg-config and with CMake's find_package(bstest), run them, and see their records arrive at
// the local Better Stack server. The build and source folders are deleted before anything runs, so the
// installed libraries must find the installed `bstest` program on their own.
#include "packaging_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

using namespace bstest::testing;
using namespace bstest::testing::packaging;

namespace {

const std::vector<std::string> kTools = {"BSTEST_TEST_MESON", "BSTEST_TEST_NINJA", "BSTEST_TEST_GIT"};

class Installed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = skip_reason(kTools);
    if (!skip_.empty()) return;
    root_ = std::make_unique<TempDir>();
    src_ = *root_ / "src";
    build_ = *root_ / "build";
    prefix_ = *root_ / "prefix";
    error_ = copy_checkout(src_);
    if (!error_.empty()) return;
    int catch2 = std::atoi(env("BSTEST_TEST_CATCH2_MAJOR").c_str());
    // plain: no optimization and no debug information, the quickest build (the library is the same code).
    RunResult r = shell(quote(env("BSTEST_TEST_MESON")) + " setup " + quote(build_) + " " + quote(src_) +
                            " --prefix " + quote(prefix_) +
                            " --libdir " + quote(env("BSTEST_TEST_LIBDIR")) +
                            " -Dbuildtype=plain --wrap-mode=nodownload -Dgtest=enabled -Dtests=disabled"
                            " -Dexamples=disabled -Dbench=disabled -Dcatch2=" +
                            (catch2 != 0 ? "enabled" : "disabled") + "\n" + quote(env("BSTEST_TEST_NINJA")) +
                            " -C " + quote(build_) + " -j 2\n" + quote(env("BSTEST_TEST_MESON")) + " install -C " +
                            quote(build_) + " --no-rebuild --quiet",
                        root_->path());
    if (r.exit_code != 0) {
      error_ = "configure, build or install failed: " + describe(r);
      return;
    }
    // Nothing of the build machine's trees may be needed from now on.
    RunResult rm = shell("rm -rf " + quote(build_) + " " + quote(src_), root_->path());
    if (rm.exit_code != 0) error_ = "cannot remove the build tree: " + describe(rm);
  }

  static void TearDownTestSuite() { root_.reset(); }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  static std::string libdir() { return prefix_ + "/" + env("BSTEST_TEST_LIBDIR"); }
  static bool catch2() { return std::atoi(env("BSTEST_TEST_CATCH2_MAJOR").c_str()) != 0; }
  static std::string catch2_major() { return env("BSTEST_TEST_CATCH2_MAJOR"); }

  // The variables a consumer program runs with: only the system's PATH, so that `bstest` is found through
  // the path compiled into the installed library.
  static EnvList run_env() { return {{"PATH", "/usr/bin:/bin"}}; }

  static const std::vector<std::string> kGtestNames;
  static const std::vector<std::string> kCatch2Names;

  static inline std::unique_ptr<TempDir> root_;
  static inline std::string src_, build_, prefix_, skip_, error_;
};

const std::vector<std::string> Installed::kGtestNames = {"Consumer.Adds", "Consumer.Concatenates"};
const std::vector<std::string> Installed::kCatch2Names = {"Consumer adds", "Consumer concatenates"};

TEST_F(Installed, HasEveryPublicHeaderLibraryPkgConfigFileTheCMakePackageAndTheProgram) {
  std::vector<std::string> files = list_files(prefix_, true);
  std::string lib = env("BSTEST_TEST_LIBDIR");
  std::vector<std::string> want = {
      "bin/bstest",
      "include/bstest/version.hpp",
      lib + "/libbstest.a",
      lib + "/libbstest-gtest.a",
      lib + "/libbstest-gtest-main.a",
      lib + "/libbstest-gtest-auto.a",
      lib + "/pkgconfig/bstest.pc",
      lib + "/pkgconfig/bstest-gtest.pc",
      lib + "/pkgconfig/bstest-gtest-main.pc",
      lib + "/pkgconfig/bstest-gtest-auto.pc",
      lib + "/cmake/bstest/bstestConfig.cmake",
      lib + "/cmake/bstest/bstestConfigVersion.cmake",
      lib + "/cmake/bstest/bstestTargets.cmake",
  };
  if (catch2()) {
    for (const std::string name : {"bstest-catch2", "bstest-catch2-main"}) {
      want.push_back(lib + "/lib" + name + ".a");
      want.push_back(lib + "/pkgconfig/" + name + ".pc");
    }
  }
  // Every header of the source tree's public include folders (a new header must be installed too).
  std::string src = env("BSTEST_TEST_SOURCE_ROOT");
  std::vector<std::string> include_dirs = {"core/include/bstest", "reporters/gtest/include/bstest"};
  if (catch2()) include_dirs.push_back("reporters/catch2/include/bstest");
  for (const auto& dir : include_dirs) {
    for (const auto& name : list_files(src + "/" + dir)) {
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".hpp") == 0) want.push_back("include/bstest/" + name);
    }
  }
  for (const auto& f : want) {
    EXPECT_NE(std::find(files.begin(), files.end(), f), files.end()) << f << " is not installed";
  }
}

TEST_F(Installed, TheProgramRunsFromThePrefix) {
  RunResult r = shell(quote(prefix_ + "/bin/bstest") + " version", root_->path(), run_env());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "bstest " + env("BSTEST_TEST_VERSION") + "\n");
}

TEST_F(Installed, PkgConfigConsumersLinkAndReport) {
  if (env("BSTEST_TEST_PKG_CONFIG").empty()) GTEST_SKIP() << "pkg-config was not found when the build was configured";
  std::string dir = *root_ / "pkg-config-consumer";
  ASSERT_EQ(copy_dir(env("BSTEST_TEST_CONSUMERS"), dir), "");
  std::string pc = quote(env("BSTEST_TEST_PKG_CONFIG"));
  EnvList pc_env = {{"PKG_CONFIG_PATH", libdir() + "/pkgconfig"}};

  RunResult v = shell(pc + " --modversion bstest bstest-gtest bstest-gtest-main bstest-gtest-auto", dir, pc_env);
  ASSERT_EQ(v.exit_code, 0) << describe(v);
  std::string version = env("BSTEST_TEST_VERSION");
  EXPECT_EQ(v.out, version + "\n" + version + "\n" + version + "\n" + version + "\n");

  // The whole-archive wrapper of each self-registering library survives being combined with another one.
  std::string both = catch2() ? "bstest-gtest-auto bstest-catch2" : "bstest-gtest-auto";
  RunResult libs = shell(pc + " --libs " + both, dir, pc_env);
  ASSERT_EQ(libs.exit_code, 0) << describe(libs);
  EXPECT_NE(libs.out.find("-Wl,--whole-archive," + libdir() + "/libbstest-gtest-auto.a,--no-whole-archive"),
            std::string::npos)
      << libs.out;
  if (catch2()) {
    EXPECT_NE(libs.out.find("-Wl,--whole-archive," + libdir() + "/libbstest-catch2.a,--no-whole-archive"),
              std::string::npos)
        << libs.out;
  }

  // One compiler command line per program, as a Makefile would have it.
  std::string script =
      "c() { out=$1; shift; ${CXX:-c++} -std=c++17 -o \"$out\" \"$@\"; }\n"
      "c pc_gtest gtest_tests.cpp -DCONSUMER_OWN_MAIN $(" + pc + " --cflags --libs bstest-gtest)\n"
      "c pc_gtest_main gtest_tests.cpp $(" + pc + " --cflags --libs bstest-gtest-main)\n"
      "c pc_gtest_auto gtest_tests.cpp $(" + pc + " --cflags --libs bstest-gtest-auto gtest_main)\n";
  if (catch2()) {
    script += "c pc_catch2_main catch2_tests.cpp -DCONSUMER_CATCH2_MAJOR=" + catch2_major() + " $(" + pc +
              " --cflags --libs bstest-catch2-main)\n";
  }
  RunResult b = shell(script, dir, pc_env);
  ASSERT_EQ(b.exit_code, 0) << describe(b);

  for (const std::string p : {"pc_gtest", "pc_gtest_main", "pc_gtest_auto"}) {
    expect_run_arrives(dir + "/" + p, dir, {"googletest", kGtestNames}, run_env());
  }
  if (catch2()) expect_run_arrives(dir + "/pc_catch2_main", dir, {"catch2", kCatch2Names}, run_env());
}

TEST_F(Installed, CMakeConsumersLinkAndReport) {
  if (env("BSTEST_TEST_CMAKE").empty()) GTEST_SKIP() << "cmake was not found when the build was configured";
  std::string dir = *root_ / "cmake-consumer";
  ASSERT_EQ(copy_dir(env("BSTEST_TEST_CONSUMERS"), dir), "");
  ASSERT_EQ(copy_dir(env("BSTEST_TEST_CONSUMERS") + "/cmake", dir), "");
  std::string cmake = quote(env("BSTEST_TEST_CMAKE"));
  RunResult b = shell(cmake + " -S . -B build -G Ninja -DCMAKE_MAKE_PROGRAM=" + quote(env("BSTEST_TEST_NINJA")) +
                          " -DCMAKE_PREFIX_PATH=" + quote(prefix_) +
                          " -DBSTEST_EXPECTED_VERSION=" + env("BSTEST_TEST_VERSION") +
                          " -DCONSUMER_CATCH2_MAJOR=" + (catch2() ? catch2_major() : "0") + "\n" + cmake +
                          " --build build -j 2",
                      dir);
  ASSERT_EQ(b.exit_code, 0) << describe(b);

  for (const std::string p : {"modern/cmake_gtest_main", "modern/cmake_gtest_auto", "legacy/cmake_gtest_auto_legacy"}) {
    expect_run_arrives(dir + "/build/" + p, dir, {"googletest", kGtestNames}, run_env());
  }
  if (catch2()) {
    expect_run_arrives(dir + "/build/modern/cmake_catch2_main", dir, {"catch2", kCatch2Names}, run_env());
  }
}

// An installed file may name the install prefix, never the trees it was built from.
TEST_F(Installed, NoFileNamesTheSourceOrBuildTree) {
  std::vector<std::string> needles = {src_, build_, env("BSTEST_TEST_SOURCE_ROOT"), env("BSTEST_TEST_BUILD_ROOT")};
  for (const auto& f : list_files(prefix_, true)) {
    std::string text = read_file(prefix_ + "/" + f);
    for (const auto& needle : needles) {
      if (needle.empty() || prefix_.rfind(needle, 0) == 0) continue;  // a tree that holds the prefix
      for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        std::size_t end = text.find('\0', at);
        ADD_FAILURE() << f << " names " << needle << ": "
                      << text.substr(at, std::min<std::size_t>(end == std::string::npos ? 200 : end - at, 200));
      }
    }
  }
}

}  // namespace
