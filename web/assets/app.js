// Deskmate web application: progressive enhancement only. Every page works without this file
// for reading; with it, submit buttons are disabled once pressed (no double decisions),
// confirmations are asked where a form says so, live regions refresh themselves from
// server-sent events, and a running job's page refreshes its file table until the job is done.
(function () {
  "use strict";

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var ask = form.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) {
      ev.preventDefault();
      return;
    }
    // Disable after the browser has collected the form (a disabled button is not submitted).
    setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });

  // <tbody data-live-events="/rfqs/events" data-live-rows="/rfqs/rows?...">: on each "changed"
  // event, fetch the rows (server-rendered, escaped HTML) and replace the body; rows whose id
  // was not shown before are marked new.
  document.querySelectorAll("[data-live-events]").forEach(function (el) {
    if (!window.EventSource) return;
    var rowsUrl = el.getAttribute("data-live-rows");
    var refreshing = false, again = false;
    function refresh() {
      if (refreshing) { again = true; return; }
      refreshing = true;
      fetch(rowsUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html === null) return;
          var seen = {};
          el.querySelectorAll("tr[data-id]").forEach(function (tr) { seen[tr.getAttribute("data-id")] = true; });
          var tpl = document.createElement("template");
          tpl.innerHTML = html;
          tpl.content.querySelectorAll("tr[data-id]").forEach(function (tr) {
            if (!seen[tr.getAttribute("data-id")]) tr.classList.add("new");
          });
          el.replaceChildren(tpl.content);
        })
        .finally(function () {
          refreshing = false;
          if (again) { again = false; refresh(); }
        });
    }
    var es = new EventSource(el.getAttribute("data-live-events"));
    es.addEventListener("changed", refresh);
    var note = document.querySelector("[data-live-note]");
    if (note) note.hidden = false;
  });

  // <div id="x" data-refresh="2000"> (a running job's files): fetch this page again after that
  // many milliseconds and swap in the element's new rendering (server-rendered, escaped HTML);
  // the server drops the attribute once the job is done, which ends the refreshing.
  document.querySelectorAll("[data-refresh][id]").forEach(function (el) {
    function schedule() {
      var ms = parseInt(el.getAttribute("data-refresh"), 10);
      if (ms > 0) setTimeout(tick, Math.max(ms, 1000));
    }
    function tick() {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
          return r.ok ? r.text() : "";
        })
        .then(function (html) {
          if (html === null) return;
          var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById(el.id);
          if (fresh) {
            fresh = document.adoptNode(fresh);
            el.replaceWith(fresh);
            el = fresh;
          }
          schedule();
        })
        .catch(schedule);
    }
    schedule();
  });
})();
