// The bstest command's subcommands. Each takes the arguments after its name and returns the exit code.
#pragma once

#include <bstest/config.hpp>
#include "ship/ship.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace bstest::cli {

using Args = std::vector<std::string>;

int cmd_ship(const Args& args);
int cmd_run(const Args& args);
int cmd_flush(const Args& args);
int cmd_heartbeat(const Args& args);
int cmd_doctor(const Args& args);
int cmd_report(const Args& args);
int cmd_quarantine(const Args& args);

// Exit codes shared by every command.
constexpr int kOk = 0;
constexpr int kFailed = 1;  // the wrapped command failed, or something could not be delivered
constexpr int kUsage = 2;   // bad command line

// The usage text of each command (what `bstest <command> --help` and `bstest help <command>` print).
extern const char* const kShipHelp;
extern const char* const kRunHelp;
extern const char* const kFlushHelp;
extern const char* const kHeartbeatHelp;
extern const char* const kDoctorHelp;
extern const char* const kReportHelp;

// The report files that `bstest report` and `bstest run` write (cli/cmd_report.cpp); "" for none, "-" for
// standard output.
struct ReportOptions {
  std::string junit;
  std::string html;
  std::string markdown;
  bool any() const;
};
// When args[i] is --junit, --html or --markdown: takes its value (i moves onto it) and returns 1; 0 for any
// other argument; -1 after printing a usage error as `bstest <cmd>`.
int report_option(const Args& args, std::size_t& i, ReportOptions& options, const char* cmd);
// For `bstest run`, once its re-runs are done: writes the reports of run `run_id` that `options` ask for, and
// appends the Markdown summary to $GITHUB_STEP_SUMMARY when that is set. False, after saying why on stderr,
// when one could not be written.
bool write_run_reports(const Config& config, const std::string& run_id, const ReportOptions& options, bool quiet);
extern const char* const kQuarantineHelp;

// The "sending..." line shown while shipping takes more than a second: rewritten in place on a terminal,
// printed once otherwise (a CI log gets one line, not one a second).
class ProgressLine {
 public:
  explicit ProgressLine(std::string prefix);
  // From now on (any thread), update() may show the line once a second has passed.
  void start();
  // The shipper's progress callback (its thread).
  void update(const ShipStats& stats);
  // Ends a line that was shown (after the shipper is done).
  void finish();

 private:
  std::string prefix_;
  bool tty_ = false;
  std::atomic<std::int64_t> start_ms_{-1};
  bool shown_ = false;
};

// Sends one heartbeat ping on its own (a journal of its own, shipped now with the usual retries, kept for
// `bstest flush` when it cannot be sent). False when the ping could not even be kept (`error` says why).
bool send_heartbeat(const Config& config, bool success, int exit_code, const std::string& body, int deadline_ms,
                    ShipStats& stats, std::string& error);

// How this program names stacks: what ShipOptions::symbolizer of each command that ships points to.
const detail::stack::Symbolizer* stack_symbolizer();

// Prints "bstest <cmd>: <message>" on stderr.
void error(const std::string& cmd, const std::string& message);
// Parses a whole non-negative number; false when `text` is not one.
bool parse_int(const std::string& text, int& out);

}  // namespace bstest::cli
