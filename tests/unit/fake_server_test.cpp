// The local stand-in for Better Stack is itself held to what the tests rely on: Logs takes only lines that
// are JSON objects, with the right token, and counts what it took.
#include "fake_betterstack.hpp"
#include "ship/http.hpp"

#include <bstest/config.hpp>

#include <gtest/gtest.h>

#include <string>

using bstest::testing::FakeBetterStack;

namespace {

int post_logs(const FakeBetterStack& server, const std::string& ndjson, const std::string& token) {
  bstest::LogsTarget target;
  target.url = server.origin() + "/";
  target.token = bstest::Secret(token);
  bstest::Config cfg;
  auto client = bstest::detail::make_curl_client(cfg);
  return client->send(bstest::detail::logs_request(target, ndjson), 5000).status;
}

TEST(FakeServer, LogsTakesJsonObjectLinesOnly) {
  FakeBetterStack server;
  const std::string token = server.options().source_token;
  EXPECT_EQ(post_logs(server, "{\"id\":\"a\",\"message\":\"x \\\"quoted\\\"\"}\n{\"id\":\"b\"}\n", token), 202);
  EXPECT_EQ(server.record_count(), 2u);
  ASSERT_EQ(server.records().size(), 2u);
  EXPECT_EQ(server.records()[0], "{\"id\":\"a\",\"message\":\"x \\\"quoted\\\"\"}") << "kept as sent";
  for (const char* bad : {"{\"id\":\"c\"\n", "[1,2]\n", "42\n", "{\"id\":\"d\"} trailing\n", "\"text\"\n"}) {
    EXPECT_EQ(post_logs(server, std::string("{\"id\":\"ok\"}\n") + bad, token), 406) << bad;
  }
  EXPECT_EQ(server.record_count(), 2u) << "a refused batch adds nothing";
  EXPECT_EQ(post_logs(server, "{\"id\":\"e\"}\n", "wrong-token"), 403);
}

}  // namespace
