#!/usr/bin/env python3
"""The HTML report in a real browser (headless Chromium), as a person would open it.

A real run under `bstest run`: 100,000 passing tests (the session driver), the GoogleTest and Catch2 fixture
programs (a test that fails every attempt, flaky tests, a crash, a skip) and a test whose name and messages are
markup (`session_driver markup`: a script must not run), written with `--html`.
The page is opened in Chromium, driven over the DevTools protocol on a pipe (--remote-debugging-pipe: no
port, no dependency beyond Python's standard library), and checked:

  - it loads without an exception, a console error or a network request, and is drawn in under 2 s (the
    best of up to three loads, the machine being shared);
  - the verdict and the first failure, with its message, are on the first screen;
  - the table renders only the rows on screen, and scrolling draws the others;
  - the filter works, typed (and kept in the URL fragment) or given in the URL (#v=flaky).

Screenshots are left in OUT_DIR for a person to look at.

Usage: browser_check.py BSTEST SESSION_DRIVER GTEST_FIXTURE_MAIN CATCH2_FIXTURE_MAIN|- OUT_DIR
Exit 0 when every check passed, 1 otherwise, 77 (skipped) when Chromium is not installed (./dev installs it).
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

LOAD_LIMIT_MS = 2000
TESTS = 100000

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


class Browser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (answers and events out)."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
             "--remote-debugging-pipe"]

    def __init__(self, program, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds():
            # Above the low numbers first, so that placing one cannot overwrite the other.
            a = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([program] + self.FLAGS + ["--user-data-dir=" + profile, "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, close_fds=False, preexec_fn=fds)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == method:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def open_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url, timeout=60):
        self.events = [e for e in self.events if e["method"] != "Page.loadEventFired"]
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", timeout)
        return self.wait_for("document.body && document.body.getAttribute('data-ready')", timeout)

    def eval(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            v = self.eval(expression)
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout} s for: {expression}")
            time.sleep(0.05)

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def problems(self):
        """Exceptions, console errors and network requests the page made so far."""
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:300])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console error: " + json.dumps(p.get("args", []))[:300])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log error: " + p["entry"].get("text", "")[:300])
            elif m == "Page.javascriptDialogOpening":
                out.append("markup from a test ran as script: " + p.get("message", ""))
            elif m == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not url.startswith(("file:", "data:", "about:")):
                    out.append("network request: " + url)
        return out


def make_report(bstest, driver, gtest, catch2, work):
    script = ('"$0" many %d >/dev/null; "$1" --gtest_filter="Basic.*:Flaky.PassesOnSecondAttempt"; '
              'FIXTURE_CRASH=segv "$1" --gtest_filter="Crash.*:Zz.*"; "$0" markup' % TESTS)
    if catch2 != "-":
        script += '; "$2" "[flaky]"'
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BETTERSTACK_", "BSTEST_", "GTEST_", "GITHUB_")) and k != "CI"}
    env.update({"BSTEST_DIR": os.path.join(work, "bs"), "FIXTURE_FLAKY": "1"})
    html = os.path.join(work, "report.html")
    r = subprocess.run([bstest, "run", "--quiet", "--html", html, "--", "sh", "-c", script, driver, gtest, catch2],
                       env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    if not os.path.exists(html):
        raise SystemExit("bstest run wrote no report:\n" + r.stderr[-3000:])
    return html


def main():
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    bstest, driver, gtest, catch2, out_dir = sys.argv[1:]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium is not installed (Debian: apt-get install chromium; ./dev installs it): skipped")
        return 77
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        html = make_report(bstest, driver, gtest, catch2, work)
        size = os.path.getsize(html)
        print(f"report: {size / 1048576:.1f} MiB for {TESTS}+ tests", flush=True)
        browser = Browser(chromium, os.path.join(work, "profile"))
        try:
            browser.open_page()
            url = "file://" + html
            # The best of up to three loads: the machine is shared with other tests, and one load that came
            # while they were busy says little about the page.
            loads = []
            for _ in range(3):
                ready_ms = int(browser.navigate(url))
                nav = browser.eval("(() => { const n = performance.getEntriesByType('navigation')[0];"
                                   " return {parsed: Math.round(n.domInteractive)}; })()")
                loads.append((ready_ms, nav["parsed"]))
                if ready_ms < LOAD_LIMIT_MS:
                    break
            ready_ms, parsed_ms = min(loads)
            check(ready_ms < LOAD_LIMIT_MS, f"drawn {ready_ms} ms after navigation started (limit {LOAD_LIMIT_MS} ms; "
                                            f"HTML parsed at {parsed_ms} ms; {len(loads)} load(s))")
            browser.screenshot(os.path.join(out_dir, "report-first-screen.png"))

            first = browser.eval("""(() => {
              const a = document.querySelector('#failures article');
              const r = a.getBoundingClientRect();
              return {verdict: document.getElementById('verdict').innerText, top: r.top, height: innerHeight,
                      text: a.innerText, counts: document.getElementById('counts').innerText};
            })()""")
            check(first["verdict"] == "FAILED", f"the verdict on top: {first['verdict']}")
            check(first["top"] < first["height"] - 60, f"the first failure starts on the first screen (at {first['top']} px)")
            check("Basic.FailsWithMessage" in first["text"] and "Expected equality" in first["text"],
                  "the first failure names the test and shows its message")
            check(str(TESTS)[:3] in first["counts"].replace(",", "") and "flaky" in first["counts"],
                  f"the counts: {first['counts']}")

            table = browser.eval("""(() => ({shown: document.getElementById('shown').innerText,
                rows: document.querySelectorAll('#rows .row').length,
                first: document.querySelector('#rows .row .badge').innerText}))()""")
            check(table["rows"] < 200, f"only the rows on screen are drawn ({table['rows']} of {table['shown']})")
            check(table["first"] == "crashed", f"failures first in the table (first row: {table['first']})")

            browser.eval("document.getElementById('tests').scrollIntoView();"
                         "const vp = document.getElementById('viewport'); vp.scrollTop = vp.scrollHeight;")
            last = browser.wait_for("""(() => { const rows = document.querySelectorAll('#rows .row');
                const vp = document.getElementById('viewport');
                const r = rows[rows.length - 1];
                return r && r.offsetTop + r.offsetHeight >= vp.scrollHeight - 1 && r.innerText; })()""")
            check(bool(last), "scrolled to the end, the last rows are drawn")

            browser.eval("""(() => { const q = document.getElementById('q'); q.value = 'FailsWithMessage';
                q.dispatchEvent(new Event('input')); })()""")
            shown = browser.wait_for("(() => { const s = document.getElementById('shown').innerText;"
                                     " return s.startsWith('1 of') && s; })()", 10)
            names = browser.eval("[...document.querySelectorAll('#rows .row')].map(r => r.innerText).join('|')")
            check("FailsWithMessage" in names, f"typed filter: {shown}: {names[:120]}")
            check(browser.eval("location.hash") == "#q=FailsWithMessage", "the filter is kept in the URL")
            browser.screenshot(os.path.join(out_dir, "report-filtered.png"))

            # A fresh load (the same page with another fragment would only scroll): a link to a filtered view.
            browser.send("Page.navigate", {"url": "about:blank"})
            browser.wait_event("Page.loadEventFired")
            browser.navigate(url + "#v=flaky")
            flaky = browser.eval("""(() => ({shown: document.getElementById('shown').innerText,
                badges: [...document.querySelectorAll('#rows .row .badge')].map(b => b.innerText)}))()""")
            expected = 3 if catch2 != "-" else 1  # Flaky.PassesOnSecondAttempt, and two Catch2 test cases
            check(flaky["badges"] == ["flaky"] * expected and flaky["shown"].startswith(f"{expected} of"),
                  f"#v=flaky in the URL shows the flaky tests only: {flaky}")

            problems = browser.problems()
            check(not problems, "no exception, console error or network request" +
                  ("" if not problems else ": " + "; ".join(problems[:5])))
        finally:
            browser.close()
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
