// A symbolized stack as the records and events show it (core/src/stack/symbolize.hpp makes it).
#pragma once

#include "record/error_events.hpp"
#include "stack/symbolize.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace bstest::detail::stack {

// One frame as a line of text: `corrupt_index(Index&) (tests/stack/stack_fixture.cpp:31)`; without debug
// information `corrupt_index(Index&) (stack_fixture+0x1a2b)`, or `0x55d0c1a2b3c4 (stack_fixture+0x1a2b)` without
// a name. File paths are shown from `source_root` on when they are under it.
std::string frame_text(const Frame& f, const std::string& source_root = {});

// The frames innermost first, one per line, at most `max_bytes` (then the last line says how many are
// left out). For the `run_crashed` and `test_hanging` log records.
std::string stack_text(const Stack& s, std::size_t max_bytes, const std::string& source_root = {});

// The frames of an error event (record/error_events.hpp), in Sentry's order: outermost first, the frame where it
// crashed, threw or waits last. Each has function, filename, lineno, instruction_addr, package (the module),
// image_addr (its load bias) and in_app.
std::vector<EventFrame> event_frames(const Stack& s);

}  // namespace bstest::detail::stack
