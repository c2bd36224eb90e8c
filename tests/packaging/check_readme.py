#!/usr/bin/env python3
"""Checks that README.md tells the truth about this repository:

  the set-up commands     the first ```sh block runs `./dev demo` and `./dev test`, and .ci/run runs `./dev test`
  code users copy         every line of a ```cpp, ```meson, ```cmake or ```ini block appears in a file that a test
                          builds or reads (examples/, tests/packaging/consumers/, docs/install.md, which the
                          subproject test turns into a wrap, and the workflows)
  workflow excerpts       every line of a ```yaml block appears in .github/workflows/; a whole sketch (with
                          `jobs:`) is valid YAML whose commands pass the workflow checks
  commands                `./dev X` and `bstest X` name real commands, and every --flag given to `bstest X`
                          is an option that cli/ parses; paths in the repository exist
  configuration table     names exactly the variables bstest reads (those it only sets for the programs it
                          starts must be described in docs/), with the defaults of core's Config
  links                   relative links name existing files, #anchors existing headings

Usage: check_readme.py SOURCE_ROOT. Prints one line per problem; exit 0 when there is none, 1 otherwise.
"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_workflows  # noqa: E402  (shares the knowledge of ./dev, bstest and meson commands)

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
check_workflows.ROOT = ROOT

# Files whose contents a test builds, installs or reads: a README line found here is exercised.
TESTED_SOURCES = [
    "examples/**/*",
    "tests/packaging/consumers/**/*",
    "docs/install.md",
    ".github/workflows/*.yml",
]

# Variables bstest sets for the programs it starts (re-runs, `bstest run`'s command), not user settings.
INTERNAL_VARIABLES = {"BSTEST_ROLE", "BSTEST_ATTEMPT", "BSTEST_RESULT_FILE"}


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def fenced_blocks(text):
    """(language, first line number of the body, body lines) for each ``` block."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            blocks.append((m.group(1), i + 2, lines[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return blocks


def tested_lines():
    lines = set()
    for pattern in TESTED_SOURCES:
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8") as f:
                        lines.update(l.strip() for l in f)
                except UnicodeDecodeError:
                    pass
    return lines


def workflow_lines():
    lines = set()
    for path in glob.glob(os.path.join(ROOT, ".github/workflows/*.yml")):
        with open(path, encoding="utf-8") as f:
            lines.update(l.strip() for l in f)
    return lines


def variables_read():
    """BSTEST_* and BETTERSTACK_* names that core/, cli/ and reporters/ mention as string literals."""
    names = set()
    for top in ("core", "cli", "reporters"):
        for path in glob.glob(os.path.join(ROOT, top, "**", "*.[ch]pp"), recursive=True):
            with open(path, encoding="utf-8") as f:
                names.update(re.findall(r'"((?:BSTEST|BETTERSTACK)_[A-Z_]+)"', f.read()))
    return names


def config_defaults():
    """{VARIABLE: default} from core's Config: `int name = 5000;   // BSTEST_NAME: ...`."""
    defaults = {}
    for m in re.finditer(r"=\s*([0-9]+)(u?\s*<<\s*([0-9]+))?\s*;\s*//\s*(BSTEST_[A-Z_]+)",
                         read("core/include/bstest/config.hpp")):
        value = int(m.group(1)) << (int(m.group(3)) if m.group(3) else 0)
        defaults[m.group(4)] = value
    return defaults


def slug(heading):
    # GitHub's anchor: lower case, punctuation other than - and _ dropped, spaces to -.
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


class ReadmeChecker:
    def __init__(self):
        self.text = read("README.md")
        self.workflows = check_workflows.Checker()
        self.problems = []

    def problem(self, line, what):
        self.problems.append(f"README.md:{line}: {what}")

    def run(self):
        blocks = fenced_blocks(self.text)
        self.check_setup(blocks)
        self.check_code(blocks)
        self.check_commands(blocks)
        self.check_configuration()
        self.check_links()
        return self.problems

    def check_setup(self, blocks):
        sh = [b for b in blocks if b[0] == "sh"]
        if not sh:
            self.problem(1, "no ```sh block: the set-up commands must come first")
            return
        lang, line, body = sh[0]
        firsts = [l.split("#")[0].split() for l in body]
        for cmd in ("demo", "test"):
            if ["./dev", cmd] not in firsts:
                self.problem(line, f"the first ```sh block must hold the command `./dev {cmd}`")
        ci = read(".ci/run")
        if not re.search(r"^\s*(exec\s+)?(bash\s+)?\./dev test\b", ci, re.M):
            self.problem(line, ".ci/run does not run `./dev test`, the test command of README.md")

    def check_code(self, blocks):
        tested = tested_lines()
        workflows = workflow_lines()
        for lang, first, body in blocks:
            if lang in ("cpp", "meson", "cmake", "ini"):
                for n, l in enumerate(body):
                    s = l.strip()
                    if s and s not in tested:
                        self.problem(first + n, f"`{s}` appears in no tested file ({', '.join(TESTED_SOURCES)})")
            elif lang == "yaml":
                self.check_yaml(first, body, workflows)

    def check_yaml(self, first, body, workflows):
        import yaml

        try:
            doc = yaml.safe_load("\n".join(body))
        except yaml.YAMLError as e:
            self.problem(first, f"```yaml block is not valid YAML: {e}")
            return
        if isinstance(doc, dict) and "jobs" in doc:  # a sketch of a workflow: check what it runs
            for job_id, job in doc["jobs"].items():
                for step in job.get("steps", []):
                    if "run" in step:
                        for words in check_workflows.commands_of(str(step["run"])):
                            self.check_words(first, words)
            return
        for n, l in enumerate(body):
            s = l.strip()
            if s and s not in workflows:
                self.problem(first + n, f"`{s}` is not in any file of .github/workflows/")

    def check_words(self, line, words):
        # Commands, their --options (bstest's included) and paths: the workflow checks.
        before = len(self.workflows.problems)
        self.workflows.check_command(f"README.md:{line}", words, in_repo=True)
        self.problems += self.workflows.problems[before:]

    def check_commands(self, blocks):
        for lang, first, body in blocks:
            if lang not in ("sh", ""):
                continue
            for n, l in enumerate(body):
                l = re.sub(r"\[([^\]]*)\]", r"\1", l)  # synopsis: [--fail | --exit-code N]
                for part in re.split(r"\s*\|\s*|\s*&&\s*", l.split("#")[0]):
                    words = [w for w in part.replace("$(", " ").replace(")", " ").split() if w not in ("...",)]
                    if words and (words[0] in ("./dev", "bstest") or words[0].endswith("/bstest")):
                        self.check_words(first + n, words)
        # `bstest X` in prose.
        for n, l in enumerate(self.text.split("\n"), 1):
            for cmd in re.findall(r"`bstest ([a-z][a-z-]*)", l):
                if cmd not in self.workflows.bstest:
                    self.problem(n, f"`bstest {cmd}` is not a command of the bstest program")

    def check_configuration(self):
        table = {}
        for n, l in enumerate(self.text.split("\n"), 1):
            m = re.match(r"^\|\s*(`(?:BSTEST|BETTERSTACK)_[^|]*)\|([^|]*)\|([^|]*)\|\s*$", l)
            if m:
                names = re.findall(r"`((?:BSTEST|BETTERSTACK)_[A-Z_]+)`", m.group(1))
                defaults = re.findall(r"`([^`]*)`", m.group(3))
                for i, name in enumerate(names):
                    table[name] = (n, defaults[i] if i < len(defaults) else m.group(3).strip())
        if not table:
            self.problem(1, "no configuration table (| `BSTEST_...` | meaning | default |)")
            return
        read_vars = variables_read()
        docs = "".join(read(os.path.relpath(p, ROOT)) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
        for name in sorted(read_vars - set(table) - INTERNAL_VARIABLES):
            self.problem(1, f"{name} is read by bstest but missing from the configuration table")
        for name in sorted(INTERNAL_VARIABLES):
            if name not in docs:
                self.problem(1, f"{name} (set by bstest for the programs it starts) is described nowhere in docs/")
        for name, (n, _) in sorted(table.items()):
            if name not in read_vars:
                self.problem(n, f"{name} is in the configuration table but bstest does not read it")
        for name, value in config_defaults().items():
            if name in table and table[name][1] != str(value):
                self.problem(table[name][0], f"{name}: the table says the default is "
                                             f"`{table[name][1]}`, core's Config says {value}")

    def check_links(self):
        anchors = {slug(m) for m in re.findall(r"^#+ (.+)$", self.text, re.M)}
        for n, l in enumerate(self.text.split("\n"), 1):
            for target in re.findall(r"\]\(([^)\s]+)\)", l):
                if "://" in target:
                    continue
                if target.startswith("#"):
                    if target[1:] not in anchors:
                        self.problem(n, f"link to #{target[1:]}: no such heading")
                elif not os.path.exists(os.path.join(ROOT, target.split("#")[0])):
                    self.problem(n, f"link to {target}: no such file in the repository")


def main():
    problems = ReadmeChecker().run()
    for p in problems:
        print(p)
    print(f"checked README.md: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
