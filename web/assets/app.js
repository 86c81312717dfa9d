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

  // <form data-drop="…" data-uploading="…" data-uploaded="…" data-failed="…" enctype=multipart>
  // with an <input type=file>: files may be dropped on the form; the chosen files are listed,
  // each with its size and a progress bar; the form is sent with XMLHttpRequest so that each
  // file's bar follows the bytes sent (the parts go in order), and the browser then follows
  // the server's answer (the job's page, where each file's extraction status shows). An error
  // page from the server replaces this page's main part, so its message and request id show.
  document.querySelectorAll("form[data-drop]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    if (!input || !window.FormData || !window.XMLHttpRequest) return;
    var list = document.createElement("ul");
    list.className = "upload-list";
    input.insertAdjacentElement("afterend", list);
    var hint = document.createElement("p");
    hint.className = "drop-hint muted";
    hint.textContent = form.getAttribute("data-drop");
    input.insertAdjacentElement("beforebegin", hint);
    var rows = [];
    function kib(n) { return (n / 1024).toFixed(1) + " KiB"; }
    function show() {
      list.replaceChildren();
      rows = [];
      Array.prototype.forEach.call(input.files, function (f) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        name.className = "file-name";
        name.textContent = f.name + " · " + kib(f.size);
        var bar = document.createElement("progress");
        bar.max = Math.max(f.size, 1);
        bar.value = 0;
        var state = document.createElement("span");
        state.className = "file-state muted";
        li.append(name, bar, state);
        list.append(li);
        rows.push({ size: f.size, bar: bar, state: state, li: li });
      });
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (t) {
      form.addEventListener(t, function (ev) {
        ev.preventDefault();
        form.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (t) {
      form.addEventListener(t, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (ev) {
      ev.preventDefault();
      if (!ev.dataTransfer || !ev.dataTransfer.files.length) return;
      input.files = ev.dataTransfer.files;
      show();
    });
    form.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented || !input.files.length) return;
      ev.preventDefault();
      if (!rows.length) show();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (p) {
        // The parts go in order: the bytes sent fill the files' bars one after the other.
        var left = p.loaded;
        rows.forEach(function (r) {
          var sent = Math.min(r.size, Math.max(left, 0));
          left -= r.size;
          r.bar.value = sent;
          r.state.textContent = sent >= r.size
            ? form.getAttribute("data-uploaded")
            : form.getAttribute("data-uploading") + " " + Math.floor(100 * sent / Math.max(r.size, 1)) + " %";
        });
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
          return;
        }
        rows.forEach(function (r) {
          r.li.classList.add("failed");
          r.state.textContent = form.getAttribute("data-failed");
        });
        var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
        var main = page.querySelector("main"), here = document.querySelector("main");
        if (main && here) {
          here.replaceWith(document.adoptNode(main));
          document.title = page.title;
        } else {
          form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
        }
      });
      xhr.addEventListener("error", function () {
        rows.forEach(function (r) {
          r.li.classList.add("failed");
          r.state.textContent = form.getAttribute("data-failed");
        });
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
      xhr.send(new FormData(form));
    });
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
  // <form data-stream="/drafting/stream" data-stream-when="field">: when `field` is filled (the
  // local model has a passage to write), the form is posted to the streaming URL and the
  // model's steps are shown as they arrive (#free-progress, #free-stream); the draft's page
  // opens when it is stored. Without this script the form posts normally and waits.
  document.querySelectorAll("form[data-stream]").forEach(function (form) {
    if (!window.fetch || !window.TextDecoder) return;
    var when = form.getAttribute("data-stream-when");
    var progress = document.getElementById("free-progress");
    var live = document.getElementById("free-stream");
    form.addEventListener("submit", function (ev) {
      var field = when ? form.elements[when] : null;
      if (field && !field.value.trim()) return;
      ev.preventDefault();
      progress.hidden = false; live.hidden = false;
      progress.textContent = ""; live.textContent = "";
      function item(text, cls) {
        var li = document.createElement("li");
        li.textContent = text;
        if (cls) li.className = cls;
        progress.appendChild(li);
      }
      function enable() {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      }
      var body = new URLSearchParams(new FormData(form));
      fetch(form.getAttribute("data-stream"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/event-stream" }
      }).then(function (r) {
        if (!r.ok || !r.body) {
          return r.text().then(function (t) { item(t.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim(), "bad"); enable(); });
        }
        var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
        function frame(raw) {
          var name = "message", data = "";
          raw.split("\n").forEach(function (l) {
            if (l.indexOf("event:") === 0) name = l.slice(6).trim();
            else if (l.indexOf("data:") === 0) data += l.slice(5).replace(/^ /, "");
          });
          var v = {};
          try { v = JSON.parse(data); } catch (e) { return; }
          if (name === "step") { item(v.passage + " · " + v.step + " (" + v.attempt + ")"); live.textContent = ""; }
          else if (name === "delta") { live.textContent += v.text; }
          else if (name === "checked") { item((v.ok ? "✓ " : "✗ ") + v.step + (v.reason ? ": " + v.reason : ""), v.ok ? "ok" : "bad"); }
          else if (name === "done") { item(v.passage + (v.written ? " ✓" : " → legal"), v.written ? "ok" : "bad"); }
          else if (name === "draft") { window.location.assign(v.url); }
          else if (name === "error") { item(v.message || "error", "bad"); enable(); }
        }
        function pump() {
          return reader.read().then(function (res) {
            if (res.done) return;
            buf += dec.decode(res.value, { stream: true });
            var i;
            while ((i = buf.indexOf("\n\n")) >= 0) { frame(buf.slice(0, i)); buf = buf.slice(i + 2); }
            return pump();
          });
        }
        return pump();
      }).catch(function (e) { item(String(e), "bad"); enable(); });
    });
  });
  // <form data-ask-stream="/compliance/ask/stream"> (GET, field q) with <div id="ask-result">:
  // the answer streams into the result as the server releases it (the quoted provisions at
  // once, then each checked sentence); the last event swaps in the rendered answer with its
  // linked citations (server-rendered, escaped HTML) and the address becomes the answer's own.
  // Without this script the form is a plain GET that waits for the whole answer.
  document.querySelectorAll("form[data-ask-stream]").forEach(function (form) {
    if (!window.fetch || !window.TextDecoder) return;
    var out = document.getElementById("ask-result");
    form.addEventListener("submit", function (ev) {
      var q = form.elements.q.value.trim();
      if (!q) return;
      ev.preventDefault();
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      out.textContent = "";
      var card = document.createElement("section");
      card.className = "card";
      card.id = "rule-answer-live";
      var live = document.createElement("p");
      live.className = "answer-text";
      card.appendChild(live);
      out.appendChild(card);
      function done() { if (button) button.disabled = false; }
      var query = "?q=" + encodeURIComponent(q);
      fetch(form.getAttribute("data-ask-stream") + query, {
        credentials: "same-origin", headers: { "Accept": "text/event-stream" }
      }).then(function (r) {
        if (!r.ok || !r.body) {
          return r.text().then(function (t) {
            live.textContent = t.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
            live.className = "flash bad"; done();
          });
        }
        var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
        function frame(raw) {
          var name = "message", data = [];
          raw.split("\n").forEach(function (l) {
            if (l.indexOf("event:") === 0) name = l.slice(6).trim();
            else if (l.indexOf("data:") === 0) data.push(l.slice(5).replace(/^ /, ""));
          });
          var text = data.join("\n");
          if (name === "delta") { live.textContent += text; return; }
          var v = {};
          try { v = JSON.parse(text); } catch (e) { return; }
          if (name === "answer" && v.html !== undefined) {
            out.innerHTML = v.html;
            history.replaceState(null, "", form.getAttribute("action") + query);
            done();
          } else if (name === "error") {
            live.textContent = (v.error && v.error.message) || v.message || "error";
            live.className = "flash bad"; done();
          }
        }
        function pump() {
          return reader.read().then(function (res) {
            if (res.done) { done(); return; }
            buf += dec.decode(res.value, { stream: true });
            var i;
            while ((i = buf.indexOf("\n\n")) >= 0) { frame(buf.slice(0, i)); buf = buf.slice(i + 2); }
            return pump();
          });
        }
        return pump();
      }).catch(function (e) { live.textContent = String(e); live.className = "flash bad"; done(); });
    });
  });
})();
