// `meson install` into a temporary prefix, then what a user of the installed package does: build test
// programs with pkg-config and with CMake's find_package(bstest) (each library and each target, and the CMake
// project of docs/install.md as it is written there), run them, and see their records arrive at the local
// Better Stack server through the installed `bstest` program. The build and source folders are deleted
// before anything runs, so the installed libraries must find that program on their own.
#include "packaging_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace bstest::testing;
using namespace bstest::testing::packaging;

namespace {

const std::vector<std::string> kTools = {"BSTEST_TEST_MESON", "BSTEST_TEST_NINJA", "BSTEST_TEST_GIT",
                                         "BSTEST_TEST_PKG_CONFIG", "BSTEST_TEST_CMAKE"};
const std::vector<std::string> kGtestNames = {"Consumer.Adds", "Consumer.Concatenates"};
const std::vector<std::string> kCatch2Names = {"Consumer adds", "Consumer concatenates"};

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
    // plain: no optimization and no debug information, the quickest build (the library is the same code).
    RunResult r = shell(quote(env("BSTEST_TEST_MESON")) + " setup " + quote(build_) + " " + quote(src_) +
                            " --prefix " + quote(prefix_) + " --libdir " + quote(env("BSTEST_TEST_LIBDIR")) +
                            " -Dbuildtype=plain --wrap-mode=nodownload -Dtests=disabled -Dexamples=disabled" +
                            " -Dbench=disabled -Dgtest=" + (want_gtest() ? "enabled" : "disabled") +
                            " -Dcatch2=" + (catch2_major() != 0 ? "enabled" : "disabled") + "\n" +
                            quote(env("BSTEST_TEST_NINJA")) + " -C " + quote(build_) + " -j 2\n" +
                            quote(env("BSTEST_TEST_MESON")) + " install -C " + quote(build_) + " --no-rebuild --quiet",
                        root_->path(), catch2_env());
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

  // The variables a consumer program runs with: only the system's PATH, so that `bstest` is found through
  // the path compiled into the installed library.
  static EnvList run_env() { return {{"PATH", "/usr/bin:/bin"}}; }

  // What pkg-config needs to find the installed files (and the Catch2 they were built with).
  static EnvList pkg_config_env() {
    std::string path = libdir() + "/pkgconfig";
    for (const auto& [name, value] : catch2_env()) {
      if (name == "PKG_CONFIG_PATH") path += ":" + value;
    }
    return {{"PKG_CONFIG_PATH", path}};
  }

  // A folder with the consumers' sources, and `script` run there with pkg-config's variables; `c OUT ARGS...`
  // compiles one program, as a Makefile would. Returns the folder.
  static std::string build_with_pkg_config(const std::string& name, const std::string& script) {
    std::string dir = *root_ / name;
    EXPECT_EQ(copy_dir(env("BSTEST_TEST_CONSUMERS"), dir), "");
    RunResult b = shell("c() { out=$1; shift; ${CXX:-c++} -std=c++17 -o \"$out\" \"$@\"; }\n" + script, dir,
                        pkg_config_env());
    EXPECT_EQ(b.exit_code, 0) << describe(b);
    return dir;
  }

  static std::string pc() { return quote(env("BSTEST_TEST_PKG_CONFIG")); }
  static std::string pc_flags(const std::string& packages) {
    return " $(" + pc() + " --cflags --libs " + packages + ")";
  }

  // The CMake project of consumers/cmake, configured and built once for the tests that run its programs.
  static const RunResult& cmake_consumers() {
    static const RunResult result = [] {
      std::string dir = *root_ / "cmake-consumer";
      std::string consumers = env("BSTEST_TEST_CONSUMERS");
      std::string copy = copy_dir(consumers, dir) + copy_dir(consumers + "/cmake", dir);
      if (!copy.empty()) {
        RunResult failed;
        failed.err = copy;
        return failed;
      }
      return cmake_build(dir, std::string(" -DBSTEST_EXPECTED_VERSION=") + env("BSTEST_TEST_VERSION") +
                                  " -DCONSUMER_GTEST=" + (want_gtest() ? "ON" : "OFF") +
                                  " -DCONSUMER_CATCH2_MAJOR=" + std::to_string(catch2_major()));
    }();
    return result;
  }
  static std::string cmake_dir() { return *root_ / "cmake-consumer"; }

  // `cmake -S dir -B dir/build` against the prefix (and the Catch2 prefix), then `cmake --build`.
  static RunResult cmake_build(const std::string& dir, const std::string& options) {
    std::string cmake = quote(env("BSTEST_TEST_CMAKE"));
    std::string prefixes = prefix_;
    for (const auto& [name, value] : catch2_env()) {
      if (name == "CMAKE_PREFIX_PATH") prefixes += ";" + value;
    }
    return shell(cmake + " -S . -B build -G Ninja -DCMAKE_MAKE_PROGRAM=" + quote(env("BSTEST_TEST_NINJA")) +
                     " -DCMAKE_PREFIX_PATH=" + quote(prefixes) + options + "\n" + cmake + " --build build -j 2",
                 dir);
  }

  static inline std::unique_ptr<TempDir> root_;
  static inline std::string src_, build_, prefix_, skip_, error_;
};

TEST_F(Installed, HasEveryPublicHeaderLibraryPkgConfigFileTheCMakePackageAndTheProgram) {
  std::vector<std::string> files = list_files(prefix_, true);
  std::string lib = env("BSTEST_TEST_LIBDIR");
  std::vector<std::string> want = {
      "bin/bstest",
      "include/bstest/version.hpp",
      lib + "/libbstest.a",
      lib + "/pkgconfig/bstest.pc",
      lib + "/cmake/bstest/bstestConfig.cmake",
      lib + "/cmake/bstest/bstestConfigVersion.cmake",
      lib + "/cmake/bstest/bstestTargets.cmake",
  };
  std::vector<std::string> names;
  if (want_gtest()) names = {"bstest-gtest", "bstest-gtest-main", "bstest-gtest-auto"};
  if (catch2_major() != 0) names.insert(names.end(), {"bstest-catch2", "bstest-catch2-main"});
  for (const auto& name : names) {
    want.push_back(lib + "/lib" + name + ".a");
    want.push_back(lib + "/pkgconfig/" + name + ".pc");
  }
  // Every header of the source tree's public include folders (a new header must be installed too).
  std::string src = env("BSTEST_TEST_SOURCE_ROOT");
  std::vector<std::string> include_dirs = {"core/include/bstest"};
  if (want_gtest()) include_dirs.push_back("reporters/gtest/include/bstest");
  if (catch2_major() != 0) include_dirs.push_back("reporters/catch2/include/bstest");
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

TEST_F(Installed, PkgConfigCoreLinksAndReports) {
  RunResult v = shell(pc() + " --modversion bstest", root_->path(), pkg_config_env());
  EXPECT_EQ(v.out, env("BSTEST_TEST_VERSION") + "\n") << describe(v);
  std::string dir = build_with_pkg_config("pc-core", "c pc_core core_driver.cpp" + pc_flags("bstest") + "\n");
  expect_run_arrives(dir + "/pc_core", dir, {"consumer", kGtestNames}, run_env());
}

// What the summary line says is how expect_run_arrives tells the companion from the fallback: without the
// installed program (and none on PATH), the records still arrive, sent by the test program at exit, and the
// check sees that they did not go through `bstest ship`.
TEST_F(Installed, WithoutItsProgramATestProgramShipsAtExitAndTheCheckSeesIt) {
  std::string dir = build_with_pkg_config("pc-no-program", "c pc_core core_driver.cpp" + pc_flags("bstest") + "\n");
  std::string program = prefix_ + "/bin/bstest";
  std::string aside = *root_ / "bstest-aside";
  ASSERT_EQ(std::rename(program.c_str(), aside.c_str()), 0);
  struct PutBack {
    std::string from, to;
    ~PutBack() { std::rename(from.c_str(), to.c_str()); }
  } put_back{aside, program};
  Expected at_exit{"consumer", kGtestNames};
  at_exit.companion = false;
  expect_run_arrives(dir + "/pc_core", dir, at_exit, run_env());
}

TEST_F(Installed, PkgConfigGoogleTestLibrariesLinkAndReport) {
  ASSERT_TRUE(want_gtest()) << "builds without GoogleTest run this test with --gtest_filter=-*GoogleTest*";
  std::string version = env("BSTEST_TEST_VERSION");
  RunResult v = shell(pc() + " --modversion bstest-gtest bstest-gtest-main bstest-gtest-auto", root_->path(),
                      pkg_config_env());
  EXPECT_EQ(v.out, version + "\n" + version + "\n" + version + "\n") << describe(v);
  std::string dir = build_with_pkg_config(
      "pc-gtest", "c pc_gtest my_tests.cpp gtest_own_main.cpp" + pc_flags("bstest-gtest") + "\n" +
                      "c pc_gtest_main my_tests.cpp" + pc_flags("bstest-gtest-main") + "\n" +
                      "c pc_gtest_auto my_tests.cpp" + pc_flags("bstest-gtest-auto gtest_main") + "\n");
  for (const std::string p : {"pc_gtest", "pc_gtest_main", "pc_gtest_auto"}) {
    expect_run_arrives(dir + "/" + p, dir, {"googletest", kGtestNames}, run_env());
  }
}

TEST_F(Installed, PkgConfigCatch2LibrariesLinkAndReport) {
  int major = catch2_major();
  ASSERT_NE(major, 0) << "builds without a Catch2 to test run this test with --gtest_filter=-*Catch2*";
  // bstest-catch2 asks for the Catch2 major it was built with.
  RunResult req = shell(pc() + " --print-requires bstest-catch2\n" + pc() + " --modversion catch2", root_->path(),
                        pkg_config_env());
  ASSERT_EQ(req.exit_code, 0) << describe(req);
  EXPECT_NE(req.out.find("catch2 >= " + std::to_string(major) + "\n"), std::string::npos) << req.out;
  EXPECT_NE(req.out.find("catch2 < " + std::to_string(major + 1) + "\n"), std::string::npos) << req.out;
  EXPECT_NE(req.out.find("\n" + std::to_string(major) + "."), std::string::npos) << "catch2.pc: " << req.out;

  // The whole-archive wrapper of each self-registering library survives being combined with another one.
  std::string both = want_gtest() ? "bstest-gtest-auto bstest-catch2" : "bstest-catch2";
  RunResult libs = shell(pc() + " --libs " + both, root_->path(), pkg_config_env());
  ASSERT_EQ(libs.exit_code, 0) << describe(libs);
  for (const std::string lib : {"bstest-gtest-auto", "bstest-catch2"}) {
    if (lib == "bstest-gtest-auto" && !want_gtest()) continue;
    EXPECT_NE(libs.out.find("-Wl,--whole-archive," + libdir() + "/lib" + lib + ".a,--no-whole-archive"),
              std::string::npos)
        << libs.out;
  }

  // The user's own main next to bstest-catch2: Catch2WithMain (3.x) or a CATCH_CONFIG_MAIN file (2.x).
  std::string own_main = major == 3 ? "c pc_catch2 catch2_tests.cpp" + pc_flags("bstest-catch2 catch2-with-main")
                                    : "c pc_catch2 catch2_tests.cpp -DCONSUMER_OWN_MAIN" + pc_flags("bstest-catch2");
  std::string dir = build_with_pkg_config(
      "pc-catch2", own_main + "\nc pc_catch2_main catch2_tests.cpp" + pc_flags("bstest-catch2-main") + "\n");
  for (const std::string p : {"pc_catch2", "pc_catch2_main"}) {
    expect_run_arrives(dir + "/" + p, dir, {"catch2", kCatch2Names}, run_env());
  }
}

TEST_F(Installed, CMakeCoreTargetLinksAndReports) {
  ASSERT_EQ(cmake_consumers().exit_code, 0) << describe(cmake_consumers());
  expect_run_arrives(cmake_dir() + "/build/modern/cmake_core", cmake_dir(), {"consumer", kGtestNames}, run_env());
}

TEST_F(Installed, CMakeGoogleTestTargetsLinkAndReport) {
  ASSERT_TRUE(want_gtest()) << "builds without GoogleTest run this test with --gtest_filter=-*GoogleTest*";
  ASSERT_EQ(cmake_consumers().exit_code, 0) << describe(cmake_consumers());
  for (const std::string p : {"modern/cmake_gtest", "modern/cmake_gtest_auto", "legacy/cmake_gtest_auto_legacy"}) {
    expect_run_arrives(cmake_dir() + "/build/" + p, cmake_dir(), {"googletest", kGtestNames}, run_env());
  }
}

TEST_F(Installed, CMakeCatch2TargetsLinkAndReport) {
  ASSERT_NE(catch2_major(), 0) << "builds without a Catch2 to test run this test with --gtest_filter=-*Catch2*";
  ASSERT_EQ(cmake_consumers().exit_code, 0) << describe(cmake_consumers());
  for (const std::string p : {"modern/cmake_catch2", "modern/cmake_catch2_main"}) {
    expect_run_arrives(cmake_dir() + "/build/" + p, cmake_dir(), {"catch2", kCatch2Names}, run_env());
  }
}

// The CMake project of docs/install.md, as it is written there, next to the user's my_tests.cpp.
TEST_F(Installed, TheGoogleTestProjectOfTheInstallGuideBuildsAndReports) {
  ASSERT_TRUE(want_gtest()) << "builds without GoogleTest run this test with --gtest_filter=-*GoogleTest*";
  std::string error;
  std::string project = docs_block("docs/install.md", "cmake", "cmake_minimum_required(", error);
  ASSERT_EQ(error, "");
  std::string dir = *root_ / "my-tests";
  ASSERT_EQ(copy_dir(env("BSTEST_TEST_CONSUMERS"), dir), "");
  write_file(dir + "/CMakeLists.txt", project);
  RunResult b = cmake_build(dir, "");
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  expect_run_arrives(dir + "/build/my_tests", dir, {"googletest", kGtestNames}, run_env());
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
