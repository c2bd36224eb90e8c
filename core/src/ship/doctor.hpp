// `bstest doctor`: checks each configured channel and says plainly what is wrong and how to fix it.
#pragma once

#include <bstest/config.hpp>

#include <string>
#include <vector>

namespace bstest {

struct DoctorCheck {
  enum class Status { ok, warning, failed, off };
  Status status = Status::ok;
  std::string what;    // "Better Stack Logs", "journal folder", ...
  std::string detail;  // what was found, and for a problem what to do
};

// Parses the configuration, checks the journal folder and the companion program, and for each configured
// channel resolves the host, connects and completes TLS. With `send_test_event`, also sends one log record
// and one error event so they can be seen arriving (the heartbeat is never pinged: that would mark the
// monitor up).
std::vector<DoctorCheck> run_doctor(const Config& config, bool send_test_event);

}  // namespace bstest
