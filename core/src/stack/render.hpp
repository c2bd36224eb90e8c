// A symbolized stack as the records and events show it (core/src/stack/symbolize.hpp makes it). Part of the
// library test programs link (the shipper completes records with it); it names nothing itself.
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
// The whole stack of an error event: event_frames(), the modules they are in (debug_meta.images) and the
// problem as its note.
EventStack event_stack(const Stack& s);

// Where frame texts show files from: the repository that the file of the innermost frame of the program's
// own code is in (the first folder above it that holds a .git), "" when there is none.
std::string source_root_of(const Stack& s);
// The frames as text (frame_text), innermost first, files from `source_root`.
std::vector<std::string> frame_texts(const Stack& s, const std::string& source_root);
// The innermost frame of the program's own code as text, "" when there is none.
std::string where_text(const Stack& s, const std::string& source_root);

}  // namespace bstest::detail::stack
