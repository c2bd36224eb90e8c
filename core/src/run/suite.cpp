// The suite of `bstest run`: its own journal (suite_started, the verdicts after re-runs with their error
// events, suite_finished) and the heartbeat decision it queues. What the programs did is read by the ledger
// (run/suite_ledger.cpp).
#include "run/suite.hpp"
#include "ship/ship.hpp"
#include <bstest/version.hpp>

#include "base/ids.hpp"
#include "base/process.hpp"
#include "env/ci.hpp"
#include "journal/crash_handler.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"
#include "record/error_events.hpp"
#include "record/json.hpp"
#include "record/log_records.hpp"
#include "record/record_reader.hpp"
#include "record/test_events.hpp"

#include <unistd.h>

namespace bstest {

namespace {

constexpr std::size_t kMaxJournaledBody = 64u << 10;

}  // namespace

bool any_test_ran(const Counts& c) noexcept { return c.passed + c.failed + c.crashed > 0; }

bool is_sharded(int shard_total) noexcept { return shard_total > 1; }

std::string make_run_id() { return detail::make_run_id(); }

std::string queue_heartbeat(const Config& config, bool success, int exit_code, const std::string& body,
                            std::string& error) {
  std::string run_id = detail::heartbeat_run_id(make_run_id());
  detail::JournalWriter journal;
  if (!detail::open_new_journal(journal, config.dir, run_id, detail::random_hex(6), detail::JournalWriter::kRingBytes / 2,
                                error)) {
    return {};
  }
  detail::Buf b;
  // The 10 kB limit of the ping is applied once, when it is sent (heartbeat_request); this only keeps a huge
  // --body-file out of the journal.
  detail::write_heartbeat_line(b, success, exit_code, body, kMaxJournaledBody);
  detail::write_closed_line(b);
  journal.append(b.data(), b.size());
  journal.close();
  return run_id;
}

// -------------------------------------------------------------------------------------------------------
// SuiteWriter

struct SuiteWriter::Impl {
  Config cfg;
  std::string run_id;
  detail::JournalWriter journal;
  detail::RecordContext enc;
  detail::RunMeta suite_meta;
  detail::CiInfo ci;
  detail::Buf rec;
  bool open = false;

  void append() {
    if (open) journal.append(rec.data(), rec.size());
  }
  void append(const std::string& s) {
    if (open) journal.append(s.data(), s.size());
  }
};

SuiteWriter::SuiteWriter(const Config& config, std::string run_id) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = config;
  impl_->run_id = std::move(run_id);
}

SuiteWriter::~SuiteWriter() { close(); }

bool SuiteWriter::open(std::string& error) {
  Impl& m = *impl_;
  std::string jid = detail::random_hex(6);
  if (!detail::open_new_journal(m.journal, m.cfg.dir, m.run_id, jid, detail::JournalWriter::kRingBytes / 2, error)) {
    return false;
  }
  m.open = true;
  m.ci = detail::detect_ci();
  m.enc.set_id_prefix(jid);
  m.suite_meta.run_id = m.run_id;
  m.suite_meta.framework = "suite";
  m.suite_meta.binary = "bstest run";
  m.suite_meta.host = detail::host_name();
  m.suite_meta.pid = ::getpid();
  m.suite_meta.bstest_version = BSTEST_VERSION;
  m.enc.set_run(m.suite_meta);
  m.enc.set_ci(m.ci);
  m.rec.clear();
  detail::write_suite_started(m.enc, m.rec);
  detail::ProcessFacts process;
  process.role = "suite";
  detail::write_process_line(m.rec, process);
  m.append();
  return true;
}

namespace {

// The program's run, as its run_started record has it (the suite's when that cannot be read).
detail::RunMeta run_of(const ProgramRun& program, const detail::RunMeta& fallback) {
  detail::Record r(program.run_record);
  return r.has("run") ? detail::run_meta_of(r.get("run")) : fallback;
}

// The test's first uncaught exception, if one escaped it (nullptr otherwise); `out` holds it.
const detail::EscapedException* escaped_of(const ProgramRun& program, const FailedTest& test,
                                           detail::EscapedException& out) {
  auto it = program.exceptions.find(test.key());
  if (it == program.exceptions.end()) return nullptr;
  out.type = it->second.type;
  out.message = it->second.message;
  out.file = it->second.file;
  out.line = it->second.line;
  return &out;
}

}  // namespace

void SuiteWriter::verdict(const ProgramRun& program, const FailedTest& test, const std::vector<AttemptOutcome>& attempts,
                          bool flaky) {
  Impl& m = *impl_;
  detail::RunMeta meta = run_of(program, m.suite_meta);
  m.enc.set_run(meta);
  m.rec.clear();
  detail::write_verdict(m.enc, m.rec, test, attempts, flaky);
  m.append();
  detail::EventContext context = detail::this_process_context(detail::environment_name(m.ci, m.cfg.environment));
  detail::EscapedException escaped;
  m.append(detail::verdict_error_lines(test, attempts, flaky, escaped_of(program, test, escaped), meta, m.ci, context));
  m.enc.set_run(m.suite_meta);
}

void SuiteWriter::exception(const ProgramRun& program, const FailedTest& test) {
  Impl& m = *impl_;
  detail::EscapedException escaped;
  const detail::EscapedException* e = escaped_of(program, test, escaped);
  if (e == nullptr) return;
  detail::EventContext context = detail::this_process_context(detail::environment_name(m.ci, m.cfg.environment));
  std::vector<AttemptOutcome> one = {{1, Result::failed, false}};
  m.append(detail::sentry_line(detail::exception_event(test, e, one, run_of(program, m.suite_meta), m.ci, context)));
}

void SuiteWriter::quarantine_note(detail::QuarantineNote note, const QuarantineEntry& entry, const std::string& file,
                                  const std::string& message) {
  Impl& m = *impl_;
  m.rec.clear();
  detail::write_quarantine_note(m.enc, m.rec, note, entry, file, message);
  m.append();
}

void SuiteWriter::suite_finished(const SuiteSummary& s) {
  Impl& m = *impl_;
  m.rec.clear();
  detail::write_suite_finished(m.enc, m.rec, s);
  m.append();
}

void SuiteWriter::close() {
  Impl& m = *impl_;
  if (!m.open) return;
  m.rec.clear();
  detail::write_closed_line(m.rec);
  m.append();
  m.journal.close();
  m.open = false;
}

}  // namespace bstest
