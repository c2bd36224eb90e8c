// The parts of an error event that a stack brings (Sentry's stacktrace, threads, debug_meta) and a flaky
// test's breadcrumbs, written through the one JsonWriter: by sentry_event_json, and by event_with_stack for
// an event that a test program wrote before its stack could be named.
#pragma once

#include "record/error_events.hpp"
#include "record/json_writer.hpp"

#include <string_view>
#include <vector>

namespace bstest::detail {

// "stacktrace":{"frames":[...]}: the frames, outermost first, each with function, filename, lineno,
// package, instruction_addr, image_addr and in_app (what is unknown is left out).
void put_stacktrace(JsonWriter& w, const std::vector<EventFrame>& frames);
// "debug_meta":{"images":[{"type":"elf","code_file":...,"code_id":...,"image_addr":...}]}
void put_debug_meta(JsonWriter& w, const std::vector<EventImage>& images);
// "threads":{"values":[{"id":...,"name":...,"current":...,"crashed":false,"stacktrace":{...}}]}
void put_threads(JsonWriter& w, const std::vector<EventThread>& threads);
// "breadcrumbs":{"values":[{"type":"default","category":"assertion","level":"error","message":...,"data":{...}}]}
void put_breadcrumbs(JsonWriter& w, const std::vector<EventBreadcrumb>& crumbs);

// 32 lowercase hex digits: an event_id that may be written as it is.
bool is_event_id(std::string_view id) noexcept;

}  // namespace bstest::detail
