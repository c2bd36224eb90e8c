// The command of `bstest run`: started with the suite's environment, waited for, and the signals bstest run
// receives passed on to it.
//
// Off a terminal (CI), the command stays in bstest run's process group, as a non-interactive shell leaves
// it: a kill aimed at the job's group (GitLab's job time-out, `timeout -k`, a runner's SIGKILL) reaches
// every program the command started, not only bstest run. A signal sent to bstest run alone (SIGINT,
// SIGTERM, SIGHUP) is passed on to every process the command started (its process tree) and to a re-run in
// progress; a signal sent to the whole group reaches those of them in the group a second time.
//
// On a terminal, the command runs in its own process group in the foreground, as a shell runs a job: it
// can read the terminal, Ctrl-C goes to it and not to bstest run, Ctrl-Z stops both; a signal sent to
// bstest run goes to the command's group.
//
// Signals ignored when bstest run started stay ignored, in the command and in re-runs (`nohup bstest run`);
// the command gets the SIGPIPE disposition bstest run was started with.
#pragma once

#include <string>
#include <vector>

namespace bstest::cli {

struct CommandEnd {
  long pid = 0;             // its process, 0 when it could not be started
  int exit_code = 127;      // 0..255; 128+N when signal N ended it; 126/127 when it could not be started
  int signal = 0;           // the signal that ended it, 0 when it exited
  bool interrupted = false; // Ctrl-C: it died of SIGINT, or caught it on a terminal and exited 130
};

// Starts `argv` (PATH search) with the environment `env` ("NAME=value"), forwards signals to it while it
// runs, and waits for it. Says on stderr when it cannot be started.
CommandEnd run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env);

// After the command's programs are done (or no longer waited for): a later signal must not reach a process
// or group whose id was reused. Re-runs still get the signals.
void forget_command() noexcept;

// Dies of the signal bstest run received and passed on (SIGINT, SIGTERM, SIGHUP), as its caller asked and
// as GNU timeout does, instead of exiting 128+N; returns when it received none.
void die_of_received_signal() noexcept;

}  // namespace bstest::cli
