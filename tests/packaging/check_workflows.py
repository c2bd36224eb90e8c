#!/usr/bin/env python3
"""Checks every file in .github/workflows/ (whatever its name): it is valid YAML with the shape of a GitHub
Actions workflow, and everything its shell steps name exists in this repository:

  ./dev CMD                    CMD is a command of ./dev
  bstest CMD, .../bstest CMD   CMD is a command of the bstest program (cli/main.cpp), and each --option
                               given to it is one that cli/ parses (for `bstest run`, those before `--`;
                               the command after it is checked in turn)
  meson ... -DNAME=...         NAME is an option of meson_options.txt or one of Meson's own
  meson ... --force-fallback-for=X   subprojects/X.wrap exists
  meson test --suite S         some meson.build registers a test in suite S
  a path in the repository     (a word whose first component is a top-level file or folder of the
                               repository, or that starts with ./) exists, or its glob matches
  uses: ./local/action         the action's folder exists

Shell keywords that start a command (if, then, else, do, !, ...) are skipped, so `then bstest flush` is
checked as `bstest flush`. Before the workflows, the checker checks itself on known-bad commands (a check
that cannot fail proves nothing).

Usage: check_workflows.py SOURCE_ROOT. Prints one line per problem; exit 0 when there is none, 1 otherwise,
77 (skipped) when the yaml module is missing (Debian: python3-yaml, which ./dev installs).
"""
import glob
import os
import re
import shlex
import sys

try:
    import yaml
except ImportError:
    print("python3-yaml is not installed: cannot check the workflows")
    sys.exit(77)

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")

# Meson's own options that a workflow may set with -D (besides meson_options.txt's).
MESON_BUILTINS = {
    "buildtype", "debug", "optimization", "werror", "warning_level", "default_library", "prefix", "libdir",
    "bindir", "includedir", "datadir", "unity", "layout", "backend", "wrap_mode", "force_fallback_for",
    "cpp_std", "c_std", "cpp_args", "c_args", "cpp_link_args", "c_link_args", "pkg_config_path",
    "cmake_prefix_path", "strip", "install_umask", "auto_features",
}


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def dev_commands():
    # The case labels of ./dev's command switch: "  test)" or "  help | -h | --help)".
    text = read("dev")
    body = text[text.index('case "$cmd" in'):]
    cmds = set()
    for m in re.finditer(r"^  ([a-z][a-z|\- ]*)\)\s*$", body, re.M):
        cmds.update(c.strip() for c in m.group(1).split("|"))
    return cmds


def bstest_commands():
    return set(re.findall(r'cmd == "([a-z-]+)"', read("cli/main.cpp")))


# Options that a command parses with another command's code: `bstest run` takes the report files of
# `bstest report` (report_option() in cli/cmd_report.cpp). Each must be an option of that command too.
SHARED_OPTIONS = {"run": ("report", {"--junit", "--html", "--markdown"})}


def cli_options(cmd):
    """The --options the bstest program accepts for CMD: string literals of cli/cmd_CMD.cpp and cli/main.cpp,
    and those it shares with another command (SHARED_OPTIONS)."""
    text = read("cli/main.cpp")
    path = os.path.join("cli", f"cmd_{cmd}.cpp")
    if os.path.exists(os.path.join(ROOT, path)):
        text += read(path)
    opts = set(re.findall(r'"(--[a-z][a-z-]*)', text))
    if cmd in SHARED_OPTIONS:
        other, shared = SHARED_OPTIONS[cmd]
        opts |= shared & cli_options(other)
    return opts


def meson_options():
    text = ""
    for name in ("meson_options.txt", "meson.options"):
        if os.path.exists(os.path.join(ROOT, name)):
            text += read(name)
    return set(re.findall(r"option\(\s*'([^']+)'", text))


def meson_suites():
    suites = set()
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in (".git", "build") and not d.startswith("Catch2-")]
        if "meson.build" in filenames:
            text = open(os.path.join(dirpath, "meson.build"), encoding="utf-8").read()
            suites.update(re.findall(r"suite:\s*'([^']+)'", text))
    return suites


def top_level_entries():
    return {e for e in os.listdir(ROOT) if e not in (".git", "build")}


# Words that begin a shell command without being its program.
SHELL_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}


def commands_of(script):
    """Each simple command of a shell script as a list of words (expressions ${{ }} become one word)."""
    script = re.sub(r"\$\{\{[^}]*\}\}", "GHA_EXPR", script)
    script = script.replace("\\\n", " ")
    commands = []
    for line in script.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"\s*(?:&&|\|\||;|\||\$\(|`|\))\s*", line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                words = part.split()
            while words and words[0] in SHELL_KEYWORDS:
                words = words[1:]
            if words:
                commands.append(words)
    return commands


class Checker:
    def __init__(self):
        self.dev = dev_commands()
        self.bstest = bstest_commands()
        self.options = meson_options()
        self.suites = meson_suites()
        self.top = top_level_entries()
        self.problems = []

    def problem(self, where, text):
        self.problems.append(f"{where}: {text}")

    def check_path(self, where, word):
        word = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
        if not word or word.startswith("-") or "GHA_EXPR" in word or "$" in word or "://" in word:
            return
        if word.startswith("./"):
            word = word[2:]
        elif "/" not in word.rstrip("/"):
            return
        first = word.split("/", 1)[0]
        if first not in self.top:
            return
        if any(c in word for c in "*?["):
            if not glob.glob(os.path.join(ROOT, word)):
                self.problem(where, f"'{word}' matches nothing in the repository")
        elif not os.path.exists(os.path.join(ROOT, word)):
            self.problem(where, f"'{word}' does not exist in the repository")

    def check_command(self, where, words, in_repo):
        # Skip leading variable assignments and wrappers (env, sudo).
        i = 0
        while i < len(words) and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[i]) or words[i] in ("env", "sudo", "exec")):
            i += 1
        words = words[i:]
        if not words:
            return
        prog, args = words[0], words[1:]
        if in_repo:
            for w in words:
                self.check_path(where, w)
        if prog in ("./dev", "dev") or prog.endswith("/dev") and prog.startswith("."):
            if not args or args[0] not in self.dev:
                self.problem(where, f"'./dev {args[0] if args else ''}' is not a command of ./dev ({sorted(self.dev)})")
        elif prog == "bstest" or prog.endswith("/bstest"):
            if args and args[0] not in self.bstest:
                self.problem(where, f"'bstest {args[0]}' is not a command of the bstest program ({sorted(self.bstest)})")
            elif args:
                self.check_bstest_options(where, args[0], args[1:], in_repo)
        elif prog == "meson" and in_repo:  # elsewhere it configures another project (a consumer)
            self.check_meson(where, args)

    def check_bstest_options(self, where, cmd, args, in_repo):
        known = cli_options(cmd) | {"--help"}
        for j, w in enumerate(args):
            if w == "--":
                if cmd == "run":  # what bstest run wraps
                    self.check_command(where, args[j + 1:], in_repo)
                return
            if not w.startswith("--"):
                continue
            if "=" in w:
                self.problem(where, f"`bstest {cmd} {w}`: bstest takes `{w.split('=', 1)[0]} VALUE`, not `--option=value`")
            elif w not in known:
                self.problem(where, f"`bstest {cmd} {w}`: cli/ does not parse the option {w} ({sorted(known)})")

    def check_meson(self, where, args):
        for j, a in enumerate(args):
            m = re.match(r"^-D([^=]+)=", a)
            if m:
                name = m.group(1)
                if ":" in name:  # an option of a subproject
                    continue
                if name not in self.options and name not in MESON_BUILTINS and not re.match(r"^b_|^[a-z]+_(std|args|link_args)$", name):
                    self.problem(where, f"meson option '{name}' is neither in meson_options.txt nor one of Meson's")
            m = re.match(r"^--force-fallback-for=(.+)$", a)
            if m:
                for sub in m.group(1).split(","):
                    if not os.path.exists(os.path.join(ROOT, "subprojects", sub + ".wrap")):
                        self.problem(where, f"--force-fallback-for={sub}: subprojects/{sub}.wrap does not exist")
            if a == "--suite" and j + 1 < len(args):
                if args[j + 1] not in self.suites:
                    self.problem(where, f"meson test --suite {args[j + 1]}: no test is in that suite")

    def check_file(self, rel):
        where = rel
        try:
            doc = yaml.safe_load(read(rel))
        except yaml.YAMLError as e:
            self.problem(where, f"not valid YAML: {e}")
            return
        if not isinstance(doc, dict):
            self.problem(where, "not a mapping at the top level")
            return
        # YAML 1.1 reads the key `on` as true.
        if "on" not in doc and True not in doc:
            self.problem(where, "has no 'on:' (what triggers the workflow)")
        jobs = doc.get("jobs")
        if not isinstance(jobs, dict) or not jobs:
            self.problem(where, "has no jobs")
            return
        for job_id, job in jobs.items():
            jwhere = f"{rel}: job {job_id}"
            if not isinstance(job, dict):
                self.problem(jwhere, "is not a mapping")
                continue
            if "uses" in job:  # a reusable workflow
                self.check_uses(jwhere, job["uses"])
                continue
            if "runs-on" not in job:
                self.problem(jwhere, "has no runs-on")
            steps = job.get("steps")
            if not isinstance(steps, list) or not steps:
                self.problem(jwhere, "has no steps")
                continue
            job_wd = (job.get("defaults") or {}).get("run", {}).get("working-directory", "")
            for n, step in enumerate(steps, 1):
                label = step.get("name") or step.get("uses") or str(step.get("run", "?")).strip().split("\n")[0][:60]
                swhere = f"{jwhere}, step {n} ({label})"
                if not isinstance(step, dict):
                    self.problem(swhere, "is not a mapping")
                    continue
                if ("run" in step) == ("uses" in step):
                    self.problem(swhere, "needs exactly one of run: and uses:")
                if "uses" in step:
                    self.check_uses(swhere, step["uses"])
                if "run" in step:
                    wd = str(step.get("working-directory", job_wd) or "")
                    # Relative paths are checked only when the step runs in the checkout.
                    in_repo = not wd.startswith("/") and "${{" not in wd
                    for words in commands_of(str(step["run"])):
                        self.check_command(swhere, words, in_repo)

    def check_uses(self, where, uses):
        if not isinstance(uses, str):
            self.problem(where, "uses: is not a string")
        elif uses.startswith("./"):
            if not os.path.exists(os.path.join(ROOT, uses[2:])):
                self.problem(where, f"local action or workflow '{uses}' does not exist")
        elif not re.match(r"^[\w.-]+/[\w./-]+@[\w.-]+$", uses) and not uses.startswith("docker://"):
            self.problem(where, f"'{uses}' is not owner/repo@ref")


def self_test():
    """The checker finds what it must (misspelt commands and options, behind shell keywords too) and
    accepts what is right. Returns the lines that say where it does not."""
    bad = {
        "if true; then ./build/cli/bstest flsuh; fi": "'bstest flsuh' is not a command",
        "./build/cli/bstest run --summry s.json -- meson test -C build": "does not parse the option --summry",
        "bstest doctor --send-tst || true": "does not parse the option --send-tst",
        "bstest run --summary-out=s.json -- true": "not `--option=value`",
        "./build/cli/bstest run -- meson test -C build --suite no-such-suite": "no test is in that suite",
        "while false; do ./dev frobnicate; done": "is not a command of ./dev",
    }
    good = "./build/cli/bstest run --summary-out s.json --deadline-ms 5 -- meson test -C build --print-errorlogs\n" \
           "if [ -x ./build/cli/bstest ]; then ./build/cli/bstest flush \"$BSTEST_DIR\"; fi"
    failures = []
    for script, expected in bad.items():
        checker = Checker()
        for words in commands_of(script):
            checker.check_command("self-test", words, in_repo=True)
        if not any(expected in p for p in checker.problems):
            failures.append(f"self-test: `{script}` should give a problem with '{expected}', got {checker.problems}")
    checker = Checker()
    for words in commands_of(good):
        checker.check_command("self-test", words, in_repo=True)
    failures += [f"self-test: a correct script gave: {p}" for p in checker.problems]
    return failures


def main():
    failures = self_test()
    for f in failures:
        print(f)
    if failures:
        return 1
    wf_dir = os.path.join(ROOT, ".github", "workflows")
    files = sorted(f for f in os.listdir(wf_dir) if f.endswith((".yml", ".yaml"))) if os.path.isdir(wf_dir) else []
    if not files:
        print("no workflow in .github/workflows/")
        return 1
    checker = Checker()
    for f in files:
        checker.check_file(os.path.join(".github", "workflows", f))
    for p in checker.problems:
        print(p)
    print(f"checked {len(files)} workflow file(s): {', '.join(files)}; {len(checker.problems)} problem(s)")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
