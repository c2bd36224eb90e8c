// A small, realistic Catch2 suite reported to Better Stack by bstest: sections, a generator, a skip (Catch2
// v3.3+) and one deliberately failing test. It works with Catch2 v2 and v3 alike.
//
// There is no bstest code here: the program is linked with `bstest-catch2-main` instead of Catch2WithMain
// (see meson.build). Run it as usual (`./catch2-listener`, `./catch2-listener "[cart]"`, `-r junit`, ...);
// BETTERSTACK_* in the environment send the records to Better Stack, otherwise they stay in .bstest/.
#if BSTEST_CATCH2_MAJOR == 2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#endif

#include <map>
#include <stdexcept>
#include <string>

namespace {

// Prices in cents.
class Cart {
 public:
  void add(const std::string& item, long price, int quantity = 1) {
    if (quantity <= 0) throw std::invalid_argument("quantity must be positive");
    lines_[item].price = price;
    lines_[item].quantity += quantity;
  }
  void remove(const std::string& item) { lines_.erase(item); }
  int items() const {
    int n = 0;
    for (const auto& l : lines_) n += l.second.quantity;
    return n;
  }
  long total() const {
    long sum = 0;
    for (const auto& l : lines_) sum += l.second.price * l.second.quantity;
    return sum;
  }
  // Percent off, rounded down to the cent.
  long total_with_discount(int percent) const { return total() * (100 - percent) / 100; }

 private:
  struct Line {
    long price = 0;
    int quantity = 0;
  };
  std::map<std::string, Line> lines_;
};

}  // namespace

TEST_CASE("an empty cart costs nothing", "[cart]") {
  Cart cart;
  CHECK(cart.items() == 0);
  CHECK(cart.total() == 0);
}

TEST_CASE("adding and removing items", "[cart]") {
  Cart cart;
  cart.add("apple", 50, 3);
  REQUIRE(cart.items() == 3);

  SECTION("adding the same item again adds up") {
    cart.add("apple", 50);
    CHECK(cart.items() == 4);
    CHECK(cart.total() == 200);
  }
  SECTION("removing an item empties its line") {
    cart.remove("apple");
    CHECK(cart.items() == 0);
  }
  SECTION("a quantity of zero is refused") { CHECK_THROWS_AS(cart.add("pear", 70, 0), std::invalid_argument); }
}

TEST_CASE("discounts never make a cart more expensive", "[cart][discount]") {
  auto percent = GENERATE(0, 10, 25, 50);
  CAPTURE(percent);
  Cart cart;
  cart.add("book", 1999);
  CHECK(cart.total_with_discount(percent) <= cart.total());
}

TEST_CASE("a 15% discount on 19.99", "[cart][discount]") {
  Cart cart;
  cart.add("book", 1999);
  // Deliberately wrong expectation: this is the failing test of the example (1999 * 85 / 100 is 1699).
  CHECK(cart.total_with_discount(15) == 1700);
}

#if BSTEST_CATCH2_MAJOR == 3
TEST_CASE("prices come from the pricing service", "[cart][network]") {
  SKIP("needs the pricing service; run with PRICING_URL set");
}
#endif
