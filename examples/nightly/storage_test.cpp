// Part of the nightly example suite: a key-value store's tests, reported with bstest-gtest-main (no bstest
// code at all: the provided main re-runs failures and owns the exit code).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace {

class Store {
 public:
  void put(const std::string& k, std::string v) { data_[k] = std::move(v); }
  std::optional<std::string> get(const std::string& k) const {
    auto it = data_.find(k);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  bool erase(const std::string& k) { return data_.erase(k) == 1; }
  std::size_t size() const { return data_.size(); }

 private:
  std::map<std::string, std::string> data_;
};

class StoreTest : public ::testing::Test {
 protected:
  Store store;
};

}  // namespace

TEST_F(StoreTest, PutThenGet) {
  store.put("a", "1");
  EXPECT_EQ(store.get("a"), "1");
}

TEST_F(StoreTest, MissingKeyIsEmpty) { EXPECT_FALSE(store.get("nope").has_value()); }

TEST_F(StoreTest, EraseRemoves) {
  store.put("a", "1");
  EXPECT_TRUE(store.erase("a"));
  EXPECT_FALSE(store.erase("a"));
  EXPECT_EQ(store.size(), 0u);
}

TEST_F(StoreTest, OverwriteKeepsOneEntry) {
  store.put("a", "1");
  store.put("a", "2");
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.get("a"), "2");
}
