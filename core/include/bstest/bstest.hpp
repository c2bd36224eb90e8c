// bstest: test results of GoogleTest and Catch2 binaries, streamed to Better Stack.
// The framework-neutral API: a Session fed by a reporter (see docs/adapters.md to write one).
#pragma once

#include <bstest/config.hpp>
#include <bstest/model.hpp>
#include <bstest/session.hpp>
#include <bstest/version.hpp>
