// homeport: CSRF header on every htmx request, and live updates when a reconcile run finishes.
// Pages work without this file; it only saves a reload.
(function () {
  "use strict";
  var csrf = document.body.getAttribute("data-csrf");
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (csrf) { event.detail.headers["X-CSRF-Token"] = csrf; }
  });
  var main = document.getElementById("main");
  if (!main || !main.hasAttribute("data-live-refresh") || !window.EventSource) { return; }
  var live = document.getElementById("live");
  var lastRun = document.body.getAttribute("data-last-run") || "";
  var source = new EventSource("/events" + (lastRun ? "?after=" + encodeURIComponent(lastRun) : ""));
  function refresh() {
    if (window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search,
                       { target: "#main", select: "#main", swap: "outerHTML" });
    }
  }
  source.addEventListener("run", function (event) {
    var run = {};
    try { run = JSON.parse(event.data); } catch (err) { run = {}; }
    if (run.id) { document.body.setAttribute("data-last-run", run.id); }
    if (live) {
      live.textContent = "Run " + (run.status || "finished") + (run.summary ? ": " + run.summary : "");
      live.hidden = false;
    }
    var busy = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (!busy) { refresh(); }
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
