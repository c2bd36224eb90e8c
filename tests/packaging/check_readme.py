#!/usr/bin/env python3
"""Checks that README.md, and the reference parts moved from it to docs/ (CHECKED_DOCS), tell the truth about
this repository:

  the set-up commands     the first ```sh block runs `./dev demo` and `./dev test`, and .ci/run runs `./dev test`
  code users copy         each ```cpp, ```meson, ```cmake or ```ini block (of README.md and docs/install.md) is
                          whole paragraphs (runs of lines between blank lines), one after the other, of ONE file
                          that a test builds (examples/, tests/packaging/consumers/) or of a block of
                          docs/install.md that a test takes as it is written (the wrap files, the CMake
                          project); indentation aside
  workflow excerpts       every line of a ```yaml block appears in .github/workflows/; a whole sketch (with
                          `jobs:`, or a GitLab CI job with `script:`) is valid YAML whose commands pass the
                          workflow checks
  ready queries           each ```sql block reads both tables of a Better Stack source, the recent logs
                          (remote(..._logs)) and the older ones (s3Cluster(primary, ..._s3), rows of _row_type 1)
  commands                `./dev X` and `bstest X` name real commands, and every --flag given to `bstest X`
                          is an option that cli/ parses; paths in the repository exist
  configuration table     names exactly the variables bstest reads (those it only sets for the programs it
                          starts must be described in docs/), with the defaults of core's Config
  links                   relative links name existing files, #anchors existing headings

Usage: check_readme.py SOURCE_ROOT. Prints one line per problem; exit 0 when there is none, 1 otherwise.
       check_readme.py --self-test SOURCE_ROOT: damages README.md's code blocks and queries in memory (a line
       deleted, two lines swapped, a line changed) and checks that each damage is reported.
"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_workflows  # noqa: E402  (shares the knowledge of ./dev, bstest and meson commands)

SELF_TEST = len(sys.argv) > 1 and sys.argv[1] == "--self-test"
ARGS = sys.argv[2:] if SELF_TEST else sys.argv[1:]
ROOT = os.path.abspath(ARGS[0] if ARGS else ".")
check_workflows.ROOT = ROOT

# Files that a test builds and runs: code users copy must be whole paragraphs of one of them.
BUILT_SOURCES = [
    "examples/**/*",
    "tests/packaging/consumers/**/*",
]
# Blocks of docs/install.md that the packaging tests use as they are written (docs_block() in
# tests/packaging/packaging_support.cpp): (language, how the block begins). subproject_test.cpp writes the two
# wrap files from them, install_test.cpp builds the CMake project.
EXTRACTED_BLOCKS = [("ini", "[wrap-git]"), ("ini", "[wrap-file]"), ("cmake", "cmake_minimum_required(")]
CODE_LANGUAGES = ("cpp", "meson", "cmake", "ini")

# README.md and the reference parts that moved from it into docs/: their code, workflow excerpts, queries,
# commands and links are checked as the README's are. Every docs/*.md has its links checked.
CHECKED_DOCS = ["README.md", "docs/cli.md", "docs/sharding.md", "docs/queries.md", "docs/install.md"]

# Variables bstest sets for the programs it starts (re-runs, `bstest run`'s command), not user settings.
INTERNAL_VARIABLES = {"BSTEST_ROLE", "BSTEST_ATTEMPT", "BSTEST_RESULT_FILE", "BSTEST_QUARANTINE_DAY"}


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


def paragraphs(lines):
    """Code as a list of paragraphs (tuples of stripped lines), split at blank lines."""
    out, cur = [], []
    for l in lines + [""]:
        if l.strip():
            cur.append(l.strip())
        elif cur:
            out.append(tuple(cur))
            cur = []
    return out


def tested_units():
    """{name: paragraphs} of every file a test builds and every block of docs/install.md a test takes."""
    units = {}
    for pattern in BUILT_SOURCES:
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8") as f:
                        units[os.path.relpath(path, ROOT)] = paragraphs(f.read().split("\n"))
                except UnicodeDecodeError:
                    pass
    for lang, first, body in fenced_blocks(read("docs/install.md")):
        if any(lang == l and body and body[0].startswith(start) for l, start in EXTRACTED_BLOCKS):
            units[f"docs/install.md:{first}"] = paragraphs(body)
    return units


def contiguous_in(block, unit):
    n = len(block)
    return any(unit[i:i + n] == block for i in range(len(unit) - n + 1))


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
    def __init__(self, text=None, overrides=None):
        # overrides: {file: text} to check instead of what is on disk (the self-test's damaged copies).
        self.docs = {f: read(f) for f in CHECKED_DOCS}
        if text is not None:
            self.docs["README.md"] = text
        self.docs.update(overrides or {})
        self.text = self.docs["README.md"]
        self.workflows = check_workflows.Checker()
        self.problems = []
        self.file = "README.md"

    def problem(self, line, what, file=None):
        self.problems.append(f"{file or self.file}:{line}: {what}")

    def run(self):
        self.check_setup(fenced_blocks(self.text))
        self.check_configuration()
        self.check_code()
        for file, text in self.docs.items():
            self.file = file
            blocks = fenced_blocks(text)
            self.check_queries(blocks)
            self.check_commands(blocks, text)
        self.file = "README.md"
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

    def check_code(self):
        units = tested_units()
        workflows = workflow_lines()
        for file, text in self.docs.items():
            for lang, first, body in fenced_blocks(text):
                if lang in CODE_LANGUAGES:
                    block = paragraphs(body)
                    if file == "docs/install.md" and f"{file}:{first}" in units:
                        continue  # a test uses this very block
                    if block and not any(contiguous_in(block, lines) for lines in units.values()):
                        self.problem(first, f"this ```{lang} block is not whole paragraphs, in order, of one file "
                                            f"that a test builds ({', '.join(BUILT_SOURCES)}) or of a block of "
                                            "docs/install.md that a test uses; "
                                            + self.nearest(block, units), file)
                elif lang == "yaml":
                    self.file = file
                    self.check_yaml(first, body, workflows)
        self.file = "README.md"

    # Better Stack keeps recent logs and older ones in two tables ("Connect remotely" in its docs): a query on
    # one of them alone silently misses the rest.
    QUERY_TABLES = ("FROM remote(t123456_your_source_logs)",
                    "SELECT dt, raw FROM s3Cluster(primary, t123456_your_source_s3) WHERE _row_type = 1")

    def check_queries(self, blocks):
        for lang, first, body in blocks:
            if lang != "sql":
                continue
            text = " ".join(" ".join(body).split())
            if "UNION ALL" not in text or not all(t in text for t in self.QUERY_TABLES):
                self.problem(first, "this ```sql block does not read both tables of the source: "
                                    + " UNION ALL ".join(self.QUERY_TABLES))

    @staticmethod
    def nearest(block, units):
        """Where the block's lines are, to say what differs."""
        lines = [l for p in block for l in p]
        best = max(units.items(), key=lambda u: sum(1 for l in lines if any(l in p for p in u[1])))
        missing = [l for l in lines if not any(l in p for p in best[1])]
        if missing:
            return f"closest is {best[0]}, which lacks `{missing[0]}`"
        return f"{best[0]} has every line, but not as these paragraphs in this order"

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
        gitlab_jobs = [j for j in doc.values() if isinstance(j, dict) and "script" in j] if isinstance(doc, dict) else []
        if gitlab_jobs:  # a sketch of a GitLab CI job (.gitlab-ci.yml): check what it runs
            for job in gitlab_jobs:
                for key in ("before_script", "script", "after_script"):
                    lines = job.get(key, [])
                    for line in [lines] if isinstance(lines, str) else lines:
                        for words in check_workflows.commands_of(str(line)):
                            self.check_words(first, words)
            return
        for n, l in enumerate(body):
            s = l.strip()
            if s and s not in workflows:
                self.problem(first + n, f"`{s}` is not in any file of .github/workflows/")

    def check_words(self, line, words):
        # Commands, their --options (bstest's included) and paths: the workflow checks.
        before = len(self.workflows.problems)
        self.workflows.check_command(f"{self.file}:{line}", words, in_repo=True)
        self.problems += self.workflows.problems[before:]

    def check_commands(self, blocks, text):
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
        for n, l in enumerate(text.split("\n"), 1):
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
        """Relative links of README.md and every docs/*.md name existing files, #anchors existing headings."""
        files = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
        texts = {f: self.docs.get(f) or read(f) for f in files}

        def anchors(f):
            text = texts.get(f)
            if text is None:
                text = read(f)
            return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}

        for file in files:
            for n, l in enumerate(texts[file].split("\n"), 1):
                for target in re.findall(r"\]\(([^)\s]+)\)", l):
                    if "://" in target:
                        continue
                    path, _, anchor = target.partition("#")
                    linked = os.path.normpath(os.path.join(os.path.dirname(file), path)) if path else file
                    if path and not os.path.exists(os.path.join(ROOT, linked)):
                        self.problem(n, f"link to {target}: no such file in the repository", file)
                    elif anchor and linked.endswith(".md") and anchor not in anchors(linked):
                        self.problem(n, f"link to {target}: no such heading", file)


def self_test():
    """Each damage to README.md's code or queries must be reported; the README as it is must pass."""
    failures = []

    def checked(overrides):
        checker = ReadmeChecker(overrides=overrides)
        checker.check_code()
        for file, text in checker.docs.items():
            checker.file = file
            checker.check_queries(fenced_blocks(text))
        return checker.problems

    failures += [f"as it is: {p}" for p in checked({})]

    def damaged(what, change, file="README.md"):
        lines = read(file).split("\n")
        changed = change(lines)
        if changed is None:
            failures.append(f"{what}: {file} no longer has the line this damage needs")
            return
        if not checked({file: "\n".join(changed)}):
            failures.append(f"{what}: not reported")

    def index_of(lines, start):
        return next((i for i, l in enumerate(lines) if l.strip().startswith(start)), None)

    def delete(start):
        def change(lines):
            i = index_of(lines, start)
            return None if i is None else lines[:i] + lines[i + 1:]
        return change

    def swap(first, second):
        def change(lines):
            i, j = index_of(lines, first), index_of(lines, second)
            if i is None or j is None:
                return None
            lines = list(lines)
            lines[i], lines[j] = lines[j], lines[i]
            return lines
        return change

    def edit(start, old, new):
        def change(lines):
            i = index_of(lines, start)
            return None if i is None else lines[:i] + [lines[i].replace(old, new)] + lines[i + 1:]
        return change

    damaged("InitGoogleTest deleted from the C++ quick start", delete("::testing::InitGoogleTest("))
    damaged("find_program moved before dependency('gtest_main') in the subproject block",
            swap("gtest_main = dependency('gtest_main')", "bstest_prog = find_program('bstest')"))
    damaged("find_package deleted from the CMake block", delete("find_package(bstest"))
    damaged("the wrap's revision changed", edit("revision =", "v0.1.0", "v9.9.9"))
    damaged("the Catch2 quick start links another dependency",
            edit("executable('with_catch2_main'", "bstest-catch2-main", "bstest-catch2"))
    damaged("a ready query reads only the recent logs", delete("SELECT dt, raw FROM s3Cluster("), "docs/queries.md")
    for f in failures:
        print(f)
    print(f"check_readme.py self-test: {len(failures)} problem(s)")
    return 1 if failures else 0


def main():
    if SELF_TEST:
        return self_test()
    problems = ReadmeChecker().run()
    for p in problems:
        print(p)
    print(f"checked {', '.join(CHECKED_DOCS)}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
