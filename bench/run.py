#!/usr/bin/env python3
"""bstest benchmarks: runs the programs that bench/meson.build builds and writes bench/results.md.

    python3 bench/run.py --build build/bench [--runs N] [--quick] [--out FILE] [--keep]

(`./dev bench` builds build/bench and runs this.) Python 3 standard library only.

Every speed figure is a ratio against a baseline run in the same invocation: the variants of a suite run
interleaved (bare, --gtest_output=json, bstest without network, bstest shipping to a local Better Stack
server that inflates and parses every record, and, for GoogleTest, to one that only counts what arrives, the
stand-in for a service whose work is not on this machine), round after round, with the order rotated each
round; medians are reported with the spread.

What is measured and how:
  wall       spawn to exit, CLOCK_MONOTONIC, as seen by the `measure` helper that starts each program
  CPU test   the test process alone: /proc/PID/schedstat of the zombie before it is reaped (ns; the
             test process has one thread), checked against /proc/PID/stat's utime+stime (the `measure`
             helper runs each program and reads these)
  CPU total  wait4 rusage: the test process plus the children it reaped (not the companion shipper,
             which is not its child: the wrapper reports the shipper's CPU)
  peak RSS   the test process's own VmHWM, read when it stops at exit (the `measure` helper traces it
             for that one stop); the shipper's own peak is reported beside it by the wrapper
  shipper    BSTEST_SHIPPER points at shipper-wrap, which runs the real `bstest ship`, reports its
             rusage, and times when the test process closes the wake pipe (the start of its wait at exit)
  exit wait  from that moment to the end of file on its notify pipe (the shipper is gone), which the
             wrapper relays and times
  latency    the server's receive time minus each test_finished record's "dt"
  others     how busy the machine was with other processes meanwhile (/proc/stat), since it is shared
  report     `bstest report` of a finished 100,000-test run (one test in 1,000 failing): time to write each
             format and all three, and the files' sizes
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SIZES = [1000, 10000, 100000]
CATCH2_SIZE = 10000
MIB = 1024 * 1024

GOALS = {
    "wall_ratio": 1.10,
    "cpu_ratio": 1.05,
    "rss_above_bare_mib": 16,
    "ns_per_record": 350,
    "shipper_records_per_s": 300000,
    "shipper_us_per_record": 1.0,
    "gzip_ratio": 10.0,
    "latency_median_s": 1.5,
    "exit_wait_loopback_ms": 100,
    "json_bytes_per_passing_test": 350,
}

# Where the shipper's CPU goal was set (results.md of 2026-12-01): 2.9 µs per record, when a passing test sent
# two records (test_started and test_finished). A passing test now sends one, so the same work per test reads
# as twice the CPU per record sent: the goal line also gives the whole suite's figure against this one.
SHIPPER_START = {"us_per_record": 2.9, "records_per_test": 2}


# ---------------------------------------------------------------------------------------------------------
# small helpers

def say(msg):
    print(msg, file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    if not xs:
        return float("nan")
    s = sorted(xs)
    i = int(round(p * (len(s) - 1)))
    return s[min(i, len(s) - 1)]


def clean_env():
    """The caller's environment without anything that would change what bstest or GoogleTest do."""
    env = {}
    for k, v in os.environ.items():
        if k.startswith(("BETTERSTACK_", "BSTEST_", "GTEST_", "BENCH_")):
            continue
        env[k] = v
    return env


def read_first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return ""


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# running one process and measuring it

MEASURE = None  # path of the `measure` helper, set by Bench


def cpu_busy_ticks():
    """All CPUs' busy and total time from /proc/stat, in ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle, sum(v[:8])


def run_measured(argv, env, stderr_path, stdout_path="/dev/null"):
    """Runs argv through the `measure` helper (stdout to a file or /dev/null, stderr to a file); returns wall,
    CPU, page faults and peak RSS figures, and how busy the machine was meanwhile."""
    report = stderr_path + ".measure.json"
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    busy0, total0 = cpu_busy_ticks()
    pid = os.posix_spawn(MEASURE, [MEASURE, report] + list(argv), env, file_actions=actions)
    os.waitpid(pid, 0)
    busy1, total1 = cpu_busy_ticks()
    with open(report) as f:
        m = json.loads(f.readline())
    os.unlink(report)
    tick = m["clk_tck"]
    total = (m["user_us"] + m["sys_us"]) / 1e6
    cpu_self = m["schedstat_ns"] / 1e9 if m["schedstat_ns"] >= 0 else None
    if m["ticks"][0] >= 0:
        by_ticks = (m["ticks"][0] + m["ticks"][1]) / tick
        if cpu_self is None or by_ticks > cpu_self + 0.05:  # more than one thread ran: trust the ticks
            cpu_self = by_ticks
    if cpu_self is None:
        cpu_self = total
    return {
        "wall": (m["t_exit_ns"] - m["t_start_ns"]) / 1e9,
        "cpu_self": cpu_self,
        "cpu_total": total,
        "user_total": m["user_us"] / 1e6,
        "sys_total": m["sys_us"] / 1e6,
        # The program's own peak RSS (VmHWM at its exit); wait4's ru_maxrss is the largest of it and the
        # children it reaped.
        "maxrss_kb": m["hwm_kb"] if m.get("hwm_kb", -1) > 0 else m["maxrss_kb"],
        "maxrss_with_children_kb": m["maxrss_kb"],
        "minflt": m["minflt"],
        "exit_code": m["status"],
        "t_start_ns": m["t_start_ns"],
        "t_exit_ns": m["t_exit_ns"],
        # Busy CPU time of the whole machine during the run, in cores (ours included).
        "machine_busy_cores": (busy1 - busy0) / tick / max(1e-9, (m["t_exit_ns"] - m["t_start_ns"]) / 1e9),
    }


# ---------------------------------------------------------------------------------------------------------
# the local Better Stack server

class Server:
    def __init__(self, program, count_only=False):
        # count_only: Logs bodies are answered without being inflated or parsed (bytes and requests counted).
        self.proc = subprocess.Popen([program] + (["--count-only"] if count_only else []), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "READY":
            raise RuntimeError(f"fake-betterstack did not start: {line}")
        self.origin, self.token = line[1], line[2]

    def cmd(self, c):
        self.proc.stdin.write(c + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stats(self):
        return json.loads(self.cmd("stats"))

    def reset(self):
        self.cmd("reset")

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------------------------------------
# the bench

class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.bin = os.path.join(self.build, "bench")
        self.bstest = os.path.join(self.build, "cli", "bstest")
        self.wrap = os.path.join(self.bin, "shipper-wrap")
        global MEASURE
        MEASURE = os.path.join(self.bin, "measure")
        # On the build's disk, like a user's .bstest folder (not tmpfs).
        self.work = tempfile.mkdtemp(prefix="run-", dir=self.build)
        self.server = None
        self.counter = None  # a server that only counts what arrives (the wall goal's stand-in)
        self.results = {"suites": {}, "notes": []}
        self.seq = 0

    def prog(self, name):
        p = os.path.join(self.bin, name)
        return p if os.access(p, os.X_OK) else None

    def fresh(self, what):
        self.seq += 1
        d = os.path.join(self.work, f"{what}-{self.seq}")
        os.makedirs(d)
        return d

    # --- environments of the variants -----------------------------------------------------------------

    def env_local(self, bsdir):
        env = clean_env()
        env["BSTEST_DIR"] = bsdir
        env["BSTEST_SHIPPER"] = self.bstest
        return env

    def env_ship(self, bsdir, report, extra=None, server=None):
        server = server or self.server
        env = clean_env()
        env["BSTEST_DIR"] = bsdir
        env["BETTERSTACK_SOURCE_TOKEN"] = server.token
        env["BETTERSTACK_INGEST_HOST"] = server.origin
        env["BSTEST_SHIPPER"] = self.wrap
        env["BENCH_REAL_SHIPPER"] = self.bstest
        env["BENCH_SHIPPER_REPORT"] = report
        if extra:
            env.update(extra)
        return env

    # --- one run of one variant --------------------------------------------------------------------------

    def run_variant(self, kind, framework, binaries, n, extra_env=None, wait_report_s=3.0):
        d = self.fresh(f"{framework}{n}-{kind}")
        err = os.path.join(d, "stderr.txt")
        out = {}
        size = {"BENCH_TESTS": str(n)}
        extra = dict(size, **(extra_env or {}))
        if kind == "bare":
            r = run_measured([binaries["bare"]], dict(clean_env(), **extra), err)
        elif kind == "json":
            if framework == "gtest":
                argv = [binaries["bare"], f"--gtest_output=json:{os.path.join(d, 'report.json')}"]
            else:
                argv = [binaries["bare"], "-r", "console", "-r", f"JUnit::out={os.path.join(d, 'report.xml')}"]
            r = run_measured(argv, dict(clean_env(), **extra), err)
        elif kind == "local":
            bsdir = os.path.join(d, "bs")
            r = run_measured([binaries["bstest"]], dict(self.env_local(bsdir), **extra), err)
            jdir = os.path.join(bsdir, "journal")
            out["journal_bytes"] = sum(os.path.getsize(os.path.join(jdir, f)) for f in os.listdir(jdir)) \
                if os.path.isdir(jdir) else 0
        elif kind in ("ship", "count"):
            server = self.server if kind == "ship" else self.counter
            bsdir = os.path.join(d, "bs")
            report = os.path.join(d, "shipper.json")
            server.reset()
            r = run_measured([binaries["bstest"]], self.env_ship(bsdir, report, extra, server), err)
            out.update(self.shipper_report(report, r, wait_report_s))
            out["server"] = server.stats()
        else:
            raise ValueError(kind)
        r.update(out)
        r["stderr"] = open(err, errors="replace").read()[-2000:]
        if r["exit_code"] != 0:
            self.note(f"{framework} {n} {kind}: exit code {r['exit_code']}: {r['stderr'].strip()[-300:]}")
        if not self.args.keep:
            rmtree(d)
        return r

    def shipper_report(self, path, r, wait_s):
        deadline = time.monotonic() + wait_s
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)
        line = read_first_line(path)
        if not line:
            return {"shipper": None}
        s = json.loads(line)
        res = {
            "shipper": s,
            "shipper_cpu": (s["user_us"] + s["sys_us"]) / 1e6,
            "shipper_maxrss_kb": s["maxrss_kb"],
            "shipper_wall": (s["exit_ns"] - s["spawn_ns"]) / 1e9,
        }
        if s["wake_closed_ns"] > 0:
            # The wait: from the test process closing the wake pipe until the end of file on its notify pipe,
            # which comes as the shipper exits (the wrapper relays the pipe and times its end of file before
            # the test process can see it). When that end of file came after the test process was gone, the
            # test stopped waiting at its own deadline, a moment not seen from outside: the wait is then
            # unknown (None) and hit_deadline is set.
            eof = s.get("notify_eof_ns", -1)
            res["hit_deadline"] = eof < 0 or eof > r["t_exit_ns"]
            res["exit_wait_ms"] = None if res["hit_deadline"] else (eof - s["wake_closed_ns"]) / 1e6
            # Until the test process is gone, its own exit work included (destructors, unmapping).
            res["exit_total_ms"] = (r["t_exit_ns"] - s["wake_closed_ns"]) / 1e6
        return res

    def note(self, text):
        say("  note: " + text)
        self.results["notes"].append(text)

    # --- the suites --------------------------------------------------------------------------------------

    def suites(self):
        plan = []
        for n in self.args.sizes:
            b = {"bare": self.prog("gtest-bare"), "bstest": self.prog("gtest-bstest")}
            if b["bare"] and b["bstest"]:
                plan.append(("gtest", n, b, ["bare", "json", "local", "ship", "count"]))
            else:
                self.note(f"gtest {n}: programs not built")
        if not self.args.no_catch2:
            n = CATCH2_SIZE
            b = {"bare": self.prog("catch2-bare"), "bstest": self.prog("catch2-bstest")}
            if b["bare"]:
                kinds = ["bare", "json"] + (["local", "ship"] if b["bstest"] else [])
                if not b["bstest"]:
                    self.note("Catch2: no catch2-bstest program (bstest-catch2-main was not found when "
                              "build/bench was configured): only the bare and JUnit runs")
                plan.append(("catch2", n, b, kinds))
            else:
                self.note("Catch2 3.x programs not built (configure with --force-fallback-for=catch2)")
        for framework, n, binaries, kinds in plan:
            rounds = self.args.runs if n >= 100000 else self.args.small_runs
            say(f"== {framework} suite of {n} tests: {rounds} interleaved rounds of {', '.join(kinds)}")
            runs = {k: [] for k in kinds}
            for rnd in range(rounds):
                order = kinds[rnd % len(kinds):] + kinds[:rnd % len(kinds)]
                for kind in order:
                    runs[kind].append(self.run_variant(kind, framework, binaries, n))
            self.results["suites"][f"{framework}-{n}"] = {"framework": framework, "n": n, "runs": runs}
            self.print_suite(framework, n, runs)

    def print_suite(self, framework, n, runs):
        bare = runs["bare"]
        for kind, rs in runs.items():
            w = median([r["wall"] for r in rs])
            c = median([r["cpu_self"] for r in rs])
            m = median([r["maxrss_kb"] for r in rs]) / 1024
            wr = w / median([r["wall"] for r in bare])
            say(f"  {kind:6s} wall {w:7.3f} s ({wr:5.2f}x)  cpu {c:7.3f} s  rss {m:6.1f} MiB")

    # --- record cost on the test's thread ----------------------------------------------------------------

    def record_cost(self):
        prog = self.prog("record-cost")
        if not prog:
            self.note("record-cost not built")
            return
        say("== record cost on the test's thread (public Session API, encode + journal append)")
        res = []
        for i in range(self.args.runs):
            d = self.fresh("record-cost")
            tests = "20000" if self.args.quick else "100000"
            out = os.path.join(d, "out.json")
            m = run_measured([prog, "--dir", os.path.join(d, "bs"), "--tests", tests, "--repeats", "1"], clean_env(),
                             os.path.join(d, "stderr.txt"), stdout_path=out)
            with open(out) as f:
                r = json.loads(f.readline())
            r["others_cores"] = m["machine_busy_cores"] - m["cpu_total"] / m["wall"]
            res.append(r)
            rmtree(d)
        self.results["record_cost"] = res
        b = median([r["batch_median"] for r in res])
        p50 = median([r["all"]["p50"] for r in res])
        p99 = median([r["all"]["p99"] for r in res])
        say(f"  {b:.0f} ns per record (whole loop); per call: p50 {p50:.0f} ns, p99 {p99:.0f} ns")

    # --- the report of a large run ---------------------------------------------------------------------

    def report_cost(self):
        """`bstest report` of a finished 100,000-test run (one test in 1,000 fails): the time to write each format
        and all three, and their sizes. The journal is written once, without network (BSTEST_RETRIES=0: no
        re-run; reading re-runs' journals is the same work)."""
        prog = self.prog("gtest-bstest")
        if not prog:
            self.note("report: gtest-bstest not built")
            return
        n = 10000 if self.args.quick else 100000
        d = self.fresh("report")
        bsdir = os.path.join(d, "bs")
        env = dict(self.env_local(bsdir), BENCH_TESTS=str(n), BENCH_FAIL_EVERY="1000", BSTEST_RETRIES="0")
        subprocess.run([prog], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        journal = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(bsdir) for f in fs
                      if f.endswith(".journal"))
        say(f"== report of a {n:,}-test run ({journal / MIB:.0f} MiB of journal), {self.args.runs} runs per format")
        formats = {"junit": ["--junit"], "html": ["--html"], "markdown": ["--markdown"],
                   "all three": ["--junit", "--html", "--markdown"]}
        names = {"--junit": "report.xml", "--html": "report.html", "--markdown": "report.md"}
        res = {"tests": n, "journal_bytes": journal, "formats": {}}
        for rnd in range(self.args.runs):
            for label, opts in formats.items():
                argv = [self.bstest, "report", bsdir]
                for o in opts:
                    argv += [o, os.path.join(d, names[o])]
                r = run_measured(argv, clean_env(), os.path.join(d, "stderr.txt"))
                if r["exit_code"] != 0:
                    self.note(f"report {label}: exit code {r['exit_code']}: {open(os.path.join(d, 'stderr.txt')).read()[-300:]}")
                r["bytes"] = {o: os.path.getsize(os.path.join(d, names[o])) for o in opts}
                res["formats"].setdefault(label, []).append(r)
        for label, rs in res["formats"].items():
            say(f"  {label:9s} wall {median([r['wall'] for r in rs]):.3f} s  cpu {median([r['cpu_total'] for r in rs]):.3f} s"
                f"  rss {median([r['maxrss_kb'] for r in rs]) / 1024:.0f} MiB")
        self.results["report"] = res
        if not self.args.keep:
            rmtree(d)

    # --- what a test program pays once, at start and exit ---------------------------------------------------

    def fixed_cost(self):
        """The 1,000-test programs with no test selected: bare; bare with libcurl (and what it needs) loaded;
        with bstest. bstest's test programs link libcurl, though only the shipper uses it."""
        bare = self.prog("gtest-bare")
        bst = self.prog("gtest-bstest")
        if not bare or not bst:
            return
        curl = ""
        try:
            out = subprocess.run(["ldd", bst], capture_output=True, text=True).stdout
            for line in out.splitlines():
                if "libcurl" in line and "=>" in line:
                    curl = line.split("=>")[1].split()[0]
        except OSError:
            pass
        say(f"== fixed cost per test program: 1,000-test programs with no test selected, {self.args.small_runs} rounds")
        kinds = [("bare", bare, {"BENCH_TESTS": "1000"}), ("bstest", bst, None)]
        if curl:
            kinds.insert(1, ("bare + libcurl loaded", bare, {"BENCH_TESTS": "1000", "LD_PRELOAD": curl}))
        res = {k[0]: [] for k in kinds}
        for rnd in range(self.args.small_runs):
            for name, prog, extra in kinds:
                d = self.fresh("fixed")
                env = dict(self.env_local(os.path.join(d, "bs")), BENCH_TESTS="1000") if extra is None else \
                    dict(clean_env(), **extra)
                r = run_measured([prog, "--gtest_filter=-*"], env, os.path.join(d, "stderr.txt"))
                res[name].append(r)
                rmtree(d)
        self.results["fixed_cost"] = {"libcurl": curl, "runs": res}
        for name, rs in res.items():
            say(f"  {name:22s} cpu {median([r['cpu_self'] for r in rs]) * 1e3:6.1f} ms  peak RSS "
                f"{median([r['maxrss_kb'] for r in rs]) / 1024:5.1f} MiB  page faults {median([r['minflt'] for r in rs]):.0f}")

    # --- the journal's ways of writing, on this machine --------------------------------------------------

    def json_runs(self, what, argv_in):
        """Runs a program that prints one JSON object, --runs times, each with a fresh folder (argv_in(folder))."""
        res = []
        for i in range(self.args.runs):
            d = self.fresh(what)
            res.append(json.loads(subprocess.run(argv_in(d), capture_output=True, text=True, check=True).stdout))
            rmtree(d)
        return res

    def page_cost(self):
        prog = self.prog("page-cost")
        if not prog:
            return
        say("== page cost: ns per 520-byte record by way of writing, on the journal's disk")
        res = self.json_runs("page-cost", lambda d: [prog, d])
        self.results["page_cost"] = res
        say("  " + ", ".join(f"{k} {median([r[k] for r in res]):.1f}" for k in res[0] if k != "record_bytes"))

    # --- what compressing a Logs batch costs ------------------------------------------------------------

    def compress_cost(self):
        prog = self.prog("compress-cost")
        if not prog:
            return
        say("== compress cost: CPU per record of each encoding of a Logs batch (1,000 records)")
        res = self.json_runs("compress-cost", lambda d: [prog, "--repeats", "3"])
        self.results["compress_cost"] = res
        for e in res[0]["encodings"]:
            xs = [next(x for x in r["encodings"] if x["name"] == e["name"])["cpu_ns_per_record"] for r in res]
            say(f"  {e['name']:22s} {median(xs):7.1f} ns per record, ratio {e['ratio']:.1f}x")

    # --- what stacks add: a throw with throw stacks on, a crash's snapshot -------------------------------

    def stack_cost(self):
        progs = {name: self.prog(name) for name in
                 ("throw-cost-bare", "throw-cost-bstest-off", "throw-cost-bstest", "crash-stack-cost")}
        if not all(progs.values()):
            self.note("stack cost: throw-cost-* or crash-stack-cost not built")
            return
        say("== stack cost: a throw (EXPECT_THROW three calls deep), and a crash's stack snapshot")
        res = {name: [] for name in progs}
        for i in range(self.args.runs):
            for name, prog in progs.items():
                out = subprocess.run([prog], capture_output=True, text=True, env=clean_env(), check=False).stdout
                res[name] += [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        # From a segfault in a test to the process's death, without and with bstest (its crash handler writes
        # the stack snapshot and the crash record, then hands the fault on).
        death = self.prog("crash-to-death")
        if death:
            res["crash-to-death"] = []
            for i in range(self.args.runs):
                d = self.fresh("crash-to-death")
                out = subprocess.run([death, "--dir", d, "--runs", "30"], capture_output=True, text=True,
                                     env=clean_env(), check=False).stdout
                res["crash-to-death"] += [json.loads(l) for l in out.splitlines() if l.startswith("{")]
                rmtree(d)
        else:
            self.note("stack cost: crash-to-death not built")
        self.results["stack_cost"] = res
        note = [r for r in res["throw-cost-bstest"] if "ns_per_note_throw_stack" in r]
        crash = res["crash-stack-cost"]
        say(f"  throw stack copy {median([r['ns_per_note_throw_stack'] for r in note]):.1f} ns; crash snapshot "
            f"{median([r['ns_per_capture'] for r in crash]) / 1e3:.1f} us")
        for child in ("bare", "bstest"):
            ms = [r["ms_to_death"] for r in res.get("crash-to-death", []) if r.get("child") == child]
            if ms:
                say(f"  crash to death, {child}: {median(ms):.2f} ms")

    # --- the shipper's throughput ------------------------------------------------------------------------

    def throughput(self):
        """`bstest ship --dir` of finished journals: the 10,000-test suite's (10,002 records, which fit in the
        shipper's 16 MiB read-ahead buffer) once per run; then the 100,000-test suite's, repeated until
        everything is sent, since one `bstest ship` stops after what fits in that buffer."""
        res = {"small": [], "large": None}
        small = large = self.prog("gtest-bstest")
        if small:
            say("== shipper throughput: `bstest ship` of a finished 10,000-test journal into the local server")
            src = self.fresh("throughput-src")
            run_measured([small], dict(self.env_local(os.path.join(src, "bs")), BENCH_TESTS="10000"),
                         os.path.join(src, "stderr.txt"))
            for i in range(self.args.runs):
                res["small"].append(self.ship_dir(os.path.join(src, "bs")))
            rmtree(src)
            rps = median([r["server"]["records"] / r["wall"] for r in res["small"]])
            say(f"  {rps:,.0f} records/s; {res['small'][0]['server']['records']:,} records per run")
        if large and not self.args.quick:
            say("== shipper: `bstest ship` of a finished 100,000-test journal, repeated until all is sent")
            src = self.fresh("throughput-src")
            run_measured([large], dict(self.env_local(os.path.join(src, "bs")), BENCH_TESTS="100000"),
                         os.path.join(src, "stderr.txt"))
            d = self.fresh("throughput")
            shutil.copytree(os.path.join(src, "bs"), os.path.join(d, "bs"))
            calls = []
            for i in range(20):
                r = self.ship_dir(os.path.join(d, "bs"), copy=False)
                calls.append(r)
                if "not yet sent" not in r["stderr"] or r["server"]["records"] == 0:
                    break
            res["large"] = calls
            rmtree(src)
            rmtree(d)
            sent = sum(r["server"]["records"] for r in calls)
            wall = sum(r["wall"] for r in calls)
            say(f"  {len(calls)} invocations, {sent:,} records, {sent / wall:,.0f} records/s overall")
        self.results["throughput"] = res

    def ship_dir(self, bsdir, copy=True):
        d = self.fresh("throughput")
        if copy:
            shutil.copytree(bsdir, os.path.join(d, "bs"))
            bsdir = os.path.join(d, "bs")
        env = self.env_ship(bsdir, os.path.join(d, "unused.json"))
        env["BSTEST_FLUSH_TIMEOUT_MS"] = "120000"
        self.server.reset()
        err = os.path.join(d, "stderr.txt")
        r = run_measured([self.bstest, "ship", "--dir", bsdir], env, err)
        r["server"] = self.server.stats()
        r["stderr"] = open(err, errors="replace").read()[-1000:]
        rmtree(d)
        return r

    # --- latency during long runs ------------------------------------------------------------------------

    def latency(self):
        plans = [(1000, 12000, "~80 tests/s"), (10000, 1000, "~800 tests/s")]
        if self.args.quick:
            plans = [(1000, 5000, "~190 tests/s")]
        res = []
        prog = self.prog("gtest-bstest")
        for n, sleep_us, rate in plans:
            if not prog:
                continue
            say(f"== latency, long run: gtest {n:,} tests, each sleeping {sleep_us} us ({rate})")
            r = self.run_variant("ship", "gtest", {"bstest": prog}, n, {"BENCH_TEST_SLEEP_US": str(sleep_us)})
            r["program"] = f"gtest {n:,}"
            r["sleep_us"] = sleep_us
            r["rate"] = rate
            lat = r["server"]["latency_us"]
            say(f"  {r['wall']:.1f} s; test end -> server: median {lat['p50']/1e6:.3f} s, p99 {lat['p99']/1e6:.3f} s,"
                f" max {lat['max']/1e6:.3f} s over {lat['n']} records")
            res.append(r)
        self.results["latency"] = res

    # --- exit with the server down -----------------------------------------------------------------------

    def server_down(self):
        prog = self.prog("gtest-bstest")
        if not prog:
            return
        plans = [(1000, self.args.runs), (5000, 1)]
        down = self.server.cmd("down").split()
        closed_origin = down[1] if len(down) > 1 else "http://127.0.0.1:9"
        res = []
        try:
            for timeout_ms, count in plans:
                say(f"== server down (connections refused): gtest 10,000, BSTEST_FLUSH_TIMEOUT_MS={timeout_ms}"
                    f", {count} runs")
                for i in range(count):
                    r = self.run_variant("ship", "gtest", {"bstest": prog}, 10000,
                                         {"BSTEST_FLUSH_TIMEOUT_MS": str(timeout_ms),
                                          "BETTERSTACK_INGEST_HOST": closed_origin},
                                         wait_report_s=timeout_ms / 1000 + 10)
                    r["timeout_ms"] = timeout_ms
                    res.append(r)
                    wait = "its deadline (the shipper outlived it)" if r.get("hit_deadline") else \
                        f"{r.get('exit_wait_ms') or float('nan'):.1f} ms"
                    say(f"  waited {wait}, process gone after {r.get('exit_total_ms', float('nan')):.1f} ms "
                        f"(deadline {timeout_ms} ms)")
        finally:
            self.server.cmd("up")
        self.results["server_down"] = res

    # --- all ---------------------------------------------------------------------------------------------

    def run(self):
        t0 = time.monotonic()
        prog = self.prog("fake-betterstack")
        if not prog or not all(os.access(p, os.X_OK) for p in (self.bstest, self.wrap, MEASURE)):
            raise SystemExit(f"run.py: build {self.build} first (fake-betterstack, shipper-wrap, measure, cli/bstest)")
        self.server = Server(prog)
        self.counter = Server(prog, count_only=True)
        self.results["loadavg_start"] = loadavg()
        try:
            self.results["machine"] = machine_info(self.build, self.bstest)
            self.results["phases"] = {}
            for name, phase in (("suites", self.suites), ("fixed cost", self.fixed_cost),
                                ("record cost", self.record_cost), ("page cost", self.page_cost),
                                ("compress cost", self.compress_cost),
                                ("stack cost", self.stack_cost),
                                ("throughput", self.throughput), ("latency", self.latency),
                                ("server down", self.server_down), ("report", self.report_cost)):
                t = time.monotonic()
                phase()
                self.results["phases"][name] = time.monotonic() - t
        finally:
            self.server.close()
            self.counter.close()
            if not self.args.keep:
                rmtree(self.work)
        self.results["elapsed_s"] = time.monotonic() - t0
        self.results["loadavg_end"] = loadavg()
        return self.results


# ---------------------------------------------------------------------------------------------------------
# machine and versions

def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine_info(build, bstest):
    info = {"cores": os.cpu_count(), "cpu": "", "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    info["compiler"] = ""
    info["gtest"] = ""
    info["catch2"] = ""
    info["buildtype"] = ""
    try:
        with open(os.path.join(build, "meson-logs", "meson-log.txt"), errors="replace") as f:
            for line in f:
                if "C++ compiler for the host machine:" in line:
                    info["compiler"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open(os.path.join(build, "meson-info", "intro-projectinfo.json")) as f:
            for sp in json.load(f).get("subprojects", []):
                if sp.get("name") == "catch2":
                    info["catch2"] = sp.get("version", "") + " (Meson wrap)"
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(build, "meson-info", "intro-dependencies.json")) as f:
            for d in json.load(f):
                if d.get("name") == "gtest" and not info["gtest"]:
                    info["gtest"] = d.get("version", "")
                if d.get("name") == "catch2" and not info["catch2"]:
                    info["catch2"] = d.get("version", "")
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            for o in json.load(f):
                if o["name"] in ("buildtype", "b_ndebug"):
                    info[o["name"]] = o["value"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        info["bstest"] = subprocess.run([bstest, "version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        info["bstest"] = ""
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        info["git"] = subprocess.run(["git", "-C", src, "describe", "--always", "--dirty"], capture_output=True,
                                     text=True).stdout.strip()
    except OSError:
        info["git"] = ""
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


# ---------------------------------------------------------------------------------------------------------
# the report

def fmt_range(xs, f="{:.3f}"):
    return f"{f.format(min(xs))}–{f.format(max(xs))}"


def suite_rows(res):
    """Rows of the main table: one per suite and variant."""
    rows = []
    names = {"bare": "bare", "json": "--gtest_output=json", "local": "bstest, no network",
             "ship": "bstest, shipping to local server", "count": "bstest, shipping to a server that only counts"}
    for key, s in res["suites"].items():
        runs = s["runs"]
        bare = runs["bare"]
        bw = median([r["wall"] for r in bare])
        bc = median([r["cpu_self"] for r in bare])
        bm = median([r["maxrss_kb"] for r in bare])
        for kind, rs in runs.items():
            label = names[kind]
            if s["framework"] == "catch2" and kind == "json":
                label = "-r JUnit::out=file"
            w = [r["wall"] for r in rs]
            c = [r["cpu_self"] for r in rs]
            m = [r["maxrss_kb"] for r in rs]
            paired = [r["wall"] / b["wall"] for r, b in zip(rs, bare)]
            row = {
                "suite": f"{s['framework']} {s['n']:,}",
                "variant": label,
                "kind": kind,
                "n": s["n"],
                "framework": s["framework"],
                "wall": median(w), "wall_range": fmt_range(w),
                "wall_ratio": median(w) / bw, "wall_ratio_range": fmt_range(paired, "{:.2f}"),
                "cpu": median(c), "cpu_range": fmt_range(c), "cpu_ratio": median(c) / bc,
                "rss_mib": median(m) / 1024, "rss_ratio": median(m) / bm, "rss_delta_mib": (median(m) - bm) / 1024,
                "runs": len(rs),
                "minflt": median([r["minflt"] for r in rs]),
                "minflt_per_test_above_bare": (median([r["minflt"] for r in rs]) - median([r["minflt"] for r in bare]))
                / s["n"],
                "others_cores": median([r["machine_busy_cores"] - (r["cpu_total"] + r.get("server", {}).get("cpu_ms", 0)
                                                                   / 1000) / r["wall"] for r in rs]),
            }
            if kind == "count":
                sc = [r["shipper_cpu"] for r in rs if r.get("shipper_cpu") is not None]
                sm = [r["shipper_maxrss_kb"] for r in rs if r.get("shipper_maxrss_kb") is not None]
                row.update({"shipper_cpu": median(sc) if sc else None,
                            "shipper_rss_mib": median(sm) / 1024 if sm else None,
                            "server_cpu_ms": median([r["server"]["cpu_ms"] for r in rs])})
            if kind == "ship":
                sc = [r["shipper_cpu"] for r in rs if r.get("shipper_cpu") is not None]
                sm = [r["shipper_maxrss_kb"] for r in rs if r.get("shipper_maxrss_kb") is not None]
                ew = [r["exit_wait_ms"] for r in rs if r.get("exit_wait_ms") is not None]
                et = [r["exit_total_ms"] for r in rs if r.get("exit_total_ms") is not None]
                lat = [r["server"]["latency_us"]["p50"] / 1e6 for r in rs]
                recs = [r["server"]["records"] for r in rs]
                row.update({
                    "shipper_cpu": median(sc) if sc else None,
                    "shipper_rss_mib": median(sm) / 1024 if sm else None,
                    "exit_wait_ms": median(ew) if ew else None,
                    "exit_wait_max_ms": max(ew) if ew else None,
                    "exit_total_ms": median(et) if et else None,
                    "exit_total_max_ms": max(et) if et else None,
                    "latency_p50_s": median(lat),
                    "records": min(recs),
                    "cpu_total": median([r["cpu_total"] for r in rs]),
                    "server_cpu_ms": median([r["server"]["cpu_ms"] for r in rs]),
                    # What Better Stack counts against the quota: uncompressed JSON, per test of the suite
                    # (every test passes), the run's own records included.
                    "json_bytes_per_test": median([r["server"]["bytes_decoded"] for r in rs]) / s["n"],
                    "records_per_test": median(recs) / s["n"],
                    "shipper_us_per_record": (median(sc) / min(recs) * 1e6) if sc and min(recs) else None,
                })
            rows.append(row)
    return rows


def verdict(ok):
    return "**met**" if ok else "**missed**"


def compress_cost_lines(L, cc):
    L.append("## What compressing a Logs batch costs")
    L.append("")
    L.append(f"compress-cost encodes the test_finished records of {cc[0]['records']:,} passing value-parameterized tests "
             f"(written by bstest's own record writers, {cc[0]['json_bytes_per_record']:.0f} bytes of JSON each) in "
             f"batches of {cc[0]['batch']:,}, as the shipper sends them; the best of 3 repeats counts, {len(cc)} runs "
             "(medians, with the range). The shipper sends gzip'd NDJSON: libdeflate level 1 when built with "
             "libdeflate, zlib level 1 otherwise.")
    L.append("")
    L.append("| encoding | CPU ns per record (range) | bytes per record | JSON / encoded |")
    L.append("|---|---|---|---|")
    for e in cc[0]["encodings"]:
        rows = [next(x for x in r["encodings"] if x["name"] == e["name"]) for r in cc]
        xs = [x["cpu_ns_per_record"] for x in rows]
        L.append(f"| {e['name']} | {median(xs):.0f} ({fmt_range(xs, '{:.0f}')}) | "
                 f"{median([x['bytes_per_record'] for x in rows]):.1f} | {median([x['ratio'] for x in rows]):.1f}x |")
    L.append("")


def compress_ns(res, name):
    cc = res.get("compress_cost")
    if not cc:
        return None
    xs = [x["cpu_ns_per_record"] for r in cc for x in r["encodings"] if x["name"] == name]
    return median(xs) if xs else None


def stack_cost_lines(L, sc):
    def col(name, key, child=None):
        return [r[key] for r in sc.get(name, []) if key in r and (child is None or r.get("child") == child)]
    L.append("## What stacks cost")
    L.append("")
    L.append("throw-cost-* run one GoogleTest test of 1,000,000 `EXPECT_THROW`s three calls deep in 20 rounds (the "
             "fastest round counts); throw-cost-bstest alternates rounds with throw stacks on and off, then times "
             "the stack copy alone (`note_throw_stack()`, from the same depth). crash-stack-cost raises a signal "
             "2,000 times from three calls deep, its handler taking the crash's snapshot (registers, up to 32 KiB "
             "of stack, the modules with their build-ids), against an empty handler. crash-to-death runs a program "
             "that segfaults three calls deep inside a test, 30 times per round, without bstest and with a Session "
             "(no network: its handler writes the snapshot and the crash record into the journal, then hands the "
             "fault on), and takes the time from just before the fault to the parent reaping the dead child (core "
             "dumps off). The per-throw cost added is `a throw, throw stacks on` minus `GoogleTest alone`; the "
             "goal is under 1 µs.")
    L.append("")
    L.append("| measure | median | range |")
    L.append("|---|---|---|")
    rows = [("a throw, GoogleTest alone, ns", col("throw-cost-bare", "ns_per_throw")),
            ("a throw, with bstest's __cxa_throw interposition, ns", col("throw-cost-bstest-off", "ns_per_throw")),
            ("a throw, throw stacks on, ns", col("throw-cost-bstest", "ns_per_throw")),
            ("a throw, throw stacks off (same process), ns", col("throw-cost-bstest", "ns_per_throw_stacks_off")),
            ("the stack copy of a throw alone, ns", col("throw-cost-bstest", "ns_per_note_throw_stack")),
            ("a crash's stack snapshot in its signal handler, µs",
             [x / 1e3 for x in col("crash-stack-cost", "ns_per_capture")]),
            ("an empty signal handler, µs", [x / 1e3 for x in col("crash-stack-cost", "ns_per_empty_handler")]),
            ("from a crash to the process's death, without bstest, µs",
             [x * 1e3 for x in col("crash-to-death", "ms_to_death", "bare")]),
            ("from a crash to the process's death, with bstest, µs",
             [x * 1e3 for x in col("crash-to-death", "ms_to_death", "bstest")])]
    for label, xs in rows:
        if xs:
            L.append(f"| {label} | {median(xs):.1f} | {fmt_range(xs, '{:.1f}')} |")
    on, bare = col("throw-cost-bstest", "ns_per_throw"), col("throw-cost-bare", "ns_per_throw")
    if on and bare:
        added = median(on) - median(bare)
        L.append("")
        L.append(f"Added per throw by throw stacks and the interposition: {added:.0f} ns (goal: under 1 µs, "
                 f"{verdict(added < 1000)}).")
    L.append("")


def report(res, args):
    m = res["machine"]
    L = []
    L.append("# bstest benchmark results")
    L.append("")
    L.append(f"Written by `./dev bench` (bench/run.py) on {m['date']}.")
    L.append("")
    L.append(f"- Machine: {m['cores']} cores, {m['cpu']}, {m.get('memory_gib', '?')} GiB, Linux {m['kernel']}")
    L.append(f"- Versions: {m['compiler']}; GoogleTest {m['gtest']}; Catch2 {m['catch2'] or '-'}; "
             f"{m['bstest']} (source {m['git']}); build {m.get('buildtype', '?')}, b_ndebug={m.get('b_ndebug', '?')}")
    L.append("- The local server (the stand-in for Better Stack) runs on the same cores and spends CPU inflating and "
             "parsing every record (\"server CPU\" below); against the real service that work is not on this "
             "machine.")
    L.append(f"- {args.small_runs} interleaved runs per variant for suites of up to 10,000 tests, {args.runs} for "
             f"the 100,000-test suite and the other measures (order rotated each round); medians, with the range "
             f"(min–max) of the runs. Ratios are to the bare run of the same suite; the wall ratio's range is "
             f"of the per-round paired ratios. Journals and reports are written to the build's disk.")
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in res.get("phases", {}).items())
    L.append(f"- The whole benchmark took {res['elapsed_s']:.0f} s ({phases}); load average {res['loadavg_start']} at its start, "
             f"{res['loadavg_end']} at its end (the machine is shared: see \"others' load\" below).")
    L.append("")

    rows = suite_rows(res)
    L.append("## Suites")
    L.append("")
    L.append("CPU and peak RSS are the test process's own (CPU from /proc/PID/schedstat of its zombie, peak RSS "
             "its VmHWM at exit); the shipper's are in their own columns.")
    L.append("")
    L.append("| suite | variant | wall s (range) | wall × bare (paired range) | CPU s (range) | CPU × bare "
             "| others' load, cores |")
    L.append("|---|---|---|---|---|---|---|")
    for r in rows:
        L.append(f"| {r['suite']} | {r['variant']} | {r['wall']:.3f} ({r['wall_range']}) | {r['wall_ratio']:.2f}x "
                 f"({r['wall_ratio_range']}) | {r['cpu']:.3f} ({r['cpu_range']}) | {r['cpu_ratio']:.2f}x | "
                 f"{r['others_cores']:.2f} |")
    L.append("")
    L.append("\"Others' load\" is how busy the machine's cores were with processes other than the run's own (test "
             "program, shipper, local server) during the run: the machine is shared, and wall times stretch with it.")
    L.append("")
    L.append("| suite | variant | peak RSS MiB | RSS × bare (Δ MiB) | page faults per test above bare | shipper CPU s "
             "| shipper peak RSS MiB | exit wait ms, median (max) | test end → server, median s |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        sc = f"{r['shipper_cpu']:.3f}" if r.get("shipper_cpu") is not None else ""
        sm = f"{r['shipper_rss_mib']:.1f}" if r.get("shipper_rss_mib") is not None else ""
        ew = f"{r['exit_wait_ms']:.1f} ({r['exit_wait_max_ms']:.1f})" if r.get("exit_wait_ms") is not None else ""
        la = f"{r['latency_p50_s']:.3f}" if r.get("latency_p50_s") is not None else ""
        L.append(f"| {r['suite']} | {r['variant']} | {r['rss_mib']:.1f} | {r['rss_ratio']:.2f}x "
                 f"({r['rss_delta_mib']:+.1f}) | {r['minflt_per_test_above_bare']:.2f} | {sc} | {sm} | {ew} | {la} |")
    L.append("")
    per_test = []
    for r in rows:
        if r["kind"] in ("local", "ship", "count") and r["framework"] == "gtest":
            base = next(x for x in rows if x["suite"] == r["suite"] and x["kind"] == "bare")
            per_test.append(f"{r['suite']} {r['kind']}: {(r['cpu'] - base['cpu']) / r['n'] * 1e6:.2f} µs CPU and "
                            f"{(r['wall'] - base['wall']) / r['n'] * 1e6:.2f} µs wall per test")
    if per_test:
        L.append("Added per test, on the test process (difference of medians / tests): " + "; ".join(per_test) + ".")
        L.append("")

    # record cost
    rc = res.get("record_cost")
    if rc:
        L.append("## One record on the test's thread")
        L.append("")
        b = [r["batch_median"] for r in rc]
        jb = sum(r["journal_bytes"] for r in rc) / max(1, sum(r["journal_lines"] for r in rc))
        L.append(f"record-cost drives a Session through the public API (test_started + test_finished, one record "
                 f"each, {rc[0]['tests']:,} tests per run, {len(rc)} runs, average record {jb:.0f} bytes). "
                 f"Clock read overhead {rc[0]['timer_overhead_ns']} ns, subtracted from the per-call figures. "
                 "No companion runs (no network), so the writer empties its ring into the journal file itself: the "
                 "whole loop's mean and the p999 include those writes (512 KiB per pwrite(), the last way page-cost "
                 "measures); while shipping, the companion does them.")
        L.append("")
        L.append(f"Others' load during these runs: {median([r['others_cores'] for r in rc]):.2f} cores (median).")
        L.append("")
        L.append("| measure | median of runs | range |")
        L.append("|---|---|---|")
        L.append(f"| whole loop, ns per record | {median(b):.0f} | {fmt_range(b, '{:.0f}')} |")
        for key, label in (("all", "per call, every record"), ("test_started", "per call, test_started"),
                           ("test_finished", "per call, test_finished")):
            for p in ("p50", "p90", "p99", "p999"):
                xs = [r[key][p] for r in rc]
                L.append(f"| {label}, {p}, ns | {median(xs):.0f} | {fmt_range(xs, '{:.0f}')} |")
        L.append("")

    pc = res.get("page_cost")
    if pc:
        L.append("## The journal's ways of writing, on this machine")
        L.append("")
        L.append(f"page-cost writes 64 MiB of {pc[0]['record_bytes']}-byte records on the journal's disk in each way "
                 f"({len(pc)} runs; ns per record, median and range). The journal today takes two of them: a test's "
                 "record is copied into a ring (the third way), and the ring into the journal file by large "
                 "pwrite()s, each into blocks reserved for it on ext4 (the last way).")
        L.append("")
        L.append("| way | ns per record | range |")
        L.append("|---|---|---|")
        labels = {"fresh_mapping": "memcpy into a shared file mapping, pages touched for the first time",
                  "populated": "the same, after MADV_POPULATE_WRITE of the mapping (populate included)",
                  "reused_ring": "memcpy into a 4 MiB shared mapping whose pages were touched before (a ring)",
                  "pwrite_each": "one pwrite() per record",
                  "pwrite_256k": "gathered in memory, one pwrite() per 256 KiB",
                  "pwrite_256k_reserved": "the same, each after a fallocate() of exactly its bytes "
                                          "(FALLOC_FL_KEEP_SIZE; included)"}
        for k, label in labels.items():
            if k not in pc[0] or any(r[k] < 0 for r in pc):
                continue  # a way this file system cannot take (no fallocate)
            xs = [r[k] for r in pc]
            L.append(f"| {label} | {median(xs):.1f} | {fmt_range(xs, '{:.1f}')} |")
        xs = [r["fresh_page_us"] for r in pc]
        L.append(f"| (first touch of one 4 KiB journal page, µs) | {median(xs):.2f} | {fmt_range(xs, '{:.2f}')} |")
        L.append("")

    cc = res.get("compress_cost")
    if cc:
        compress_cost_lines(L, cc)

    sc = res.get("stack_cost")
    if sc:
        stack_cost_lines(L, sc)

    fc = res.get("fixed_cost")
    if fc:
        L.append("## Fixed cost per test program")
        L.append("")
        L.append("The 1,000-test programs run with no test selected (`--gtest_filter=-*`): what a test program pays "
                 "once, at start and exit, interleaved rounds." +
                 (f" \"libcurl loaded\" is the bare program with LD_PRELOAD={fc['libcurl']}: the bstest program "
                  "links libcurl and loads its dependencies." if fc['libcurl'] else
                  " bstest's test programs do not link libcurl: whichever process sends loads it at run time."))
        L.append("")
        L.append("| program | CPU ms (range) | peak RSS MiB | page faults |")
        L.append("|---|---|---|---|")
        for name, rs in fc["runs"].items():
            c = [r["cpu_self"] * 1e3 for r in rs]
            L.append(f"| {name} | {median(c):.1f} ({fmt_range(c, '{:.1f}')}) | "
                     f"{median([r['maxrss_kb'] for r in rs]) / 1024:.1f} | {median([r['minflt'] for r in rs]):.0f} |")
        L.append("")

    tp = (res.get("throughput") or {}).get("small")
    if tp:
        L.append("## Shipper throughput into the local server")
        L.append("")
        rps = [r["server"]["records"] / r["wall"] for r in tp]
        wire = [r["server"]["bytes_received"] / r["server"]["records"] for r in tp]
        ratio = [r["server"]["bytes_decoded"] / r["server"]["bytes_received"] for r in tp]
        cpu = [r["cpu_total"] for r in tp]
        rss = [r["maxrss_kb"] / 1024 for r in tp]
        L.append(f"`bstest ship --dir` of the finished journal of the 10,000-test suite "
                 f"({tp[0]['server']['records']:,} records, {tp[0]['server']['requests']} requests), {len(tp)} runs; "
                 f"the wall time includes the program's start (dynamic linking) and its reading of the journal.")
        L.append("")
        L.append("| measure | median | range |")
        L.append("|---|---|---|")
        L.append(f"| records/s | {median(rps):,.0f} | {fmt_range(rps, '{:,.0f}')} |")
        L.append(f"| wall s | {median([r['wall'] for r in tp]):.3f} | {fmt_range([r['wall'] for r in tp])} |")
        L.append(f"| shipper CPU s | {median(cpu):.3f} | {fmt_range(cpu)} |")
        L.append(f"| shipper CPU µs per record | {median(cpu) / tp[0]['server']['records'] * 1e6:.2f} | |")
        cps = [r["server"]["records"] / r["cpu_total"] for r in tp]
        L.append(f"| records per second of shipper CPU (what one free core would give) | {median(cps):,.0f} | "
                 f"{fmt_range(cps, '{:,.0f}')} |")
        others = [r["machine_busy_cores"] - (r["cpu_total"] + r["server"]["cpu_ms"] / 1000) / r["wall"] for r in tp]
        L.append(f"| others' load during the runs, cores | {median(others):.2f} | {fmt_range(others, '{:.2f}')} |")
        L.append(f"| shipper peak RSS MiB | {median(rss):.1f} | {fmt_range(rss, '{:.1f}')} |")
        L.append(f"| server CPU s (inflate + parse) | {median([r['server']['cpu_ms'] for r in tp]) / 1000:.3f} | |")
        L.append(f"| gzip body bytes per record on the wire | {median(wire):.1f} | {fmt_range(wire, '{:.1f}')} |")
        L.append(f"| JSON bytes per record | "
                 f"{median([r['server']['bytes_decoded'] / r['server']['records'] for r in tp]):.1f} | |")
        L.append(f"| gzip ratio (JSON / gzip) | {median(ratio):.1f}x | {fmt_range(ratio, '{:.1f}')} |")
        L.append("")
    big = (res.get("throughput") or {}).get("large")
    if big:
        sent = sum(r["server"]["records"] for r in big)
        wall = sum(r["wall"] for r in big)
        per = ", ".join(f"{r['server']['records']:,}" for r in big)
        L.append(f"The 100,000-test suite's finished journal took {len(big)} `bstest ship` invocations to send "
                 f"(records sent by each: {per}; {sent:,} in all, {wall:.2f} s, {sent / wall:,.0f} records/s "
                 f"overall); each invocation had a 120 s deadline.")
        L.append("")

    rep = res.get("report")
    if rep:
        L.append("## The report of a large run")
        L.append("")
        L.append(f"`bstest report` of a finished run of {rep['tests']:,} GoogleTest tests (one in 1,000 failing; "
                 f"{rep['journal_bytes'] / MIB:.0f} MiB of journal): every journal is read and each format written, "
                 f"{len(next(iter(rep['formats'].values())))} runs each; wall and CPU of the whole command, medians "
                 f"with the range.")
        L.append("")
        L.append("| format | wall s (range) | CPU s | peak RSS MiB | file size |")
        L.append("|---|---|---|---|---|")
        for label, rs in rep["formats"].items():
            sizes = ", ".join(f"{o[2:]} {b / MIB:.1f} MiB" for o, b in rs[0]["bytes"].items())
            L.append(f"| {label} | {median([r['wall'] for r in rs]):.3f} ({fmt_range([r['wall'] for r in rs])}) | "
                     f"{median([r['cpu_total'] for r in rs]):.3f} | {median([r['maxrss_kb'] for r in rs]) / 1024:.0f} | "
                     f"{sizes} |")
        L.append("")

    lat = res.get("latency")
    if lat:
        L.append("## Test end to server, during long runs")
        L.append("")
        L.append("| run | wall s | records | median s | p90 s | p99 s | max s |")
        L.append("|---|---|---|---|---|---|---|")
        for r in lat:
            s = r["server"]["latency_us"]
            L.append(f"| {r['program']}, each test sleeps {r['sleep_us']} µs ({r['rate']}) | {r['wall']:.1f} | "
                     f"{s['n']:,} | {s['p50'] / 1e6:.3f} | {s['p90'] / 1e6:.3f} | {s['p99'] / 1e6:.3f} | "
                     f"{s['max'] / 1e6:.3f} |")
        for r in rows:
            if r["kind"] == "ship" and r.get("latency_p50_s") is not None:
                L.append(f"| {r['suite']} shipping, no sleep (median of runs' medians) | {r['wall']:.3f} | "
                         f"{r['records']:,} | {r['latency_p50_s']:.3f} | | | |")
        L.append("")

    down = res.get("server_down")
    if down or any(r.get("exit_wait_ms") is not None for r in rows):
        L.append("## Exit wait")
        L.append("")
        L.append("The wait: from the test process closing the companion's wake pipe (when it starts waiting) until "
                 "the end of file on its notify pipe, which comes as the shipper exits (the shipper is not the test "
                 "process's child: it waits for nothing else). \"Process gone\" adds the test program's own exit work after "
                 "the wait (GoogleTest's destructors, unmapping), which a bare run has too.")
        L.append("")
        L.append("| case | runs | wait, median ms | wait, max ms | process gone, median (max) ms | deadline ms |")
        L.append("|---|---|---|---|---|---|")
        for r in rows:
            if r["kind"] == "ship" and r.get("exit_wait_ms") is not None:
                L.append(f"| loopback, {r['suite']} | {r['runs']} | {r['exit_wait_ms']:.1f} | "
                         f"{r['exit_wait_max_ms']:.1f} | {r['exit_total_ms']:.1f} ({r['exit_total_max_ms']:.1f}) | 5000 |")
        for t in sorted({r["timeout_ms"] for r in down or []}):
            rs = [r for r in down if r["timeout_ms"] == t]
            ew = [r["exit_wait_ms"] for r in rs if r.get("exit_wait_ms") is not None]
            et = [r["exit_total_ms"] for r in rs if r.get("exit_total_ms") is not None]
            hits = sum(1 for r in rs if r.get("hit_deadline"))
            w = f"{median(ew):.1f} | {max(ew):.1f}" if ew else "– | –"
            if et:
                L.append(f"| server down (connections refused), gtest 10,000; runs that stopped waiting at the "
                         f"deadline: {hits} | {len(rs)} | {w} | {median(et):.1f} ({max(et):.1f}) | {t} |")
        L.append("")
        L.append("A run \"stopped waiting at the deadline\" when its shipper outlived it; its wait is then the "
                 "deadline itself, which cannot be seen from outside, and only \"process gone\" is measured.")
        L.append("")

    L.append("## Goals")
    L.append("")
    L.extend(goal_lines(res, rows))
    L.append("")
    if res["notes"]:
        L.append("## Notes from this run")
        L.append("")
        for n in res["notes"]:
            L.append(f"- {n}")
        L.append("")
    return "\n".join(L)


def goal_lines(res, rows):
    G = []
    ship = {r["n"]: r for r in rows if r["kind"] == "ship" and r["framework"] == "gtest"}
    count = {r["n"]: r for r in rows if r["kind"] == "count" and r["framework"] == "gtest"}
    big = ship.get(max(ship)) if ship else None
    if big:
        # The goal is worded for a server that only counts what arrives; the parsing server's figure beside it.
        cb = count.get(big["n"])
        judged = cb or big
        G.append(f"- Wall time, {big['suite']} shipping" + (" to a server that only counts" if cb else "") +
                 f": {judged['wall_ratio']:.2f}x bare (goal ≤ {GOALS['wall_ratio']:.2f}x): "
                 f"{verdict(judged['wall_ratio'] <= GOALS['wall_ratio'])}" +
                 (f"; {big['wall_ratio']:.2f}x to the parsing server" if cb else ""))
        G.append(f"- CPU of the test process, {big['suite']} shipping" + (" to a server that only counts" if cb else "") +
                 f": {judged['cpu_ratio']:.2f}x bare (goal ≤ {GOALS['cpu_ratio']:.2f}x): "
                 f"{verdict(judged['cpu_ratio'] <= GOALS['cpu_ratio'])}" +
                 (f"; {big['cpu_ratio']:.2f}x to the parsing server" if cb else "") +
                 f"; the shipper's own CPU beside it: {big['shipper_cpu']:.3f} s (bare test process: "
                 f"{big['cpu'] / big['cpu_ratio']:.3f} s); the parsing server used {big['server_cpu_ms'] / 1000:.3f} s")
        deltas = ", ".join(f"{ship[n]['suite']}: {ship[n]['rss_delta_mib']:+.1f} MiB" for n in sorted(ship))
        worst = max(ship[n]["rss_delta_mib"] for n in ship)
        growth = ship[max(ship)]["rss_delta_mib"] - ship[min(ship)]["rss_delta_mib"]
        per = ", ".join(f"{ship[n]['suite']}: {ship[n]['json_bytes_per_test']:.0f} B in "
                        f"{ship[n]['records_per_test']:.2f} records" for n in sorted(ship))
        G.append(f"- JSON sent per passing test, the run's records included: {per} (goal ≤ "
                 f"{GOALS['json_bytes_per_passing_test']} B): "
                 f"{verdict(big['json_bytes_per_test'] <= GOALS['json_bytes_per_passing_test'])}; at one run a night, "
                 f"{big['suite']} is {big['json_bytes_per_test'] * big['n'] * 30.4 / 1e9:.2f} GB a month")
        if big.get("shipper_us_per_record") is not None:
            us = big["shipper_us_per_record"]
            gz = compress_ns(res, "libdeflate-1")
            floor = (f"; of this, gzip alone (libdeflate level 1, compress-cost) takes {gz / 1000:.2f} µs per record, "
                     f"{gz / 1000 / us * 100:.0f}% of it" if gz else "")
            # Every test of the suite passes: two journal records each (test_started, test_finished), and the
            # run's two.
            journaled = 2 * big["n"] + 2
            start_s = SHIPPER_START["us_per_record"] * SHIPPER_START["records_per_test"] * big["n"] / 1e6
            whole = (f"; the whole suite's shipper CPU, {big['shipper_cpu']:.3f} s, is {big['shipper_cpu'] / start_s:.2f}x "
                     f"the {start_s:.3f} s that the figure of when this goal was set gives "
                     f"({SHIPPER_START['us_per_record']} µs per record, {SHIPPER_START['records_per_test']} records sent per "
                     f"passing test); per record the "
                     f"test program journaled ({journaled:,}; one per test is sent): "
                     f"{big['shipper_cpu'] / journaled * 1e6:.2f} µs")
            G.append(f"- Shipper CPU per record while the {big['suite']} suite runs: {us:.2f} µs per record sent (goal ≤ "
                     f"{GOALS['shipper_us_per_record']:.1f} µs): {verdict(us <= GOALS['shipper_us_per_record'])}{floor}{whole}")
        G.append(f"- Peak RSS above bare, shipping: {deltas} (goal ≤ {GOALS['rss_above_bare_mib']} MiB and flat): "
                 f"{verdict(worst <= GOALS['rss_above_bare_mib'] and growth <= 4)} (grows by {growth:+.1f} MiB from "
                 f"{min(ship):,} to {max(ship):,} tests)")
    rc = res.get("record_cost")
    if rc:
        p50 = median([r["all"]["p50"] for r in rc])
        b = median([r["batch_median"] for r in rc])
        p99 = median([r["all"]["p99"] for r in rc])
        p90 = median([r["all"]["p90"] for r in rc])
        G.append(f"- One record on the test's thread (goal ≤ {GOALS['ns_per_record']} ns, median): the median call takes "
                 f"{p50:.0f} ns: {verdict(p50 <= GOALS['ns_per_record'])} as the goal is worded; but the mean, what "
                 f"a suite actually pays, is {b:.0f} ns per record over a whole loop ({b / GOALS['ns_per_record']:.1f}x "
                 f"the goal): p90 {p90:.0f} ns, p99 {p99:.0f} ns: {verdict(b <= GOALS['ns_per_record'])} on the mean")
    tp = (res.get("throughput") or {}).get("small")
    if tp:
        rps = median([r["server"]["records"] / r["wall"] for r in tp])
        ratio = median([r["server"]["bytes_decoded"] / r["server"]["bytes_received"] for r in tp])
        cps = median([r["server"]["records"] / r["cpu_total"] for r in tp])
        big = (res.get("throughput") or {}).get("large")
        if big and sum(r["wall"] for r in big) > 0:
            # The goal is a rate: judged on the large journal, where the program's start (dynamic linking,
            # TLS set-up) is a small part of the time; the 10,000-record figure is mostly that start.
            brps = sum(r["server"]["records"] for r in big) / sum(r["wall"] for r in big)
            head = (f"{brps:,.0f} records/s of wall time sending the 100,000-test journal, program start included "
                    f"(goal ≥ {GOALS['shipper_records_per_s']:,}): {verdict(brps >= GOALS['shipper_records_per_s'])}; "
                    f"{rps:,.0f} records/s for the 10,000-test journal, where the start is most of the time")
        else:
            head = (f"{rps:,.0f} records/s of wall time (goal ≥ {GOALS['shipper_records_per_s']:,}): "
                    f"{verdict(rps >= GOALS['shipper_records_per_s'])}")
        G.append(f"- Shipper throughput: {head}; per second of its own CPU {cps:,.0f} records/s "
                 f"(what it would do with a core to itself); gzip {ratio:.1f}x smaller than the JSON (goal ≥ "
                 f"{GOALS['gzip_ratio']:.0f}x): {verdict(ratio >= GOALS['gzip_ratio'])}")
    lat = res.get("latency")
    if lat:
        worst = max(r["server"]["latency_us"]["p50"] for r in lat) / 1e6
        parts = ", ".join(f"{r['rate']}: {r['server']['latency_us']['p50'] / 1e6:.3f} s" for r in lat)
        G.append(f"- Test end to server during a long run, median: {parts} (goal ≤ {GOALS['latency_median_s']} s): "
                 f"{verdict(worst <= GOALS['latency_median_s'])}")
    if ship:
        ew = [ship[n]["exit_wait_max_ms"] for n in sorted(ship) if ship[n]["exit_wait_max_ms"] is not None]
        med = [ship[n]["exit_wait_ms"] for n in sorted(ship) if ship[n]["exit_wait_ms"] is not None]
        if ew and med:
            parts = ", ".join(ship[n]["suite"] + f": {x:.1f}" for n, x in zip(sorted(ship), med))
            G.append(f"- Exit wait for the last batch on loopback: medians {parts} ms; worst run {max(ew):.1f} ms "
                     f"(goal ≤ {GOALS['exit_wait_loopback_ms']} ms median at the largest suite): "
                     f"{verdict(med[-1] <= GOALS['exit_wait_loopback_ms'])}")
    down = res.get("server_down")
    if down:
        seen = [(r["exit_wait_ms"] - r["timeout_ms"], r["exit_wait_ms"], r["timeout_ms"]) for r in down
                if r.get("exit_wait_ms") is not None]
        gone = max(((r["exit_total_ms"] - r["timeout_ms"], r["exit_total_ms"], r["timeout_ms"]) for r in down
                    if r.get("exit_total_ms") is not None), default=None)
        hits = sum(1 for r in down if r.get("hit_deadline"))
        ok = all(x[0] <= 0 for x in seen)
        text = (f"- Exit wait with the server down (goal: never more than BSTEST_FLUSH_TIMEOUT_MS): {len(down)} runs; "
                f"{hits} stopped waiting at their deadline (the shipper outlived them); in the others the shipper was "
                f"gone after at most " + (f"{max(seen)[1]:.1f} ms ({max(seen)[2]} ms deadline)" if seen else "–") +
                f": {verdict(ok)} for the wait itself")
        if gone:
            text += (f"; the test process itself was gone at worst {gone[1]:.1f} ms after it started waiting "
                     f"({gone[2]} ms deadline: " +
                     (f"{gone[0]:.1f} ms over it, its own exit work after the wait)" if gone[0] > 0 else
                      f"{-gone[0]:.1f} ms within it)"))
        G.append(text)
    return G


# ---------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the build folder (build/bench)")
    ap.add_argument("--runs", type=int, default=5,
                    help="runs per variant of the 100,000-test suite and of the other measures (at least 5; default 5)")
    ap.add_argument("--small-runs", type=int, default=7,
                    help="interleaved runs per variant of the suites of 10,000 tests and fewer (default 7)")
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="GoogleTest suite sizes")
    ap.add_argument("--quick", action="store_true", help="fewer and shorter runs (a smoke test of the bench)")
    ap.add_argument("--no-catch2", action="store_true", help="skip the Catch2 suite")
    ap.add_argument("--out", default=None, help="results file (default: bench/results.md beside this script)")
    ap.add_argument("--json", default=None, help="also write every measurement to this JSON file")
    ap.add_argument("--keep", action="store_true", help="keep the journals and reports of every run")
    args = ap.parse_args()
    args.sizes = [int(x) for x in args.sizes.split(",") if x]
    if args.quick:
        args.runs = min(args.runs, 3)
        args.small_runs = min(args.small_runs, 3)
    elif min(args.runs, args.small_runs) < 5:
        ap.error("--runs and --small-runs must be at least 5 (use --quick for a smoke test)")
    res = Bench(args).run()
    text = report(res, args)
    out = args.out or (os.path.join(os.path.abspath(args.build), "results-quick.md") if args.quick else
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.md"))
    with open(out, "w") as f:
        f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    print(text)
    say(f"written to {out}")


if __name__ == "__main__":
    main()
