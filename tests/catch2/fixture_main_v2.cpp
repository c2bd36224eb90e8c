// The user's own main of a Catch2 v2 program (v3 programs link Catch2WithMain instead): the fixture suite
// is linked with it and bstest-catch2, or with it alone (the run without bstest).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
