// The bstest command's subcommands. Each takes the arguments after its name and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace bstest::cli {

using Args = std::vector<std::string>;

int cmd_ship(const Args& args);
int cmd_run(const Args& args);
int cmd_flush(const Args& args);
int cmd_heartbeat(const Args& args);
int cmd_doctor(const Args& args);

// Exit codes shared by every command.
constexpr int kOk = 0;
constexpr int kFailed = 1;  // the wrapped command failed, or something could not be delivered
constexpr int kUsage = 2;   // bad command line

// Prints "bstest <cmd>: <message>" on stderr.
void error(const std::string& cmd, const std::string& message);
// Parses a whole non-negative number; false when `text` is not one.
bool parse_int(const std::string& text, int& out);

}  // namespace bstest::cli
