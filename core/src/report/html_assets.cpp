#include "report/html_assets.hpp"

namespace bstest::report {

const char* const kReportCss = R"CSS(
:root{--pass:#1a7f37;--fail:#cf222e;--flaky:#bf8700;--skip:#6e7781;--crash:#8250df;--line:#d0d7de;--bg:#f6f8fa;
--row:28px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
body{margin:0}main{padding:0 24px 48px;max-width:1400px}
header.verdict{padding:16px 24px;color:#fff}header.passed{background:var(--pass)}header.failed{background:var(--fail)}
header.running{background:var(--skip)}header h1{margin:0;font-size:28px;letter-spacing:.04em}
header p{margin:4px 0}header .counts{font-size:17px}header a{color:#fff}header code{background:rgba(255,255,255,.18);
padding:0 4px;border-radius:4px}nav a{margin-right:14px;font-weight:600}
h2{margin:28px 0 10px;font-size:19px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{margin:0 0 4px;font-size:15px;word-break:break-word}h3 small{color:var(--skip);font-weight:400}
article{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;padding:10px 12px;margin:10px 0}
article.flaky{border-left-color:var(--flaky)}.where{margin:0 0 6px;color:#57606a}
pre{margin:6px 0 0;padding:8px;background:var(--bg);border-radius:4px;overflow:auto;max-height:24em;
white-space:pre-wrap;word-break:break-word;font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;
background:var(--skip);vertical-align:1px}.badge.passed{background:var(--pass)}.badge.failed{background:var(--fail)}
.badge.flaky{background:var(--flaky)}.badge.crashed{background:var(--crash)}.badge.skipped,.badge.disabled{background:var(--skip)}
ol.attempts{margin:4px 0;padding-left:22px}ol.attempts li{margin:4px 0}
table.programs{border-collapse:collapse;width:100%}table.programs td,table.programs th{border-bottom:1px solid var(--line);
padding:4px 8px;text-align:left}table.programs tr.crashed td{color:var(--crash);font-weight:600}
.bars .bar{display:grid;grid-template-columns:minmax(0,38%) 1fr 90px;gap:10px;align-items:center;margin:3px 0}
.bars .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.bars .track{background:var(--bg);height:14px;
border-radius:3px}.bars .fill{display:block;height:14px;border-radius:3px;background:var(--pass);min-width:1px}
.fill.failed{background:var(--fail)}.fill.flaky{background:var(--flaky)}.fill.crashed{background:var(--crash)}
.fill.skipped,.fill.disabled{background:var(--skip)}.bars .time{text-align:right;color:#57606a}
.controls{display:flex;gap:8px;align-items:center;margin-bottom:6px}#q{flex:0 1 420px;padding:5px 8px;font:inherit}
#v{padding:4px;font:inherit}#shown{color:#57606a}.note{color:#57606a}
.grid{display:grid;grid-template-columns:80px minmax(0,3fr) minmax(0,2fr) minmax(0,1.3fr) minmax(0,2fr) 90px;
gap:8px;align-items:center;height:var(--row);padding:0 6px}
.grid>span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.grid .num{text-align:right}
.head{font-weight:600;border-bottom:2px solid var(--line)}.head [data-sort]{cursor:pointer}
#viewport{max-height:min(70vh,640px);overflow-y:auto;border-bottom:1px solid var(--line)}#spacer{position:relative}
.row{position:absolute;left:0;right:0;border-bottom:1px solid #eaeef2}.row:hover{background:var(--bg)}
.row.has{cursor:pointer}
)CSS";

const char* const kReportJs = R"JS(
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var V = ["passed", "failed", "flaky", "skipped", "disabled", "crashed"];
  var RANK = [3, 1, 2, 4, 5, 0];  // failures first: crashed, failed, flaky, passed, skipped, disabled
  var T = D.tests, hay = null, view = [], sortKey = "verdict", sortDir = 1;
  var q = document.getElementById("q"), vs = document.getElementById("v"), shown = document.getElementById("shown");
  var vp = document.getElementById("viewport"), spacer = document.getElementById("spacer");
  var rows = document.getElementById("rows");
  var RH = 28;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
  function ms(x) {
    if (x < 1) return x.toFixed(3) + " ms";
    if (x < 1000) return x.toFixed(0) + " ms";
    return (x / 1000).toFixed(2) + " s";
  }
  function file(t) { return t[5] < 0 ? "" : D.files[t[5]] + (t[6] > 0 ? ":" + t[6] : ""); }
  function haystack() {
    if (hay) return hay;
    hay = new Array(T.length);
    for (var i = 0; i < T.length; i++) {
      var t = T[i];
      hay[i] = (t[2] + "\n" + D.suites[t[1]] + "\n" + D.programs[t[0]] + "\n" + file(t)).toLowerCase();
    }
    return hay;
  }
  function readHash() {
    var o = {};
    location.hash.slice(1).split("&").forEach(function (kv) {
      var at = kv.indexOf("=");
      if (at > 0) {
        try { o[kv.slice(0, at)] = decodeURIComponent(kv.slice(at + 1)); } catch (e) { /* a hand-made fragment */ }
      }
    });
    return o;
  }
  function writeHash() {
    var parts = [];
    if (q.value) parts.push("q=" + encodeURIComponent(q.value));
    if (vs.value) parts.push("v=" + encodeURIComponent(vs.value));
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
  }
  function compare(a, b) {
    var x = T[a], y = T[b], d = 0;
    if (sortKey === "verdict") d = RANK[x[3]] - RANK[y[3]];
    else if (sortKey === "time") d = y[4] - x[4];
    else if (sortKey === "name") d = x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0;
    else if (sortKey === "suite") d = D.suites[x[1]] < D.suites[y[1]] ? -1 : D.suites[x[1]] > D.suites[y[1]] ? 1 : 0;
    else if (sortKey === "program") d = x[0] - y[0];
    return d * sortDir || a - b;
  }
  function apply() {
    var needle = q.value.trim().toLowerCase(), want = V.indexOf(vs.value), h = needle ? haystack() : null;
    var buckets = [[], [], [], [], [], []];
    for (var i = 0; i < T.length; i++) {
      if (want >= 0 && T[i][3] !== want) continue;
      if (h && h[i].indexOf(needle) < 0) continue;
      buckets[RANK[T[i][3]]].push(i);
    }
    // By verdict (the first view): the buckets in order, each in the run's order, without a sort.
    if (sortDir < 0) buckets.reverse();
    view = [].concat.apply([], buckets);
    if (sortKey !== "verdict") view.sort(compare);
    shown.textContent = view.length === T.length ? T.length + " tests" : view.length + " of " + T.length + " tests";
    spacer.style.height = Math.max(view.length * RH, RH) + "px";
    vp.scrollTop = 0;
    draw();
  }
  function draw() {
    var first = Math.max(0, Math.floor(vp.scrollTop / RH) - 10);
    var last = Math.min(view.length, first + Math.ceil((vp.clientHeight || 600) / RH) + 20);
    var html = "";
    for (var k = first; k < last; k++) {
      var i = view[k], t = T[i], v = V[t[3]], m = t[7] >= 0 ? D.messages[t[7]] : "";
      html += '<div class="row grid' + (document.getElementById("t" + i) ? " has" : "") + '" data-i="' + i +
        '" style="top:' + k * RH + 'px"><span><span class="badge ' + v + '">' + v + '</span></span><span title="' +
        esc(m || t[2]) + '">' + esc(t[2]) + "</span><span>" + esc(D.suites[t[1]]) + "</span><span>" +
        esc(D.programs[t[0]]) + '</span><span title="' + esc(file(t)) + '">' + esc(file(t)) +
        '</span><span class="num">' + ms(t[4]) + "</span></div>";
    }
    if (!view.length) html = '<div class="row grid" style="top:0"><span></span><span>no test matches</span></div>';
    rows.innerHTML = html;
  }
  function fromHash() {
    var h = readHash();
    q.value = h.q || "";
    vs.value = V.indexOf(h.v) >= 0 ? h.v : "";
  }
  var timer = 0;
  q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { writeHash(); apply(); }, T.length > 20000 ? 150 : 30);
  });
  vs.addEventListener("change", function () { writeHash(); apply(); });
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") < 0) return;  // a link to a section, not a filter
    fromHash();
    apply();
    document.getElementById("tests").scrollIntoView();
  });
  vp.addEventListener("scroll", function () { window.requestAnimationFrame(draw); });
  rows.addEventListener("click", function (e) {
    var row = e.target.closest(".row"), el = row && document.getElementById("t" + row.getAttribute("data-i"));
    if (el) el.scrollIntoView({ block: "center" });
  });
  document.querySelectorAll(".head [data-sort]").forEach(function (el) {
    el.addEventListener("click", function () {
      var key = el.getAttribute("data-sort");
      sortDir = key === sortKey ? -sortDir : 1;
      sortKey = key;
      apply();
    });
  });
  fromHash();
  apply();
  document.body.setAttribute("data-ready", String(Math.round(performance.now())));
})();
)JS";

}  // namespace bstest::report
