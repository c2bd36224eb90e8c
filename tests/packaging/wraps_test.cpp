// Our wraps (subprojects/*.wrap with our own Meson builds in subprojects/packagefiles/), built offline from
// the sources Debian ships, laid out like the upstream release tarball:
//   gtest.wrap      GoogleTest 1.12.1 from /usr/src/googletest (package googletest): gtest, gtest_main,
//                   gmock and gmock_main each build, link and pass
//   rapidjson.wrap  RapidJSON 1.1.0's headers from /usr/include/rapidjson (package rapidjson-dev): a program
//                   compiled with every warning as an error parses and writes JSON
// The tarball goes in the package cache under the wrap's file name, and the wrap's hash is swapped for the
// tarball's (the only line changed). Meson then unpacks it and lays our overlay over it as it would over the
// real download. (zlib.wrap has no such test: Debian installs no zlib sources.)
#include "packaging_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

using namespace bstest::testing;
using namespace bstest::testing::packaging;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A consumer project in `root`/consumer (from consumers/<consumer>) whose subprojects/ holds `wrap_name`.wrap,
// its overlay, and a tarball made by `layout` (a shell script run in an empty folder that must create the
// release's top folder) under the wrap's file name. Returns the project folder, or "" after a failure.
std::string prepare(const TempDir& root, const std::string& consumer, const std::string& wrap_name,
                    const std::string& layout) {
  std::string repo = env("BSTEST_TEST_SOURCE_ROOT");
  std::string wrap = read_file(repo + "/subprojects/" + wrap_name + ".wrap");
  std::string directory = wrap_value(wrap, "directory");
  std::string filename = wrap_value(wrap, "source_filename");
  std::string hash = wrap_value(wrap, "source_hash");
  std::string overlay = wrap_value(wrap, "patch_directory");
  EXPECT_FALSE(directory.empty());
  EXPECT_FALSE(filename.empty());
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_FALSE(overlay.empty());
  EXPECT_NE(wrap_value(wrap, "source_url").rfind("https://", 0), std::string::npos);
  if (directory.empty() || filename.empty() || hash.size() != 64 || overlay.empty()) return "";

  std::string project = root / "consumer";
  EXPECT_EQ(copy_dir(env("BSTEST_TEST_CONSUMERS") + "/" + consumer, project), "");
  EXPECT_EQ(copy_dir(repo + "/subprojects/packagefiles/" + overlay, project + "/subprojects/packagefiles/" + overlay),
            "");
  std::string tarball = project + "/subprojects/packagecache/" + filename;
  RunResult r = shell("mkdir -p release " + quote(project + "/subprojects/packagecache") + "\n" +
                          "(cd release && top=" + quote(directory) + " && " + layout + ")\n" +
                          "tar -czf " + quote(tarball) + " -C release " + quote(directory) + "\n" +
                          "sha256sum " + quote(tarball),
                      root.path());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  if (r.exit_code != 0 || r.out.size() < 64) return "";
  std::string local = wrap;
  local.replace(local.find(hash), hash.size(), r.out.substr(0, 64));
  write_file(project + "/subprojects/" + wrap_name + ".wrap", local);
  return project;
}

RunResult setup_and_build(const std::string& project, const std::string& fallback_for) {
  return shell(quote(env("BSTEST_TEST_MESON")) + " setup build -Dbuildtype=plain --wrap-mode=nodownload" +
                   " --force-fallback-for=" + fallback_for + "\n" + quote(env("BSTEST_TEST_NINJA")) +
                   " -C build -j 2",
               project);
}

TEST(Wraps, GoogleTestOverlayBuildsEveryLibrary) {
  std::string skip = skip_reason({"BSTEST_TEST_MESON", "BSTEST_TEST_NINJA"});
  if (!skip.empty()) GTEST_SKIP() << skip;
  std::string sources = env("BSTEST_TEST_GTEST_SOURCES");
  if (!exists(sources + "/googletest/src/gtest-all.cc")) {
    GTEST_SKIP() << "no GoogleTest sources in " << sources << " (Debian: apt-get install googletest)";
  }
  TempDir root;
  std::string project =
      prepare(root, "gtest_wrap", "gtest", "mkdir \"$top\" && cp -R " + quote(sources) + "/. \"$top\"");
  ASSERT_FALSE(project.empty());
  RunResult b = setup_and_build(project, "gtest");
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  EXPECT_NE(b.out.find("gtest version: 1.12.1"), std::string::npos) << b.out;
  EXPECT_TRUE(exists(project + "/subprojects/googletest-release-1.12.1/meson.build")) << "the overlay was laid over";

  for (const std::string p : {"uses_gtest", "uses_gtest_main", "uses_gmock", "uses_gmock_main"}) {
    RunResult r = shell("./build/" + p, project);
    EXPECT_EQ(r.exit_code, 0) << p << ": " << describe(r);
    EXPECT_NE(r.out.find("[  PASSED  ]"), std::string::npos) << p << ": " << r.out;
  }
}

TEST(Wraps, RapidJsonOverlayGivesWarningFreeHeaders) {
  std::string skip = skip_reason({"BSTEST_TEST_MESON", "BSTEST_TEST_NINJA"});
  if (!skip.empty()) GTEST_SKIP() << skip;
  std::string headers = "/usr/include/rapidjson";
  if (!exists(headers + "/document.h")) {
    GTEST_SKIP() << "no RapidJSON headers in " << headers << " (Debian: apt-get install rapidjson-dev)";
  }
  TempDir root;
  std::string project = prepare(root, "rapidjson_wrap", "rapidjson",
                                "mkdir -p \"$top/include\" && cp -R " + quote(headers) + " \"$top/include/\"");
  ASSERT_FALSE(project.empty());
  RunResult b = setup_and_build(project, "rapidjson");
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  EXPECT_NE(b.out.find("rapidjson version: 1.1.0"), std::string::npos) << b.out;
  RunResult r = shell("./build/uses_rapidjson", project);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "{\"event\":\"run_started\",\"n\":[1,2,3],\"ok\":true}\n");
}

// A packaging test that skips itself must not pass for one that ran: its program exits 77, which `meson test`
// shows as SKIP (packaging_support.cpp's main). Here the RapidJSON test, told that meson is missing.
TEST(Skips, ATestThatSkippedItselfMakesTheProgramExit77) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  RunSpec spec;
  spec.argv = {std::string(self, static_cast<std::size_t>(n)),
               "--gtest_filter=Wraps.RapidJsonOverlayGivesWarningFreeHeaders"};
  spec.env = {{"BSTEST_TEST_SOURCE_ROOT", env("BSTEST_TEST_SOURCE_ROOT")}, {"BSTEST_TEST_MESON", ""},
              {"BSTEST_TEST_NINJA", env("BSTEST_TEST_NINJA")}};
  RunResult r = run(spec);
  EXPECT_EQ(r.exit_code, 77) << describe(r);
  EXPECT_NE(r.out.find("[  SKIPPED ] Wraps.RapidJsonOverlayGivesWarningFreeHeaders"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BSTEST_TEST_MESON is empty"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("1 test(s) skipped: exit code 77"), std::string::npos) << r.err;
}

}  // namespace
