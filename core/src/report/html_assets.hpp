// The HTML report's inline style sheet and script (no network: everything is in the page).
#pragma once

namespace bstest::report {

extern const char* const kReportCss;
// Renders the table of every test from the page's <script id="data"> (report/html_writer.cpp says its
// shape): only the rows on screen, filtered by text and verdict, the filter kept in the URL's fragment
// (#q=text&v=failed) so that a filtered view can be linked. Sets <body data-ready="ms"> once drawn.
extern const char* const kReportJs;

}  // namespace bstest::report
