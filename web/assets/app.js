// Deskmate web application: progressive enhancement only. Every page works without this file
// for reading; with it, submit buttons are disabled once pressed (no double decisions),
// confirmations are asked where a form says so, and live regions refresh themselves from
// server-sent events.
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
})();
