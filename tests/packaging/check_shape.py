#!/usr/bin/env python3
"""Checks that the code stays in units a reader can hold in their head:

  files       no source file of core/src, core/include, cli or reporters is longer than MAX_FILE_LINES lines
  functions   no function there is longer than MAX_FUNCTION_LINES lines, from its first signature line to its
              closing brace (a lambda counts as part of the function it is written in)

Usage: check_shape.py SOURCE_ROOT. Prints one line per offender ("file:line: function name is N lines");
       exit 0 when there is none, 1 otherwise.
       check_shape.py --self-test: runs the parser on small samples of C++ and checks what it finds.

The parser is a tokenizer, not a compiler: it blanks comments, string and character literals (raw strings
too), then follows braces. A brace opens a function body when it follows a parenthesised parameter list
(optionally const, noexcept, override, a trailing return type or a constructor's initializer list) outside
any other function body; every other brace outside functions (namespace, class, enum, initializer) is a
scope to look into.
"""
import os
import re
import sys

MAX_FILE_LINES = 550
MAX_FUNCTION_LINES = 100
FOLDERS = ("core/src", "core/include", "cli", "reporters")
SUFFIXES = (".cpp", ".hpp", ".cc", ".h")

# What may stand between a parameter list's ')' and the body's '{'.
_AFTER_PARAMS = re.compile(
    r"\)\s*(?:const\s*)?(?:volatile\s*)?(?:&&?\s*)?(?:noexcept\s*(?:\([^()]*\)\s*)?)?"
    r"(?:override\s*|final\s*)*(?:->\s*[\w:<>,\s*&]+)?$"
)
# A constructor's initializer list: ") : member_(...), base(...)", up to a member initialized with braces
# ("x_{1}"): that brace is part of the list, not the body.
_INIT = r"\)\s*(?:noexcept\s*)?:\s*(?:[\w:<>]+\s*(?:\([^()]*\)|\{\s*\})\s*,\s*)*"
_INIT_LIST = re.compile(_INIT + r"[\w:<>]+\s*\([^()]*\)\s*$")
_INIT_BRACE = re.compile(_INIT + r"[\w:<>]+\s*$")
_CONTROL = re.compile(r"\b(?:if|for|while|switch|catch)\s*\($")


def blank_literals(text):
    """`text` with comments and literals replaced by spaces (newlines kept, so lines still count)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i + m.end())
            end = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:end - 1]) if end - i >= 3 else text[i:end])
            i = end
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isdigit() and text[i + 1:i + 2].isalnum():  # 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * max(0, j - i - 2) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _name_of(header):
    """The function's name from the text before its body: the identifier before the parameter list."""
    lam = re.search(r"(\w+)\s*=\s*\[[^\]]*\]\s*\(", header)
    if lam:
        return lam.group(1)
    init = re.search(r"\)\s*(?:noexcept\s*)?:(?!:)", header)  # a constructor: before its initializer list
    if init:
        header = header[:init.start() + 1]
    depth = 0
    for k in range(len(header) - 1, -1, -1):
        ch = header[k]
        if ch == ")":
            depth += 1
        elif ch == "(":
            depth -= 1
            if depth == 0:
                m = re.search(r"([~\w:]+(?:<[^<>]*>)?|operator\s*\S+|\])\s*$", header[:k])
                if m:
                    return m.group(1)
    return header.strip().split("\n")[0][:60]


def functions(text):
    """(name, first line, last line) of each function body outside other function bodies, in order."""
    code = blank_literals(text)
    line_at = [1]  # line_at[i]: the line of code[i]
    for ch in code:
        line_at.append(line_at[-1] + (1 if ch == "\n" else 0))
    found = []
    # For each open brace: "fn" (a function body, or a scope inside one), "scope" (namespace, class, enum,
    # initializer), "init" (a member's braces in a constructor's initializer list).
    stack = []
    header_start = 0  # where the text before the next brace outside functions starts
    fn_name, fn_line = "", 0
    for i, ch in enumerate(code):
        in_fn = bool(stack) and stack[-1] == "fn"
        if ch == "{":
            if in_fn:
                stack.append("fn")
                continue
            header = code[header_start:i].rstrip()
            if _INIT_BRACE.search(header):
                stack.append("init")
            elif (_AFTER_PARAMS.search(header) or _INIT_LIST.search(header)) and not _CONTROL.search(header):
                stack.append("fn")
                first = header_start + len(code[header_start:i]) - len(code[header_start:i].lstrip())
                fn_name, fn_line = _name_of(header), line_at[first]
            else:
                stack.append("scope")
                header_start = i + 1
        elif ch == "}":
            kind = stack.pop() if stack else "scope"
            if kind == "fn" and not (stack and stack[-1] == "fn"):
                found.append((fn_name, fn_line, line_at[i]))
                header_start = i + 1
            elif kind == "scope":
                header_start = i + 1
        elif ch == ";" and not in_fn:
            header_start = i + 1
    return found


def check_tree(root):
    problems = []
    for folder in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
                if lines > MAX_FILE_LINES:
                    problems.append(f"{rel}: {lines} lines (at most {MAX_FILE_LINES}: split it by concern)")
                for fn, first, last in functions(text):
                    length = last - first + 1
                    if length > MAX_FUNCTION_LINES:
                        problems.append(f"{rel}:{first}: {fn} is {length} lines (at most {MAX_FUNCTION_LINES})")
    return problems


def self_test():
    sample = r'''
namespace a {
struct S {
  int f() const noexcept { return 1; }
  S() : x_{1}, y_(2) {
    if (x_) { y_ = 3; }
  }
  int x_, y_;
};
const char* s = "}{";  // }
/* { */
auto g = [](int v) {
  return v;
};
int h(int v) -> int {
  auto l = [&] { return '}'; };
  const char* r = R"x(})x";
  return v + l();
}
enum class E { a, b };
}  // namespace a
'''
    got = [(n, a, b) for n, a, b in functions(sample)]
    want = [("f", 4, 4), ("S", 5, 7), ("g", 12, 14), ("h", 15, 19)]
    failures = [] if got == want else [f"functions: got {got}, want {want}"]
    if blank_literals('x = "a{b";') != 'x = "   ";':
        failures.append("blank_literals keeps a brace inside a string")
    # A tree with a function one line too long and a file one line too long: both reported, nothing else.
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "core", "src"))
        body = "  x += 1;\n"
        fits = "int fits(int x) {\n" + body * (MAX_FUNCTION_LINES - 3) + "  return x;\n}\n"
        long_fn = "int too_long(int x) {\n" + body * (MAX_FUNCTION_LINES - 2) + "  return x;\n}\n"
        with open(os.path.join(root, "core", "src", "a.cpp"), "w") as f:
            f.write(fits + long_fn)
        with open(os.path.join(root, "core", "src", "b.hpp"), "w") as f:
            f.write("// x\n" * (MAX_FILE_LINES + 1))
        got = check_tree(root)
        want = [f"core/src/a.cpp:{MAX_FUNCTION_LINES + 1}: too_long is {MAX_FUNCTION_LINES + 1} lines "
                f"(at most {MAX_FUNCTION_LINES})",
                f"core/src/b.hpp: {MAX_FILE_LINES + 1} lines (at most {MAX_FILE_LINES}: split it by concern)"]
        if got != want:
            failures.append(f"check_tree: got {got}, want {want}")
    for f in failures:
        print(f)
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = check_tree(argv[1])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
